"""Scripted rooms for read-model tests: real, signed, auth-checked PDUs in a log.

    log = MemoryLog()
    room = RoomScript(log, creator=ALICE)
    room.join(BOB)
    hello = room.send(BOB, "hello")
    room.redact(ALICE, hello)
    log.records  # LogRecords with positions, ready for the projections

Events are built with the command side's ``Room`` (so they pass the auth rules
as a real server's would) and appended in call order; several rooms may share
one log, so positions interleave as on a server.
"""

from __future__ import annotations

import itertools
from typing import Any

from tessera.command.room import NewEvent, Room
from tessera.kernel.room_versions import room_version
from tessera.kernel.signing import SigningKey
from tessera.schema.log import LogRecord, NewRecord

ALICE, BOB, CAROL, DAVE = "@alice:hs", "@bob:hs", "@carol:hs", "@dave:hs"
KEY = SigningKey.generate()
_ROOMS = itertools.count()


class MemoryLog:
    def __init__(self) -> None:
        self.records: list[LogRecord] = []

    def append(self, record: NewRecord) -> int:
        position = len(self.records) + 1
        self.records.append(
            LogRecord(position, record.stream, record.version, record.kind, record.payload)
        )
        return position


class RoomScript:
    """A public room created by ``creator`` (joined, with power 100)."""

    def __init__(
        self,
        log: MemoryLog,
        *,
        creator: str = ALICE,
        version: str = "12",
        history_visibility: str | None = None,
        now_ms: int | None = None,
    ) -> None:
        self.log = log
        # Distinct clocks per room: v12 room IDs are create events' hashes.
        self.now_ms = now_ms if now_ms is not None else 1_700_000_000_000 + next(_ROOMS) * 10**6
        self.positions: dict[str, int] = {}
        rv = room_version(version)
        content: dict[str, Any] = {"room_version": version}
        if not rv.implicit_room_creator:
            content["creator"] = creator
        self.room, create = Room.start(
            rv,
            sender=creator,
            content=content,
            now_ms=self._tick(),
            signing_key=KEY,
            room_id=None if rv.room_id_is_create_event_id else f"!room{len(log.records)}:hs",
        )
        self.create_id = self._commit(create, applied=True)
        self.member(creator, creator, "join")
        self.state(creator, "m.room.power_levels", "", {"users": {} if
                   rv.privileged_creators else {creator: 100}})  # fmt: skip
        self.state(creator, "m.room.join_rules", "", {"join_rule": "public"})
        if history_visibility is not None:
            self.visibility(creator, history_visibility)

    @property
    def room_id(self) -> str:
        return self.room.room_id

    def _tick(self) -> int:
        self.now_ms += 1
        return self.now_ms

    def _commit(self, new: NewEvent, *, applied: bool = False) -> str:
        position = self.log.append(new.record)
        if not applied:
            self.room.apply(new.record, new.event)
        self.positions[new.event.event_id] = position
        return new.event.event_id

    def event(
        self,
        sender: str,
        event_type: str,
        content: dict[str, Any],
        state_key: str | None = None,
        *,
        redacts: str | None = None,
        device_id: str | None = None,
        txn_id: str | None = None,
    ) -> str:
        new = self.room.build(
            sender=sender,
            event_type=event_type,
            content=content,
            state_key=state_key,
            now_ms=self._tick(),
            signing_key=KEY,
            redacts=redacts,
            device_id=device_id,
            txn_id=txn_id,
        )
        return self._commit(new)

    def send(self, sender: str, body: str = "hi", **extra: Any) -> str:
        return self.event(sender, "m.room.message", {"msgtype": "m.text", "body": body, **extra})

    def state(self, sender: str, event_type: str, key: str, content: dict[str, Any]) -> str:
        return self.event(sender, event_type, content, key)

    def member(self, sender: str, target: str, membership: str, **content: Any) -> str:
        return self.state(sender, "m.room.member", target, {"membership": membership, **content})

    def join(self, user: str, **content: Any) -> str:
        return self.member(user, user, "join", **content)

    def leave(self, user: str) -> str:
        return self.member(user, user, "leave")

    def invite(self, by: str, user: str) -> str:
        return self.member(by, user, "invite")

    def visibility(self, sender: str, value: str) -> str:
        return self.state(sender, "m.room.history_visibility", "", {"history_visibility": value})

    def redact(self, sender: str, target: str, reason: str | None = None) -> str:
        content = {"reason": reason} if reason else {}
        return self.event(sender, "m.room.redaction", content, redacts=target)
