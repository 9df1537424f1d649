"""When and from where each device was last seen, without a log write per request.

Every authenticated request notes ``(ts, ip)`` for its ``(user, device)`` in a dict
(the hot path: one assignment). A background task flushes what changed once per
interval as ``account.device_seen`` records on each user's account stream, so a
device costs at most one record per interval however busy it is; shutdown flushes
the rest. Each process keeps its own dict: the projection keeps the newest sighting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from tessera.schema import accounts as rec

from .account_handlers import AccountRepository
from .accounts import Account

log = logging.getLogger(__name__)


def _decide(
    devices: dict[str, tuple[int, str]],
) -> Callable[[Account], list[rec.AccountRecord]]:
    return lambda account: account.decide_seen(devices)


class DeviceSeenTracker:
    def __init__(self, accounts: AccountRepository, interval_ms: int) -> None:
        self.accounts = accounts
        self.interval_ms = interval_ms
        #: (user ID, device ID) -> (ms, IP) of its latest request not yet flushed.
        self.pending: dict[tuple[str, str], tuple[int, str]] = {}
        self._task: asyncio.Task[None] | None = None
        accounts.on_devices_deleted.append(self.forget)

    def note(self, user_id: str, device_id: str, ts: int, ip: str) -> None:
        self.pending[(user_id, device_id)] = (ts, ip)

    async def forget(self, user_id: str, device_ids: list[str]) -> None:
        """A deleted device's pending sighting is dropped, never written."""
        for device_id in device_ids:
            self.pending.pop((user_id, device_id), None)

    async def flush(self) -> list[int]:
        """Write every pending sighting; the committed log positions."""
        batch, self.pending = self.pending, {}
        by_user: dict[str, dict[str, tuple[int, str]]] = {}
        for (user_id, device_id), sighting in batch.items():
            by_user.setdefault(user_id, {})[device_id] = sighting
        positions: list[int] = []
        for user_id, devices in sorted(by_user.items()):
            try:
                positions += await self.accounts.change(user_id, _decide(devices))
            except Exception:
                # Last-seen is advisory: a failed write loses one sighting, not the loop.
                log.exception("could not record devices last seen for %s", user_id)
        return positions

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_ms / 1000)
            await self.flush()

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())
        self._task.set_name("devices-last-seen")

    async def close(self) -> list[int]:
        """Stop the periodic flush, then write what is left (clean shutdown); the
        committed log positions."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        return await self.flush()
