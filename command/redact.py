"""Redactions: ``PUT /rooms/{roomId}/redact/{eventId}/{txnId}``.

From room version 3 the auth rules no longer check who may redact what: the
rule ("the redact level, or the same sender") moved to when a redaction is
applied. A local client's redaction is checked here before it is sent, so a
user cannot even ask to redact another's event without the power, and the
target must be an event of this room that the server knows.
"""

from __future__ import annotations

from typing import Any

from tessera.kernel.auth import named_power_level, user_power_level

from .room import Room
from .room_deps import RoomDeps, forbidden, not_found
from .room_write import write_event


async def redact(
    deps: RoomDeps,
    *,
    sender: str,
    device_id: str,
    room_id: str,
    event_id: str,
    txn_id: str,
    content: dict[str, Any],
) -> tuple[str, list[int]]:
    """The redaction's event ID and positions (none for a retried transaction).

    ``content`` is the redaction's content without ``redacts`` (``reason``…);
    the target goes where the room version puts it (content from v11).
    """
    origin = await deps.lookups.event_origin(event_id)
    if origin is None or origin[0] != room_id:
        raise not_found(f"Unknown event {event_id} in {room_id}")
    target_sender = origin[1]

    def retried(room: Room) -> str | None:
        return room.transactions.get((device_id, txn_id))

    def may_redact(room: Room) -> None:
        if target_sender == sender:
            return
        if user_power_level(sender, room.state) < named_power_level("redact", room.state):
            raise forbidden("You may only redact your own events without the redact level")

    return await write_event(
        deps,
        room_id,
        sender=sender,
        event_type="m.room.redaction",
        content=content,
        redacts=event_id,
        device_id=device_id,
        txn_id=txn_id,
        existing=retried,
        check=may_redact,
    )
