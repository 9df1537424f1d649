"""Room state and memberships, read from ``current_state`` and ``state_changes``.

The state of a room at position ``P`` is, per ``(type, state_key)``, the change
with the greatest position ``<= P`` (docs/read-models.md); ``None`` as a
position means the current state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from tessera.schema.readmodel import ReadModelDatabase

MEMBER = "m.room.member"
_COLUMNS = "type, state_key, event_id, position, membership"
_AT = (
    f"SELECT {_COLUMNS} FROM state_changes sc WHERE sc.room_id = ? AND sc.position = ("
    " SELECT MAX(s2.position) FROM state_changes s2 WHERE s2.room_id = sc.room_id"
    " AND s2.type = sc.type AND s2.state_key = sc.state_key AND s2.position <= ?)"
)


@dataclasses.dataclass(frozen=True, slots=True)
class StateEntry:
    type: str
    state_key: str
    event_id: str
    position: int
    membership: str | None

    @classmethod
    def of(cls, row: Sequence[Any]) -> StateEntry:
        return cls(row[0], row[1], row[2], int(row[3]), row[4])


@dataclasses.dataclass(frozen=True, slots=True)
class Membership:
    """A user's membership of a room: its value and the position of its event."""

    room_id: str
    user_id: str
    membership: str
    position: int
    event_id: str


def _keys_filter(
    types: Sequence[str] | None, member_keys: Sequence[str] | None
) -> tuple[str, list[Any]]:
    sql, params = "", []
    if types is not None:
        sql += f" AND type IN ({','.join('?' * len(types))})" if types else " AND 1 = 0"
        params += list(types)
    if member_keys is not None:
        # Lazy-loading: of the member events, only these users'.
        marks = ",".join("?" * len(member_keys))
        inside = f"state_key IN ({marks})" if member_keys else "1 = 0"
        sql += f" AND (type <> ? OR {inside})"
        params += [MEMBER, *member_keys]
    return sql, params


def room_state(
    db: ReadModelDatabase,
    room_id: str,
    at: int | None = None,
    *,
    types: Sequence[str] | None = None,
    member_keys: Sequence[str] | None = None,
) -> list[StateEntry]:
    """The state of a room (now, or at position ``at``), optionally narrowed to
    some types and, for ``m.room.member``, to some users; in key order."""
    extra, params = _keys_filter(types, member_keys)
    if at is None:
        sql = f"SELECT {_COLUMNS} FROM current_state WHERE room_id = ?{extra}"
        rows = db.iter_rows(sql, [room_id, *params])
    else:
        rows = db.iter_rows(_AT + extra, [room_id, at, *params])
    return sorted((StateEntry.of(r) for r in rows), key=lambda s: (s.type, s.state_key))


def state_entry(
    db: ReadModelDatabase, room_id: str, event_type: str, state_key: str, at: int | None = None
) -> StateEntry | None:
    if at is None:
        sql = (
            f"SELECT {_COLUMNS} FROM current_state WHERE room_id = ? AND type = ? AND state_key = ?"
        )
        params: list[Any] = [room_id, event_type, state_key]
    else:
        sql = (
            f"SELECT {_COLUMNS} FROM state_changes"
            " WHERE room_id = ? AND type = ? AND state_key = ? AND position <= ?"
            " ORDER BY position DESC LIMIT 1"
        )
        params = [room_id, event_type, state_key, at]
    for row in db.iter_rows(sql, params):
        return StateEntry.of(row)
    return None


def room_exists(db: ReadModelDatabase, room_id: str) -> bool:
    return state_entry(db, room_id, "m.room.create", "") is not None


def membership_at(
    db: ReadModelDatabase, room_id: str, user_id: str, at: int | None = None
) -> str | None:
    """The user's membership (``None``: never had one) now or at position ``at``."""
    entry = state_entry(db, room_id, MEMBER, user_id, at)
    return entry.membership if entry is not None else None


def membership_history(db: ReadModelDatabase, room_id: str, user_id: str) -> list[tuple[int, str]]:
    """Every membership change of the user in the room: ``(position, membership)``, in order."""
    sql = (
        "SELECT position, membership FROM state_changes"
        " WHERE room_id = ? AND type = ? AND state_key = ? ORDER BY position"
    )
    return [(int(p), m or "") for p, m in db.iter_rows(sql, (room_id, MEMBER, user_id))]


def rooms_of_user(
    db: ReadModelDatabase, user_id: str, memberships: Iterable[str] | None = ("join",)
) -> list[Membership]:
    """The rooms where the user's current membership is one of ``memberships``
    (``None``: any), ordered by room ID."""
    sql = (
        "SELECT room_id, membership, position, event_id FROM current_state"
        " WHERE state_key = ? AND type = ?"
    )
    params: list[Any] = [user_id, MEMBER]
    if memberships is not None:
        wanted = list(memberships)
        sql += f" AND membership IN ({','.join('?' * len(wanted))})" if wanted else " AND 1 = 0"
        params += wanted
    rows = db.iter_rows(sql + " ORDER BY room_id", params)
    return [Membership(r, user_id, m, int(p), e) for r, m, p, e in rows]


def membership_changes(
    db: ReadModelDatabase, user_id: str, after: int, upto: int
) -> list[Membership]:
    """The user's membership changes in every room with ``after < position <= upto``,
    in position order (sync: rooms joined, left, invited to since a token)."""
    sql = (
        "SELECT room_id, membership, position, event_id FROM state_changes"
        " WHERE state_key = ? AND type = ? AND position > ? AND position <= ?"
        " ORDER BY position"
    )
    rows = db.iter_rows(sql, (user_id, MEMBER, after, upto))
    return [Membership(r, user_id, m or "", int(p), e) for r, m, p, e in rows]


def joined_members(db: ReadModelDatabase, room_id: str) -> list[StateEntry]:
    sql = (
        f"SELECT {_COLUMNS} FROM current_state"
        " WHERE room_id = ? AND type = ? AND membership = ? ORDER BY state_key"
    )
    return [StateEntry.of(r) for r in db.iter_rows(sql, (room_id, MEMBER, "join"))]
