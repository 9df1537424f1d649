"""History visibility (spec: "Room History Visibility"), for one user in a room.

Whether a user may see an event depends on the room's state *at that event*:
its ``history_visibility`` and the user's membership. Both change only at a few
positions (the room's visibility changes and the user's own membership
changes), so between two consecutive change points the answer is the same for
every event. ``RoomVisibility`` folds those changes into the ranges of
positions the user may see, once per room and request: a query can then put the
ranges into SQL (``sql``) and paginate exactly, or test positions one by one
(``is_visible``) with no further I/O.

The rules, for an event at position ``p`` (the state after ``p``, which is
the event's own for a state event):

1. ``world_readable``: allow.
2. the user's membership is ``join``: allow.
3. ``shared``, and the user joins the room at some position after ``p``: allow.
4. ``invited`` and the user's membership is ``invite``: allow.
5. otherwise deny.

A ``m.room.history_visibility`` event, and the user's own ``m.room.member``
event, are visible if the rules allow them with the state before *or* after
the event; those events are exactly the change points. A missing or unknown
``history_visibility`` counts as ``shared``.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from tessera.schema.readmodel import ReadModelDatabase

from .state import MEMBER

HISTORY_VISIBILITY = "m.room.history_visibility"
VISIBILITIES = frozenset({"world_readable", "shared", "invited", "joined"})
#: Beyond any position the log will reach.
END = 2**62


def allowed(visibility: str, membership: str | None, joins_later: bool) -> bool:
    """The spec's rules 1–5 for one event."""
    if visibility == "world_readable":
        return True
    if membership == "join":
        return True
    if visibility == "shared" and joins_later:
        return True
    return visibility == "invited" and membership == "invite"


def _normalise(value: Any) -> str:
    return value if isinstance(value, str) and value in VISIBILITIES else "shared"


def visible_ranges(
    visibility_changes: Sequence[tuple[int, str]], membership_changes: Sequence[tuple[int, str]]
) -> list[tuple[int, int]]:
    """The inclusive, disjoint, ordered ranges of positions the user may see.

    ``visibility_changes`` are ``(position, history_visibility)`` of the room,
    ``membership_changes`` ``(position, membership)`` of the user; both in
    position order.
    """
    points = sorted({p for p, _ in visibility_changes} | {p for p, _ in membership_changes})
    last_join = max((p for p, m in membership_changes if m == "join"), default=-1)
    vis_at = dict(visibility_changes)
    mem_at = dict(membership_changes)
    ranges: list[tuple[int, int]] = []

    def add(lo: int, hi: int) -> None:
        if lo > hi:
            return
        if ranges and ranges[-1][1] + 1 >= lo:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], hi))
        else:
            ranges.append((lo, hi))

    visibility, membership = "shared", None
    # Before the first change: the defaults; nobody joins "later" than a
    # position unless a join comes after it.
    first = points[0] if points else END + 1
    if allowed(visibility, membership, last_join > 0):
        add(0, first - 1)
    for i, point in enumerate(points):
        before = allowed(visibility, membership, last_join > point)
        if point in vis_at:
            visibility = _normalise(vis_at[point])
        if point in mem_at:
            membership = mem_at[point]
        after = allowed(visibility, membership, last_join > point)
        if before or after:
            add(point, point)
        if after:
            end = points[i + 1] - 1 if i + 1 < len(points) else END
            add(point + 1, end)
    return ranges


