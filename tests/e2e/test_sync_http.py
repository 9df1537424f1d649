"""/sync over HTTP on both profiles, bodies checked against the spec's OpenAPI."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any
from urllib.parse import quote

import orjson

from tests.e2e.harness import Client, User
from tests.openapi import assert_matches_spec

V3 = "/_matrix/client/v3"
SYNC = f"{V3}/sync"
#: A timeline limit no burst between two syncs of a test reaches: a chain of
#: syncs must see every event, so no response may be limited.
WIDE = '{"room": {"timeline": {"limit": 1000}}}'


def room_path(room_id: str, *rest: str) -> str:
    return "/".join([f"{V3}/rooms/{quote(room_id, safe='')}", *(quote(r, safe="") for r in rest)])


async def create_room(client: Client, user: User, **body: Any) -> str:
    status, answer = await client.post(f"{V3}/createRoom", body, token=user.token)
    assert status == 200, answer
    return str(answer["room_id"])


async def send(client: Client, user: User, room_id: str, text: str) -> str:
    path = room_path(room_id, "send", "m.room.message", secrets.token_hex(6))
    status, answer = await client.put(path, {"msgtype": "m.text", "body": text}, token=user.token)
    assert status == 200, answer
    return str(answer["event_id"])


async def join(client: Client, user: User, room_id: str) -> None:
    status, answer = await client.post(room_path(room_id, "join"), {}, token=user.token)
    assert status == 200, answer


async def sync(client: Client, user: User, **params: str) -> dict[str, Any]:
    status, body = await client.get(SYNC, token=user.token, params=params or None)
    assert status == 200, body
    assert_matches_spec("GET", SYNC, status, body)
    return dict(body)


def messages(section: dict[str, Any]) -> list[str]:
    """The IDs of the timeline's messages."""
    events = section["timeline"]["events"]
    return [e["event_id"] for e in events if e["type"] == "m.room.message"]


def texts(section: dict[str, Any]) -> list[str]:
    return [
        e["content"]["body"] for e in section["timeline"]["events"] if e["type"] == "m.room.message"
    ]


