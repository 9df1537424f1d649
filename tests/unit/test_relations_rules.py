"""Pure rules behind threads, edits and spaces: the threads fold's writes, the
choice of the latest valid edit, the order of a space's children, page tokens."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest

from tessera.projections import threads
from tessera.query.aggregations import latest_edit
from tessera.query.events import EventRow
from tessera.query.hierarchy import BadPageToken, Walk, child_order, is_child
from tests.room_script import ALICE, BOB, MemoryLog, RoomScript


def test_a_thread_reply_records_itself_and_recomputes_its_root() -> None:
    log = MemoryLog()
    room = RoomScript(log)
    room.join(BOB)
    root = room.send(ALICE, "root")
    assert threads.apply(log.records[-1]) == []  # a plain message is no thread
    reply = room.send(BOB, "re", **{"m.relates_to": {"rel_type": "m.thread", "event_id": root}})
    insert, forget, recount = threads.apply(log.records[-1])
    assert list(insert.params) == [reply, room.room_id, root, BOB, room.positions[reply]]
    assert "DELETE FROM threads" in forget.statement and list(forget.params) == [room.room_id, root]
    assert "MAX(position)" in recount.statement and list(recount.params) == [room.room_id, root]


def test_a_redaction_tombstones_its_target_and_recomputes_the_targets_thread() -> None:
    log = MemoryLog()
    room = RoomScript(log)
    target = room.send(ALICE, "x")
    room.redact(ALICE, target)
    tombstone, forget, recount = threads.apply(log.records[-1])
    assert list(tombstone.params) == [target, room.room_id]
    assert "SELECT t.root_id FROM thread_events" in forget.statement
    assert list(recount.params) == [room.room_id, target, room.room_id]


def test_other_relations_are_not_threads() -> None:
    assert (
        threads.thread_root({"m.relates_to": {"rel_type": "m.replace", "event_id": "$a"}}) is None
    )
    assert threads.thread_root({"m.relates_to": {"rel_type": "m.thread"}}) is None
    assert threads.thread_root({"m.relates_to": {"rel_type": "m.thread", "event_id": "$a"}}) == "$a"


def row(event_id: str, content: dict[str, Any], *, ts: int = 0, sender: str = ALICE,
        state_key: str | None = None, event_type: str = "m.room.message") -> EventRow:  # fmt: skip
    pdu = {"type": event_type, "sender": sender, "content": content, "origin_server_ts": ts}
    pdu_json = orjson.dumps(pdu).decode()
    return EventRow(1, event_id, "!r:hs", event_type, state_key, sender, ts, "11", pdu_json,
                    None, None, None, None, None, None, False)  # fmt: skip


NEW = {"m.new_content": {"body": "x"}}


def test_latest_edit_is_the_newest_valid_one_ties_broken_by_event_id() -> None:
    original = row("$orig", {"body": "a"})
    edits = [row("$b", NEW, ts=5), row("$c", NEW, ts=5), row("$a", NEW, ts=4)]
    assert (chosen := latest_edit(original, edits)) is not None and chosen.event_id == "$c"
    invalid = [
        row("$z1", NEW, ts=9, sender=BOB),  # someone else's
        row("$z2", NEW, ts=9, event_type="m.sticker"),  # another type
        row("$z3", {"body": "no new content"}, ts=9),
    ]
    assert (chosen := latest_edit(original, [*edits, *invalid])) and chosen.event_id == "$c"
    redacted = dataclasses.replace(original, redacted_by="$red")
    assert latest_edit(redacted, edits) is None
    state = row("$s", {"name": "n"}, state_key="", event_type="m.room.name")
    assert latest_edit(state, [row("$e", NEW, event_type="m.room.name")]) is None
    edit_of_edit = row("$e1", {"m.relates_to": {"rel_type": "m.replace", "event_id": "$x"}})
    assert latest_edit(edit_of_edit, edits) is None
    assert latest_edit(original, [row("$enc", {}, ts=9, event_type="m.room.encrypted")]) is None


def child(room_id: str, ts: int, **content: Any) -> EventRow:
    return row(f"${room_id}", {"via": ["hs"], **content}, ts=ts, state_key=room_id,
               event_type="m.space.child")  # fmt: skip


def test_children_follow_the_specs_worked_example() -> None:
    children = [
        child("!b:example.org", 1640341000000, order=" "),
        child("!a:example.org", 1640141000000, order="aaaa"),
        child("!c:example.org", 1640841000000, order="first"),
        child("!e:example.org", 1640641000000),
        child("!d:example.org", 1640741000000),
        child("!f:example.org", 1640041000000, order="\x7f not valid"),
    ]
    ordered = [c.state_key for c in sorted(children, key=child_order)]
    assert ordered == ["!b:example.org", "!a:example.org", "!c:example.org", "!f:example.org",
                       "!e:example.org", "!d:example.org"]  # fmt: skip


def test_a_child_needs_a_via_and_suggested_only_keeps_suggested_ones() -> None:
    assert is_child(child("!a:hs", 1), suggested_only=False)
    assert not is_child(child("!a:hs", 1), suggested_only=True)
    assert is_child(child("!a:hs", 1, suggested=True), suggested_only=True)
    assert not is_child(row("$x", {"via": []}, state_key="!a:hs"), suggested_only=False)
    assert not is_child(row("$x", {}, state_key="!a:hs"), suggested_only=False)  # removed


def test_page_tokens_carry_the_walks_settings() -> None:
    walk = Walk(suggested_only=True, max_depth=2)
    assert walk.offset(walk.token(7)) == 7 and walk.offset(None) == 0
    with pytest.raises(BadPageToken):
        Walk(suggested_only=False, max_depth=2).offset(walk.token(7))
    with pytest.raises(BadPageToken):
        Walk(suggested_only=True, max_depth=None).offset(walk.token(7))
    with pytest.raises(BadPageToken):
        walk.offset("s12")