@dataclasses.dataclass(frozen=True, slots=True)
class RoomVisibility:
    room_id: str
    user_id: str
    visibility_changes: tuple[tuple[int, str], ...]
    membership_changes: tuple[tuple[int, str], ...]
    ranges: tuple[tuple[int, int], ...]

    @classmethod
    def build(
        cls,
        room_id: str,
        user_id: str,
        visibility_changes: Iterable[tuple[int, str]],
        membership_changes: Iterable[tuple[int, str]],
    ) -> RoomVisibility:
        vis = tuple(sorted((p, _normalise(v)) for p, v in visibility_changes))
        mem = tuple(sorted(membership_changes))
        return cls(room_id, user_id, vis, mem, tuple(visible_ranges(vis, mem)))

    def is_visible(self, position: int) -> bool:
        i = bisect.bisect_right(self.ranges, (position, END + 1)) - 1
        return i >= 0 and self.ranges[i][0] <= position <= self.ranges[i][1]

    def membership_at(self, position: int) -> str:
        """The user's membership after ``position`` (``leave`` before any, as
        ``unsigned.membership`` wants)."""
        i = bisect.bisect_right(self.membership_changes, (position, "\uffff")) - 1
        return self.membership_changes[i][1] if i >= 0 else "leave"

    @property
    def current_visibility(self) -> str:
        return self.visibility_changes[-1][1] if self.visibility_changes else "shared"

    @property
    def current_membership(self) -> str | None:
        return self.membership_changes[-1][1] if self.membership_changes else None

    @property
    def ever_joined(self) -> bool:
        return any(m == "join" for _, m in self.membership_changes)

    @property
    def may_read(self) -> bool:
        """May the user read the room at all: was ever in it, or it is world-readable
        now (a user who never joined gets 403 on the room's read endpoints)."""
        return self.ever_joined or self.current_visibility == "world_readable"

    def departure(self) -> int | None:
        """Where the user's view of the room's state ends: ``None`` while joined
        (the current state), else the position of the change that ended their
        last stay. A user who never joined has none either."""
        if self.current_membership == "join":
            return None
        last_join = max((i for i, (_, m) in enumerate(self.membership_changes) if m == "join"),
                        default=None)  # fmt: skip
        if last_join is None or last_join + 1 >= len(self.membership_changes):
            return None
        return self.membership_changes[last_join + 1][0]

    def sql(self, column: str = "e.position") -> tuple[str, list[int]]:
        """A SQL condition on ``column`` true for exactly the visible positions."""
        if not self.ranges:
            return "1 = 0", []
        if self.ranges == ((0, END),):
            return "1 = 1", []
        parts = " OR ".join(f"{column} BETWEEN ? AND ?" for _ in self.ranges)
        return f"({parts})", [bound for r in self.ranges for bound in r]


_LOAD = (
    "SELECT sc.room_id, sc.position, sc.type, sc.membership, e.pdu FROM state_changes sc"
    " LEFT JOIN room_events e ON e.event_id = sc.event_id AND sc.type = ?"
    " WHERE sc.room_id IN ({rooms}) AND ((sc.type = ? AND sc.state_key = ?)"
    " OR (sc.type = ? AND sc.state_key = ''))"
)


def load_visibilities(
    db: ReadModelDatabase, room_ids: Iterable[str], user_id: str
) -> dict[str, RoomVisibility]:
    """The user's visibility of each room, in one query (sync asks for many rooms)."""
    rooms = list(dict.fromkeys(room_ids))
    vis: dict[str, list[tuple[int, str]]] = {r: [] for r in rooms}
    mem: dict[str, list[tuple[int, str]]] = {r: [] for r in rooms}
    for start in range(0, len(rooms), 400):
        part = rooms[start : start + 400]
        sql = _LOAD.format(rooms=",".join("?" * len(part)))
        params = [HISTORY_VISIBILITY, *part, MEMBER, user_id, HISTORY_VISIBILITY]
        for room_id, position, kind, membership, pdu in db.iter_rows(sql, params):
            if kind == MEMBER:
                mem[room_id].append((int(position), membership or ""))
            else:
                content = orjson.loads(pdu).get("content") if pdu is not None else None
                value = content.get("history_visibility") if isinstance(content, dict) else None
                vis[room_id].append((int(position), _normalise(value)))
    return {r: RoomVisibility.build(r, user_id, vis[r], mem[r]) for r in rooms}


def load_visibility(db: ReadModelDatabase, room_id: str, user_id: str) -> RoomVisibility:
    return load_visibilities(db, [room_id], user_id)[room_id]
