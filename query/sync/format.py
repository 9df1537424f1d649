"""Stripped state: what an invitee or knocker sees of a room. (Client-format
events come from ``tessera.query.events``.)"""

from __future__ import annotations

from typing import Any

import orjson

from tessera.query.events import EventRow

#: The state an invitee or knocker sees of a room (the spec's recommendation).
STRIPPED_STATE_TYPES = (
    "m.room.create",
    "m.room.name",
    "m.room.avatar",
    "m.room.topic",
    "m.room.join_rules",
    "m.room.canonical_alias",
    "m.room.encryption",
)


def stripped_event(row: EventRow) -> dict[str, Any]:
    pdu: dict[str, Any] = orjson.loads(row.pdu)
    return {
        "type": row.type,
        "state_key": row.state_key or "",
        "sender": row.sender,
        "content": pdu.get("content", {}),
    }
