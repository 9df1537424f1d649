"""Appending one local event to an existing room: the step every room command shares.

``write_event`` builds the event on the room's current state under the room's
lock (``RoomRepository.write_events``), auth-checks it (a rejection becomes 403
M_FORBIDDEN with the rule's message), refuses a PDU over the spec's 64 KiB, and
commits it. ``existing`` lets a command answer without writing: a retried
transaction, a state event identical to the current one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tessera.kernel.canonical_json import encode_canonical_json

from .room import NewEvent, Room
from .room_deps import RoomDeps, auth_refusal, not_found, too_large
from .rooms import RoomNotFound

#: The largest PDU a room accepts, in bytes of canonical JSON (spec: "Size limits").
MAX_PDU_BYTES = 65_536


def check_size(new: NewEvent) -> None:
    # The record's payload wraps the PDU's JSON, so below the limit it is surely fine.
    if len(new.record.payload) <= MAX_PDU_BYTES:
        return
    if len(encode_canonical_json(new.event.pdu)) > MAX_PDU_BYTES:
        raise too_large(f"The event is over {MAX_PDU_BYTES} bytes")


def build_checked(
    room: Room,
    deps: RoomDeps,
    *,
    sender: str,
    event_type: str,
    content: dict[str, Any],
    state_key: str | None = None,
    redacts: str | None = None,
    device_id: str | None = None,
    txn_id: str | None = None,
) -> NewEvent:
    """A new event on ``room``, auth-checked and within the size limit."""
    with auth_refusal():
        new = room.build(
            sender=sender,
            event_type=event_type,
            content=content,
            state_key=state_key,
            now_ms=deps.clock(),
            signing_key=deps.signing_key,
            redacts=redacts,
            device_id=device_id,
            txn_id=txn_id,
        )
    check_size(new)
    return new


async def write_event(
    deps: RoomDeps,
    room_id: str,
    *,
    sender: str,
    event_type: str,
    content: dict[str, Any],
    state_key: str | None = None,
    redacts: str | None = None,
    device_id: str | None = None,
    txn_id: str | None = None,
    existing: Callable[[Room], str | None] | None = None,
    check: Callable[[Room], None] | None = None,
) -> tuple[str, list[int]]:
    """Append one event; its ID and the committed positions (none if ``existing`` answered).

    ``check`` runs on the room under its lock before the event is built, to refuse
    what the auth rules allow but the Client-Server API does not.
    """

    def decide(room: Room) -> tuple[list[NewEvent], str]:
        if existing is not None:
            found = existing(room)
            if found is not None:
                return [], found
        if check is not None:
            check(room)
        new = build_checked(
            room,
            deps,
            sender=sender,
            event_type=event_type,
            content=content,
            state_key=state_key,
            redacts=redacts,
            device_id=device_id,
            txn_id=txn_id,
        )
        return [new], new.event.event_id

    try:
        positions, _, event_id = await deps.rooms.write_events(room_id, decide)
    except RoomNotFound:
        raise not_found(f"Unknown room {room_id}") from None
    return event_id, positions
