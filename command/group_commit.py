"""Group commit: concurrent appends for different streams share one transaction.

Every caller awaits ``append(records)``. While one transaction is being written
(in a worker thread, because the store blocks), the appends that arrive queue
up; when it finishes they are all written together in the next one. One batch
costs one round trip and, on PostgreSQL, one table lock, however many rooms it
covers: batching is the lever for write throughput (DESIGN, "Performance").

A version conflict in a batch says nothing about the other submissions in it,
so the batch is retried one submission at a time: only the conflicting ones
fail (their writers reload and retry), the rest commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from tessera.schema.log import EventStore, LogRecord, NewRecord, VersionConflict

_log = logging.getLogger(__name__)

_Submission = tuple[Sequence[NewRecord], "asyncio.Future[list[int]]"]


class GroupCommitter:
    def __init__(
        self,
        store: EventStore,
        *,
        max_batch: int = 1000,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self._store = store
        self._max_batch = max_batch
        #: Told the last position of each committed batch: wakes the relay at once
        #: instead of on its fallback timer. Must not block.
        self._on_commit = on_commit
        #: Told each committed batch's records, in log order, with their
        #: positions: a relay in this process publishes them without reading
        #: them back from the log. Must not block.
        self.observers: list[Callable[[list[LogRecord]], None]] = []
        self._pending: list[_Submission] = []
        self._flusher: asyncio.Task[None] | None = None
        #: Batches written, for tests and metrics.
        self.batches = 0

    async def append(self, records: Sequence[NewRecord]) -> list[int]:
        """Commit ``records`` atomically; their log positions. Raises VersionConflict."""
        if not records:
            return []
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._pending.append((records, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_all())
        return await future

    async def _flush_all(self) -> None:
        # Yield once so that appends issued in the same loop iteration join the batch.
        await asyncio.sleep(0)
        while self._pending:
            batch: list[_Submission] = []
            size = 0
            while self._pending and (
                not batch or size + len(self._pending[0][0]) <= self._max_batch
            ):
                item = self._pending.pop(0)
                batch.append(item)
                size += len(item[0])
            await self._write(batch)

    async def _write(self, batch: list[_Submission]) -> None:
        records = [r for recs, _ in batch for r in recs]
        self.batches += 1
        try:
            positions = await asyncio.to_thread(self._store.append, records)
        except VersionConflict:
            if len(batch) == 1:
                _settle_error(batch[0][1], VersionConflict(sorted({r.stream for r in records})))
                return
            for item in batch:  # isolate the conflicting submissions
                await self._write([item])
            return
        except BaseException as e:  # the store failed: every waiter must hear of it
            for _, future in batch:
                _settle_error(future, e)
            if not isinstance(e, Exception):
                raise
            return
        offset = 0
        for recs, future in batch:
            if not future.done():
                future.set_result(positions[offset : offset + len(recs)])
            offset += len(recs)
        if not positions:
            return
        try:
            if self.observers:
                committed = sorted(
                    (
                        LogRecord(p, r.stream, r.version, r.kind, r.payload)
                        for p, r in zip(positions, records, strict=True)
                    ),
                    key=lambda record: record.position,
                )
                for observe in self.observers:
                    observe(committed)
            if self._on_commit is not None:
                self._on_commit(max(positions))
        except Exception:  # the commit stands; the relay's fallback timer catches up
            _log.exception("on_commit hook failed")


def _settle_error(future: asyncio.Future[list[int]], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
