"""/messages, /context and the state/member reads as queries, on both profiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tessera.projections import room_events, room_state
from tessera.projections.runner import ProjectionRunner
from tessera.query import messages, rooms
from tessera.query.errors import Forbidden, NotFound
from tessera.query.events import Viewer
from tessera.query.filters import RoomEventFilter
from tessera.query.tokens import StreamToken
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import ReadModelDatabase
from tests.room_script import ALICE, BOB, CAROL, MemoryLog, RoomScript

NOW = 1_800_000_000_000
EVERYTHING = RoomEventFilter()


def project(db: ReadModelDatabase, records: Sequence[LogRecord]) -> None:
    for projection in (room_events, room_state):
        runner = ProjectionRunner(db, projection)
        runner.setup()
        runner.process(records)


def page(
    db: ReadModelDatabase,
    room_id: str,
    user: str,
    *,
    backwards: bool = True,
    start: str | None = None,
    to: str | None = None,
    limit: int = 10,
    event_filter: RoomEventFilter = EVERYTHING,
) -> dict[str, Any]:
    return messages.room_messages(
        db,
        room_id,
        Viewer(user, "DEV"),
        backwards=backwards,
        from_token=StreamToken.parse(start) if start else None,
        to_token=StreamToken.parse(to) if to else None,
        limit=limit,
        event_filter=event_filter,
        now_ms=NOW,
    )


def bodies(chunk: list[dict[str, Any]]) -> list[str]:
    return [e["content"]["body"] for e in chunk if e["type"] == "m.room.message"]


@pytest.fixture
def chat(read_db: ReadModelDatabase) -> RoomScript:
    """Alice's room: messages 0..24, Bob joined after 9 and left after 19."""
    log = MemoryLog()
    room = RoomScript(log, history_visibility="joined")
    for i in range(25):
        room.send(ALICE, str(i))
        if i == 9:
            room.join(BOB, displayname="Bob")
        if i == 19:
            room.leave(BOB)
    project(read_db, log.records)
    return room


def test_paginating_backwards_then_forwards(read_db: ReadModelDatabase, chat: RoomScript) -> None:
    first = page(read_db, chat.room_id, ALICE, limit=5)
    assert bodies(first["chunk"]) == ["24", "23", "22", "21", "20"]
    second = page(read_db, chat.room_id, ALICE, start=first["end"], limit=5)
    assert second["start"] == first["end"]
    assert second["chunk"][0]["content"]["membership"] == "leave"  # Bob's, after "19"
    assert bodies(second["chunk"]) == ["19", "18", "17", "16"]
    forwards = page(read_db, chat.room_id, ALICE, backwards=False, start=second["end"], limit=3)
    assert bodies(forwards["chunk"]) == ["16", "17", "18"]
    everything: list[str] = []
    token: str | None = None
    while True:
        p = page(read_db, chat.room_id, ALICE, start=token, limit=7)
        everything += bodies(p["chunk"])
        if "end" not in p:
            break
        token = p["end"]
    assert everything == [str(i) for i in reversed(range(25))]


def test_from_to_bounds_both_ways(read_db: ReadModelDatabase, chat: RoomScript) -> None:
    head = page(read_db, chat.room_id, ALICE, limit=1)
    mid = page(read_db, chat.room_id, ALICE, start=head["end"], limit=4)  # 23..20
    between = page(read_db, chat.room_id, ALICE, start=head["start"], to=mid["end"], limit=50)
    assert bodies(between["chunk"]) == ["24", "23", "22", "21", "20"]
    assert between["end"] == mid["end"]
    ahead = page(read_db, chat.room_id, ALICE, backwards=False, start=mid["end"], limit=50)
    assert bodies(ahead["chunk"]) == ["20", "21", "22", "23", "24"]
    assert "end" not in ahead


def test_a_user_who_left_sees_only_their_stay(read_db: ReadModelDatabase, chat: RoomScript) -> None:
    seen = page(read_db, chat.room_id, BOB, limit=100)
    assert bodies(seen["chunk"]) == [str(i) for i in reversed(range(10, 20))]
    member_events = [e for e in seen["chunk"] if e["type"] == "m.room.member"]
    # The room's first events came before its visibility was set: "shared" then.
    assert [(e["state_key"], e["content"]["membership"]) for e in member_events] == [
        (BOB, "leave"), (BOB, "join"), (ALICE, "join"),
    ]  # fmt: skip
    assert {e["unsigned"]["membership"] for e in seen["chunk"]} <= {"join", "leave"}
    assert "end" not in seen


