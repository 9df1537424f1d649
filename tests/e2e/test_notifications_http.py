"""Notifications over HTTP on both profiles: unread counts in sync, muted rooms,
read receipts, threads, ``/notifications``, pushers, and delivery to a push
gateway on loopback (also when it is down, and across a restart)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any
from urllib.parse import quote

from tests.e2e.harness import Backing, Client, ServerFactory, User, running_server
from tests.e2e.push_gateway import TestGateway
from tests.e2e.test_sync_http import V3, create_room, join, room_path, send
from tests.openapi import assert_matches_spec

LOOPBACK = ["127.0.0.1/32"]


async def call(
    client: Client, method: str, path: str, user: User, body: Any = None, **params: str
) -> tuple[int, Any]:
    status, answer = await client.request(
        method, path, body, token=user.token, params=params or None
    )
    assert_matches_spec(method, path, status, answer)
    return status, answer


async def send_content(
    client: Client, user: User, room_id: str, content: dict[str, Any], kind: str = "m.room.message"
) -> str:
    path = room_path(room_id, "send", kind, secrets.token_hex(6))
    status, answer = await call(client, "PUT", path, user, content)
    assert status == 200, answer
    return str(answer["event_id"])


async def unread(client: Client, user: User, room_id: str, threads: bool = False) -> dict[str, Any]:
    flt = '{"room":{"timeline":{"limit":1,"unread_thread_notifications":true}}}'
    params = {"filter": flt} if threads else {}
    status, body = await call(client, "GET", f"{V3}/sync", user, **params)
    assert status == 200
    section: dict[str, Any] = body["rooms"]["join"][room_id]
    return section


def counts(section: dict[str, Any]) -> tuple[int, int]:
    u = section["unread_notifications"]
    return u["notification_count"], u["highlight_count"]


async def test_counts_mentions_mutes_receipts_threads(client: Client) -> None:
    alice, bob, carol = await client.register(), await client.register(), await client.register()
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    await join(client, carol, room)
    # Carol mutes the room (the actions [] form of a room rule).
    rule = f"{V3}/pushrules/global/room/{quote(room, safe='')}"
    assert (await call(client, "PUT", rule, carol, {"actions": []}))[0] == 200

    await send(client, alice, room, "hello")
    mention = {"msgtype": "m.text", "body": "bob!", "m.mentions": {"user_ids": [bob.user_id]}}
    root = await send_content(client, alice, room, mention)
    assert counts(await unread(client, bob, room)) == (2, 1)
    assert counts(await unread(client, carol, room)) == (0, 0)
    assert counts(await unread(client, alice, room)) == (0, 0)

    thread = {"m.relates_to": {"rel_type": "m.thread", "event_id": root}}
    await send_content(client, alice, room, {"msgtype": "m.text", "body": "t", **thread})
    section = await unread(client, bob, room, threads=True)
    assert counts(section) == (2, 1)  # the main timeline only
    assert section["unread_thread_notifications"] == {
        root: {"notification_count": 1, "highlight_count": 0}
    }
    assert counts(await unread(client, bob, room)) == (3, 1)

    status, listed = await call(client, "GET", f"{V3}/notifications", bob)
    assert status == 200 and len(listed["notifications"]) == 3
    newest = listed["notifications"][0]
    assert newest["room_id"] == room and newest["read"] is False and "notify" in newest["actions"]
    status, page = await call(client, "GET", f"{V3}/notifications", bob, limit="1")
    assert len(page["notifications"]) == 1 and "next_token" in page
    status, rest = await call(
        client, "GET", f"{V3}/notifications", bob, **{"from": page["next_token"]}
    )
    assert [n["event"]["event_id"] for n in rest["notifications"]] == [
        n["event"]["event_id"] for n in listed["notifications"][1:]
    ]
    _, highlights = await call(client, "GET", f"{V3}/notifications", bob, only="highlight")
    assert [n["event"]["event_id"] for n in highlights["notifications"]] == [root]

    # A threaded receipt resets its thread; an unthreaded one the whole room.
    last_in_thread = listed["notifications"][0]["event"]["event_id"]
    receipt = room_path(room, "receipt", "m.read", last_in_thread)
    assert (await call(client, "POST", receipt, bob, {"thread_id": root}))[0] == 200
    section = await unread(client, bob, room, threads=True)
    assert counts(section) == (2, 1) and "unread_thread_notifications" not in section
    receipt = room_path(room, "receipt", "m.read", root)
    assert (await call(client, "POST", receipt, bob, {}))[0] == 200
    assert counts(await unread(client, bob, room)) == (0, 0)
    _, listed = await call(client, "GET", f"{V3}/notifications", bob)
    assert all(n["read"] for n in listed["notifications"])


async def test_encrypted_event_in_a_one_to_one_room_notifies(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    room = await create_room(client, alice, preset="trusted_private_chat", invite=[bob.user_id])
    await join(client, bob, room)
    encrypted = {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AAAA", "sender_key": "k",
                 "device_id": "D", "session_id": "s"}  # fmt: skip
    await send_content(client, alice, room, encrypted, kind="m.room.encrypted")
    assert counts(await unread(client, bob, room)) == (1, 0)


def pusher(url: str, pushkey: str = "key-1", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "http",
        "app_id": "org.example.app",
        "pushkey": pushkey,
        "app_display_name": "Example",
        "device_display_name": "Phone",
        "lang": "en",
        "data": {"url": url, "custom": "x"},
        **extra,
    }


async def test_pushers_and_a_gateway_on_loopback(start_server: ServerFactory, http: Any) -> None:
    gateway = await TestGateway().start()
    try:
        refusing = await start_server()
        c = Client(http, refusing.base_url)
        bob = await c.register()
        status, error = await call(c, "POST", f"{V3}/pushers/set", bob, pusher(gateway.url))
        assert (status, error["errcode"]) == (400, "M_INVALID_PARAM")  # loopback, not allowed

        server = await start_server(ip_range_whitelist=LOOPBACK)
        c = Client(http, server.base_url)
        alice, bob = await c.register(), await c.register()
        room = await create_room(c, alice, preset="public_chat", name="Tea room")
        await join(c, bob, room)
        assert (await call(c, "POST", f"{V3}/pushers/set", bob, pusher(gateway.url)))[0] == 200
        _, listed = await call(c, "GET", f"{V3}/pushers", bob)
        assert [p["pushkey"] for p in listed["pushers"]] == ["key-1"]
        mention = {"msgtype": "m.text", "body": "hi", "m.mentions": {"user_ids": [bob.user_id]}}
        event_id = await send_content(c, alice, room, mention)
        got = await gateway.next()
        assert got["event_id"] == event_id and got["room_id"] == room
        assert got["type"] == "m.room.message" and got["sender"] == alice.user_id
        assert got["content"]["body"] == "hi" and got["room_name"] == "Tea room"
        assert got["counts"] == {"unread": 1} and got["prio"] == "high"
        (device,) = got["devices"]
        assert device["app_id"] == "org.example.app" and device["pushkey"] == "key-1"
        assert device["data"] == {"custom": "x"}  # everything but the url
        assert device["tweaks"] == {"sound": "default", "highlight": True}
        assert isinstance(device["pushkey_ts"], int)

        # event_id_only; then the gateway rejects the key: the pusher goes.
        only_ids = pusher(gateway.url, data={"url": gateway.url, "format": "event_id_only"})
        assert (await call(c, "POST", f"{V3}/pushers/set", bob, only_ids))[0] == 200
        gateway.reject.add("key-1")
        second = await send(c, alice, room, "again")
        got = await gateway.next()
        assert got["event_id"] == second and "content" not in got and "sender" not in got
        for _ in range(100):
            _, listed = await call(c, "GET", f"{V3}/pushers", bob)
            if not listed["pushers"]:
                break
            await asyncio.sleep(0.05)
        assert listed["pushers"] == []
        # kind null deletes; another user taking the key without append replaces it
        carol = await c.register()
        for user in (alice, carol):
            assert (await call(c, "POST", f"{V3}/pushers/set", user, pusher(gateway.url)))[0] == 200
        _, listed = await call(c, "GET", f"{V3}/pushers", alice)
        assert listed["pushers"] == []
        gone = {**pusher(gateway.url), "kind": None}
        assert (await call(c, "POST", f"{V3}/pushers/set", carol, gone))[0] == 200
        assert (await call(c, "GET", f"{V3}/pushers", carol))[1]["pushers"] == []
    finally:
        await gateway.stop()


async def test_pushes_survive_a_down_gateway_and_a_restart(backing: Backing, http: Any) -> None:
    gateway = TestGateway()  # not listening yet
    async with running_server(backing, ip_range_whitelist=LOOPBACK) as server:
        c = Client(http, server.base_url)
        alice, bob = await c.register(), await c.register()
        room = await create_room(c, alice, preset="public_chat")
        await join(c, bob, room)
        assert (await call(c, "POST", f"{V3}/pushers/set", bob, pusher(gateway.url)))[0] == 200
        first = await send(c, alice, room, "while the gateway is down")
        await asyncio.sleep(0.3)  # the sender tries, fails, backs off
        await gateway.start()
        try:
            assert (await gateway.next())["event_id"] == first
        finally:
            await gateway.stop()
        # Stop Tessera between the event and its push: nothing is lost.
        second = await send(c, alice, room, "just before a restart")
    await gateway.start()
    try:
        async with running_server(backing, ip_range_whitelist=LOOPBACK):
            got = await gateway.next()
            while got["event_id"] == first:  # at-least-once: a redelivery is allowed
                got = await gateway.next()
            assert got["event_id"] == second
    finally:
        await gateway.stop()
