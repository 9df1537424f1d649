"""Read-your-writes without making every write wait for the projections.

DESIGN invariant 3: a write answers 200 only once it is committed to the log,
and every later read on this server reflects it. Most writes keep the simple
way of proving that: they answer once every projection has applied them
(``settle``). A message send, the hot path, answers as soon as its record is
committed, and the wait moves to the reads:

- Before a request is handled, ``ReadBarrier.wait`` reads the log's head
  (one indexed ``MAX`` on the log, any process's writes included; concurrent
  requests share a query that started after they arrived, ``SharedHead``) and
  waits until every projection has applied it. A write acknowledged before the
  request began is at or below that head, so the request's reads reflect it,
  in this process or any other sharing the log.
- ``read_barrier_middleware`` runs it for every route except those marked
  ``@no_read_barrier``: handlers that read no read model (the send, whose
  command reads only the room aggregate; ``/versions`` and the well-knowns).
- The access-token map is then brought up to the ``accounts`` read model
  (``TokenMap.catch_up``): a login or logout acknowledged by another process
  holds for the request's authentication too.
- A send whose position is more than ``max_unsettled`` ahead of what the
  projections applied waits for them to come within that bound
  (``settle_send``): stalled or slow projections hold sends back instead of
  letting the lag, and every reader's wait, grow without end
  (``max_unsettled_positions``, 1,000 by default; 0: every send settles).

A request that has waited ``POKE_AFTER`` seconds tells the relays to look at
the log (the ``log.committed`` signal with the head): the record it waits for
may have been appended by a process whose commit signal does not reach them
(``tessera register-user`` beside an embedded server, or a lost NATS signal),
and otherwise they would find it only at their fallback read, 5 s later.

If the projections do not reach the head within ``read_barrier_timeout_ms``
(10 s by default), the request is answered 503 ``M_UNKNOWN`` rather than with
a read that could miss an acknowledged write.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from aiohttp import web

from tessera.schema.bus import COMMITTED, Bus
from tessera.schema.log import EventStore

from .applied import AppliedPositions
from .authn import ACCOUNTS, TokenMap
from .http.context import services
from .http.errors import MatrixError

_log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

_EXEMPT = "_tessera_no_read_barrier"

#: How long a request waits for the projections before poking the relays.
POKE_AFTER = 0.2
#: How soon the relays are poked again at a position already poked (seconds).
POKE_AGAIN = 1.0


class SharedHead:
    """The log's head for many concurrent requests, one query at a time.

    A request needs a head read *after* it arrived (a write acknowledged just
    before must be at or below it), so it may not take the answer of a query
    already under way; it joins the next one, which starts as soon as the
    current one ends. Under load that is one query per round instead of one
    per request, and no request waits for more than two queries."""

    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read
        self._next: asyncio.Future[int] | None = None
        self._running: asyncio.Task[None] | None = None

    async def head(self) -> int:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            self._next.add_done_callback(_retrieve)
        if self._running is None:
            self._running = asyncio.create_task(self._run(), name="log-head")
        return await asyncio.shield(self._next)

    async def _run(self) -> None:
        try:
            while self._next is not None:
                # Whoever asks from here on arrived after this query starts: they
                # wait for the next one.
                answer, self._next = self._next, None
                try:
                    answer.set_result(await asyncio.to_thread(self._read))
                except Exception as e:
                    answer.set_exception(e)
                except asyncio.CancelledError:
                    answer.cancel()
                    raise
        finally:
            self._running = None
            if self._next is not None:  # cancelled (shutdown): nobody will read it
                self._next.cancel()
                self._next = None


def _retrieve(future: asyncio.Future[int]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: no "never retrieved" warning if all waiters left


class ReadBarrier:
    def __init__(
        self,
        store: EventStore,
        applied: AppliedPositions,
        tokens: TokenMap,
        bus: Bus,
        *,
        timeout: float,
        max_unsettled: int,
    ) -> None:
        self._head = SharedHead(store.head)
        self._applied = applied
        self._tokens = tokens
        self._bus = bus
        self._poked = 0
        self._poked_at = 0.0
        self.timeout = timeout
        self.max_unsettled = max_unsettled

    async def wait(self) -> None:
        """Return once every projection has applied the log's current head."""
        await self._applied_up_to(await self._head.head())
        await self.tokens_caught_up()

    async def tokens_caught_up(self) -> None:
        """Bring the access-token map up to what this process knows the
        ``accounts`` read model applied (a request that skips the barrier, a
        send, still authenticates against a current map)."""
        await self._tokens.catch_up(self._applied.changed(ACCOUNTS))

    async def settle_send(self, positions: Sequence[int]) -> None:
        """Hold a committed send back while the projections lag too far behind it
        (a retry with the same transaction ID answers at once: nothing new)."""
        if positions:
            await self._applied_up_to(max(positions) - self.max_unsettled)

    async def _poke(self, position: int) -> None:
        """Tell the relays to read the log up to ``position``: once per position
        and second (many waiting requests, one signal; a signal lost on the way
        is sent again by the next request waiting a second later); a bus that
        fails to carry it only leaves the relays to their fallback read."""
        now = time.monotonic()
        if position <= self._poked and now - self._poked_at < POKE_AGAIN:
            return
        self._poked, self._poked_at = max(position, self._poked), now
        try:
            await self._bus.signal(COMMITTED, str(position).encode())
        except Exception:
            _log.warning("could not poke the relays at position %d", position, exc_info=True)

    async def _applied_up_to(self, position: int) -> None:
        if self._applied.current() >= position:
            return
        try:
            try:
                await self._applied.wait_for(position, timeout=min(POKE_AFTER, self.timeout))
                return
            except TimeoutError:
                await self._poke(position)
            await self._applied.wait_for(position, timeout=max(0.0, self.timeout - POKE_AFTER))
        except TimeoutError:
            raise MatrixError(
                503, "M_UNKNOWN", "The server's read models are behind its log; try again"
            ) from None


def no_read_barrier(handler: H) -> H:
    """Mark a route handler that reads no read model: it skips the barrier."""
    setattr(handler, _EXEMPT, True)
    return handler


@web.middleware
async def read_barrier_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    info = request.match_info
    if info.http_exception is None and not getattr(info.handler, _EXEMPT, False):
        await services(request).barrier.wait()
    return await handler(request)