async def test_initial_then_incremental_sync(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    room = await create_room(client, alice, preset="public_chat", name="Tea")
    await join(client, bob, room)
    await send(client, alice, room, "one")
    first = await sync(client, bob)
    section = first["rooms"]["join"][room]
    assert texts(section) == ["one"]
    keys = {
        (e["type"], e.get("state_key"))
        for e in section["state"]["events"] + section["timeline"]["events"]
    }
    assert ("m.room.name", "") in keys and ("m.room.member", bob.user_id) in keys
    assert section["summary"]["m.joined_member_count"] == 2
    await send(client, alice, room, "two")
    second = await sync(client, bob, since=first["next_batch"])
    assert texts(second["rooms"]["join"][room]) == ["two"]
    third = await sync(client, bob, since=second["next_batch"])
    assert third["rooms"]["join"] == {}


async def test_long_poll_wakes_within_milliseconds_of_a_send(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    since = (await sync(client, bob))["next_batch"]
    latencies = []
    for i in range(5):
        poll = asyncio.ensure_future(sync(client, bob, since=since, timeout="10000"))
        await asyncio.sleep(0.05)
        assert not poll.done()
        started = time.perf_counter()
        await send(client, alice, room, f"ping {i}")
        body = await asyncio.wait_for(poll, 5)
        latencies.append(time.perf_counter() - started)
        assert texts(body["rooms"]["join"][room]) == [f"ping {i}"]
        since = body["next_batch"]
    latencies.sort()
    assert latencies[len(latencies) // 2] < 0.25, latencies


async def test_limited_timeline_then_backfill_with_messages(client: Client) -> None:
    alice = await client.register()
    room = await create_room(client, alice, preset="private_chat")
    sent = [await send(client, alice, room, f"m{i}") for i in range(8)]
    flt = orjson.dumps({"room": {"timeline": {"limit": 3}}}).decode()
    body = await sync(client, alice, filter=flt)
    timeline = body["rooms"]["join"][room]["timeline"]
    assert timeline["limited"] is True
    assert [e["event_id"] for e in timeline["events"]] == sent[-3:]
    status, page = await client.get(
        room_path(room, "messages"),
        token=alice.token,
        params={"from": timeline["prev_batch"], "dir": "b", "limit": "5"},
    )
    assert status == 200, page
    older = [e["event_id"] for e in page["chunk"] if e["type"] == "m.room.message"]
    assert older == list(reversed(sent[:5]))


async def test_lazy_loaded_members(client: Client) -> None:
    alice, bob, carol = await client.register(), await client.register(), await client.register()
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    await join(client, carol, room)
    await send(client, bob, room, "only bob speaks")
    flt = {"room": {"timeline": {"limit": 1}, "state": {"lazy_load_members": True}}}
    body = await sync(client, carol, filter=orjson.dumps(flt).decode())
    section = body["rooms"]["join"][room]
    members = {e["state_key"] for e in section["state"]["events"] if e["type"] == "m.room.member"}
    assert members == {bob.user_id, carol.user_id}
    assert section["summary"]["m.joined_member_count"] == 3


async def test_typing_and_receipts_arrive(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    event = await send(client, alice, room, "read me")
    since = (await sync(client, bob))["next_batch"]
    status, _ = await client.put(
        room_path(room, "typing", alice.user_id),
        {"typing": True, "timeout": 30000},
        token=alice.token,
    )
    assert status == 200
    body = await sync(client, bob, since=since, timeout="5000")
    ephemeral = body["rooms"]["join"][room]["ephemeral"]["events"]
    assert {"type": "m.typing", "content": {"user_ids": [alice.user_id]}} in ephemeral
    status, answer = await client.post(
        room_path(room, "receipt", "m.read", event), {}, token=alice.token
    )
    assert status == 200, answer
    body = await sync(client, bob, since=body["next_batch"], timeout="5000")
    (receipt,) = [
        e for e in body["rooms"]["join"][room]["ephemeral"]["events"] if e["type"] == "m.receipt"
    ]
    assert alice.user_id in receipt["content"][event]["m.read"]


async def test_chain_of_syncs_sees_every_event_once_in_order_under_concurrent_sends(
    client: Client,
) -> None:
    alice = await client.register()
    senders = [await client.register() for _ in range(3)]
    room = await create_room(client, alice, preset="public_chat")
    for user in senders:
        await join(client, user, room)
    since = (await sync(client, alice))["next_batch"]
    per_sender = 15

    async def sender(user: User) -> list[str]:
        return [await send(client, user, room, f"{user.user_id} {i}") for i in range(per_sender)]

    sending = asyncio.gather(*(sender(u) for u in senders))
    seen: list[str] = []
    positions: list[str] = []
    while True:
        body = await sync(client, alice, since=since, timeout="2000", filter=WIDE)
        section = body["rooms"]["join"].get(room)
        if section is not None:
            assert section["timeline"]["limited"] is False
            seen += [
                e["event_id"]
                for e in section["timeline"]["events"]
                if e["type"] == "m.room.message"
            ]
        positions.append(body["next_batch"])
        since = body["next_batch"]
        if sending.done() and len(seen) >= per_sender * len(senders):
            break
        if sending.done() and section is None:
            break
    sent = await sending
    assert len(seen) == len(set(seen)), "an event came twice"
    assert sorted(seen) == sorted(e for batch in sent for e in batch)
    for batch in sent:  # each sender's own events in the order they were sent
        assert [e for e in seen if e in set(batch)] == batch


async def test_filters_account_data_tags_and_push_rules(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    room = await create_room(client, alice, preset="private_chat")
    user = quote(alice.user_id, safe="")
    status, created = await client.post(
        f"{V3}/user/{user}/filter", {"room": {"timeline": {"limit": 1}}}, token=alice.token
    )
    assert status == 200 and isinstance(created["filter_id"], str)
    status, got = await client.get(
        f"{V3}/user/{user}/filter/{created['filter_id']}", token=alice.token
    )
    assert (status, got) == (200, {"room": {"timeline": {"limit": 1}}})
    status, _ = await client.get(f"{V3}/user/{user}/filter/{created['filter_id']}", token=bob.token)
    assert status == 403
    since = (await sync(client, alice, filter=created["filter_id"]))["next_batch"]

    status, _ = await client.put(
        f"{V3}/user/{user}/account_data/m.direct", {"x": [room]}, token=alice.token
    )
    assert status == 200
    status, _ = await client.put(
        f"{V3}/user/{user}/account_data/m.fully_read", {}, token=alice.token
    )
    assert status == 405
    status, _ = await client.put(
        f"{V3}/user/{user}/rooms/{quote(room)}/tags/m.favourite", {"order": 0.5}, token=alice.token
    )
    assert status == 200
    status, tags = await client.get(f"{V3}/user/{user}/rooms/{quote(room)}/tags", token=alice.token)
    assert (status, tags) == (200, {"tags": {"m.favourite": {"order": 0.5}}})
    status, _ = await client.put(
        f"{V3}/pushrules/global/room/{quote(room)}", {"actions": ["dont_notify"]}, token=alice.token
    )
    assert status == 200
    status, rules = await client.get(f"{V3}/pushrules/", token=alice.token)
    assert status == 200
    assert_matches_spec("GET", f"{V3}/pushrules/", status, rules)
    assert [r["rule_id"] for r in rules["global"]["room"]] == [room]

    body = await sync(client, alice, since=since)
    types = {e["type"] for e in body["account_data"]["events"]}
    assert {"m.direct", "m.push_rules"} <= types
    room_data = body["rooms"]["join"][room]["account_data"]["events"]
    assert {"type": "m.tag", "content": {"tags": {"m.favourite": {"order": 0.5}}}} in room_data


async def test_a_sections_own_rooms_and_not_rooms_narrow_that_section(client: Client) -> None:
    alice = await client.register()
    quiet = await create_room(client, alice, preset="private_chat", name="quiet")
    loud = await create_room(client, alice, preset="private_chat", name="loud")
    for room in (quiet, loud):
        await send(client, alice, room, f"hello {room}")
        status, _ = await client.put(
            f"{V3}/user/{quote(alice.user_id, safe='')}/rooms/{quote(room)}/tags/u.x",
            {},
            token=alice.token,
        )
        assert status == 200
    flt = {
        "room": {
            "timeline": {"not_rooms": [quiet], "limit": 1},
            "state": {"rooms": [loud]},
            "account_data": {"rooms": [quiet]},
            "ephemeral": {"not_rooms": [loud]},
        }
    }
    body = await sync(client, alice, filter=orjson.dumps(flt).decode())
    join = body["rooms"]["join"]
    assert set(join) == {quiet, loud}  # room.rooms is not narrowed: both rooms are there
    assert messages(join[quiet]) == [] and texts(join[loud]) == [f"hello {loud}"]
    assert join[quiet]["state"]["events"] == []
    assert any(e["type"] == "m.room.name" for e in join[loud]["state"]["events"])
    assert [e["type"] for e in join[quiet]["account_data"]["events"]] == ["m.tag"]
    assert join[loud]["account_data"]["events"] == []

    # Ephemeral: typing in both rooms reaches only the room the section allows.
    for room in (quiet, loud):
        status, _ = await client.put(
            room_path(room, "typing", alice.user_id),
            {"typing": True, "timeout": 30000},
            token=alice.token,
        )
        assert status == 200
    later = await sync(client, alice, since=body["next_batch"], filter=orjson.dumps(flt).decode())
    typing_rooms = {
        room_id
        for room_id, section in later["rooms"]["join"].items()
        if any(e["type"] == "m.typing" for e in section["ephemeral"]["events"])
    }
    assert typing_rooms == {quiet}


async def test_the_state_sections_contains_url(client: Client) -> None:
    alice = await client.register()
    avatar = {"type": "m.room.avatar", "state_key": "", "content": {"url": "mxc://x/y"}}
    room = await create_room(client, alice, preset="private_chat", initial_state=[avatar])
    await send(client, alice, room, "after the state")

    async def state_types(contains_url: bool) -> set[str]:
        flt = {"room": {"timeline": {"limit": 1}, "state": {"contains_url": contains_url}}}
        body = await sync(client, alice, filter=orjson.dumps(flt).decode())
        return {e["type"] for e in body["rooms"]["join"][room]["state"]["events"]}

    assert await state_types(True) == {"m.room.avatar"}
    without = await state_types(False)
    assert "m.room.avatar" not in without and "m.room.create" in without
