"""Reads of push rule evaluation's read model (projection ``push_actions``:
``push_room_actions``, ``push_user_actions``, ``push_windows``,
``push_own_reads``, see ``projections/push_rows.py``) combined with the user's
read receipts: unread counts, the notifications list, what a pusher sends.

What an event did for a user: their own row in ``push_user_actions`` if they
have one, else the event's shared row in ``push_room_actions`` if the event is
in one of their membership windows (``(joined_at, left_at]``) and they did not
send it.

A user has read a room up to the furthest of their unthreaded receipts
(``m.read`` or ``m.read.private``) and their own latest main-timeline event;
a thread, up to the furthest of that and their receipts (and own events) in
the thread. An event counts while its position is above the read position of
its thread and at most ``upto``, the sync token's position, so a count agrees
with the events of the response that carries it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from tessera.schema.readmodel import ReadModelDatabase

#: Rooms per statement (SQLite caps the number of parameters).
_CHUNK = 100


@dataclasses.dataclass(slots=True)
class ReadPositions:
    #: Unthreaded: everything up to here is read.
    room: int = 0
    #: Per thread (``main`` is the main timeline): read up to here.
    threads: dict[str, int] = dataclasses.field(default_factory=dict)

    def of(self, thread_id: str) -> int:
        return max(self.room, self.threads.get(thread_id, 0))


@dataclasses.dataclass(slots=True)
class Counts:
    notifications: int = 0
    highlights: int = 0

    def as_json(self) -> dict[str, int]:
        return {"notification_count": self.notifications, "highlight_count": self.highlights}


@dataclasses.dataclass(slots=True)
class RoomCounts:
    total: Counts = dataclasses.field(default_factory=Counts)
    threads: dict[str, Counts] = dataclasses.field(default_factory=dict)


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _chunks(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def read_positions(
    db: ReadModelDatabase, user_id: str, room_ids: Sequence[str]
) -> dict[str, ReadPositions]:
    found: dict[str, ReadPositions] = {r: ReadPositions() for r in room_ids}

    def mark(room_id: str, thread_id: str, position: int) -> None:
        reads = found[room_id]
        if thread_id == "":
            reads.room = max(reads.room, position)
        else:
            reads.threads[thread_id] = max(reads.threads.get(thread_id, 0), position)

    for chunk in _chunks(room_ids):
        for room_id, thread_id, position in db.iter_rows(
            "SELECT r.room_id, r.thread_id, MAX(e.position) FROM receipts r"
            " JOIN room_events e ON e.event_id = r.event_id"
            f" WHERE r.user_id = ? AND r.room_id IN ({_marks(chunk)})"
            " GROUP BY r.room_id, r.thread_id",
            (user_id, *chunk),
        ):
            mark(room_id, thread_id, int(position))
        for room_id, thread_id, position in db.iter_rows(
            "SELECT room_id, thread_id, position FROM push_own_reads"
            f" WHERE user_id = ? AND room_id IN ({_marks(chunk)})",
            (user_id, *chunk),
        ):
            mark(room_id, thread_id, int(position))
    return found


Window = tuple[int, int | None]


def windows(
    db: ReadModelDatabase, user_id: str, room_ids: Sequence[str]
) -> dict[str, list[Window]]:
    """Per room, when the user was a joined member (``(joined_at, left_at]``)."""
    found: dict[str, list[Window]] = {r: [] for r in room_ids}
    for chunk in _chunks(room_ids):
        for room_id, joined_at, left_at in db.iter_rows(
            "SELECT room_id, joined_at, left_at FROM push_windows"
            f" WHERE user_id = ? AND room_id IN ({_marks(chunk)})",
            (user_id, *chunk),
        ):
            found[room_id].append((int(joined_at), None if left_at is None else int(left_at)))
    return found


_OWN_ARM = (
    "SELECT room_id, thread_id, SUM(notify), SUM(highlight) FROM push_user_actions"
    " WHERE user_id = ? AND room_id = ? AND position > ? AND position <= ?"
)
_SHARED_ARM = (
    "SELECT room_id, thread_id, SUM(notify), SUM(highlight) FROM push_room_actions s"
    " WHERE room_id = ? AND position > ? AND position <= ? AND sender <> ?"
    " AND NOT EXISTS (SELECT 1 FROM push_user_actions o"
    " WHERE o.position = s.position AND o.user_id = ?)"
)
#: Arms per statement (SQLite caps a compound SELECT at 500 arms).
_ARMS = 200


def _count_arms(
    user_id: str, room_id: str, read: ReadPositions, spans: list[Window], upto: int
) -> list[tuple[str, list[Any]]]:
    """Statements counting a room's unread rows per thread: each thread read
    further than the room is counted from its own position; shared rows only
    inside the user's membership windows."""
    ahead = sorted(t for t, p in read.threads.items() if p > read.room)
    ranges: list[tuple[int, str, list[Any]]] = [
        (read.room, f" AND thread_id NOT IN ({_marks(ahead)})" if ahead else "", list(ahead))
    ]
    ranges += [(read.threads[t], " AND thread_id = ?", [t]) for t in ahead]
    arms: list[tuple[str, list[Any]]] = []
    group = " GROUP BY room_id, thread_id"
    for low, where, extra in ranges:
        arms.append((_OWN_ARM + where + group, [user_id, room_id, low, upto, *extra]))
        for joined_at, left_at in spans:
            start = max(low, joined_at)
            end = upto if left_at is None else min(upto, left_at)
            if start < end:
                params = [room_id, start, end, user_id, user_id, *extra]
                arms.append((_SHARED_ARM + where + group, params))
    return arms


