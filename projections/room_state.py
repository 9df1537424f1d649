"""Room state: the current state of each room and every change to it by position.

Tables ``current_state`` and ``state_changes`` (docs/read-models.md). Only
records the command side marks as state changes (``PduRecord.is_state_change``)
move state: that flag is decided after state resolution, so a federated state
event that lost resolution is in the timeline but not here.

``state_changes.replaces`` is the event the change replaced (NULL for a new
key): read from ``current_state`` *before* the upsert in the same transaction,
so it is exactly what the key held; readers use it for ``unsigned.prev_content``
and ``replaces_state``.
"""

from __future__ import annotations

from tessera.kernel.events import Event
from tessera.kernel.room_versions import UnknownRoomVersion, room_version
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change
from tessera.schema.records import PDU, PduRecord

name: str = "room_state"
tables: tuple[str, ...] = ("current_state", "state_changes")
migrations: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS current_state ("
    " room_id TEXT NOT NULL, type TEXT NOT NULL, state_key TEXT NOT NULL,"
    " event_id TEXT NOT NULL, position BIGINT NOT NULL, membership TEXT,"
    " PRIMARY KEY (room_id, type, state_key))",
    "CREATE INDEX IF NOT EXISTS current_state_user ON current_state (state_key, type, membership)",
    "CREATE TABLE IF NOT EXISTS state_changes ("
    " room_id TEXT NOT NULL, type TEXT NOT NULL, state_key TEXT NOT NULL,"
    " event_id TEXT NOT NULL, position BIGINT NOT NULL, membership TEXT,"
    " replaces TEXT,"
    " PRIMARY KEY (room_id, type, state_key, position))",
    "CREATE INDEX IF NOT EXISTS state_changes_room_position ON state_changes (room_id, position)",
    "CREATE INDEX IF NOT EXISTS state_changes_user ON state_changes (state_key, type, position)",
)

_CHANGE = (
    "INSERT INTO state_changes (room_id, type, state_key, event_id, position, membership,"
    " replaces) VALUES (?, ?, ?, ?, ?, ?,"
    " (SELECT c.event_id FROM current_state c"
    "  WHERE c.room_id = ? AND c.type = ? AND c.state_key = ?))"
    " ON CONFLICT DO NOTHING"
)
_CURRENT = (
    "INSERT INTO current_state (room_id, type, state_key, event_id, position, membership)"
    " VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (room_id, type, state_key) DO UPDATE SET"
    " event_id = excluded.event_id, position = excluded.position,"
    " membership = excluded.membership"
)


def apply(record: LogRecord) -> list[Change]:
    if record.kind != PDU:
        return []
    body = PduRecord.decode(record.payload)
    if not body.is_state_change:
        return []
    try:
        rv = room_version(body.room_version)
    except UnknownRoomVersion:
        return []
    event = Event(body.pdu(), rv, event_id=body.event_id)
    if event.state_key is None:
        return []
    room_id = event.room_id or record.stream
    key = (room_id, event.type, event.state_key)
    membership = event.membership if event.type == "m.room.member" else None
    row = (*key, event.event_id, record.position, membership)
    return [Change(_CHANGE, (*row, *key)), Change(_CURRENT, row)]
