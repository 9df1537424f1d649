"""Per-stream serialized writes over the log: the one way anything appends.

A stream is one aggregate of the log (a room, a user's account, a user's
receipts…). ``StreamRepository.write(stream, decide)`` holds the stream's
in-process lock (the efficiency: writers in this process queue instead of
racing), calls ``decide(aggregate)`` to build the new records, and appends them
through the group committer. The store's per-stream version constraint is the
guarantee across processes (DESIGN invariant 2): when another process wrote
first, the append fails with VersionConflict, the aggregate catches up from the
log, and ``decide`` runs again on the fresh aggregate. A cached aggregate can
also be behind when ``decide`` refuses (raises) or finds nothing to do: another
process may have written what makes the write valid (a join) or new (a
transaction ID it has not seen). So before a refusal or a no-op on a cached
aggregate is answered, the aggregate catches up from the log, and if it moved,
``decide`` runs again.

Aggregates stay in memory once loaded (an LRU), so a write never replays a hot
stream's history.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from tessera.schema.log import EventStore, LogRecord, NewRecord, VersionConflict

from .group_commit import GroupCommitter

T = TypeVar("T")

#: How often a write is retried after losing the race to another process.
MAX_ATTEMPTS = 24
#: The longest random pause before a retry. A process writing a hot stream without
#: pause is always one thread hop ahead of a loser that must reload first; a random
#: pause shifts the loser's phase so that it wins a slot instead of starving.
MAX_BACKOFF_S = 0.02


class Aggregate(Protocol):
    #: The version of the last record folded in (0 for an empty stream).
    stream_version: int

    def apply(self, record: LogRecord | NewRecord) -> None:
        """Fold one committed record of the stream."""
        ...


A = TypeVar("A", bound=Aggregate)


class Versioned:
    """The aggregate of an append-only stream whose writes decide nothing but the
    next version (receipts, account data…)."""

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.stream_version = 0

    def apply(self, record: LogRecord | NewRecord) -> None:
        self.stream_version = record.version

    def next(self, kind: str, payload: bytes, offset: int = 0) -> NewRecord:
        return NewRecord(self.stream, self.stream_version + 1 + offset, kind, payload)


class StreamRepository(Generic[A]):
    def __init__(
        self,
        store: EventStore,
        committer: GroupCommitter,
        factory: Callable[[str], A],
        *,
        max_cached: int = 10_000,
    ) -> None:
        self._store = store
        self._committer = committer
        self._factory = factory
        self._cache: OrderedDict[str, A] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._max_cached = max_cached

    def lock(self, stream: str) -> asyncio.Lock:
        lock = self._locks.get(stream)
        if lock is None:
            lock = self._locks[stream] = asyncio.Lock()
        return lock

    async def catch_up(self, stream: str, aggregate: A) -> None:
        records = await asyncio.to_thread(self._store.load, stream, aggregate.stream_version)
        for record in records:
            aggregate.apply(record)

    async def _moved_on(self, stream: str, aggregate: A) -> bool:
        """Catch a cached aggregate up with the log; did another process write?"""
        before = aggregate.stream_version
        await self.catch_up(stream, aggregate)
        return aggregate.stream_version != before

    async def get(self, stream: str) -> A:
        """The aggregate, caught up with the log as far as this process knows it
        (an empty one for a stream with no records)."""
        aggregate = self._cache.get(stream)
        if aggregate is None:
            aggregate = self._factory(stream)
            await self.catch_up(stream, aggregate)
            self.remember(stream, aggregate)
        else:
            self._cache.move_to_end(stream)
        return aggregate

    async def current(self, stream: str) -> A:
        """The aggregate caught up with the log now, not only as far as this
        process knows it: for a check made before ``write`` (a refusal, or a
        decision such as "this needs re-authentication") that another process's
        writes could change. One query for a cached stream; under the stream's
        lock, so a write of this process is never folded in twice."""
        async with self.lock(stream):
            cached = stream in self._cache
            aggregate = await self.get(stream)
            if cached:
                await self.catch_up(stream, aggregate)
            return aggregate

    def remember(self, stream: str, aggregate: A) -> None:
        self._cache[stream] = aggregate
        self._cache.move_to_end(stream)
        while len(self._cache) > self._max_cached:
            old, _ = self._cache.popitem(last=False)
            lock = self._locks.get(old)
            if lock is not None and not lock.locked():
                del self._locks[old]

    async def write(
        self, stream: str, decide: Callable[[A], tuple[Sequence[NewRecord], T]]
    ) -> tuple[list[int], T]:
        """Build records with ``decide`` under the stream's lock and commit them.

        ``decide`` must not change the aggregate; it may raise to refuse. The
        committed records are folded into the aggregate. Returns the committed
        positions and ``decide``'s own result.
        """
        async with self.lock(stream):
            fresh = stream not in self._cache  # loaded from the log just now
            aggregate = await self.get(stream)
            for attempt in range(MAX_ATTEMPTS):
                try:
                    records, result = decide(aggregate)
                except Exception:
                    if fresh or not await self._moved_on(stream, aggregate):
                        raise
                    fresh = True
                    continue
                if not records:
                    if fresh or not await self._moved_on(stream, aggregate):
                        return [], result
                    fresh = True
                    continue
                try:
                    positions = await self._committer.append(records)
                except VersionConflict:
                    if attempt:  # the first retry is immediate: usually one write came between
                        pause = min(MAX_BACKOFF_S, 0.001 * 2**attempt)
                        await asyncio.sleep(random.uniform(0, pause))
                    await self.catch_up(stream, aggregate)  # another process wrote first
                    fresh = True
                    continue
                for record in records:
                    aggregate.apply(record)
                return positions, result
            raise VersionConflict([stream])
