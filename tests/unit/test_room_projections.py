"""The room projections as pure folds: which writes each record causes."""

from __future__ import annotations

import orjson

from tessera.projections import room_events, room_state
from tessera.schema.log import LogRecord
from tests.room_script import ALICE, BOB, MemoryLog, RoomScript


def last(log: MemoryLog) -> LogRecord:
    return log.records[-1]


def test_a_message_is_one_timeline_row_with_its_pdu_untouched() -> None:
    log = MemoryLog()
    room = RoomScript(log)
    event_id = room.event(
        ALICE,
        "m.room.message",
        {"body": "re", "m.relates_to": {"rel_type": "m.thread", "event_id": "$root"}},
        device_id="DEV",
        txn_id="t1",
    )
    record = last(log)
    (insert,) = room_events.apply(record)
    params = list(insert.params)
    assert params[:6] == [record.position, event_id, room.room_id, "m.room.message", None, ALICE]
    pdu_json = params[9]
    assert orjson.loads(pdu_json)["content"]["body"] == "re"
    assert pdu_json == orjson.loads(record.payload)["pdu"]  # the signed bytes as they were
    assert params[10] is None  # redacts
    assert params[-4:] == ["m.thread", "$root", "DEV", "t1"]
    assert room_state.apply(record) == []  # not state


def test_a_redaction_marks_its_target_in_its_own_room_only() -> None:
    log = MemoryLog()
    room = RoomScript(log)
    target = room.send(ALICE, "oops")
    redaction = room.redact(ALICE, target)
    insert, update = room_events.apply(last(log))
    assert insert.params[10] == target  # redacts
    assert "UPDATE room_events SET redacted_by" in update.statement
    assert list(update.params) == [redaction, target, room.room_id]


def test_state_changes_write_history_and_current_state() -> None:
    log = MemoryLog()
    room = RoomScript(log)
    join = room.join(BOB, displayname="Bob")
    change, current = room_state.apply(last(log))
    row = (room.room_id, "m.room.member", BOB, join, log.records[-1].position, "join")
    assert tuple(current.params) == row
    assert tuple(change.params)[:6] == row
    assert tuple(change.params)[6:] == (room.room_id, "m.room.member", BOB)  # what it replaces


def test_records_of_other_kinds_change_nothing_but_are_still_folded() -> None:
    other = LogRecord(7, "@alice:hs", 1, "account.registered", b"{}")
    assert room_events.apply(other) == []
    assert room_state.apply(other) == []


def test_the_fold_is_deterministic() -> None:
    log = MemoryLog()
    room = RoomScript(log)
    room.send(ALICE)
    for record in log.records:
        assert room_events.apply(record) == room_events.apply(record)
        assert room_state.apply(record) == room_state.apply(record)
