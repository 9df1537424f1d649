"""A projection worker: feeds one ProjectionRunner from the bus, exactly once in effect.

On start it catches up from the log (from the runner's tracked position to the
head), then applies what the bus delivers, batch by batch: the runner commits
each batch's changes with the tracking position, then the worker acknowledges
the batch and signals ``applied.<name>``. Anything at or below the tracked
position is skipped (the runner checks again inside its transaction), so a
redelivery after a crash, a second relay or a second copy of the worker changes
nothing (DESIGN invariant 4).

A record whose ``previous`` is above the last applied position reveals a gap
(this copy subscribed late, another copy of the worker took those messages, a
bounded stream dropped them): the worker reads the missing range from the log
before applying the record. The log, not the bus, is the truth (invariant 1).

Runner calls block (SQLite, psycopg), so they run in a thread; if the task is
cancelled meanwhile, that transaction still commits or rolls back as a whole.
"""

from __future__ import annotations

import asyncio
import logging

from tessera.projections.blocking import in_thread
from tessera.projections.runner import ProjectionRunner
from tessera.schema.bus import Bus, BusRecord, applied_topic
from tessera.schema.log import EventStore, LogRecord

_log = logging.getLogger(__name__)


class ProjectionWorker:
    def __init__(
        self,
        runner: ProjectionRunner,
        bus: Bus,
        log: EventStore,
        *,
        batch: int = 500,
        idle_interval: float = 5.0,
        retry_interval: float = 1.0,
    ) -> None:
        self.runner = runner
        self._bus = bus
        self._log = log
        self._batch = batch
        self._idle = idle_interval
        self._retry = retry_interval
        self._topic = applied_topic(runner.name)
        #: The last position this worker knows to be applied.
        self.applied = 0
        self.caught_up = asyncio.Event()

    @property
    def name(self) -> str:
        return self.runner.name

    async def run(self) -> None:
        """Apply until cancelled; after a failure start over from the tracked position."""
        while True:
            try:
                await self._run()
            except Exception:
                _log.exception(
                    "projection %s failed; restarting from its tracked position", self.name
                )
                await asyncio.sleep(self._retry)

    async def _run(self) -> None:
        await in_thread(self.runner.setup)
        # Subscribe before catching up: whatever is published from now on is
        # delivered, whatever was published before is in the log.
        consumer = await self._bus.consumer(self.name)
        try:
            self.applied = await in_thread(self.runner.position)
            await self._catch_up(upto=None)
            self.caught_up.set()
            await self._signal()
            while True:
                records = await consumer.fetch(self._batch, self._idle)
                if records:
                    await self._apply(records)
                    await consumer.ack()
                # Also when idle: signals are at-most-once, so a listener that
                # missed one hears the position again.
                await self._signal()
        finally:
            await consumer.close()

    async def _apply(self, delivered: list[BusRecord]) -> None:
        pending: list[LogRecord] = []
        cursor = self.applied
        for record in delivered:
            if record.position <= cursor:
                continue  # redelivered
            if record.previous > cursor:
                await self._process(pending)
                pending = []
                await self._catch_up(upto=record.previous)
                cursor = self.applied
                if record.position <= cursor:
                    continue
            pending.append(record.log_record())
            cursor = record.position
        await self._process(pending)

    async def _catch_up(self, upto: int | None) -> None:
        """Apply the log after ``applied`` up to ``upto`` (or its end)."""
        while upto is None or self.applied < upto:
            page = await in_thread(self._log.read, self.applied, self._batch)
            if not page:
                if upto is not None:
                    # A gap the log does not fill would mean the bus invented records.
                    raise RuntimeError(f"{self.name}: the log ends before position {upto}")
                return
            await self._process(page)
            await self._signal()

    async def _process(self, records: list[LogRecord]) -> None:
        if records:
            self.applied = await in_thread(self.runner.process, records)

    async def _signal(self) -> None:
        await self._bus.signal(self._topic, str(self.applied).encode())
