"""The integration publisher: every room event, in log order, to a public sink.

It follows the ``room_events`` read model rather than the raw log, because
that is where the client format and the redactions live: a row at or below
the read model's applied position is final (the projection applies the log
in order), and its ``redacted_by`` says whether a redaction already applied.
So an event published during a catch-up or a republish goes out redacted if
it was redacted by then, and a redaction is always published as an event of
its own, for subscribers that saw the original live.

Where it resumes is the sink's business (``EventSink.resume_after``): the
JetStream stream's last message, read at start, like the relay's position.
Publishing is at least once; the sink drops a position it already holds and
refuses a publisher that is behind it (``OutOfStep``), which then skips ahead,
so several copies may run.

It wakes when ``room_events`` signals a new applied position
(``AppliedPositions``), with a slow fallback (``wait_for`` re-reads the
tracking table on timeout), so a lost signal costs latency, never an event.
Once awake it lingers a few milliseconds (``linger``) so that a burst of events
goes out as one read and one pipelined publish rather than one of each per
event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Sequence
from typing import Any, Protocol

from tessera.projections.blocking import in_thread, run_restarting, stop_if_cancelled
from tessera.query.events import EventRow, client_event, select_events
from tessera.schema.bus import OutOfStep
from tessera.schema.integrations import EventMessage
from tessera.schema.readmodel import ReadModelDatabase

_log = logging.getLogger(__name__)

#: The read model the publisher follows.
SOURCE = "room_events"


class Applied(Protocol):
    """How far read models have applied the log (``tessera.app.applied.AppliedPositions``)."""

    def applied(self, name: str) -> int: ...

    async def wait_for(
        self,
        position: int,
        projections: Collection[str] | None = None,
        timeout: float = 30.0,  # noqa: ASYNC109
    ) -> int: ...


class EventSink(Protocol):
    async def resume_after(self) -> int:
        """The position of the last message the sink holds (0: none)."""
        ...

    async def publish(self, messages: Sequence[EventMessage]) -> None:
        """Publish in order; a position already held is dropped.

        Raises OutOfStep when the sink is ahead of ``messages[0].previous``."""
        ...


def integration_event(row: EventRow) -> dict[str, Any]:
    """The event as integrations get it: the client format, redacted if it is.

    Not addressed to any user: no ``transaction_id`` or ``membership``; and no
    ``age``, which would be stale the moment it is stored and would make the
    same position's body differ between publishes.
    """
    event = client_event(row, now_ms=0)
    unsigned: dict[str, Any] = event["unsigned"]
    unsigned.pop("age", None)
    because = unsigned.get("redacted_because")
    if isinstance(because, dict):
        because.get("unsigned", {}).pop("age", None)
        if not because.get("unsigned"):
            because.pop("unsigned", None)
    if not unsigned:
        del event["unsigned"]
    return event


def messages_of(rows: Sequence[EventRow], previous: int) -> list[EventMessage]:
    out: list[EventMessage] = []
    for row in rows:
        out.append(EventMessage(row.position, previous, integration_event(row)))
        previous = row.position
    return out


def read_rows(db: ReadModelDatabase, after: int, upto: int, limit: int) -> list[EventRow]:
    """The events at positions in ``(after, upto]``, the first ``limit`` of them."""
    return select_events(
        db,
        "e.position > ? AND e.position <= ?",
        (after, upto),
        f"ORDER BY e.position LIMIT {int(limit)}",
    )


class IntegrationPublisher:
    def __init__(
        self,
        db: ReadModelDatabase,
        applied: Applied,
        sink: EventSink,
        *,
        batch: int = 500,
        idle_interval: float = 5.0,
        retry_interval: float = 1.0,
        linger: float = 0.01,
    ) -> None:
        self._db = db
        self._linger = linger
        self._applied = applied
        self._sink = sink
        self._batch = batch
        self._idle = idle_interval
        self._retry = retry_interval
        #: The position of the last event published (or found in the sink).
        self.position = 0
        #: How far the read model has been read: at or past ``position`` (the
        #: records after an event need not be events).
        self.scanned = 0
        self.started = asyncio.Event()

    async def run(self) -> None:
        """Publish until cancelled; a failing sink or database is retried, never skipped."""
        await run_restarting(
            self._run,
            self._retry,
            "integration publisher failed; resuming from the sink's position",
        )

    async def _run(self) -> None:
        self.position = self.scanned = await self._sink.resume_after()
        self.started.set()
        while True:
            stop_if_cancelled()  # also when a library swallowed it
            if await self.publish_pending():
                continue
            with contextlib.suppress(TimeoutError):
                await self._applied.wait_for(self.scanned + 1, [SOURCE], timeout=self._idle)
                if self._linger > 0:
                    await asyncio.sleep(self._linger)

    async def publish_pending(self) -> bool:
        """Publish one batch of what the read model applied after ``scanned``;
        False when there was nothing to read."""
        upto = self._applied.applied(SOURCE)
        if upto <= self.scanned:
            return False
        rows = await in_thread(read_rows, self._db, self.scanned, upto, self._batch)
        if rows:
            try:
                await self._sink.publish(messages_of(rows, self.position))
            except OutOfStep as e:
                _log.info(
                    "integrations at %d are out of step; the sink is at %d", self.position, e.last
                )
                self.position = self.scanned = e.last
                return True
            self.position = rows[-1].position
        self.scanned = rows[-1].position if len(rows) == self._batch else upto
        return True
