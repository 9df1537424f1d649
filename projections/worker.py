"""A projection worker: feeds a group of projections from the bus, exactly once in effect.

The group (``projections.group``; one projection is a group of one) has one
durable consumer, named by the group. On start the worker catches up from the
log (from the lowest member's tracked position to the head), then applies what
the bus delivers, batch by batch: everything available, up to ``batch``
records, in one transaction for every member, its changes with the tracking
positions. Then it signals ``applied.<group>`` (body:
``schema.bus.encode_applied``: the position, the members, and those whose read
model changed) and acknowledges the batch. Anything at or below the tracked position is
skipped (the group checks again per member inside its transaction), so a
redelivery after a crash, a second relay or a second copy of the worker changes
nothing (DESIGN invariant 4).

A record whose ``previous`` is above the last applied position reveals a gap
(this copy subscribed late, another copy of the worker took those messages, a
bounded stream dropped them): the worker reads the missing range from the log
before applying the record. The log, not the bus, is the truth (invariant 1).

Runner calls block (SQLite, psycopg), so they run in a thread; if the task is
cancelled meanwhile, that transaction still commits or rolls back as a whole.
A cancelled worker stops at its next step even if a library swallowed the
cancellation (``projections.blocking.stop_if_cancelled``), and never restarts.
"""

from __future__ import annotations

import asyncio
import logging

from tessera.projections.blocking import in_thread, run_restarting, stop_if_cancelled
from tessera.projections.group import ProjectionGroup
from tessera.projections.runner import ProjectionRunner
from tessera.schema.bus import Bus, BusRecord, applied_topic, encode_applied
from tessera.schema.log import EventStore, LogRecord
from tessera.schema.readmodel import Lease

_log = logging.getLogger(__name__)

#: How often a worker waiting for a replay to end tries the lock again (seconds).
LEASE_POLL = 0.5


class ProjectionWorker:
    def __init__(
        self,
        runner: ProjectionRunner | ProjectionGroup,
        bus: Bus,
        log: EventStore,
        *,
        batch: int = 500,
        idle_interval: float = 5.0,
        retry_interval: float = 1.0,
    ) -> None:
        self.runner = runner
        self.group = (
            runner
            if isinstance(runner, ProjectionGroup)
            else ProjectionGroup(runner.db, [runner.projection])
        )
        self._bus = bus
        self._log = log
        self._batch = batch
        self._idle = idle_interval
        self._retry = retry_interval
        self._topic = applied_topic(self.group.name)
        #: The last position this worker knows every member has applied.
        self.applied = 0
        #: Members whose read model changed since the last signal.
        self._changed: set[str] = set()
        self.caught_up = asyncio.Event()

    @property
    def name(self) -> str:
        return self.group.name

    async def run(self) -> None:
        """Apply until cancelled; after a failure start over from the tracked position."""
        await run_restarting(
            self._run,
            self._retry,
            f"projection {self.name} failed; restarting from its tracked position",
        )

    async def _run(self) -> None:
        lease = await self._lease()
        try:
            await self._apply_while_held(lease)
        finally:
            await in_thread(lease.release)

    async def _lease(self) -> Lease:
        """The read models' workers lock, shared: ``tessera replay`` refuses to run
        beside a worker, and a worker started during a replay waits for it here
        (polling, so that no thread blocks and a stop is never held up)."""
        waiting = False
        while (lease := await self._try_lease()) is None:
            if not waiting:
                _log.warning("projection %s waits: a replay holds the read models", self.name)
                waiting = True
            await asyncio.sleep(LEASE_POLL)
        return lease

    async def _try_lease(self) -> Lease | None:
        taking = asyncio.ensure_future(
            asyncio.to_thread(self.group.db.workers_lock, exclusive=False)
        )
        try:
            return await asyncio.shield(taking)
        except asyncio.CancelledError:  # stopped meanwhile: let go of what it took
            taking.add_done_callback(_release_taken)
            raise

    async def _apply_while_held(self, lease: Lease) -> None:
        loop = asyncio.get_running_loop()
        await in_thread(self.group.setup)
        # Subscribe before catching up: whatever is published from now on is
        # delivered, whatever was published before is in the log.
        consumer = await self._bus.consumer(self.name)
        try:
            self.applied = min((await in_thread(self.group.positions)).values())
            await self._catch_up(upto=None)
            self.caught_up.set()
            await self._signal()
            next_check = loop.time() + self._idle
            while True:
                stop_if_cancelled()
                records = await consumer.fetch(self._batch, self._idle)
                if records:
                    await self._apply(records)
                # Also when idle: signals are at-most-once, so a listener that
                # missed one hears the position again. Before the acknowledgement:
                # the batch is committed, and waiting writers need not wait for it.
                await self._signal()
                if records:
                    await consumer.ack()
                if loop.time() >= next_check:  # lost with its connection? start over
                    await in_thread(lease.check)
                    next_check = loop.time() + self._idle
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
            stop_if_cancelled()
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
            done = await in_thread(self.group.process, records)
            self.applied = done.low
            self._changed |= done.changed

    async def _signal(self) -> None:
        changed, self._changed = self._changed, set()
        body = encode_applied(self.applied, self.group.names, changed)
        await self._bus.signal(self._topic, body)


def _release_taken(taking: asyncio.Future[Lease | None]) -> None:
    if not taking.cancelled() and taking.exception() is None:
        lease = taking.result()
        if lease is not None:
            lease.release()