def unread_counts(
    db: ReadModelDatabase, user_id: str, room_ids: Sequence[str], upto: int
) -> dict[str, RoomCounts]:
    """Per room, the unread notifications and highlights in total and per thread."""
    reads = read_positions(db, user_id, room_ids)
    spans = windows(db, user_id, room_ids)
    result: dict[str, RoomCounts] = {r: RoomCounts() for r in room_ids}
    arms: list[tuple[str, list[Any]]] = []
    for room_id in room_ids:
        arms += _count_arms(user_id, room_id, reads[room_id], spans[room_id], upto)
    for start in range(0, len(arms), _ARMS):
        chunk = arms[start : start + _ARMS]
        statement = " UNION ALL ".join(sql for sql, _ in chunk)
        params = [p for _, arm_params in chunk for p in arm_params]
        for room_id, thread_id, notify, highlight in db.iter_rows(statement, params):
            n, h = int(notify or 0), int(highlight or 0)
            if not (n or h):
                continue
            counts = result[room_id]
            counts.total.notifications += n
            counts.total.highlights += h
            thread = counts.threads.setdefault(thread_id, Counts())
            thread.notifications += n
            thread.highlights += h
    return result


@dataclasses.dataclass(frozen=True, slots=True)
class Notification:
    position: int
    room_id: str
    event_id: str
    thread_id: str
    actions: str
    ts: int
    highlight: bool


_COLUMNS = "position, room_id, event_id, thread_id, actions, ts, highlight"
_SHARED_COLUMNS = ", ".join(f"s.{c}" for c in _COLUMNS.split(", "))
#: The shared rows in the user's windows that apply to them.
_THEIRS = (
    f"SELECT {_SHARED_COLUMNS} FROM push_windows w JOIN push_room_actions s"
    " ON s.room_id = w.room_id AND s.position > w.joined_at"
    " AND (w.left_at IS NULL OR s.position <= w.left_at)"
    " WHERE w.user_id = ? AND s.sender <> ?"
    " AND NOT EXISTS (SELECT 1 FROM push_user_actions o"
    " WHERE o.position = s.position AND o.user_id = ?)"
)


def _listed(
    db: ReadModelDatabase,
    user_id: str,
    conditions: Sequence[str],
    params: Sequence[Any],
    *,
    order: str,
    limit: int,
) -> list[Notification]:
    """Both kinds of rows meeting ``conditions`` (``{t}`` stands for the
    table's alias), in ``order`` of position, at most ``limit``."""
    own_where = "".join(" AND " + c.format(t="") for c in conditions)
    shared_where = "".join(" AND " + c.format(t="s.") for c in conditions)
    own = db.iter_rows(
        f"SELECT {_COLUMNS} FROM push_user_actions WHERE user_id = ?{own_where}"
        f" ORDER BY position {order} LIMIT ?",
        (user_id, *params, limit),
    )
    shared = db.iter_rows(
        f"{_THEIRS}{shared_where} ORDER BY s.position {order} LIMIT ?",
        (user_id, user_id, user_id, *params, limit),
    )
    rows = [*own, *shared]
    rows.sort(key=lambda r: int(r[0]), reverse=order == "DESC")
    return [
        Notification(int(r[0]), r[1], r[2], r[3], r[4], int(r[5]), bool(r[6])) for r in rows[:limit]
    ]


def notifications(
    db: ReadModelDatabase, user_id: str, before: int | None, limit: int, only_highlight: bool
) -> list[Notification]:
    """The user's notifications, newest first, at positions below ``before``."""
    conditions = ["({t}notify = 1 OR {t}highlight = 1)"]
    params: list[Any] = []
    if before is not None:
        conditions.append("{t}position < ?")
        params.append(before)
    if only_highlight:
        conditions.append("{t}highlight = 1")
    return _listed(db, user_id, conditions, params, order="DESC", limit=limit)


def pending_notifications(
    db: ReadModelDatabase, user_id: str, after: int, upto: int, limit: int
) -> list[Notification]:
    """What a pusher of the user sends: notifying events in ``(after, upto]``, oldest first."""
    conditions = ["{t}notify = 1", "{t}position > ?", "{t}position <= ?"]
    return _listed(db, user_id, conditions, (after, upto), order="ASC", limit=limit)


def rooms_with_notifications(db: ReadModelDatabase, user_id: str) -> list[str]:
    """Rooms where the user has, or had, something counted."""
    return sorted(
        str(r[0])
        for r in db.iter_rows(
            "SELECT room_id FROM push_windows WHERE user_id = ?"
            " UNION SELECT room_id FROM push_user_actions WHERE user_id = ?",
            (user_id, user_id),
        )
    )
