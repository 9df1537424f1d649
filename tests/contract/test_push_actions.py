"""Push rule evaluation as a read model, and the unread counts and notifications
read from it, over real read-model databases (SQLite, PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from tessera.projections import receipts, room_events
from tessera.projections.push_actions import PushActionsProjection
from tessera.projections.runner import ProjectionRunner
from tessera.query.push import (
    notifications,
    pending_notifications,
    rooms_with_notifications,
    unread_counts,
)
from tessera.schema import accounts
from tessera.schema.log import NewRecord
from tessera.schema.readmodel import ReadModelDatabase
from tessera.schema.userdata import (
    PUSH_RULES_SET,
    RECEIPT_SENT,
    PushRulesSet,
    ReceiptSent,
    receipts_stream,
    userdata_stream,
)
from tests.room_script import ALICE, BOB, CAROL, MemoryLog, RoomScript


class World:
    def __init__(self, db: ReadModelDatabase) -> None:
        self.db = db
        self.log = MemoryLog()
        self.push = ProjectionRunner(db, PushActionsProjection())
        self.runners = [
            ProjectionRunner(db, room_events),  # type: ignore[arg-type]
            ProjectionRunner(db, receipts),  # type: ignore[arg-type]
            self.push,
        ]
        for runner in self.runners:
            runner.setup()
        self._versions: dict[str, int] = {}
        for user in (ALICE, BOB, CAROL):
            self.record(user, accounts.Registered.KIND,
                        accounts.encode(accounts.Registered(None, False, 1)))  # fmt: skip

    def record(self, stream: str, kind: str, payload: bytes) -> None:
        version = self._versions[stream] = self._versions.get(stream, 0) + 1
        self.log.append(NewRecord(stream, version, kind, payload))

    def receipt(self, user: str, room: str, event_id: str, thread: str | None = None) -> None:
        payload = ReceiptSent(room, event_id, "m.read", thread, 1).encode()
        self.record(receipts_stream(user), RECEIPT_SENT, payload)

    def rules(self, user: str, document: dict[str, Any]) -> None:
        self.record(userdata_stream(user), PUSH_RULES_SET, PushRulesSet(document).encode())

    def project(self) -> int:
        for runner in self.runners:
            runner.process(self.log.records)
        return len(self.log.records)

    def counts(self, user: str, room: str) -> tuple[int, int]:
        c = unread_counts(self.db, user, [room], self.project())[room].total
        return c.notifications, c.highlights


@pytest.fixture
def world(read_db: ReadModelDatabase) -> World:
    return World(read_db)


def test_messages_mentions_and_receipts(world: World) -> None:
    room = RoomScript(world.log)
    room.join(BOB)
    room.join(CAROL)
    room.send(ALICE, "one")
    second = room.send(ALICE, "two")
    room.send(ALICE, "hey", **{"m.mentions": {"user_ids": [BOB]}})
    assert world.counts(BOB, room.room_id) == (3, 1)
    assert world.counts(CAROL, room.room_id) == (3, 0)
    assert world.counts(ALICE, room.room_id) == (0, 0)  # never for one's own events
    world.receipt(BOB, room.room_id, second)
    assert world.counts(BOB, room.room_id) == (1, 1)
    # An own message reads the room (an implicit receipt).
    room.send(CAROL, "me too")
    assert world.counts(CAROL, room.room_id) == (0, 0)
    assert world.counts(BOB, room.room_id) == (2, 1)


def test_threads_partition_the_counts(world: World) -> None:
    room = RoomScript(world.log)
    room.join(BOB)
    root = room.send(ALICE, "root")
    thread = {"m.relates_to": {"rel_type": "m.thread", "event_id": root}}
    in_thread = room.send(ALICE, "in thread", **thread)
    room.send(ALICE, "in thread again", **thread)
    room.send(ALICE, "main")
    counts = unread_counts(world.db, BOB, [room.room_id], world.project())[room.room_id]
    assert counts.total.notifications == 4
    assert counts.threads["main"].notifications == 2
    assert counts.threads[root].notifications == 2
    world.receipt(BOB, room.room_id, in_thread, thread=root)
    counts = unread_counts(world.db, BOB, [room.room_id], world.project())[room.room_id]
    assert counts.threads[root].notifications == 1
    assert counts.threads["main"].notifications == 2
    world.receipt(BOB, room.room_id, root)  # unthreaded: below the thread's own receipt
    counts = unread_counts(world.db, BOB, [room.room_id], world.project())[room.room_id]
    assert (counts.threads["main"].notifications, counts.threads[root].notifications) == (1, 1)


def test_muted_room_one_to_one_encrypted_and_power(world: World) -> None:
    dm = RoomScript(world.log)
    dm.join(BOB)
    dm.event(ALICE, "m.room.encrypted", {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "x"})
    assert world.counts(BOB, dm.room_id) == (1, 0)
    room = RoomScript(world.log)
    room.join(BOB)
    room.join(CAROL)
    world.rules(BOB, {"room": [{"rule_id": room.room_id, "actions": [], "enabled": True}]})
    room.send(ALICE, "quiet")
    assert world.counts(BOB, room.room_id) == (0, 0)
    # @room needs the sender's notification power: Alice (creator) has it, Carol not.
    room.send(ALICE, "@room", **{"m.mentions": {"room": True}})
    room.send(CAROL, "@room", **{"m.mentions": {"room": True}})
    assert world.counts(BOB, room.room_id) == (1, 1)
    # Power levels change between two of Carol's messages, in one batch.
    room.state(ALICE, "m.room.power_levels", "", {"users": {CAROL: 50}})
    room.send(CAROL, "@room", **{"m.mentions": {"room": True}})
    assert world.counts(BOB, room.room_id) == (2, 2)


def test_invite_notifies_the_invitee_and_redaction_withdraws(world: World) -> None:
    room = RoomScript(world.log)
    room.invite(ALICE, BOB)
    assert world.counts(BOB, room.room_id) == (1, 0)
    room.join(BOB)  # joining reads the invite (an own event)
    assert world.counts(BOB, room.room_id) == (0, 0)
    message = room.send(ALICE, "oops")
    room.send(ALICE, "kept")
    assert world.counts(BOB, room.room_id) == (2, 0)
    room.redact(ALICE, message)
    assert world.counts(BOB, room.room_id) == (1, 0)
    listed = notifications(world.db, BOB, None, 10, False)
    assert [n.event_id for n in listed] and listed[0].room_id == room.room_id


def test_replay_gives_the_same_read_model(world: World) -> None:
    room = RoomScript(world.log)
    room.join(BOB)
    room.join(CAROL, displayname="Carol")
    tea = {"rule_id": "tea", "pattern": "tea", "actions": ["notify", {"set_tweak": "highlight"}]}
    world.rules(CAROL, {"content": [tea]})
    for i in range(5):
        room.send(ALICE, f"tea {i}" if i % 2 else f"m{i}")
    room.send(BOB, "hi Carol", **{"m.mentions": {"user_ids": [CAROL]}})
    oops = room.send(ALICE, "tea, oops")
    room.redact(ALICE, oops)  # in the same batch as the event, the first time
    world.project()
    before = world.push.checksum()
    assert world.counts(CAROL, room.room_id) == (6, 3)
    world.push.reset()
    # record by record this time: batch boundaries must not matter
    for record in world.log.records:
        world.push.process([record])
    assert world.push.checksum() == before


def test_membership_windows_bound_the_shared_rows(world: World) -> None:
    room = RoomScript(world.log)
    room.join(BOB)
    before = room.send(ALICE, "before")
    room.leave(BOB)
    room.send(ALICE, "while away")  # not a member: nothing for Bob
    room.join(BOB)  # reads the room (an own event)
    after = room.send(ALICE, "after")
    upto = world.project()
    assert world.counts(BOB, room.room_id) == (1, 0)
    listed = notifications(world.db, BOB, None, 10, False)
    assert [n.event_id for n in listed] == [after, before]
    assert [n.event_id for n in pending_notifications(world.db, BOB, 0, upto, 10)] == [
        before,
        after,
    ]
    assert notifications(world.db, ALICE, None, 10, False) == []  # own events never
    assert rooms_with_notifications(world.db, BOB) == [room.room_id]


def test_members_with_their_own_outcome_get_their_own_rows(world: World) -> None:
    room = RoomScript(world.log)
    room.join(BOB)
    room.join(CAROL)
    hello = room.send(ALICE, "hello")
    # In the same batch as messages before and after: the change must reach them.
    world.rules(CAROL, {"room": [{"rule_id": room.room_id, "actions": []}]})
    room.send(ALICE, "quiet")
    mention = room.send(ALICE, "carol?", **{"m.mentions": {"user_ids": [CAROL]}})
    upto = world.project()
    shared = list(world.db.iter_rows("SELECT room_id FROM push_room_actions"))
    assert shared == [(room.room_id,)] * 3  # one row per event, not per member
    own = sorted(world.db.iter_rows("SELECT user_id, notify, highlight FROM push_user_actions"))
    # Carol muted the room (nothing, twice); the mention highlights for her
    # all the same (an override rule ranks above her room rule).
    assert own == [(CAROL, 0, 0), (CAROL, 1, 1)]
    assert world.counts(CAROL, room.room_id) == (2, 1)
    assert world.counts(BOB, room.room_id) == (3, 0)
    listed = pending_notifications(world.db, CAROL, 0, upto, 10)
    assert [n.event_id for n in listed] == [hello, mention]


def test_two_copies_of_the_worker_agree_with_one(world: World) -> None:
    """Copies alternate batches: each one's cached rooms go stale while the
    other applies (here: Carol joins, Bob mutes), so the result is only right
    if a copy notices and reads the tables again."""
    room = RoomScript(world.log)
    room.join(BOB)
    room.send(ALICE, "one")
    world.project()
    other = ProjectionRunner(world.db, PushActionsProjection())
    room.join(CAROL, displayname="Carol")
    world.rules(BOB, {"room": [{"rule_id": room.room_id, "actions": []}]})
    other.process(world.log.records)  # the second copy applies these
    room.send(ALICE, "two Carol")
    room.send(ALICE, "three")
    world.project()  # the first copy again
    assert world.counts(CAROL, room.room_id) == (2, 0)
    assert world.counts(BOB, room.room_id) == (1, 0)  # muted after "one"
    alternated = world.push.checksum()
    fresh = ProjectionRunner(world.db, PushActionsProjection())
    fresh.reset()
    fresh.process(world.log.records)
    assert fresh.checksum() == alternated


def test_a_room_with_nobody_else_writes_no_outcome(world: World) -> None:
    room = RoomScript(world.log)
    room.send(ALICE, "talking to myself")
    world.project()
    assert list(world.db.iter_rows("SELECT * FROM push_room_actions")) == []
    assert [r[1] for r in world.db.iter_rows("SELECT * FROM push_own_reads")] == [ALICE]
