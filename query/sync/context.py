"""What one sync computes with: who asks, the window ``(since, upto]``, the
filter, and the user's memberships folded over that window."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from tessera.query.filters import SyncFilter
from tessera.query.tokens import StreamToken
from tessera.query.visibility import RoomVisibility

from .store import Membership, SyncStore

#: Memberships under which a room is shown to the user at all.
ACTIVE = frozenset({"join", "invite", "knock"})
GONE = frozenset({"leave", "ban"})


@dataclasses.dataclass(frozen=True, slots=True)
class SyncRequest:
    user_id: str
    device_id: str | None
    since: StreamToken | None = None
    filter: SyncFilter = dataclasses.field(default_factory=SyncFilter)
    full_state: bool = False
    use_state_after: bool = False
    timeout_ms: int = 0


@dataclasses.dataclass(slots=True)
class RoomMembership:
    """One room's membership of the user: now (at ``upto``), at ``since``, and
    the changes in between."""

    room_id: str
    current: Membership
    at_since: Membership | None
    changes: list[Membership]

    @property
    def newly_joined(self) -> bool:
        """Joined within the window (or left and joined again): sync sends the room
        as if it were an initial sync."""
        if self.current.membership != "join":
            return False
        if self.at_since is None or self.at_since.membership != "join":
            return True
        return any(c.membership != "join" for c in self.changes)


def fold_memberships(changes: Sequence[Membership], since: int | None) -> list[RoomMembership]:
    rooms: dict[str, RoomMembership] = {}
    for change in changes:
        entry = rooms.get(change.room_id)
        if entry is None:
            entry = rooms[change.room_id] = RoomMembership(change.room_id, change, None, [])
        if since is not None and change.position <= since:
            entry.at_since = change
        elif since is not None:
            entry.changes.append(change)
        entry.current = change
    return list(rooms.values())


@dataclasses.dataclass(slots=True)
class SyncContext:
    request: SyncRequest
    store: SyncStore
    upto: int
    now_ms: int
    #: Rooms the user forgot -> where; hidden while their membership is older.
    forgotten: dict[str, int] = dataclasses.field(default_factory=dict)
    #: History visibility of the rooms whose timelines the response carries.
    visibility: dict[str, RoomVisibility] = dataclasses.field(default_factory=dict)

    @property
    def user_id(self) -> str:
        return self.request.user_id

    @property
    def since(self) -> int | None:
        return None if self.request.since is None else self.request.since.position

    @property
    def filter(self) -> SyncFilter:
        return self.request.filter
