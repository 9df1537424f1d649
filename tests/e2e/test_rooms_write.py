"""Rooms over HTTP: create, invite, join, send, state, redact — and the refusals
the spec asks for. Bodies are checked against the spec's OpenAPI."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.e2e.harness import Client, User
from tests.openapi import assert_matches_spec

V3 = "/_matrix/client/v3"


def q(value: str) -> str:
    return quote(value, safe="")


async def call(
    client: Client,
    method: str,
    path: str,
    body: Any = None,
    *,
    user: User,
    status: int = 200,
    spec: bool = True,
) -> Any:
    """One request, its status asserted and (``spec``) its body checked against the spec."""
    got, answer = await client.request(method, V3 + path, body, user.token)
    assert got == status, f"{method} {path}: {got} {answer}"
    if spec:
        assert_matches_spec(method, V3 + path, got, answer)
    return answer


async def create(client: Client, user: User, **body: Any) -> str:
    answer = await call(client, "POST", "/createRoom", body, user=user)
    return str(answer["room_id"])


async def send(client: Client, user: User, room_id: str, text: str, txn: str) -> str:
    path = f"/rooms/{q(room_id)}/send/m.room.message/{txn}"
    answer = await call(client, "PUT", path, {"msgtype": "m.text", "body": text}, user=user)
    return str(answer["event_id"])


async def test_create_invite_join_and_chat(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    room_id = await create(
        client, alice, name="Tea", topic="Brewing", invite=[bob.user_id], is_direct=True
    )
    assert room_id.startswith("!")
    member = await call(
        client, "GET", f"/rooms/{q(room_id)}/state/m.room.member/{q(bob.user_id)}", user=alice
    )
    assert member == {"membership": "invite", "is_direct": True}
    joined = await call(client, "POST", f"/join/{q(room_id)}", {}, user=bob)
    assert joined == {"room_id": room_id}

    event_id = await send(client, bob, room_id, "hello alice", "txn1")
    # read-your-writes: the event is readable the moment the send answered
    event = await call(client, "GET", f"/rooms/{q(room_id)}/event/{q(event_id)}", user=alice)
    assert event["content"]["body"] == "hello alice" and event["sender"] == bob.user_id
    assert await send(client, bob, room_id, "hello again (retry)", "txn1") == event_id

    # the spec documents only the form with a state key; the empty key is the common case
    name = await call(client, "GET", f"/rooms/{q(room_id)}/state/m.room.name", user=bob, spec=False)
    assert name == {"name": "Tea"}


async def test_state_with_and_without_trailing_slash(client: Client) -> None:
    alice = await client.register()
    room_id = await create(client, alice)
    base = f"/rooms/{q(room_id)}/state/m.room.topic"
    first = await call(client, "PUT", base, {"topic": "one"}, user=alice, spec=False)
    second = await call(client, "PUT", base + "/", {"topic": "two"}, user=alice)
    assert first["event_id"] != second["event_id"]
    assert await call(client, "GET", base, user=alice, spec=False) == {"topic": "two"}
    keyed = f"/rooms/{q(room_id)}/state/org.example.pet/{q(alice.user_id)}"
    await call(client, "PUT", keyed, {"animal": "cat"}, user=alice)
    assert await call(client, "GET", keyed, user=alice) == {"animal": "cat"}


async def test_what_a_plain_member_may_not_do(client: Client) -> None:
    alice, bob, carol = [await client.register() for _ in range(3)]
    room_id = await create(client, alice, preset="public_chat")
    for user in (bob, carol):
        await call(client, "POST", f"/rooms/{q(room_id)}/join", {}, user=user)
    r = q(room_id)
    denied: list[tuple[str, str, dict[str, Any]]] = [
        ("PUT", f"/rooms/{r}/state/m.room.name/", {"name": "mine now"}),
        ("PUT", f"/rooms/{r}/state/m.room.power_levels/", {"users": {bob.user_id: 100}}),
        ("POST", f"/rooms/{r}/kick", {"user_id": carol.user_id}),
        ("POST", f"/rooms/{r}/ban", {"user_id": carol.user_id, "reason": "no"}),
        ("PUT", f"/rooms/{r}/state/m.room.member/{q(carol.user_id)}", {"membership": "leave"}),
    ]
    for method, path, body in denied:
        answer = await call(client, method, path, body, user=bob, status=403)
        assert answer["errcode"] == "M_FORBIDDEN"
    await call(client, "POST", f"/rooms/{r}/kick", {"user_id": carol.user_id}, user=alice)
    await call(client, "POST", f"/rooms/{r}/ban", {"user_id": carol.user_id}, user=alice)
    answer = await call(client, "POST", f"/rooms/{r}/join", {}, user=carol, status=403)
    assert answer["errcode"] == "M_FORBIDDEN"
    await call(client, "POST", f"/rooms/{r}/unban", {"user_id": carol.user_id}, user=alice)
    await call(client, "POST", f"/rooms/{r}/join", {}, user=carol)


async def test_errors_the_spec_names(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    answer = await call(
        client, "POST", "/createRoom", {"room_version": "99"}, user=alice, status=400
    )
    assert answer["errcode"] == "M_UNSUPPORTED_ROOM_VERSION"
    answer = await call(client, "POST", "/createRoom", {"name": 3}, user=alice, status=400)
    assert answer["errcode"] == "M_BAD_JSON"
    answer = await call(client, "POST", "/join/!nowhere:localhost:8008", {}, user=bob, status=404)
    assert answer["errcode"] == "M_NOT_FOUND"
    room_id = await create(client, alice)
    path = f"/rooms/{q(room_id)}/send/m.room.message/t1"
    answer = await call(client, "PUT", path, {"body": "hi"}, user=bob, status=403)
    assert answer["errcode"] == "M_FORBIDDEN"
    big = {"msgtype": "m.text", "body": "x" * 70_000}
    answer = await call(client, "PUT", path, big, user=alice, status=413)
    assert answer["errcode"] == "M_TOO_LARGE"


async def test_redactions(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    room_id = await create(client, alice, preset="public_chat")
    await call(client, "POST", f"/join/{q(room_id)}", {}, user=bob)
    mine = await send(client, bob, room_id, "typo", "m1")
    hers = await send(client, alice, room_id, "hello", "a1")
    r = q(room_id)
    redaction = await call(
        client, "PUT", f"/rooms/{r}/redact/{q(mine)}/r1", {"reason": "oops"}, user=bob
    )
    again = await call(client, "PUT", f"/rooms/{r}/redact/{q(mine)}/r1", {}, user=bob)
    assert again == redaction
    await call(client, "PUT", f"/rooms/{r}/redact/{q(hers)}/r2", {}, user=bob, status=403)
    await call(client, "PUT", f"/rooms/{r}/redact/{q('$nope')}/r3", {}, user=bob, status=404)
    await call(client, "PUT", f"/rooms/{r}/redact/{q(hers)}/r4", {}, user=alice)
    event = await call(client, "GET", f"/rooms/{r}/event/{q(mine)}", user=alice)
    assert event["content"] == {}, "redacted on the way out"


async def test_leave_and_forget(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    room_id = await create(client, alice, preset="public_chat")
    r = q(room_id)
    await call(client, "POST", f"/rooms/{r}/join", {}, user=bob)
    answer = await call(client, "POST", f"/rooms/{r}/forget", {}, user=bob, status=400)
    assert answer["errcode"] == "M_UNKNOWN"
    await call(client, "POST", f"/rooms/{r}/leave", {"reason": "bye"}, user=bob)
    await call(client, "POST", f"/rooms/{r}/forget", {}, user=bob)
    joined = await call(client, "GET", "/joined_rooms", user=bob)
    assert room_id not in joined["joined_rooms"]