def test_a_stranger_is_refused_unless_world_readable(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    closed = RoomScript(log, history_visibility="shared")
    closed.send(ALICE, "private")
    open_room = RoomScript(log, history_visibility="world_readable")
    open_room.send(ALICE, "public")
    project(read_db, log.records)
    with pytest.raises(Forbidden):
        page(read_db, closed.room_id, CAROL)
    with pytest.raises(Forbidden):
        rooms.get_state(read_db, closed.room_id, Viewer(CAROL), NOW)
    assert bodies(page(read_db, open_room.room_id, CAROL)["chunk"]) == ["public"]
    assert rooms.get_state(read_db, open_room.room_id, Viewer(CAROL), NOW)


def test_filters_apply_in_sql_and_exactly(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    room.join(BOB)
    room.send(ALICE, "a1")
    room.send(BOB, "b1", url="mxc://hs/file")
    room.event(ALICE, "org.example.Custom", {"body": "c"})
    room.send(BOB, "b2")
    project(read_db, log.records)

    def only(**spec: Any) -> list[str]:
        f = RoomEventFilter.parse(spec)
        return [e["content"].get("body", e["type"]) for e in
                page(read_db, room.room_id, ALICE, limit=50, event_filter=f)["chunk"]]  # fmt: skip

    assert only(types=["m.room.message"], senders=[BOB]) == ["b2", "b1"]
    assert only(types=["m.room.message"], not_senders=[BOB]) == ["a1"]
    assert only(types=["org.example.*"]) == ["c"]
    assert only(types=["ORG.example.*"]) == []  # types are case-sensitive on both profiles
    assert only(types=["m.room.message"], contains_url=True) == ["b1"]
    assert "m.room.message" not in {e for e in only(not_types=["m.room.*"]) if e != "c"}
    assert only(not_rooms=[room.room_id]) == []


def test_lazy_loading_members_on_messages(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    room.join(BOB, displayname="Bob")
    room.join(CAROL)
    room.send(BOB, "hi")
    project(read_db, log.records)
    lazy = RoomEventFilter.parse({"lazy_load_members": True, "types": ["m.room.message"]})
    body = page(read_db, room.room_id, ALICE, event_filter=lazy)
    assert [(e["state_key"], e["content"].get("displayname")) for e in body["state"]] == [
        (BOB, "Bob")
    ]
    assert "state" not in page(read_db, room.room_id, ALICE)


def test_context_around_an_event(read_db: ReadModelDatabase, chat: RoomScript) -> None:
    timeline = page(read_db, chat.room_id, ALICE, backwards=False, limit=50)["chunk"]
    middle = next(e for e in timeline if e["content"].get("body") == "12")
    body = messages.event_context(
        read_db, chat.room_id, middle["event_id"], Viewer(ALICE),
        limit=4, event_filter=EVERYTHING, now_ms=NOW,
    )  # fmt: skip
    assert body["event"]["content"]["body"] == "12"
    assert bodies(body["events_before"]) == ["11", "10"]
    assert bodies(body["events_after"]) == ["13", "14"]
    back = page(read_db, chat.room_id, ALICE, start=body["start"], limit=1)
    assert len(back["chunk"]) == 1 and back["chunk"][0]["event_id"] != body["events_before"][-1]
    forward = page(read_db, chat.room_id, ALICE, backwards=False, start=body["end"], limit=1)
    assert bodies(forward["chunk"]) == ["15"]
    assert any(e["type"] == "m.room.create" for e in body["state"])
    oldest = page(read_db, chat.room_id, ALICE, backwards=False, limit=50)["chunk"]
    said_before_bob = next(e for e in oldest if e["content"].get("body") == "0")
    with pytest.raises(NotFound):  # history visibility "joined": Bob wasn't there
        messages.event_context(
            read_db, chat.room_id, said_before_bob["event_id"], Viewer(BOB),
            limit=4, event_filter=EVERYTHING, now_ms=NOW,
        )  # fmt: skip


def test_members_and_state_for_a_user_who_left(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    room.join(BOB)
    room.state(ALICE, "m.room.name", "", {"name": "Before"})
    room.leave(BOB)
    room.state(ALICE, "m.room.name", "", {"name": "After"})
    room.join(CAROL)
    project(read_db, log.records)
    bob = Viewer(BOB)
    name = rooms.get_state_event(read_db, room.room_id, "m.room.name", "", bob)
    assert name.content() == {"name": "Before"}
    members = rooms.get_members(read_db, room.room_id, bob, at=None, membership=None,
                                not_membership=None, now_ms=NOW)  # fmt: skip
    assert {e["state_key"] for e in members} == {ALICE, BOB}
    now = rooms.get_members(read_db, room.room_id, Viewer(ALICE), at=None, membership="join",
                            not_membership=None, now_ms=NOW)  # fmt: skip
    assert {e["state_key"] for e in now} == {ALICE, CAROL}
    not_joined = rooms.get_members(read_db, room.room_id, Viewer(ALICE), at=None,
                                   membership=None, not_membership="join", now_ms=NOW)  # fmt: skip
    assert {e["state_key"] for e in not_joined} == {BOB}
    assert rooms.get_joined_rooms(read_db, BOB) == []
    assert rooms.get_joined_rooms(read_db, CAROL) == [room.room_id]
    assert set(rooms.get_joined_members(read_db, room.room_id, Viewer(CAROL))) == {ALICE, CAROL}
    with pytest.raises(Forbidden):
        rooms.get_joined_members(read_db, room.room_id, bob)
    with pytest.raises(NotFound):
        rooms.get_state_event(read_db, room.room_id, "m.room.topic", "", Viewer(ALICE))


def test_prev_content_only_when_the_replaced_event_is_visible(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log, history_visibility="joined")
    room.state(ALICE, "m.room.topic", "", {"topic": "before Bob"})
    room.join(BOB)
    room.state(ALICE, "m.room.topic", "", {"topic": "with Bob"})
    room.state(ALICE, "m.room.topic", "", {"topic": "later"})
    project(read_db, log.records)
    topics = [e for e in page(read_db, room.room_id, BOB)["chunk"] if e["type"] == "m.room.topic"]
    assert [e["content"]["topic"] for e in topics] == ["later", "with Bob"]
    assert topics[0]["unsigned"]["prev_content"] == {"topic": "with Bob"}
    assert "prev_content" not in topics[1]["unsigned"]  # Bob never saw "before Bob"
    assert "replaces_state" in topics[1]["unsigned"]  # given regardless, as the spec says
    alice_view = page(read_db, room.room_id, ALICE)["chunk"]
    assert any(e["unsigned"].get("prev_content") == {"topic": "before Bob"} for e in alice_view)
