"""The timeline: one row per accepted PDU, in log order (table ``room_events``).

The row keeps the PDU's canonical JSON untouched (DESIGN invariant 7) plus the
columns queries filter and paginate on; see docs/read-models.md for the
contract. Redaction never rewrites ``pdu``: it sets ``redacted_by`` and readers
redact on the way out (``tessera.query.events``), so the original stays in the
log and a rebuild reaches the same rows.

Every redaction in the log is applied: deciding whether a redaction may take
effect (the sender's power, or the same server as the target's sender) is the
command side's job before it appends one. A redaction only touches events of
its own room, and the first one to arrive wins.
"""

from __future__ import annotations

from typing import Any

from tessera.kernel.events import Event
from tessera.kernel.room_versions import UnknownRoomVersion, room_version
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change
from tessera.schema.records import PDU, PduRecord

name: str = "room_events"
tables: tuple[str, ...] = ("room_events",)
migrations: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS room_events ("
    " position BIGINT PRIMARY KEY,"
    " event_id TEXT NOT NULL UNIQUE,"
    " room_id TEXT NOT NULL,"
    " type TEXT NOT NULL,"
    " state_key TEXT,"
    " sender TEXT NOT NULL,"
    " origin_server_ts BIGINT NOT NULL,"
    " depth BIGINT NOT NULL,"
    " room_version TEXT NOT NULL,"
    " pdu TEXT NOT NULL,"
    " redacts TEXT,"
    " redacted_by TEXT,"
    " rel_type TEXT,"
    " relates_to TEXT,"
    " txn_device TEXT,"
    " txn_id TEXT)",
    "CREATE INDEX IF NOT EXISTS room_events_room_position ON room_events (room_id, position)",
    "CREATE INDEX IF NOT EXISTS room_events_redacts ON room_events (redacts)",
    "CREATE INDEX IF NOT EXISTS room_events_relates_to ON room_events (relates_to)",
    "CREATE INDEX IF NOT EXISTS room_events_room_ts ON room_events (room_id, origin_server_ts)",
)

# A late-arriving target (federation: the redaction came first) picks up the
# earliest redaction of it already in the room.
_INSERT = (
    "INSERT INTO room_events (position, event_id, room_id, type, state_key, sender,"
    " origin_server_ts, depth, room_version, pdu, redacts, redacted_by, rel_type, relates_to,"
    " txn_device, txn_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
    " (SELECT r.event_id FROM room_events r WHERE r.redacts = ? AND r.room_id = ?"
    "  ORDER BY r.position LIMIT 1),"
    " ?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING"
)
_REDACT = (
    "UPDATE room_events SET redacted_by = ?"
    " WHERE event_id = ? AND room_id = ? AND redacted_by IS NULL"
)


def _relation(content: Any) -> tuple[str | None, str | None]:
    relates = content.get("m.relates_to") if isinstance(content, dict) else None
    if not isinstance(relates, dict):
        return None, None
    rel_type = relates.get("rel_type")
    target = relates.get("event_id")
    return (
        rel_type if isinstance(rel_type, str) else None,
        target if isinstance(target, str) else None,
    )


def apply(record: LogRecord) -> list[Change]:
    if record.kind != PDU:
        return []
    body = PduRecord.decode(record.payload)
    try:
        rv = room_version(body.room_version)
    except UnknownRoomVersion:
        return []  # the command side never accepts one; nothing a reader could format
    event = Event(body.pdu(), rv, event_id=body.event_id)
    room_id = event.room_id or record.stream
    redacts = event.redacts if event.type == "m.room.redaction" else None
    rel_type, relates_to = _relation(event.pdu.get("content"))
    changes = [
        Change(
            _INSERT,
            (
                record.position,
                event.event_id,
                room_id,
                event.type,
                event.state_key,
                event.sender,
                event.origin_server_ts,
                event.depth,
                rv.identifier,
                body.pdu_json,
                redacts,
                event.event_id,
                room_id,
                rel_type,
                relates_to,
                body.device_id,
                body.txn_id,
            ),
        )
    ]
    if redacts is not None:
        changes.append(Change(_REDACT, (event.event_id, redacts, room_id)))
    return changes
