"""Sending events: ``PUT /rooms/{roomId}/send/{eventType}/{txnId}``.

A retried transaction (same device, same transaction ID, same room) answers the
event it made the first time and appends nothing: the room aggregate remembers
the ``(device, txn)`` pairs of its local events, and the check runs under the
room's lock (and again after a cross-process conflict), so a retry racing the
original cannot make a second event.
"""

from __future__ import annotations

from typing import Any

from .redact import redact
from .room import Room
from .room_deps import RoomDeps, bad_json
from .room_write import write_event


async def send_message(
    deps: RoomDeps,
    *,
    sender: str,
    device_id: str,
    room_id: str,
    event_type: str,
    txn_id: str,
    content: dict[str, Any],
) -> tuple[str, list[int]]:
    """The event's ID and the positions committed (none for a retried transaction)."""
    if not event_type:
        raise bad_json("The event type must not be empty")
    if event_type == "m.room.redaction":
        # Spec v1.18: clients may send redactions here in every room version.
        target = content.get("redacts")
        if not isinstance(target, str):
            raise bad_json("An m.room.redaction needs 'redacts' in its content")
        extra = {k: v for k, v in content.items() if k != "redacts"}
        return await redact(
            deps,
            sender=sender,
            device_id=device_id,
            room_id=room_id,
            event_id=target,
            txn_id=txn_id,
            content=extra,
        )

    def retried(room: Room) -> str | None:
        return room.transactions.get((device_id, txn_id))

    return await write_event(
        deps,
        room_id,
        sender=sender,
        event_type=event_type,
        content=content,
        device_id=device_id,
        txn_id=txn_id,
        existing=retried,
    )
