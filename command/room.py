"""The room aggregate: what the command side must know of a room to extend it.

A ``Room`` is rebuilt by folding its stream's PDU records: the current state
(``(type, state_key) -> Event``), the forward extremities, the greatest depth,
the stream version and the transaction IDs already used. Hot rooms stay in
memory (``RoomRepository``), so a write never replays the room.

``build`` makes a new local event on top of the room and auth-checks it against
the current state (DESIGN invariant 6); ``apply`` folds a committed record in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tessera.kernel.auth import AuthError, auth_types_for_event, check_auth
from tessera.kernel.builder import build_pdu
from tessera.kernel.canonical_json import encode_canonical_json
from tessera.kernel.events import Event, StateKey
from tessera.kernel.room_versions import RoomVersion, room_version
from tessera.kernel.signing import SigningKey
from tessera.schema.log import LogRecord, NewRecord
from tessera.schema.records import PDU, PduRecord

#: How many forward extremities a new event references at most (as Synapse does).
MAX_PREV_EVENTS = 10
CREATE_KEY: StateKey = ("m.room.create", "")

__all__ = ["AuthError", "NewEvent", "Room"]


@dataclasses.dataclass(frozen=True, slots=True)
class NewEvent:
    """A built, signed and auth-checked event, ready to append."""

    event: Event
    record: NewRecord


class Room:
    def __init__(self, room_id: str) -> None:
        self.room_id = room_id
        self.version: RoomVersion | None = None
        self.stream_version = 0
        self.state: dict[StateKey, Event] = {}
        self.extremities: list[str] = []
        self.depth = 0
        #: ``(device_id, txn_id) -> event_id`` of local sends, for idempotency.
        self.transactions: dict[tuple[str, str], str] = {}

    @property
    def exists(self) -> bool:
        return self.version is not None

    def membership(self, user_id: str) -> str | None:
        """``user_id``'s membership in the current state (None: never a member)."""
        member = self.state.get(("m.room.member", user_id))
        return member.membership if member is not None else None

    def state_content(self, event_type: str, state_key: str = "") -> Mapping[str, Any]:
        """The content of a current state entry ({} when absent)."""
        event = self.state.get((event_type, state_key))
        return event.content if event is not None else {}

    def apply(self, record: LogRecord | NewRecord, event: Event | None = None) -> None:
        """Fold one committed record of this room's stream."""
        self.stream_version = record.version
        if record.kind != PDU:
            return
        body = PduRecord.decode(record.payload)
        if event is None:
            rv = room_version(body.room_version)
            event = Event(body.pdu(), rv, event_id=body.event_id)
        if self.version is None:
            self.version = event.room_version
        if body.is_state_change:
            self.state[event.state_entry] = event
        prev = set(event.prev_event_ids)
        self.extremities = [e for e in self.extremities if e not in prev]
        self.extremities.append(event.event_id)
        self.depth = max(self.depth, event.depth)
        if body.device_id is not None and body.txn_id is not None:
            self.transactions[(body.device_id, body.txn_id)] = event.event_id

    def auth_state_for(self, event: Event) -> dict[StateKey, Event]:
        """The current-state events ``event`` is authorised by (create always included)."""
        wanted = auth_types_for_event(event)
        auth = {key: self.state[key] for key in wanted if key in self.state}
        if CREATE_KEY in self.state:
            auth[CREATE_KEY] = self.state[CREATE_KEY]
        return auth

    def build(
        self,
        *,
        sender: str,
        event_type: str,
        content: dict[str, Any],
        state_key: str | None,
        now_ms: int,
        signing_key: SigningKey,
        redacts: str | None = None,
        device_id: str | None = None,
        txn_id: str | None = None,
    ) -> NewEvent:
        """A new event extending the room, auth-checked; raises AuthError.

        Nothing changes until the caller applies the committed record; to build
        several events in a row before committing any (room creation), apply
        each to a room object nobody else sees yet.
        """
        rv = self.version
        if rv is None:
            raise ValueError(f"room {self.room_id} does not exist")
        proto: dict[str, Any] = {
            "type": event_type,
            "sender": sender,
            "content": content,
            "room_id": self.room_id,
        }
        if state_key is not None:
            proto["state_key"] = state_key
        wanted = auth_types_for_event(Event(proto, rv, event_id="$proto"))
        if rv.room_id_is_create_event_id:
            wanted.discard(CREATE_KEY)
        auth_ids = sorted(self.state[k].event_id for k in wanted if k in self.state)
        event_id, pdu = build_pdu(
            rv,
            room_id=self.room_id,
            sender=sender,
            event_type=event_type,
            content=content,
            state_key=state_key,
            redacts=redacts,
            prev_events=self.extremities[-MAX_PREV_EVENTS:],
            auth_events=auth_ids,
            depth=min(self.depth + 1, 2**53 - 1),
            origin_server_ts=now_ms,
            signing_key=signing_key,
        )
        event = Event(pdu, rv, event_id=event_id)
        check_auth(event, self.auth_state_for(event))
        return NewEvent(event, self._record(event, device_id, txn_id))

    def _record(self, event: Event, device_id: str | None, txn_id: str | None) -> NewRecord:
        body = PduRecord(
            event_id=event.event_id,
            room_version=event.room_version.identifier,
            pdu_json=encode_canonical_json(event.pdu).decode(),
            is_state_change=event.is_state,
            device_id=device_id,
            txn_id=txn_id,
        )
        return NewRecord(self.room_id, self.stream_version + 1, PDU, body.encode())

    @classmethod
    def start(
        cls,
        rv: RoomVersion,
        *,
        sender: str,
        content: dict[str, Any],
        now_ms: int,
        signing_key: SigningKey,
        room_id: str | None,
    ) -> tuple[Room, NewEvent]:
        """A new room from its create event (applied to the returned room).

        ``room_id`` is chosen by the caller for versions before 12 and must be
        None from 12 on, where the create event's ID names the room.
        """
        event_id, pdu = build_pdu(
            rv,
            room_id=room_id,
            sender=sender,
            event_type="m.room.create",
            content=content,
            state_key="",
            prev_events=[],
            auth_events=[],
            depth=1,
            origin_server_ts=now_ms,
            signing_key=signing_key,
        )
        event = Event(pdu, rv, event_id=event_id)
        check_auth(event, {})
        room = cls(event.room_id)
        new = NewEvent(event, room._record(event, None, None))
        room.apply(new.record, event)
        return room, new
