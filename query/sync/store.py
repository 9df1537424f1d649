"""The reads sync makes, as blocking SQL over the read models (run in a thread).

Every query is bounded by ``upto``: the position the response's token stands
for (``AppliedPositions.current()`` when the sync began). Rows past it belong to
the next sync, so a chain of syncs sees each event once (invariant 5) even
while projections keep applying under it.

Tables: ``room_events``, ``state_changes`` (docs/read-models.md), ``receipts``
and ``account_data``/``user_filters``/``user_push_rules`` (this part's
projections).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from tessera.query.events import EVENT_COLUMNS, EVENT_FROM, EventRow
from tessera.query.filters import RoomEventFilter
from tessera.query.visibility import RoomVisibility
from tessera.schema.readmodel import ReadModelDatabase


@dataclasses.dataclass(frozen=True, slots=True)
class Membership:
    room_id: str
    membership: str
    event_id: str
    position: int


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


class SyncStore:
    def __init__(self, db: ReadModelDatabase) -> None:
        self.db = db

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.db.iter_rows(sql, params))

    # -- memberships ------------------------------------------------------------

    def membership_changes(self, user_id: str, upto: int) -> list[Membership]:
        """Every membership change of the user up to ``upto``, oldest first."""
        rows = self._rows(
            "SELECT room_id, membership, event_id, position FROM state_changes"
            " WHERE state_key = ? AND type = 'm.room.member' AND position <= ?"
            " ORDER BY position",
            (user_id, upto),
        )
        return [Membership(r[0], r[1] or "", r[2], int(r[3])) for r in rows]

    # -- timeline ---------------------------------------------------------------

    def timeline(
        self,
        room_id: str,
        after: int,
        upto: int,
        flt: RoomEventFilter,
        limit: int,
        *,
        visibility: RoomVisibility | None = None,
    ) -> tuple[list[EventRow], bool]:
        """Up to ``limit`` matching events in ``(after, upto]`` the user may see,
        oldest first, and whether older ones were left out (``limited``)."""
        visible, params = ("1 = 1", []) if visibility is None else visibility.sql("e.position")
        if limit <= 0:
            return [], self.has_events(room_id, after, upto)
        exact = flt.matches_everything
        cursor: Iterator[tuple[Any, ...]] = self.db.iter_rows(
            f"SELECT {EVENT_COLUMNS} FROM {EVENT_FROM}"
            f" WHERE e.room_id = ? AND e.position > ? AND e.position <= ? AND {visible}"
            " ORDER BY e.position DESC" + (" LIMIT ?" if exact else ""),
            (room_id, after, upto, *params, *((limit + 1,) if exact else ())),
        )
        picked: list[EventRow] = []
        limited = False
        try:
            for raw in cursor:
                row = EventRow.of(raw)
                content = row.content() if flt.contains_url is not None else None
                if not exact and not flt.allows(row.type, row.sender, content):
                    continue
                if len(picked) == limit:
                    limited = True
                    break
                picked.append(row)
        finally:
            close = getattr(cursor, "close", None)
            if close is not None:
                close()
        picked.reverse()
        return picked, limited

    def has_events(self, room_id: str, after: int, upto: int) -> bool:
        return bool(
            self._rows(
                "SELECT 1 FROM room_events WHERE room_id = ? AND position > ? AND position <= ?"
                " LIMIT 1",
                (room_id, after, upto),
            )
        )

    def events_by_id(self, event_ids: Sequence[str]) -> dict[str, EventRow]:
        if not event_ids:
            return {}
        rows = self._rows(
            f"SELECT {EVENT_COLUMNS} FROM {EVENT_FROM} WHERE e.event_id IN ({_marks(event_ids)})",
            tuple(event_ids),
        )
        return {row.event_id: row for row in map(EventRow.of, rows)}

    # -- state ------------------------------------------------------------------

    def state(
        self, room_id: str, after: int, upto: int, *, types: Sequence[str] | None = None
    ) -> list[EventRow]:
        """Per state key changed in ``(after, upto]``, its event as of ``upto``;
        ``after=0`` gives the whole state at ``upto``."""
        type_clause = f" AND s.type IN ({_marks(types)})" if types else ""
        rows = self._rows(
            f"SELECT {EVENT_COLUMNS} FROM {EVENT_FROM}"
            " JOIN state_changes s ON s.event_id = e.event_id"
            " WHERE s.room_id = ? AND s.position > ? AND s.position <= ?" + type_clause + ""
            " AND s.position = (SELECT MAX(s2.position) FROM state_changes s2"
            "  WHERE s2.room_id = s.room_id AND s2.type = s.type"
            "  AND s2.state_key = s.state_key AND s2.position <= ?)"
            " ORDER BY s.position",
            (room_id, after, upto, *(types or ()), upto),
        )
        return [EventRow.of(r) for r in rows]

    # -- receipts and account data --------------------------------------------------

    def receipts(
        self, room_ids: Sequence[str], after: int, upto: int
    ) -> list[tuple[str, str, str, str, str, int]]:
        """``(room_id, user_id, receipt_type, thread_id, event_id, ts)`` changed in the range."""
        if not room_ids:
            return []
        rows = self._rows(
            "SELECT room_id, user_id, receipt_type, thread_id, event_id, ts FROM receipts"
            f" WHERE position > ? AND position <= ? AND room_id IN ({_marks(room_ids)})"
            " ORDER BY position",
            (after, upto, *room_ids),
        )
        return [(r[0], r[1], r[2], r[3], r[4], int(r[5])) for r in rows]

    def account_data(self, user_id: str, after: int, upto: int) -> list[tuple[str, str, str]]:
        """``(room_id or '', type, content JSON)`` changed in the range."""
        rows = self._rows(
            "SELECT room_id, type, content FROM account_data"
            " WHERE user_id = ? AND position > ? AND position <= ? ORDER BY position",
            (user_id, after, upto),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def account_data_item(self, user_id: str, room_id: str | None, data_type: str) -> Any:
        """One account data object's content, or None if the user never set it."""
        for (content,) in self.db.iter_rows(
            "SELECT content FROM account_data WHERE user_id = ? AND room_id = ? AND type = ?",
            (user_id, room_id or "", data_type),
        ):
            return orjson.loads(content)
        return None

    def forgotten(self, user_id: str) -> dict[str, int]:
        """The rooms the user forgot, with the position they did so."""
        rows = self._rows(
            "SELECT room_id, position FROM forgotten_rooms WHERE user_id = ?", (user_id,)
        )
        return {r[0]: int(r[1]) for r in rows}

    def push_rules(self, user_id: str) -> tuple[dict[str, Any] | None, int]:
        """The user's push rules document and the position that wrote it (0: none)."""
        for rules, position in self.db.iter_rows(
            "SELECT rules, position FROM user_push_rules WHERE user_id = ?", (user_id,)
        ):
            document: dict[str, Any] = orjson.loads(rules)
            return document, int(position)
        return None, 0

    def filter(self, user_id: str, filter_id: str) -> dict[str, Any] | None:
        for (text,) in self.db.iter_rows(
            "SELECT filter FROM user_filters WHERE user_id = ? AND filter_id = ?",
            (user_id, filter_id),
        ):
            definition: dict[str, Any] = orjson.loads(text)
            return definition
        return None
