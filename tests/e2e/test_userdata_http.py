"""Account data, tags, filters, push rules, receipts, read markers and typing over
HTTP on both profiles; every body is checked against the spec's OpenAPI."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.e2e.harness import Client, User
from tests.e2e.test_sync_http import V3, create_room, join, room_path, send, sync
from tests.openapi import assert_matches_spec


async def call(
    client: Client, method: str, path: str, user: User, body: Any = None, **params: str
) -> tuple[int, Any]:
    status, answer = await client.request(
        method, path, body, token=user.token, params=params or None
    )
    assert_matches_spec(method, path, status, answer)
    return status, answer


async def test_account_data_and_tags(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    room = await create_room(client, alice, preset="private_chat")
    me = quote(alice.user_id, safe="")
    data = f"{V3}/user/{me}/account_data/org.example.settings"
    assert (await call(client, "GET", data, alice))[0] == 404
    assert (await call(client, "PUT", data, alice, {"theme": "dark"}))[0] == 200
    assert await call(client, "GET", data, alice) == (200, {"theme": "dark"})
    assert (await call(client, "GET", data, bob))[0] == 403
    assert (await call(client, "PUT", f"{V3}/user/{me}/account_data/m.push_rules", alice, {}))[
        0
    ] == 405
    room_data = f"{V3}/user/{me}/rooms/{quote(room)}/account_data/org.example.x"
    assert (await call(client, "PUT", room_data, alice, {"n": 1}))[0] == 200
    assert await call(client, "GET", room_data, alice) == (200, {"n": 1})

    tags = f"{V3}/user/{me}/rooms/{quote(room)}/tags"
    assert (await call(client, "PUT", f"{tags}/u.work", alice, {"order": 0.25}))[0] == 200
    assert (await call(client, "PUT", f"{tags}/m.lowpriority", alice, {}))[0] == 200
    assert (await call(client, "DELETE", f"{tags}/m.lowpriority", alice))[0] == 200
    assert await call(client, "GET", tags, alice) == (200, {"tags": {"u.work": {"order": 0.25}}})


async def test_filters(client: Client) -> None:
    alice = await client.register()
    me = quote(alice.user_id, safe="")
    definition = {"room": {"timeline": {"limit": 5, "types": ["m.room.message"]}}}
    status, created = await call(client, "POST", f"{V3}/user/{me}/filter", alice, definition)
    assert status == 200
    path = f"{V3}/user/{me}/filter/{created['filter_id']}"
    assert await call(client, "GET", path, alice) == (200, definition)
    assert (await call(client, "GET", f"{V3}/user/{me}/filter/999", alice))[0] == 404
    bad = {"room": {"timeline": {"limit": "five"}}}
    status, error = await call(client, "POST", f"{V3}/user/{me}/filter", alice, bad)
    assert (status, error["errcode"]) == (400, "M_BAD_JSON")
    status, _ = await client.get(f"{V3}/sync", token=alice.token, params={"filter": "999"})
    assert status == 404


async def test_push_rules_crud(client: Client) -> None:
    alice = await client.register()
    base = f"{V3}/pushrules/global"
    status, ruleset = await call(client, "GET", f"{base}/", alice)
    assert status == 200 and ruleset["override"][0]["rule_id"] == ".m.rule.master"
    rule = {"pattern": "cake*lie", "actions": ["notify"]}
    assert (await call(client, "PUT", f"{base}/content/nocake", alice, rule))[0] == 200
    status, got = await call(client, "GET", f"{base}/content/nocake", alice)
    assert (status, got["pattern"], got["enabled"]) == (200, "cake*lie", True)
    path = f"{base}/content/nocake/enabled"
    assert (await call(client, "PUT", path, alice, {"enabled": False}))[0] == 200
    assert await call(client, "GET", path, alice) == (200, {"enabled": False})
    master = f"{base}/override/.m.rule.master/actions"
    assert (await call(client, "PUT", master, alice, {"actions": ["dont_notify"]}))[0] == 200
    assert await call(client, "GET", master, alice) == (200, {"actions": ["dont_notify"]})
    assert (await call(client, "PUT", f"{base}/override/.mine", alice, {"actions": []}))[0] == 400
    assert (await call(client, "DELETE", f"{base}/content/nocake", alice))[0] == 200
    assert (await call(client, "GET", f"{base}/content/nocake", alice))[0] == 404
    assert (await call(client, "DELETE", f"{base}/content/nocake", alice))[0] == 404


async def test_receipts_read_markers_and_typing_rules(client: Client) -> None:
    alice, bob, eve = await client.register(), await client.register(), await client.register()
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    event = await send(client, alice, room, "hello")
    since = (await sync(client, alice))["next_batch"]
    receipt = room_path(room, "receipt", "m.read.private", event)
    assert (await call(client, "POST", receipt, bob, {"thread_id": "main"}))[0] == 200
    bad = room_path(room, "receipt", "m.read", event)
    assert (await call(client, "POST", bad, bob, {"thread_id": "nope"}))[0] == 400
    assert (await call(client, "POST", room_path(room, "receipt", "m.read", "$nope"), bob, {}))[
        0
    ] == 404
    assert (await call(client, "POST", room_path(room, "receipt", "m.read", event), eve, {}))[
        0
    ] == 403
    markers = {"m.fully_read": event, "m.read": event}
    assert (await call(client, "POST", room_path(room, "read_markers"), bob, markers))[0] == 200

    typing = room_path(room, "typing", bob.user_id)
    assert (await call(client, "PUT", typing, bob, {"typing": True, "timeout": 1000}))[0] == 200
    assert (await call(client, "PUT", typing, alice, {"typing": True}))[0] == 403
    eve_typing = room_path(room, "typing", eve.user_id)
    assert (await call(client, "PUT", eve_typing, eve, {"typing": True}))[0] == 403

    body = await sync(client, alice, since=since)
    ephemeral = body["rooms"]["join"][room]["ephemeral"]["events"]
    receipts = [e for e in ephemeral if e["type"] == "m.receipt"]
    # bob's private receipt stays his; his public one (from read_markers) is shown
    assert len(receipts) == 1
    assert list(receipts[0]["content"][event]) == ["m.read"]
    assert list(receipts[0]["content"][event]["m.read"]) == [bob.user_id]
    bob_sync = await sync(client, bob)
    section = bob_sync["rooms"]["join"][room]
    assert {"type": "m.fully_read", "content": {"event_id": event}} in section["account_data"][
        "events"
    ]
    (bob_receipts,) = [e for e in section["ephemeral"]["events"] if e["type"] == "m.receipt"]
    assert bob_receipts["content"][event]["m.read.private"][bob.user_id]["thread_id"] == "main"
