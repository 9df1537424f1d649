"""How far the projections have applied the log, as an API process sees it.

Requests wait here until a position is visible (``wait_for``, DESIGN invariant
3): the read barrier for the log's head before a request, and writes other than
sends for their own positions before answering; sync hands out
``current()`` as its token, never beyond what every projection applied
(invariant 5); long-polls sleep in ``changed_after`` until something new is
applied or an ephemeral event (typing…) touches one of their keys.

Everything here is woken by the bus: workers signal ``applied.<group>``
after each commit, naming every projection of their group (in-process, or a
NATS core message every API process hears), and ``notify_ephemeral`` sends
``ephemeral`` signals the same way. The tracking table is read once at start,
and once more when a ``wait_for`` times out (a lost signal must not fail a
write that did become visible); nothing polls it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping

from tessera.projections.runner import TRACKING_DDL
from tessera.schema.bus import APPLIED_PREFIX, EPHEMERAL, Bus, Unlisten, decode_applied
from tessera.schema.readmodel import ReadModelDatabase

Reload = Callable[[], Awaitable[Mapping[str, int]]]

TRACKED = "SELECT name, position FROM projection_tracking"


@dataclasses.dataclass(eq=False, slots=True)
class _Waiter:
    ready: Callable[[], bool]
    future: asyncio.Future[None]
    keys: frozenset[str]


class AppliedPositions:
    def __init__(
        self,
        names: Iterable[str],
        initial: Mapping[str, int] | None = None,
        *,
        reload: Reload | None = None,
    ) -> None:
        #: The projections ``current()`` and ``wait_for`` cover by default.
        self.names = tuple(names)
        self._applied: dict[str, int] = dict.fromkeys(self.names, 0)
        self._changed: dict[str, int] = {}
        self._reload = reload
        self._waiters: set[_Waiter] = set()
        self._by_key: dict[str, set[_Waiter]] = {}
        self._unlisten: list[Unlisten] = []
        self._bus: Bus | None = None
        for name, position in (initial or {}).items():
            self.update(name, position)
        self._changed.update(self._applied)

    @classmethod
    async def start(cls, bus: Bus, db: ReadModelDatabase, names: Iterable[str]) -> AppliedPositions:
        """Positions from the tracking table, then kept current by the bus."""

        async def reload() -> Mapping[str, int]:
            # A plain read: it must not queue for the write lock the stalled
            # projections may be holding (SQLite has one writer).
            return await asyncio.to_thread(tracked_positions, db)

        initial = await asyncio.to_thread(read_tracking, db)
        self = cls(names, initial, reload=reload)
        await self.attach(bus)
        return self

    async def attach(self, bus: Bus) -> None:
        self._bus = bus
        self._unlisten.append(await bus.listen(APPLIED_PREFIX + ">", self._on_applied))
        self._unlisten.append(await bus.listen(EPHEMERAL, self._on_ephemeral))

    async def close(self) -> None:
        for unlisten in self._unlisten:
            await unlisten()
        self._unlisten.clear()
        for waiter in list(self._waiters):
            if not waiter.future.done():
                waiter.future.cancel()

    def applied(self, name: str) -> int:
        return self._applied.get(name, 0)

    def changed(self, name: str) -> int:
        """The last position at which projection ``name`` wrote to its read model,
        as far as this process heard (at start: its applied position, since what
        happened before is unknown). Something that caches a read model reloads
        when this moves, not on every applied position: most records leave most
        read models alone. Signals can be lost, so such a cache also needs a
        slow fallback reload."""
        return self._changed.get(name, 0)

    def current(self) -> int:
        """The position every projection has applied: the highest safe sync token."""
        if not self.names:
            return max(self._applied.values(), default=0)
        return min(self._applied[n] for n in self.names)

    def update(self, name: str, position: int) -> None:
        """Projection ``name`` has applied the log up to ``position`` (never goes back)."""
        self.update_many((name,), position)

    def update_many(self, names: Iterable[str], position: int) -> None:
        """Every projection of ``names`` has applied the log up to ``position``."""
        moved = False
        for name in names:
            if position > self._applied.get(name, 0):
                self._applied[name] = position
                moved = True
        if not moved:
            return
        for waiter in list(self._waiters):
            if not waiter.future.done() and waiter.ready():
                waiter.future.set_result(None)

    async def wait_for(
        self,
        position: int,
        projections: Collection[str] | None = None,
        timeout: float = 30.0,  # noqa: ASYNC109
    ) -> int:
        """Return once every projection (or those named) has applied ``position``.

        Raises TimeoutError if they have not after ``timeout`` seconds. (Not left
        to ``asyncio.timeout``: on expiry it re-reads the tracking table once, in
        case the signal was lost, before giving up.)"""
        names = self.names if projections is None else tuple(projections)

        def ready() -> bool:
            return all(self._applied.get(n, 0) >= position for n in names)

        if not await self._wait(ready, timeout, frozenset()):
            if self._reload is not None:  # a lost signal, or really late?
                for name, applied in (await self._reload()).items():
                    if applied > self._applied.get(name, 0):
                        # What it wrote meanwhile is unknown: as if it all changed
                        # (a cache such as the token map then reloads).
                        self._changed[name] = max(applied, self._changed.get(name, 0))
                    self.update(name, applied)
            if not ready():
                raise TimeoutError(f"projections have not applied position {position}")
        return self.current()

    async def changed_after(self, position: int, wait: float, *, keys: Collection[str] = ()) -> int:
        """Sleep until ``current()`` passes ``position``, an ephemeral signal names
        one of ``keys``, or ``wait`` seconds pass; then ``current()``."""
        await self._wait(lambda: self.current() > position, wait, frozenset(keys))
        return self.current()

    async def notify_ephemeral(self, key: str) -> None:
        """Wake the long-polls waiting on ``key`` (a room ID…), in every API process."""
        if self._bus is None:
            self._on_ephemeral(EPHEMERAL, key.encode())
        else:
            await self._bus.signal(EPHEMERAL, key.encode())

    async def _wait(self, ready: Callable[[], bool], wait: float, keys: frozenset[str]) -> bool:
        if ready():
            return True
        waiter = _Waiter(ready, asyncio.get_running_loop().create_future(), keys)
        self._waiters.add(waiter)
        for key in keys:
            self._by_key.setdefault(key, set()).add(waiter)
        try:
            async with asyncio.timeout(wait):
                await waiter.future
            return True
        except TimeoutError:
            return False
        finally:
            self._waiters.discard(waiter)
            for key in keys:
                others = self._by_key.get(key)
                if others is not None:
                    others.discard(waiter)
                    if not others:
                        del self._by_key[key]

    def _on_applied(self, topic: str, body: bytes) -> None:
        applied = decode_applied(topic, body)
        for name in applied.changed:
            self._changed[name] = max(applied.position, self._changed.get(name, 0))
        self.update_many(applied.names, applied.position)

    def _on_ephemeral(self, _topic: str, body: bytes) -> None:
        for waiter in list(self._by_key.get(body.decode(), ())):
            if not waiter.future.done():
                waiter.future.set_result(None)


def read_tracking(db: ReadModelDatabase) -> dict[str, int]:
    """Every projection's tracked position, creating the table first if need be (blocking)."""
    with db.migration() as tx:
        tx.execute(TRACKING_DDL)
        rows = tx.fetchall(TRACKED)
    return {str(name): int(position) for name, position in rows}


def tracked_positions(db: ReadModelDatabase) -> dict[str, int]:
    """Every projection's tracked position, read without a transaction (blocking)."""
    return {str(name): int(position) for name, position in db.iter_rows(TRACKED)}
