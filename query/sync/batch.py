"""The per-room reads of one sync, batched: one round trip for every room's
timeline, one for every room's state, one for the summaries' memberships.

On PostgreSQL each query is a network round trip and a pool checkout, so a
user in 50 rooms would otherwise pay 150 of them. The batches are ``UNION ALL``
of the per-room queries, each arm keeping its own ``ORDER BY … LIMIT`` on the
``(room_id, position)`` index: a long room history is never scanned (a window
function over all rooms' events would scan them). The arms select keys only,
and one more statement loads the events: planning fifty arms that each carry
the event joins of ``tessera.query.events`` costs PostgreSQL more than
running them (measured: 15–38 ms of planning for 4–8 ms of execution).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from tessera.query.events import EventRow, events_by_ids, events_by_positions
from tessera.query.filters import RoomEventFilter
from tessera.query.visibility import RoomVisibility

from .store import SyncStore

#: Rooms per statement: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 200

_STATE_ARM = (
    "SELECT s.room_id, s.event_id FROM state_changes s"
    " WHERE s.room_id = ? AND s.position > ? AND s.position <= ?"
    " AND s.position = (SELECT MAX(s2.position) FROM state_changes s2"
    "  WHERE s2.room_id = s.room_id AND s2.type = s.type"
    "  AND s2.state_key = s.state_key AND s2.position <= ?)"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Window:
    """The positions ``(after, upto]`` of one room a section covers."""

    room_id: str
    after: int
    upto: int
    visibility: RoomVisibility | None = None


def _union(store: SyncStore, arms: Sequence[tuple[str, Sequence[Any]]]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(arms), CHUNK):
        part = arms[start : start + CHUNK]
        sql = " UNION ALL ".join(arm for arm, _ in part)
        params = [p for _, ps in part for p in ps]
        rows += store.db.iter_rows(sql, params)
    return rows


def timelines(
    store: SyncStore, windows: Sequence[Window], flt: RoomEventFilter, limit: int
) -> dict[str, tuple[list[EventRow], bool]]:
    """Per room, up to ``limit`` events of its window (oldest first) and ``limited``."""
    if not flt.matches_everything or limit <= 0 or len(windows) <= 1:
        return {
            w.room_id: store.timeline(
                w.room_id, w.after, w.upto, flt, limit, visibility=w.visibility
            )
            for w in windows
        }
    arms: list[tuple[str, Sequence[Any]]] = []
    for i, w in enumerate(windows):
        visible, vparams = ("1 = 1", []) if w.visibility is None else w.visibility.sql()
        arms.append(
            (
                f"SELECT * FROM (SELECT e.position FROM room_events e"
                f" WHERE e.room_id = ? AND e.position > ? AND e.position <= ? AND {visible}"
                f" ORDER BY e.position DESC LIMIT ?) AS t{i}",
                (w.room_id, w.after, w.upto, *vparams, limit + 1),
            )
        )
    positions = [int(row[0]) for row in _union(store, arms)]
    found: dict[str, list[EventRow]] = {w.room_id: [] for w in windows}
    for row in events_by_positions(store.db, positions):
        found[row.room_id].append(row)
    out: dict[str, tuple[list[EventRow], bool]] = {}
    for room_id, rows in found.items():
        rows.sort(key=lambda r: r.position)
        limited = len(rows) > limit
        out[room_id] = (rows[-limit:] if limited else rows, limited)
    return out


def states(store: SyncStore, windows: Sequence[Window]) -> dict[str, list[EventRow]]:
    """Per room, each state key changed in its window with its event as of ``upto``
    (``after=0``: the whole state at ``upto``), in position order."""
    found: dict[str, list[EventRow]] = {w.room_id: [] for w in windows}
    arms = [(_STATE_ARM, (w.room_id, w.after, w.upto, w.upto)) for w in windows if w.upto > w.after]
    event_ids = [str(row[1]) for row in _union(store, arms)]
    for row in events_by_ids(store.db, event_ids).values():
        found[row.room_id].append(row)
    for rows in found.values():
        rows.sort(key=lambda r: r.position)
    return found


def member_events(
    store: SyncStore, wanted: Sequence[tuple[str, Sequence[str], int]]
) -> dict[str, list[EventRow]]:
    """Per ``(room_id, user_ids, upto)``: those users' member events as of ``upto``."""
    arms: list[tuple[str, Sequence[Any]]] = []
    for room_id, users, upto in wanted:
        if not users:
            continue
        marks = ", ".join("?" for _ in users)
        arms.append(
            (
                "SELECT s.room_id, s.event_id FROM state_changes s"
                " WHERE s.room_id = ? AND s.type = 'm.room.member'"
                f" AND s.state_key IN ({marks}) AND s.position <= ?"
                " AND s.position = (SELECT MAX(s2.position) FROM state_changes s2"
                "  WHERE s2.room_id = s.room_id AND s2.type = s.type"
                "  AND s2.state_key = s.state_key AND s2.position <= ?)",
                (room_id, *users, upto, upto),
            )
        )
    found: dict[str, list[EventRow]] = {room_id: [] for room_id, _, _ in wanted}
    event_ids = [str(row[1]) for row in _union(store, arms)]
    for row in events_by_ids(store.db, event_ids).values():
        found[row.room_id].append(row)
    return found


def memberships(
    store: SyncStore, room_ids: Sequence[str], upto: int
) -> dict[str, list[tuple[str, str, int]]]:
    """Per room, ``(user_id, membership, position)`` of every member as of ``upto``."""
    found: dict[str, list[tuple[str, str, int]]] = {r: [] for r in room_ids}
    for start in range(0, len(room_ids), CHUNK):
        part = room_ids[start : start + CHUNK]
        marks = ", ".join("?" for _ in part)
        rows = store.db.iter_rows(
            "SELECT s.room_id, s.state_key, s.membership, s.position FROM state_changes s"
            f" WHERE s.room_id IN ({marks}) AND s.type = 'm.room.member' AND s.position <= ?"
            " AND s.position = (SELECT MAX(s2.position) FROM state_changes s2"
            "  WHERE s2.room_id = s.room_id AND s2.type = s.type"
            "  AND s2.state_key = s.state_key AND s2.position <= ?)"
            " ORDER BY s.position",
            (*part, upto, upto),
        )
        for room_id, user_id, membership, position in rows:
            found[room_id].append((user_id, membership or "", int(position)))
    return found
