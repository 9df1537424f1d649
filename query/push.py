"""Reads of push rule evaluation's read model (``event_push_actions``,
``push_own_reads``; projection ``push_actions``) combined with the user's read
receipts: unread counts and the notifications list.

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


_ARM = (
    "SELECT room_id, thread_id, SUM(notify), SUM(highlight) FROM event_push_actions"
    " WHERE user_id = ? AND room_id = ? AND position > ? AND position <= ?"
)


def unread_counts(
    db: ReadModelDatabase, user_id: str, room_ids: Sequence[str], upto: int
) -> dict[str, RoomCounts]:
    """Per room, the unread notifications and highlights in total and per thread."""
    reads = read_positions(db, user_id, room_ids)
    result: dict[str, RoomCounts] = {r: RoomCounts() for r in room_ids}
    for chunk in _chunks(room_ids):
        arms: list[str] = []
        params: list[Any] = []
        for room_id in chunk:
            read = reads[room_id]
            ahead = sorted(t for t, p in read.threads.items() if p > read.room)
            # Threads read further than the room: each counted from its own position.
            exclude = f" AND thread_id NOT IN ({_marks(ahead)})" if ahead else ""
            arms.append(_ARM + exclude + " GROUP BY room_id, thread_id")
            params += (user_id, room_id, read.room, upto, *ahead)
            for thread_id in ahead:
                arms.append(_ARM + " AND thread_id = ? GROUP BY room_id, thread_id")
                params += (user_id, room_id, read.threads[thread_id], upto, thread_id)
        for room_id, thread_id, notify, highlight in db.iter_rows(" UNION ALL ".join(arms), params):
            counts = result[room_id]
            n, h = int(notify or 0), int(highlight or 0)
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


def notifications(
    db: ReadModelDatabase, user_id: str, before: int | None, limit: int, only_highlight: bool
) -> list[Notification]:
    """The user's notifications, newest first, at positions below ``before``."""
    clauses = ["user_id = ?"]
    params: list[Any] = [user_id]
    if before is not None:
        clauses.append("position < ?")
        params.append(before)
    if only_highlight:
        clauses.append("highlight = 1")
    rows = db.iter_rows(
        "SELECT position, room_id, event_id, thread_id, actions, ts, highlight"
        f" FROM event_push_actions WHERE {' AND '.join(clauses)}"
        " ORDER BY position DESC LIMIT ?",
        (*params, limit),
    )
    return [Notification(int(r[0]), r[1], r[2], r[3], r[4], int(r[5]), bool(r[6])) for r in rows]
