"""The Client-Server API's cross-cutting promises, endpoint by endpoint (issue 3 audit).

- Every endpoint the spec gives a JSON request body refuses bytes that are not
  JSON (400 ``M_NOT_JSON``) and JSON that is not an object (400 ``M_BAD_JSON``),
  with the CORS headers a browser needs to read the error.
- Bodies over ``max_request_body`` are refused with 413 ``M_TOO_LARGE``, with or
  without a Content-Length.
- Sending is rate limited per sender (``rc_message``), with ``retry_after_ms``.
- Discovery (``/versions``, ``/.well-known/matrix/{client,server}``,
  ``/capabilities``) answers as the spec documents.
- Knocking: a knock on a ``knock`` room, seen by the room and the knocker, then
  let in by an invite; refused on a public room.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson

from tessera.app.client import ROUTE_TABLES
from tessera.app.config import RateLimit
from tests.e2e.harness import Client, Server, ServerFactory, User
from tests.e2e.test_sync_http import create_room, join, room_path, send, sync
from tests.openapi import assert_matches_spec, find_operation

V3 = "/_matrix/client/v3"
EMPTY = "{}"


def json_routes() -> list[tuple[str, str]]:
    """(method, path template) of every served route the spec gives a JSON body."""
    found = []
    for table in ROUTE_TABLES:
        for route in table:
            method, path = route.method, route.path  # type: ignore[attr-defined]
            if method not in ("PUT", "POST") or not path.startswith("/_matrix/client/"):
                continue
            template = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path)
            try:
                operation = find_operation(method, template.replace("/r0/", "/v3/"))
            except AssertionError:
                continue  # unstable or legacy prefixes the spec does not document
            body = operation.spec.get("requestBody", {}).get("content", {})
            if "application/json" in body:
                found.append((method, template))
    return found


def fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: quote(values.get(m.group(1), "x"), safe=""), template)


async def test_every_json_endpoint_refuses_what_is_not_a_json_object(
    client: Client, http: aiohttp.ClientSession
) -> None:
    alice = await client.register()
    room = await create_room(client, alice, preset="public_chat")
    event = await send(client, alice, room, "hi")
    values = {
        "roomId": room, "roomIdOrAlias": room, "userId": alice.user_id, "eventId": event,
        "deviceId": alice.device_id, "eventType": "org.example.t", "stateKey": "",
        "txnId": "t1", "roomAlias": "#a:localhost:8008", "keyName": "displayname",
        "type": "org.example.t", "tag": "u.t", "receiptType": "m.read", "kind": "override",
        "ruleId": "r1", "version": "1", "sessionId": "s1",
    }  # fmt: skip
    routes = json_routes()
    assert len(routes) >= 30, routes
    wrong = []
    for method, template in routes:
        path = fill(template, values)
        if "/room_keys/keys" in template:
            path += "?version=1"  # a required query parameter, checked first
        for raw, errcode in ((b"{not json", "M_NOT_JSON"), (b"[1, 2]", "M_BAD_JSON")):
            async with http.request(
                method, client.base_url + path, data=raw,
                headers={"Authorization": f"Bearer {alice.token}",
                         "Content-Type": "application/json"},
            ) as response:  # fmt: skip
                body = await response.json(content_type=None)
                cors = response.headers.get("Access-Control-Allow-Origin")
            if (response.status, body.get("errcode"), cors) != (400, errcode, "*"):
                wrong.append(f"{method} {template} {raw!r}: {response.status} {body}")
    assert not wrong, "\n".join(wrong)
    # Nothing was changed by any of it: alice is still in her room, under her name.
    status, joined = await client.get(V3 + "/joined_rooms", alice.token)
    assert (status, joined["joined_rooms"]) == (200, [room])


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 1000):
        yield data[start : start + 1000]


async def test_bodies_over_the_limit_are_too_large(
    start_server: ServerFactory, http: aiohttp.ClientSession
) -> None:
    server = await start_server(max_request_body=4096)
    client = Client(http, server.base_url)
    alice = await client.register()
    big = orjson.dumps({"name": "x" * 5000})
    for data in (big, chunks(big)):  # with a Content-Length, then chunked without one
        async with http.post(
            server.base_url + V3 + "/createRoom", data=data,
            headers={"Authorization": f"Bearer {alice.token}"},
        ) as response:  # fmt: skip
            body = await response.json(content_type=None)
            assert (response.status, body["errcode"]) == (413, "M_TOO_LARGE")
            assert response.headers["Access-Control-Allow-Origin"] == "*"
    status, joined = await client.get(V3 + "/joined_rooms", alice.token)
    assert (status, joined["joined_rooms"]) == (200, [])


async def test_sending_is_rate_limited_per_sender(
    start_server: ServerFactory, http: aiohttp.ClientSession
) -> None:
    server = await start_server(rc_message=RateLimit(per_second=0.1, burst=3))
    client = Client(http, server.base_url)
    alice, bob = await client.register(), await client.register()
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    for i in range(3):
        await send(client, alice, room, f"m{i}")
    path = room_path(room, "send", "m.room.message", "over")
    status, body = await client.put(path, {"msgtype": "m.text", "body": "over"}, alice.token)
    assert (status, body["errcode"]) == (429, "M_LIMIT_EXCEEDED")
    assert 0 < body["retry_after_ms"] <= 10_000
    assert_matches_spec("PUT", path, status, body)
    # Another sender on the same address (a NAT, a reverse proxy) is not held back.
    await send(client, bob, room, "bob is fine")


async def test_discovery(server: Server, client: Client) -> None:
    status, versions = await client.get("/_matrix/client/versions")
    assert status == 200
    assert_matches_spec("GET", "/_matrix/client/versions", status, versions)
    assert "v1.5" in versions["versions"], "matrix-js-sdk (Element) needs v1.5"
    status, well_known = await client.get("/.well-known/matrix/client")
    assert status == 200
    assert_matches_spec("GET", "/.well-known/matrix/client", status, well_known)
    assert well_known["m.homeserver"]["base_url"].startswith("http")
    status, delegated = await client.get("/.well-known/matrix/server")
    assert (status, delegated) == (200, {"m.server": server.server_name})
    alice = await client.register()
    status, caps = await client.get(V3 + "/capabilities", alice.token)
    assert status == 200
    assert_matches_spec("GET", V3 + "/capabilities", status, caps)
    versions_caps = caps["capabilities"]["m.room_versions"]
    assert versions_caps["default"] == "12" and versions_caps["available"]["12"] == "stable"
    status, body = await client.get(V3 + "/capabilities")
    assert (status, body["errcode"]) == (401, "M_MISSING_TOKEN")


async def knock(client: Client, user: User, room: str, status: int = 200) -> Any:
    got, body = await client.post(
        f"{V3}/knock/{quote(room, safe='')}", {"reason": "hi"}, user.token
    )
    assert got == status, body
    assert_matches_spec("POST", f"{V3}/knock/{quote(room, safe='')}", got, body)
    return body


async def test_knock_then_let_in(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    room = await create_room(
        client, alice, preset="private_chat", room_version="12", name="Members only",
        initial_state=[{"type": "m.room.join_rules", "state_key": "",
                        "content": {"join_rule": "knock"}}],
    )  # fmt: skip
    since = (await sync(client, alice))["next_batch"]
    assert (await knock(client, bob, room))["room_id"] == room
    knocked = (await sync(client, bob))["rooms"]["knock"][room]["knock_state"]["events"]
    names = [e["content"] for e in knocked if e["type"] == "m.room.name"]
    assert names == [{"name": "Members only"}]
    assert any(
        e["type"] == "m.room.member" and e["content"]["membership"] == "knock" for e in knocked
    )
    timeline = (await sync(client, alice, since=since))["rooms"]["join"][room]["timeline"]
    member = [e for e in timeline["events"] if e["type"] == "m.room.member"]
    assert [(e["state_key"], e["content"]["membership"]) for e in member] == [
        (bob.user_id, "knock")
    ]
    status, _ = await client.post(room_path(room, "join"), {}, token=bob.token)
    assert status == 403, "a knock is not a join"
    status, _ = await client.post(room_path(room, "invite"), {"user_id": bob.user_id}, alice.token)
    assert status == 200
    await join(client, bob, room)

    public = await create_room(client, alice, preset="public_chat")
    carol = await client.register()
    assert (await knock(client, carol, public, status=403))["errcode"] == "M_FORBIDDEN"


async def test_passwords_are_argon2id_hashed_off_the_event_loop() -> None:
    """With the real (costly) parameters: the hash is Argon2id, and the event
    loop keeps ticking while several hashes run."""
    import asyncio
    import time

    from tessera.command.passwords import Passwords

    passwords = Passwords(max_concurrent=2)
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    started = time.perf_counter()
    first = await passwords.hash("secret")
    single = time.perf_counter() - started
    ticking = asyncio.ensure_future(ticker())
    hashes = [first, *await asyncio.gather(*(passwords.hash(f"secret {i}") for i in range(2)))]
    assert await passwords.verify(first, "secret")
    assert not await passwords.verify(first, "secret 1")
    stop.set()
    await ticking
    assert all(h.startswith("$argon2id$") for h in hashes)
    # On the loop, a hash would stall it for as long as one hash takes.
    assert max(gaps) < single / 2, f"the loop stalled {max(gaps):.3f} s; a hash: {single:.3f} s"


async def test_create_room_overrides_and_creation_content(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    room = await create_room(
        client, alice, preset="public_chat", visibility="public",
        power_level_content_override={"users_default": 50, "events": {"m.room.topic": 60}},
        creation_content={"m.federate": False, "org.example.kind": "tea"},
    )  # fmt: skip
    status, create = await client.get(room_path(room, "state", "m.room.create", ""), alice.token)
    assert status == 200
    assert create["m.federate"] is False and create["org.example.kind"] == "tea"
    assert create["room_version"] == "12"
    status, power = await client.get(
        room_path(room, "state", "m.room.power_levels", ""), alice.token
    )
    assert (status, power["users_default"], power["events"]["m.room.topic"]) == (200, 50, 60)
    await join(client, bob, room)
    # users_default 50 lets bob name the room (50 by default) but not set the topic (60).
    status, _ = await client.put(
        room_path(room, "state", "m.room.name", ""), {"name": "B"}, bob.token
    )
    assert status == 200
    status, body = await client.put(
        room_path(room, "state", "m.room.topic", ""), {"topic": "no"}, bob.token
    )
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    status, listed = await client.get(f"{V3}/directory/list/room/{quote(room, safe='')}")
    assert (status, listed) == (200, {"visibility": "public"})
