"""The room read endpoints over HTTP, on both profiles, bodies checked against the spec."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

import orjson
from nio import (
    AsyncClient,
    JoinedMembersResponse,
    JoinedRoomsResponse,
    RoomContextResponse,
    RoomGetEventResponse,
    RoomGetStateEventResponse,
    RoomMessagesResponse,
    RoomMessageText,
)

from tests.e2e.harness import Client, Server, User
from tests.openapi import assert_matches_spec

V3 = "/_matrix/client/v3"


def room_path(room_id: str, *rest: str) -> str:
    return "/".join([f"{V3}/rooms/{quote(room_id, safe='')}", *(quote(r, safe="") for r in rest)])


async def checked_get(client: Client, user: User, path: str, **params: str) -> tuple[int, Any]:
    """GET, and check the body against the spec's schema for that status."""
    status, body = await client.get(path, token=user.token, params=params or None)
    assert_matches_spec("GET", path, status, body)
    return status, body


async def create_room(client: Client, user: User, **body: Any) -> str:
    status, answer = await client.post(f"{V3}/createRoom", body, token=user.token)
    assert status == 200, answer
    return str(answer["room_id"])


async def send(client: Client, user: User, room_id: str, text: str, **extra: Any) -> str:
    txn = secrets.token_hex(4)
    content = {"msgtype": "m.text", "body": text, **extra}
    path = room_path(room_id, "send", "m.room.message", txn)
    status, answer = await client.put(path, content, token=user.token)
    assert status == 200, answer
    return str(answer["event_id"])


async def join(client: Client, user: User, room_id: str) -> None:
    status, answer = await client.post(room_path(room_id, "join"), {}, token=user.token)
    assert status == 200, answer


async def leave(client: Client, user: User, room_id: str) -> None:
    status, answer = await client.post(room_path(room_id, "leave"), {}, token=user.token)
    assert status == 200, answer


def texts(chunk: list[dict[str, Any]]) -> list[str]:
    return [e["content"]["body"] for e in chunk if e["type"] == "m.room.message"]


