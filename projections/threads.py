"""Threads: which events are thread roots, and where each thread was last active.

``GET /rooms/{roomId}/threads`` lists a room's threads newest activity first;
that order needs, per root, the position of its latest reply, which no other
read model holds. This fold keeps it (docs/read-models.md, "threads"):

- ``thread_events``: one row per event with ``rel_type: m.thread`` (its root,
  sender and position) and a tombstone row per redaction target, so a reply
  redacted before it arrives (federation) never counts;
- ``threads``: per ``(room_id, root_id)``, ``latest_position``, the greatest
  position of a reply that is not redacted; a thread whose replies are all
  redacted has no row (a redaction breaks the relationship, spec: "Aggregations
  of child events").

Each change recomputes a root's row from ``thread_events`` in SQL, so the fold
stays pure (no reads here) and a redelivered record writes the same rows again.
The bundled summaries (``unsigned.m.relations.m.thread``) are counted per
reader from ``room_events`` instead, because history visibility differs per
reader (``tessera.query.aggregations``).
"""

from __future__ import annotations

from tessera.kernel.events import Event
from tessera.kernel.room_versions import UnknownRoomVersion, room_version
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change
from tessera.schema.records import PDU, PduRecord

THREAD = "m.thread"

name: str = "threads"
tables: tuple[str, ...] = ("thread_events", "threads")
migrations: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS thread_events ("
    " event_id TEXT PRIMARY KEY,"
    " room_id TEXT NOT NULL,"
    " root_id TEXT,"
    " sender TEXT,"
    " position BIGINT,"
    " redacted BIGINT NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS thread_events_root ON thread_events (root_id, sender)",
    "CREATE TABLE IF NOT EXISTS threads ("
    " room_id TEXT NOT NULL,"
    " root_id TEXT NOT NULL,"
    " latest_position BIGINT NOT NULL,"
    " PRIMARY KEY (room_id, root_id))",
    "CREATE INDEX IF NOT EXISTS threads_room_latest ON threads (room_id, latest_position)",
)

# A tombstone of the same room (a redaction that came first) keeps the reply
# redacted; a row of another room is not this event's redaction.
_REPLY = (
    "INSERT INTO thread_events (event_id, room_id, root_id, sender, position, redacted)"
    " VALUES (?, ?, ?, ?, ?, 0)"
    " ON CONFLICT (event_id) DO UPDATE SET root_id = excluded.root_id,"
    " sender = excluded.sender, position = excluded.position,"
    " redacted = CASE WHEN thread_events.room_id = excluded.room_id"
    "  THEN thread_events.redacted ELSE 0 END,"
    " room_id = excluded.room_id"
)
_REDACTED = (
    "INSERT INTO thread_events (event_id, room_id, redacted) VALUES (?, ?, 1)"
    " ON CONFLICT (event_id) DO UPDATE SET redacted = 1"
    " WHERE thread_events.room_id = excluded.room_id"
)
# The root of a redaction's target, if the target is a reply of this room.
_ROOT_OF = "(SELECT t.root_id FROM thread_events t WHERE t.event_id = ? AND t.room_id = ?)"
_FORGET = "DELETE FROM threads WHERE room_id = ? AND root_id = {root}"
_RECOUNT = (
    "INSERT INTO threads (room_id, root_id, latest_position)"
    " SELECT room_id, root_id, MAX(position) FROM thread_events"
    " WHERE room_id = ? AND root_id = {root} AND redacted = 0"
    " GROUP BY room_id, root_id"
)


def _recompute(room_id: str, root: str, root_params: tuple[str, ...]) -> list[Change]:
    return [
        Change(_FORGET.format(root=root), (room_id, *root_params)),
        Change(_RECOUNT.format(root=root), (room_id, *root_params)),
    ]


def thread_root(content: object) -> str | None:
    """The root an event's content threads onto, or None."""
    relates = content.get("m.relates_to") if isinstance(content, dict) else None
    if not isinstance(relates, dict) or relates.get("rel_type") != THREAD:
        return None
    root = relates.get("event_id")
    return root if isinstance(root, str) else None


def apply(record: LogRecord) -> list[Change]:
    if record.kind != PDU:
        return []
    body = PduRecord.decode(record.payload)
    try:
        rv = room_version(body.room_version)
    except UnknownRoomVersion:
        return []
    event = Event(body.pdu(), rv, event_id=body.event_id)
    room_id = event.room_id or record.stream
    if event.type == "m.room.redaction":
        target = event.redacts
        if target is None:
            return []
        return [
            Change(_REDACTED, (target, room_id)),
            *_recompute(room_id, _ROOT_OF, (target, room_id)),
        ]
    root = thread_root(event.pdu.get("content"))
    if root is None:
        return []
    reply = (event.event_id, room_id, root, event.sender, record.position)
    return [Change(_REPLY, reply), *_recompute(room_id, "?", (root,))]
