"""Events as clients see them: rows of ``room_events`` in the client format.

One query loads a batch with everything its formatting needs: the event, the
redaction that applies to it (``unsigned.redacted_because``) and, for state
events, the event it replaced (``unsigned.prev_content``, ``replaces_state``).
Redaction happens here, on the way out, with the room version's algorithm: the
stored PDU is never changed (docs/read-models.md).

Callers building their own ``WHERE`` (pagination, sync) select
``EVENT_COLUMNS`` ``FROM`` ``EVENT_FROM`` and turn rows into ``EventRow`` with
``EventRow.of``; the event table's alias is ``e``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson

from tessera.kernel.redaction import redact
from tessera.kernel.room_versions import room_version
from tessera.schema.readmodel import ReadModelDatabase

EVENT_COLUMNS = (
    "e.position, e.event_id, e.room_id, e.type, e.state_key, e.sender, e.origin_server_ts,"
    " e.room_version, e.pdu, e.txn_device, e.txn_id, e.redacted_by, r.pdu, sc.replaces,"
    " p.pdu, p.redacted_by, p.position"
)
EVENT_FROM = (
    "room_events e"
    " LEFT JOIN room_events r ON r.event_id = e.redacted_by"
    " LEFT JOIN state_changes sc ON sc.room_id = e.room_id AND sc.type = e.type"
    "  AND sc.state_key = e.state_key AND sc.position = e.position"
    " LEFT JOIN room_events p ON p.event_id = sc.replaces"
)
#: Bound parameters per ``IN (…)`` list: well under SQLite's and PostgreSQL's limits.
CHUNK = 500


@dataclasses.dataclass(frozen=True, slots=True)
class Viewer:
    """Who is reading: ``transaction_id`` is echoed to the sending device only."""

    user_id: str
    device_id: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class EventRow:
    position: int
    event_id: str
    room_id: str
    type: str
    state_key: str | None
    sender: str
    origin_server_ts: int
    room_version: str
    pdu: str
    txn_device: str | None
    txn_id: str | None
    redacted_by: str | None
    #: The PDU of the redaction in ``redacted_by``.
    redaction_pdu: str | None
    #: For a state event: the event it replaced in the room's state.
    replaces: str | None
    replaced_pdu: str | None
    replaced_redacted: bool
    #: Where the replaced event is in the log, to check the reader may see it.
    replaced_position: int | None = None

    @classmethod
    def of(cls, row: Sequence[Any]) -> EventRow:
        """A row of ``SELECT EVENT_COLUMNS FROM EVENT_FROM``."""
        return cls(
            int(row[0]),
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            int(row[6]),
            row[7],
            row[8],
            row[9],
            row[10],
            row[11],
            row[12],
            row[13],
            row[14],
            row[15] is not None,
            int(row[16]) if len(row) > 16 and row[16] is not None else None,
        )

    def content(self) -> dict[str, Any]:
        """The content as clients see it (redacted if the event is)."""
        content: dict[str, Any] = _visible_pdu(
            self.room_version, self.pdu, self.redacted_by is not None
        )["content"]
        return content


def _visible_pdu(version: str, pdu_json: str, redacted: bool) -> dict[str, Any]:
    pdu: dict[str, Any] = orjson.loads(pdu_json)
    if redacted:
        pdu = redact(room_version(version), pdu)
    if not isinstance(pdu.get("content"), dict):
        pdu["content"] = {}
    return pdu


def _base(pdu: dict[str, Any], event_id: str, room_id: str, ts: int, now_ms: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "content": pdu["content"],
        "event_id": event_id,
        "origin_server_ts": ts,
        "room_id": room_id,
        "sender": pdu.get("sender", ""),
        "type": pdu.get("type", ""),
        "unsigned": {"age": now_ms - ts},
    }
    state_key = pdu.get("state_key")
    if isinstance(state_key, str):
        out["state_key"] = state_key
    if out["type"] == "m.room.redaction":
        # v11 moved `redacts` into the content; clients written for older rooms
        # still look at the top level, so it is offered in both places.
        redacts = pdu.get("redacts", pdu["content"].get("redacts"))
        if isinstance(redacts, str):
            out["redacts"] = redacts
    return out


def client_event(
    row: EventRow,
    *,
    now_ms: int,
    viewer: Viewer | None = None,
    membership: str | None = None,
    may_see: Callable[[int], bool] | None = None,
    relations: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The event in the client format (``ClientEvent``), redacted if it is.

    ``membership`` is the viewer's membership at the event
    (``unsigned.membership``), when the caller knows it; ``may_see`` tells
    whether the viewer may see the event at a position (history visibility):
    ``prev_content`` is only given when they may see the replaced event.
    ``relations`` is the event's bundled aggregations (``unsigned.m.relations``),
    computed for a whole batch by ``tessera.query.aggregations.bundles``.
    """
    redacted = row.redacted_by is not None
    pdu = _visible_pdu(row.room_version, row.pdu, redacted)
    out = _base(pdu, row.event_id, row.room_id, row.origin_server_ts, now_ms)
    unsigned: dict[str, Any] = out["unsigned"]
    if (
        viewer is not None
        and row.txn_id is not None
        and viewer.device_id is not None
        and viewer.device_id == row.txn_device
        and viewer.user_id == row.sender
    ):
        unsigned["transaction_id"] = row.txn_id
    if redacted and row.redaction_pdu is not None and row.redacted_by is not None:
        because = orjson.loads(row.redaction_pdu)
        ts = because.get("origin_server_ts")
        ts = ts if type(ts) is int else 0
        if not isinstance(because.get("content"), dict):
            because["content"] = {}
        unsigned["redacted_because"] = _base(because, row.redacted_by, row.room_id, ts, now_ms)
    if row.replaces is not None:
        unsigned["replaces_state"] = row.replaces
        hidden = (
            may_see is not None
            and row.replaced_position is not None
            and not may_see(row.replaced_position)
        )
        if row.replaced_pdu is not None and not hidden:
            prev = _visible_pdu(row.room_version, row.replaced_pdu, row.replaced_redacted)
            unsigned["prev_content"] = prev["content"]
            prev_sender = prev.get("sender")
            if isinstance(prev_sender, str):
                unsigned["prev_sender"] = prev_sender
    if membership is not None:
        unsigned["membership"] = membership
    if relations:
        unsigned["m.relations"] = relations
    return out