async def test_events_state_and_members(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    room = await create_room(client, alice, preset="public_chat", name="Read me")
    hello = await send(client, alice, room, "hello")
    await join(client, bob, room)

    status, event = await checked_get(client, alice, room_path(room, "event", hello))
    assert status == 200 and event["content"]["body"] == "hello"
    assert event["unsigned"]["transaction_id"]  # the sending device gets its txn back
    _, seen_by_bob = await checked_get(client, bob, room_path(room, "event", hello))
    assert "transaction_id" not in seen_by_bob["unsigned"]  # public_chat: shared history

    status, state = await checked_get(client, bob, room_path(room, "state"))
    assert status == 200
    assert {"m.room.create", "m.room.name", "m.room.power_levels"} <= {e["type"] for e in state}
    for path in (
        room_path(room, "state", "m.room.name"),
        room_path(room, "state", "m.room.name") + "/",
    ):
        status, content = await client.get(path, token=bob.token)
        assert (status, content) == (200, {"name": "Read me"})
    status, full = await client.get(
        room_path(room, "state", "m.room.name", ""), token=bob.token, params={"format": "event"}
    )
    # The spec's `oneOf` (any object, or a state event) cannot tell them apart:
    # check the body as the ClientEvent it is.
    assert_matches_spec("GET", room_path(room, "event", full["event_id"]), status, full)
    assert full["type"] == "m.room.name" and full["state_key"] == "" and full["event_id"]
    status, missing = await client.get(room_path(room, "state", "m.room.topic"), token=bob.token)
    assert (status, missing["errcode"]) == (404, "M_NOT_FOUND")

    _, members = await checked_get(client, bob, room_path(room, "members"))
    assert {e["state_key"] for e in members["chunk"]} == {alice.user_id, bob.user_id}
    _, joined = await checked_get(client, bob, room_path(room, "joined_members"))
    assert set(joined["joined"]) == {alice.user_id, bob.user_id}
    _, rooms = await checked_get(client, bob, f"{V3}/joined_rooms")
    assert rooms == {"joined_rooms": [room]}


async def test_messages_and_context(client: Client) -> None:
    alice = await client.register()
    room = await create_room(client, alice, preset="private_chat")
    sent = [await send(client, alice, room, str(i)) for i in range(6)]

    _, newest = await checked_get(client, alice, room_path(room, "messages"), dir="b", limit="2")
    assert texts(newest["chunk"]) == ["5", "4"]
    _, older = await checked_get(
        client, alice, room_path(room, "messages"), dir="b", limit="3", **{"from": newest["end"]}
    )
    assert texts(older["chunk"]) == ["3", "2", "1"]
    _, forward = await checked_get(
        client, alice, room_path(room, "messages"), dir="f", limit="10", **{"from": older["end"]}
    )
    assert texts(forward["chunk"]) == ["1", "2", "3", "4", "5"] and "end" not in forward

    only_alice = orjson.dumps({"types": ["m.room.message"], "lazy_load_members": True}).decode()
    _, lazy = await checked_get(
        client, alice, room_path(room, "messages"), dir="b", limit="10", filter=only_alice
    )
    assert texts(lazy["chunk"]) == ["5", "4", "3", "2", "1", "0"]
    assert [e["state_key"] for e in lazy["state"]] == [alice.user_id]

    status, context = await checked_get(
        client, alice, room_path(room, "context", sent[3]), limit="2"
    )
    assert status == 200 and context["event"]["event_id"] == sent[3]
    assert texts(context["events_before"]) == ["2"] and texts(context["events_after"]) == ["4"]
    _, before = await checked_get(
        client, alice, room_path(room, "messages"), dir="b", limit="1", **{"from": context["start"]}
    )
    assert texts(before["chunk"]) == ["1"]

    status, bad = await client.get(
        room_path(room, "messages"), token=alice.token, params={"dir": "b", "from": "nonsense"}
    )
    assert (status, bad["errcode"]) == (400, "M_INVALID_PARAM")


async def test_history_visibility_for_later_joiners_leavers_and_strangers(client: Client) -> None:
    alice, bob, carol = await client.register(), await client.register(), await client.register()
    room = await create_room(
        client, alice, preset="public_chat",
        initial_state=[{"type": "m.room.history_visibility", "state_key": "",
                        "content": {"history_visibility": "joined"}}],
    )  # fmt: skip
    before = await send(client, alice, room, "before")
    await join(client, bob, room)
    during = await send(client, alice, room, "during")
    await leave(client, bob, room)
    after = await send(client, alice, room, "after")

    _, history = await checked_get(client, bob, room_path(room, "messages"), dir="b", limit="50")
    assert texts(history["chunk"]) == ["during"]
    for hidden in (before, after):
        status, body = await client.get(room_path(room, "event", hidden), token=bob.token)
        assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, _ = await checked_get(client, bob, room_path(room, "event", during))
    assert status == 200
    _, members = await checked_get(client, bob, room_path(room, "members"))
    assert {e["state_key"]: e["content"]["membership"] for e in members["chunk"]}[
        bob.user_id
    ] == "leave"

    for path in (room_path(room, "messages"), room_path(room, "state"), room_path(room, "members")):
        status, body = await client.get(path, token=carol.token, params={"dir": "b"})
        assert (status, body["errcode"]) == (403, "M_FORBIDDEN"), path
    status, _ = await client.get(room_path(room, "event", during), token=carol.token)
    assert status == 404


async def test_redacted_events_are_served_redacted(client: Client) -> None:
    alice = await client.register()
    room = await create_room(client, alice, preset="private_chat")
    oops = await send(client, alice, room, "oops", url="mxc://hs/file")
    status, answer = await client.put(
        room_path(room, "redact", oops, "r1"), {"reason": "typo"}, token=alice.token
    )
    assert status == 200, answer
    _, event = await checked_get(client, alice, room_path(room, "event", oops))
    assert event["content"] == {}
    assert event["unsigned"]["redacted_because"]["event_id"] == answer["event_id"]
    _, page = await checked_get(client, alice, room_path(room, "messages"), dir="b", limit="5")
    redacted = next(e for e in page["chunk"] if e["event_id"] == oops)
    assert redacted["content"] == {}


async def test_matrix_nio_reads_the_room(client: Client, server: Server) -> None:
    alice = await client.register()
    room = await create_room(client, alice, preset="private_chat", name="nio")
    first = await send(client, alice, room, "one")
    await send(client, alice, room, "two")
    nio = AsyncClient(server.base_url, alice.user_id)
    nio.restore_login(alice.user_id, alice.device_id, alice.token)
    try:
        messages = await nio.room_messages(room, limit=5)
        assert isinstance(messages, RoomMessagesResponse), messages
        assert [e.body for e in messages.chunk if isinstance(e, RoomMessageText)] == ["two", "one"]
        context = await nio.room_context(room, first, limit=2)
        assert isinstance(context, RoomContextResponse), context
        assert context.event is not None and context.event.event_id == first
        event = await nio.room_get_event(room, first)
        assert isinstance(event, RoomGetEventResponse), event
        assert isinstance(event.event, RoomMessageText) and event.event.body == "one"
        state = await nio.room_get_state_event(room, "m.room.name")
        assert isinstance(state, RoomGetStateEventResponse), state
        assert state.content == {"name": "nio"}
        members = await nio.joined_members(room)
        assert isinstance(members, JoinedMembersResponse), members
        assert [m.user_id for m in members.members] == [alice.user_id]
        rooms = await nio.joined_rooms()
        assert isinstance(rooms, JoinedRoomsResponse) and rooms.rooms == [room]
    finally:
        await nio.close()


async def test_members_at_a_token_and_by_membership(client: Client) -> None:
    alice, bob = await client.register(), await client.register()
    room = await create_room(client, alice, preset="public_chat")
    await join(client, bob, room)
    _, head = await checked_get(client, alice, room_path(room, "messages"), dir="b", limit="1")
    await leave(client, bob, room)

    async def members(**params: str) -> dict[str, str]:
        status, body = await checked_get(client, alice, room_path(room, "members"), **params)
        assert status == 200, body
        return {e["state_key"]: e["content"]["membership"] for e in body["chunk"]}

    assert await members() == {alice.user_id: "join", bob.user_id: "leave"}
    assert await members(not_membership="leave") == {alice.user_id: "join"}
    assert await members(membership="leave") == {bob.user_id: "leave"}
    assert await members(at=head["start"]) == {alice.user_id: "join", bob.user_id: "join"}
    for params in ({"membership": "left"}, {"at": "yesterday"}):
        status, body = await client.get(room_path(room, "members"), token=alice.token,
                                        params=params)  # fmt: skip
        assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
