"""The room read models and their queries, on both profiles (docs/read-models.md)."""

from __future__ import annotations

from collections.abc import Sequence

from tessera.projections import room_events, room_state
from tessera.projections.runner import ProjectionRunner
from tessera.query import state as q_state
from tessera.query.events import (
    Viewer,
    client_event,
    event_in_room,
    events_by_ids,
    events_by_positions,
)
from tessera.query.state import membership_at, membership_changes, rooms_of_user, state_entry
from tessera.query.visibility import load_visibilities, load_visibility
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import ReadModelDatabase
from tests.room_script import ALICE, BOB, CAROL, MemoryLog, RoomScript

NOW = 1_800_000_000_000


def project(db: ReadModelDatabase, records: Sequence[LogRecord]) -> list[ProjectionRunner]:
    runners = [ProjectionRunner(db, room_events), ProjectionRunner(db, room_state)]
    for runner in runners:
        runner.setup()
        runner.process(records)
    return runners


def test_timeline_rows_follow_the_contract(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    root = room.send(ALICE, "root")
    reply = room.event(
        ALICE, "m.room.message",
        {"body": "in thread", "m.relates_to": {"rel_type": "m.thread", "event_id": root}},
        device_id="PHONE", txn_id="txn1",
    )  # fmt: skip
    project(read_db, log.records)
    rows = list(
        read_db.iter_rows(
            "SELECT position, room_id, type, state_key, sender, rel_type, relates_to,"
            " txn_device, txn_id, redacts, redacted_by FROM room_events WHERE event_id = ?",
            (reply,),
        )
    )
    assert rows == [
        (room.positions[reply], room.room_id, "m.room.message", None, ALICE, "m.thread", root,
         "PHONE", "txn1", None, None)
    ]  # fmt: skip
    create = event_in_room(read_db, room.room_id, room.create_id)
    assert create is not None and create.state_key == "" and create.room_id == room.room_id


def test_redaction_strips_content_on_the_way_out(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    secret = room.send(ALICE, "secret", url="mxc://hs/x")
    redaction = room.redact(ALICE, secret, reason="oops")
    project(read_db, log.records)
    row = events_by_ids(read_db, [secret])[secret]
    assert row.redacted_by == redaction
    assert '"secret"' in row.pdu  # never redacted in place
    event = client_event(row, now_ms=NOW)
    assert event["content"] == {}
    because = event["unsigned"]["redacted_because"]
    assert because["event_id"] == redaction and because["content"]["reason"] == "oops"
    assert because["redacts"] == secret
    own = client_event(events_by_ids(read_db, [redaction])[redaction], now_ms=NOW)
    assert own["redacts"] == secret and own["content"]["redacts"] == secret


def test_an_event_arriving_after_its_redaction_is_redacted(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    target = room.send(ALICE, "late")
    redaction = room.redact(ALICE, target)
    # Federation order: the redaction is stored before its target.
    records = log.records
    swapped = [*records[:-2], records[-1], records[-2]]
    swapped = [
        LogRecord(i + 1, r.stream, r.version, r.kind, r.payload) for i, r in enumerate(swapped)
    ]
    project(read_db, swapped)
    assert events_by_ids(read_db, [target])[target].redacted_by == redaction


def test_state_current_and_by_position(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    first = room.state(ALICE, "m.room.name", "", {"name": "One"})
    second = room.state(ALICE, "m.room.name", "", {"name": "Two"})
    project(read_db, log.records)
    now = state_entry(read_db, room.room_id, "m.room.name", "")
    assert now is not None and now.event_id == second
    then = state_entry(read_db, room.room_id, "m.room.name", "", room.positions[first])
    assert then is not None and then.event_id == first
    before = q_state.room_state(read_db, room.room_id, room.positions[first] - 1)
    assert "m.room.name" not in {e.type for e in before}
    assert {e.type for e in q_state.room_state(read_db, room.room_id)} >= {
        "m.room.create", "m.room.member", "m.room.power_levels", "m.room.join_rules",
        "m.room.name",
    }  # fmt: skip
    event = client_event(events_by_ids(read_db, [second])[second], now_ms=NOW)
    assert event["unsigned"]["prev_content"] == {"name": "One"}
    assert event["unsigned"]["replaces_state"] == first
    assert event["state_key"] == ""


def test_memberships_by_position_and_by_user(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    one, two = RoomScript(log), RoomScript(log)
    one.join(BOB)
    two.join(BOB)
    leave = two.leave(BOB)
    project(read_db, log.records)
    assert [m.room_id for m in rooms_of_user(read_db, BOB)] == [one.room_id]
    assert {m.room_id for m in rooms_of_user(read_db, BOB, None)} == {one.room_id, two.room_id}
    assert membership_at(read_db, two.room_id, BOB) == "leave"
    assert membership_at(read_db, two.room_id, BOB, two.positions[leave] - 1) == "join"
    assert membership_at(read_db, two.room_id, CAROL) is None
    changes = membership_changes(read_db, BOB, 0, 10**9)
    assert [(c.room_id, c.membership) for c in changes] == [
        (one.room_id, "join"), (two.room_id, "join"), (two.room_id, "leave"),
    ]  # fmt: skip


def test_transaction_id_goes_to_the_sending_device_only(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    sent = room.event(ALICE, "m.room.message", {"body": "x"}, device_id="PHONE", txn_id="t")
    project(read_db, log.records)
    row = events_by_ids(read_db, [sent])[sent]
    assert (
        client_event(row, now_ms=NOW, viewer=Viewer(ALICE, "PHONE"))["unsigned"]["transaction_id"]
        == "t"
    )
    for viewer in (Viewer(ALICE, "LAPTOP"), Viewer(BOB, "PHONE"), None):
        assert "transaction_id" not in client_event(row, now_ms=NOW, viewer=viewer)["unsigned"]


def test_batch_loaders(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    ids = [room.send(ALICE, str(i)) for i in range(5)]
    project(read_db, log.records)
    assert set(events_by_ids(read_db, [*ids, "$unknown"])) == set(ids)
    rows = events_by_positions(read_db, [room.positions[i] for i in reversed(ids)])
    assert [r.event_id for r in rows] == ids


def test_visibility_from_the_read_models(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log, history_visibility="joined")
    before = room.send(ALICE, "before bob")
    room.join(BOB)
    during = room.send(ALICE, "with bob")
    room.leave(BOB)
    after = room.send(ALICE, "after bob")
    other = RoomScript(log, history_visibility="world_readable")
    project(read_db, log.records)
    bob = load_visibility(read_db, room.room_id, BOB)
    seen = {e for e in (before, during, after) if bob.is_visible(room.positions[e])}
    assert seen == {during}
    both = load_visibilities(read_db, [room.room_id, other.room_id], CAROL)
    assert not both[room.room_id].may_read and both[other.room_id].may_read


def test_a_rebuild_gives_the_same_read_models(read_db: ReadModelDatabase) -> None:
    log = MemoryLog()
    room = RoomScript(log)
    target = room.send(ALICE, "x")
    room.join(BOB)
    room.redact(ALICE, target)
    room.state(ALICE, "m.room.topic", "", {"topic": "t"})
    runners = project(read_db, log.records)
    before = [r.checksum() for r in runners]
    for runner in runners:
        runner.reset()
        runner.process(log.records[:3])
        runner.process(log.records)
    assert [r.checksum() for r in runners] == before
