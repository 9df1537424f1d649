"""The token map: access-token authentication without a database round trip.

Every API process keeps the SHA-256 of every access token in memory. It loads
the ``accounts_tokens`` read model at start, then re-reads only the rows whose
``position`` moved past the last one it saw, whenever a worker's
``applied.<group>`` signal says the ``accounts`` read model changed (so a
logout on one process stops the token on every process as soon as the
projection applied it; a batch of room messages, which leaves accounts alone,
costs no reload), and
every ``fallback_interval`` seconds in case a signal was lost (signals are
at-most-once). A process that wrote a token change itself calls ``refresh``
before answering, so its own client never sees a stale map; a request on any
process first passes the read barrier, which calls ``catch_up`` with the
position where the ``accounts`` read model last changed, so a token issued or
revoked on another process is known before the request is authenticated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from tessera.app.http.context import Requester
from tessera.query.accounts import TokenRow, admins, tokens_after
from tessera.schema.accounts import token_hash
from tessera.schema.bus import APPLIED_PREFIX, Bus, Unlisten, decode_applied
from tessera.schema.readmodel import ReadModelDatabase

_log = logging.getLogger(__name__)

#: The read model the map follows (``projections.accounts``).
ACCOUNTS = "accounts"


class TokenMap:
    def __init__(
        self,
        db: ReadModelDatabase,
        *,
        clock: Callable[[], int] = lambda: int(time.time() * 1000),
        fallback_interval: float = 5.0,
    ) -> None:
        self._db = db
        self._clock = clock
        self._fallback = fallback_interval
        self._tokens: dict[str, TokenRow] = {}
        self._admins: set[str] = set()
        self._position = 0
        #: Every change of the accounts read model at or below this position is loaded.
        self._loaded_upto = 0
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unlisten: Unlisten | None = None
        self._loading: asyncio.Future[None] | None = None

    # --- the Authenticator protocol -------------------------------------------------

    def authenticate(self, token: str) -> Requester | None:
        row = self._tokens.get(token_hash(token))
        if row is None or row.revoked:
            return None
        if row.expires_at is not None and self._clock() >= row.expires_at:
            return None
        return Requester(row.user_id, row.device_id, row.user_id in self._admins)

    def is_expired(self, token: str) -> bool:
        row = self._tokens.get(token_hash(token))
        return (
            row is not None
            and not row.revoked
            and row.expires_at is not None
            and self._clock() >= row.expires_at
        )

    # --- keeping current ------------------------------------------------------------

    def _load(self) -> None:
        rows = tokens_after(self._db, self._position)
        for row in rows:
            if row.revoked:
                # Keep nothing of a revoked token: it answers like an unknown one.
                self._tokens.pop(row.token_sha256, None)
            else:
                self._tokens[row.token_sha256] = row
            self._position = max(self._position, row.position)
        self._admins = admins(self._db)

    async def refresh(self, upto: int = 0) -> None:
        """Read what changed since the last refresh (all tokens the first time).

        ``upto``: a position the accounts read model is known to have applied;
        a refresh that finds the map already loaded that far reads nothing."""
        async with self._lock:
            if upto and upto <= self._loaded_upto:
                return
            # Shielded and remembered: cancelling the follower cannot stop the
            # thread, so ``close`` waits for it before the database is closed.
            self._loading = asyncio.ensure_future(asyncio.to_thread(self._load))
            await asyncio.shield(self._loading)
            self._loaded_upto = max(self._loaded_upto, upto)

    async def catch_up(self, changed: int) -> None:
        """Load now if the accounts read model changed at ``changed`` (a position
        it has applied) and the map has not been loaded since."""
        if changed > self._loaded_upto:
            await self.refresh(changed)

    async def start(self, bus: Bus | None) -> None:
        await self.refresh()
        if bus is not None:
            self._unlisten = await bus.listen(APPLIED_PREFIX + ">", self._on_applied)
        self._task = asyncio.create_task(self._follow(), name="token-map")

    def _on_applied(self, topic: str, body: bytes) -> None:
        if ACCOUNTS in decode_applied(topic, body).changed:
            self._wake.set()

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._fallback):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.refresh()
            except Exception:
                _log.exception("token map refresh failed; retrying")
                await asyncio.sleep(1.0)

    async def close(self) -> None:
        if self._unlisten is not None:
            await self._unlisten()
            self._unlisten = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._loading is not None:
            with contextlib.suppress(Exception):
                await self._loading
