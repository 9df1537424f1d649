"""The room repository: per-room serialized writes (``StreamRepository`` of ``Room``).

A room's events are built and auth-checked by ``decide`` under the room's lock;
see ``tessera.command.streams`` for the cross-process guarantee. Rooms stay in
memory once loaded, so a write never replays a room's history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from tessera.schema.log import EventStore, NewRecord

from .group_commit import GroupCommitter
from .room import NewEvent, Room
from .streams import StreamRepository

T = TypeVar("T")


class RoomNotFound(LookupError):
    pass


class RoomRepository(StreamRepository[Room]):
    def __init__(
        self, store: EventStore, committer: GroupCommitter, *, max_cached: int = 10_000
    ) -> None:
        super().__init__(store, committer, Room, max_cached=max_cached)

    async def get(self, stream: str) -> Room:
        room = await super().get(stream)
        if not room.exists:
            # Keep no empty rooms cached: a bogus room ID must not take a cache slot,
            # and a room another process creates later must be loaded afresh.
            self._cache.pop(stream, None)
            raise RoomNotFound(stream)
        return room

    async def write_events(
        self, room_id: str, decide: Callable[[Room], tuple[Sequence[NewEvent], T]]
    ) -> tuple[list[int], list[NewEvent], T]:
        """Build events with ``decide`` under the room's lock and commit them.

        Raises RoomNotFound for a room this server has no events of, and whatever
        ``decide`` raises (AuthError…) to refuse. Returns the positions, the
        committed events and ``decide``'s result.
        """
        built: list[NewEvent] = []

        def records(room: Room) -> tuple[Sequence[NewRecord], T]:
            events, result = decide(room)
            built[:] = events
            return [e.record for e in events], result

        positions, result = await self.write(room_id, records)
        return positions, built, result

    async def create(self, room: Room, records: Sequence[NewRecord]) -> list[int]:
        """Commit a new room's first events (built on ``room``, already applied to it)."""
        async with self.lock(room.room_id):
            positions = await self._committer.append(records)
            self.remember(room.room_id, room)
            return positions