def select_events(
    db: ReadModelDatabase, where: str, params: Sequence[Any], suffix: str = ""
) -> list[EventRow]:
    """Rows ``WHERE where`` (on alias ``e``) plus ``suffix`` (``ORDER BY``/``LIMIT``)."""
    sql = f"SELECT {EVENT_COLUMNS} FROM {EVENT_FROM} WHERE {where} {suffix}"
    return [EventRow.of(row) for row in db.iter_rows(sql, params)]


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def events_by_ids(db: ReadModelDatabase, event_ids: Iterable[str]) -> dict[str, EventRow]:
    """The rows of the events known here, by event ID (unknown IDs are absent)."""
    wanted = list(dict.fromkeys(event_ids))
    found: dict[str, EventRow] = {}
    for part in _chunks(wanted):
        marks = ",".join("?" * len(part))
        for row in select_events(db, f"e.event_id IN ({marks})", part):
            found[row.event_id] = row
    return found


def events_by_positions(db: ReadModelDatabase, positions: Iterable[int]) -> list[EventRow]:
    """The rows at these positions, in position order (positions without an event are absent)."""
    wanted = sorted(set(positions))
    found: list[EventRow] = []
    for part in _chunks(wanted):
        marks = ",".join("?" * len(part))
        found += select_events(db, f"e.position IN ({marks})", part, "ORDER BY e.position")
    return found


def event_in_room(db: ReadModelDatabase, room_id: str, event_id: str) -> EventRow | None:
    rows = select_events(db, "e.event_id = ? AND e.room_id = ?", (event_id, room_id))
    return rows[0] if rows else None


def latest_position(db: ReadModelDatabase) -> int:
    """The greatest position in ``room_events`` (0 when empty)."""
    for (position,) in db.iter_rows("SELECT MAX(position) FROM room_events"):
        return int(position or 0)
    return 0
