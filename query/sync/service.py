"""``/sync``: one response now, or a long-poll until something arrives.

The token handed out is ``s<upto>_<typing serial>`` where ``upto`` is the
position every projection had applied when the response was computed
(``applied.current()``), never beyond (invariant 5). A long-poll sleeps on the
bus: ``applied.changed_after`` wakes it when projections move on (events,
receipts, account data are all records of the log), the typing tracker when a
typing list of one of its rooms changes. Nothing polls a table.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection
from typing import Any, Protocol

from tessera.query.tokens import StreamToken
from tessera.query.typing import TypingTracker

from .context import SyncContext, SyncRequest
from .response import SyncResult, build, is_empty, merge_typing
from .store import SyncStore

#: How long a sync whose ``since`` is ahead of this process's projections waits
#: for them before answering "nothing new" with the same token.
CATCH_UP_TIMEOUT = 10.0


class Applied(Protocol):
    def current(self) -> int: ...

    async def wait_for(
        self,
        position: int,
        projections: Collection[str] | None = None,
        timeout: float = 30.0,  # noqa: ASYNC109
    ) -> int: ...

    async def changed_after(
        self,
        position: int,
        timeout: float,  # noqa: ASYNC109
        *,
        keys: Collection[str] = (),
    ) -> int: ...


class SyncService:
    def __init__(
        self,
        store: SyncStore,
        applied: Applied,
        typing: TypingTracker,
        *,
        clock: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.store = store
        self.applied = applied
        self.typing = typing
        self.clock = clock

    def _compute(self, request: SyncRequest, upto: int) -> SyncResult:
        with self.store.db.pinned():
            ctx = SyncContext(request, self.store, upto, self.clock())
            return build(ctx)

    async def _once(self, request: SyncRequest, upto: int) -> tuple[SyncResult, int]:
        result = await asyncio.to_thread(self._compute, request, upto)
        since_serial = None if request.since is None else request.since.ephemeral
        serial = self.typing.serial
        ephemeral = request.filter.ephemeral
        if ephemeral.allows_type("m.typing"):
            rooms = [r for r in result.joined if ephemeral.allows_room(r)]
            changes = self.typing.changes(rooms, since_serial)
            merge_typing(result, changes, upto, request.use_state_after)
        result.body["next_batch"] = str(StreamToken(upto, serial))
        return result, serial

    async def sync(self, request: SyncRequest) -> dict[str, Any]:
        since = request.since
        upto = self.applied.current()
        if since is not None and since.position > upto:
            # A token from a process whose projections are ahead of ours.
            try:
                await self.applied.wait_for(since.position, timeout=CATCH_UP_TIMEOUT)
            except TimeoutError:
                return _nothing(since)
            upto = max(self.applied.current(), since.position)
        result, serial = await self._once(request, upto)
        if since is None or request.timeout_ms <= 0 or not is_empty(result.body):
            return result.body
        loop = asyncio.get_running_loop()
        deadline = loop.time() + request.timeout_ms / 1000
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return result.body
            await self._wait(upto, result.joined, serial, remaining)
            newer = self.applied.current()
            if newer <= upto and self.typing.serial == serial:
                if loop.time() >= deadline:
                    return result.body
                continue
            upto = max(upto, newer)
            result, serial = await self._once(request, upto)
            if not is_empty(result.body):
                return result.body

    async def _wait(self, upto: int, rooms: list[str], serial: int, seconds: float) -> None:
        applied = asyncio.ensure_future(self.applied.changed_after(upto, seconds, keys=rooms))
        typing = asyncio.ensure_future(self.typing.wait_changed(rooms, serial, seconds))
        try:
            await asyncio.wait((applied, typing), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (applied, typing):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task


def _nothing(since: StreamToken) -> dict[str, Any]:
    return {
        "next_batch": str(since),
        "rooms": {"join": {}, "invite": {}, "leave": {}, "knock": {}},
        "account_data": {"events": []},
        "presence": {"events": []},
    }
