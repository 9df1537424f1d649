"""The relay: publishes the log, in its notification order, to the bus.

One loop: read the log after the last published position, publish what it
found, and when there is nothing new, sleep until poked. The committing side
pokes it through the bus's ``log.committed`` signal (``commit_signal`` is the
``GroupCommitter.on_commit`` hook that sends it): in the embedded profile that
is a direct call, in the scale profile a NATS core message. Signals can be lost,
so a slow fallback timer also wakes it; a lost poke costs latency, never a
record.

A relay in the process that committed is also handed the committed records
(``offer``, a ``GroupCommitter`` observer) and publishes them without reading
them back from the log, but only when they provably follow what it published
last: each record's position is one more than the one before it (positions are
integers, so nothing can lie between). Anything else (a hole a rolled-back
PostgreSQL transaction left, another process's commit in between) makes it read
the log as usual; an offer never replaces the log as the truth.

Where it resumes on start is the bus's business (``Bus.resume_after``): the
JetStream stream's last message in the scale profile, the log's head in the
embedded one (whose consumers catch up from the log themselves).

Several relays may run (one per process that commits, or replicas): the bus
drops positions already published, and refuses a relay that is behind it
(``OutOfStep``), which then skips ahead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from tessera.projections.blocking import in_thread, run_restarting, stop_if_cancelled
from tessera.schema.bus import COMMITTED, Bus, OutOfStep, chain
from tessera.schema.log import EventStore, LogRecord

_log = logging.getLogger(__name__)


#: How often a relay reads the log though nothing told it of a commit (seconds).
FALLBACK_INTERVAL = 5.0


class Relay:
    def __init__(
        self,
        log: EventStore,
        bus: Bus,
        *,
        batch: int = 500,
        fallback_interval: float | None = None,
        retry_interval: float = 1.0,
    ) -> None:
        self._log = log
        self._bus = bus
        self._batch = batch
        self._fallback = FALLBACK_INTERVAL if fallback_interval is None else fallback_interval
        self._retry = retry_interval
        self._wake = asyncio.Event()
        self._offered: list[LogRecord] = []
        self._offered_upto = 0
        #: The last position published (or found already published).
        self.position = 0
        self.started = asyncio.Event()

    def poke(self, position: int = 0) -> None:
        """Something was committed: look at the log now. Cheap; never blocks."""
        # A commit this process offered is already on its way (if the offer
        # turns out not to fit, the relay reads the log anyway).
        if position == 0 or position > max(self.position, self._offered_upto):
            self._wake.set()

    def offer(self, records: list[LogRecord]) -> None:
        """Records this process just committed, in log order (``GroupCommitter.observers``)."""
        self._offered.extend(records)
        if records:
            self._offered_upto = max(self._offered_upto, records[-1].position)
        self._wake.set()

    async def run(self) -> None:
        """Publish until cancelled; a failing store or bus is retried, never skipped."""
        unlisten = await self._bus.listen(COMMITTED, self._on_committed)
        try:
            await run_restarting(
                self._run, self._retry, "relay failed; resuming from the bus's position"
            )
        finally:
            await unlisten()

    def _on_committed(self, _topic: str, body: bytes) -> None:
        try:
            position = int(body)
        except ValueError:
            position = 0
        self.poke(position)

    async def _run(self) -> None:
        resumed = await self._bus.resume_after()
        self.position = resumed if resumed is not None else await in_thread(self._log.head)
        self.started.set()
        while True:
            stop_if_cancelled()  # also when a library swallowed it
            self._wake.clear()  # before reading: a commit during the read re-arms it
            if await self._publish_offered():
                # All published without reading the log. A poke meanwhile (some
                # other process committed) still makes it look.
                if self._wake.is_set():
                    continue
            elif await self.publish_pending():
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._fallback):
                    await self._wake.wait()

    async def _publish_offered(self) -> bool:
        """Publish the offered records; False if there were none, or if they do
        not all follow ``position`` without a hole (then the log must be read)."""
        offered, self._offered = self._offered, []
        chained = [r for r in offered if r.position > self.position]
        if not offered:
            return False
        if not chained:
            return True  # published already (read from the log meanwhile)
        if any(r.position != self.position + 1 + i for i, r in enumerate(chained)):
            return False
        for start in range(0, len(chained), self._batch):
            if not await self._publish(chained[start : start + self._batch]):
                return False
        return True

    async def publish_pending(self) -> bool:
        """Publish one batch of what the log holds after ``position``; False if nothing."""
        records = await in_thread(self._log.read, self.position, self._batch)
        if not records:
            return False
        await self._publish(records)
        return True

    async def _publish(self, records: list[LogRecord]) -> bool:
        """Publish records that follow ``position``; False if the bus is ahead."""
        try:
            await self._bus.publish(chain(records, self.position))
        except OutOfStep as e:
            _log.info("relay at %d is out of step; the bus is at %d", self.position, e.last)
            self.position = e.last
            return False
        self.position = records[-1].position
        return True


def commit_signal(bus: Bus) -> Callable[[int], None]:
    """A ``GroupCommitter`` ``on_commit`` hook that tells relays, wherever they run."""
    pending: set[asyncio.Task[None]] = set()

    def on_commit(position: int) -> None:
        task = asyncio.get_running_loop().create_task(bus.signal(COMMITTED, str(position).encode()))
        pending.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(pending.discard)

    return on_commit
