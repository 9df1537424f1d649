"""Per-room serialized writes over the log: the room repository.

``RoomRepository.write(room_id, decide)`` is the only way to append to a room.
It holds the room's in-process lock (the efficiency: writers in this process
queue instead of racing), calls ``decide(room)`` to build the new events, and
appends them through the group committer. The store's per-stream version
constraint is the guarantee across processes (DESIGN invariant 2): when another
process wrote first, the append fails with VersionConflict, the room catches up
from the log, and ``decide`` runs again on the fresh room.

Rooms stay in memory once loaded, so a write never replays a room's history.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TypeVar

from tessera.schema.log import EventStore, NewRecord, VersionConflict

from .group_commit import GroupCommitter
from .room import NewEvent, Room

T = TypeVar("T")

#: How often a write is retried after losing the race to another process.
MAX_ATTEMPTS = 8


class RoomNotFound(LookupError):
    pass


class RoomRepository:
    def __init__(
        self, store: EventStore, committer: GroupCommitter, *, max_cached: int = 10_000
    ) -> None:
        self._store = store
        self._committer = committer
        self._rooms: OrderedDict[str, Room] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._max_cached = max_cached

    def _lock(self, room_id: str) -> asyncio.Lock:
        lock = self._locks.get(room_id)
        if lock is None:
            lock = self._locks[room_id] = asyncio.Lock()
        return lock

    async def _catch_up(self, room: Room) -> None:
        records = await asyncio.to_thread(self._store.load, room.room_id, room.stream_version)
        for record in records:
            room.apply(record)

    async def get(self, room_id: str) -> Room:
        """The room, caught up with the log as far as this process knows it."""
        room = self._rooms.get(room_id)
        if room is None:
            room = Room(room_id)
            await self._catch_up(room)
            if not room.exists:
                raise RoomNotFound(room_id)
            self._remember(room)
        else:
            self._rooms.move_to_end(room_id)
        return room

    def _remember(self, room: Room) -> None:
        self._rooms[room.room_id] = room
        self._rooms.move_to_end(room.room_id)
        while len(self._rooms) > self._max_cached:
            old_id, _ = self._rooms.popitem(last=False)
            lock = self._locks.get(old_id)
            if lock is not None and not lock.locked():
                del self._locks[old_id]

    async def write(
        self, room_id: str, decide: Callable[[Room], tuple[Sequence[NewEvent], T]]
    ) -> tuple[list[int], T]:
        """Build events with ``decide`` under the room's lock and commit them.

        ``decide`` must not change the room; it may raise (AuthError…) to refuse.
        Returns the committed positions and ``decide``'s own result.
        """
        async with self._lock(room_id):
            room = await self.get(room_id)
            for _ in range(MAX_ATTEMPTS):
                new_events, result = decide(room)
                if not new_events:
                    return [], result
                try:
                    positions = await self._committer.append([n.record for n in new_events])
                except VersionConflict:
                    await self._catch_up(room)  # another process wrote first
                    continue
                for new in new_events:
                    room.apply(new.record, new.event)
                return positions, result
            raise VersionConflict([room_id])

    async def create(self, room: Room, records: Sequence[NewRecord]) -> list[int]:
        """Commit a new room's first events (built on ``room``, already applied to it)."""
        async with self._lock(room.room_id):
            positions = await self._committer.append(records)
            self._remember(room)
            return positions
