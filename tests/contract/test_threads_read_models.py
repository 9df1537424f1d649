"""Threads, edits and references: the ``threads`` read model and the bundled
aggregations, on both profiles (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tessera.projections import room_events, room_state, threads
from tessera.projections.runner import ProjectionRunner
from tessera.query.aggregations import Reader, bundles
from tessera.query.events import Viewer, events_by_ids
from tessera.query.threads import thread_roots
from tessera.query.tokens import StreamToken
from tessera.query.visibility import load_visibility
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import ReadModelDatabase
from tests.room_script import ALICE, BOB, CAROL, MemoryLog, RoomScript

NOW = 1_800_000_000_000


def project(db: ReadModelDatabase, records: Sequence[LogRecord]) -> None:
    for projection in (room_events, room_state, threads):
        runner = ProjectionRunner(db, projection)
        runner.setup()
        runner.process(records)


def reply(room: RoomScript, sender: str, root: str, body: str) -> str:
    relates = {"rel_type": "m.thread", "event_id": root}
    return room.send(sender, body, **{"m.relates_to": relates})


def edit(room: RoomScript, sender: str, original: str, body: str) -> str:
    return room.send(
        sender, f"* {body}",
        **{"m.new_content": {"msgtype": "m.text", "body": body},
           "m.relates_to": {"rel_type": "m.replace", "event_id": original}},
    )  # fmt: skip


def threads_rows(db: ReadModelDatabase) -> list[tuple[Any, ...]]:
    return sorted(db.iter_rows("SELECT room_id, root_id, latest_position FROM threads"))


def relations_of(db: ReadModelDatabase, room: RoomScript, user: str, event_id: str) -> Any:
    reader = Reader(Viewer(user), {room.room_id: load_visibility(db, room.room_id, user)}, NOW)
    return bundles(db, list(events_by_ids(db, [event_id]).values()), reader).get(event_id, {})


def test_threads_follow_replies_and_redactions(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    room.join(BOB)
    root = room.send(ALICE, "root")
    first = reply(room, BOB, root, "one")
    last = reply(room, ALICE, root, "two")
    project(read_db, log.records)
    assert threads_rows(read_db) == [(room.room_id, root, room.positions[last])]

    room.redact(ALICE, last)  # the newest reply goes: the thread's activity moves back
    project(read_db, log.records)
    assert threads_rows(read_db) == [(room.room_id, root, room.positions[first])]

    room.redact(BOB, first)  # no reply left: no thread
    project(read_db, log.records)
    assert threads_rows(read_db) == []


def test_a_redaction_arriving_before_its_reply_keeps_it_out(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    root = room.send(ALICE, "root")
    late = reply(room, ALICE, root, "late")
    room.redact(ALICE, late)
    # Federation order: the redaction is folded before the event it redacts.
    reordered = [*log.records[:-2], log.records[-1], log.records[-2]]
    project(read_db, reordered[:-1])
    project(read_db, [reordered[-1]])
    assert threads_rows(read_db) == []


def test_a_replay_gives_the_same_rows(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    root = room.send(ALICE, "root")
    for n in range(3):
        reply(room, ALICE, root, str(n))
    project(read_db, log.records)
    runner = ProjectionRunner(read_db, threads)
    before = runner.checksum()
    runner.reset()
    runner.process(log.records)
    assert runner.checksum() == before


def test_thread_summary_counts_what_the_reader_may_see(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log, history_visibility="joined")
    room.join(BOB)
    root = room.send(ALICE, "root")
    reply(room, BOB, root, "bob's")
    room.leave(BOB)
    newest = reply(room, ALICE, root, "after bob left")
    project(read_db, log.records)

    alice = relations_of(read_db, room, ALICE, root)["m.thread"]
    assert alice["count"] == 2 and alice["current_user_participated"]
    assert alice["latest_event"]["event_id"] == newest
    bob = relations_of(read_db, room, BOB, root)["m.thread"]
    assert bob["count"] == 1 and bob["latest_event"]["content"]["body"] == "bob's"
    room.join(CAROL)
    project(read_db, log.records)
    assert relations_of(read_db, room, CAROL, root) == {}  # joined later, sees no reply


def test_edits_bundle_the_latest_valid_one_and_never_for_redacted(
    read_db: ReadModelDatabase,
) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    room.join(BOB)
    original = room.send(ALICE, "cake")
    edit(room, ALICE, original, "chocolate cake")
    newest = edit(room, ALICE, original, "lemon cake")
    edit(room, BOB, original, "not yours")  # another sender: invalid
    room.send(ALICE, "no new content", **{"m.relates_to": {"rel_type": "m.replace",
                                                            "event_id": original}})  # fmt: skip
    project(read_db, log.records)
    replace = relations_of(read_db, room, BOB, original)["m.replace"]
    assert replace["event_id"] == newest
    assert replace["content"]["m.new_content"]["body"] == "lemon cake"
    assert events_by_ids(read_db, [original])[original].content()["body"] == "cake"  # untouched

    room.redact(ALICE, newest)  # the previous edit is the latest again
    project(read_db, log.records)
    replace = relations_of(read_db, room, BOB, original)["m.replace"]
    assert replace["content"]["m.new_content"]["body"] == "chocolate cake"
    room.redact(ALICE, original)
    project(read_db, log.records)
    assert "m.replace" not in relations_of(read_db, room, BOB, original)


def test_latest_thread_reply_carries_its_own_edit(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    root = room.send(ALICE, "root")
    answer = reply(room, ALICE, root, "tpyo")
    fixed = edit(room, ALICE, answer, "typo")
    ref = room.send(ALICE, "see", **{"m.relates_to": {"rel_type": "m.reference",
                                                      "event_id": root}})  # fmt: skip
    project(read_db, log.records)
    relations = relations_of(read_db, room, ALICE, root)
    latest = relations["m.thread"]["latest_event"]
    assert latest["event_id"] == answer  # an edit is not a thread reply
    assert latest["unsigned"]["m.relations"]["m.replace"]["event_id"] == fixed
    assert relations["m.reference"] == {"chunk": [{"event_id": ref}]}


def test_thread_list_is_newest_activity_first_and_pages(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    room.join(BOB)
    roots = [room.send(ALICE, f"root {n}") for n in range(3)]
    reply(room, BOB, roots[1], "x")
    reply(room, ALICE, roots[0], "y")
    reply(room, ALICE, roots[2], "z")
    reply(room, BOB, roots[0], "w")  # roots[0] is the most recently active
    project(read_db, log.records)

    def page(user: str, **kw: Any) -> dict[str, Any]:
        args: dict[str, Any] = {"participated": False, "from_token": None, "limit": 2, **kw}
        return thread_roots(read_db, room.room_id, Viewer(user), now_ms=NOW, **args)

    first = page(BOB)
    assert [e["event_id"] for e in first["chunk"]] == [roots[0], roots[2]]
    assert first["chunk"][0]["unsigned"]["m.relations"]["m.thread"]["count"] == 2
    second = page(BOB, from_token=StreamToken.parse(first["next_batch"]))
    assert [e["event_id"] for e in second["chunk"]] == [roots[1]] and "next_batch" not in second
    mine = page(BOB, participated=True, limit=10)
    assert [e["event_id"] for e in mine["chunk"]] == [roots[0], roots[1]]
