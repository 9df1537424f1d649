"""The push sender: a durable outbound queue from the ``push_actions`` read model to the
users' HTTP pushers.

Each pusher has a cursor, ``pusher_delivery.last_position``: the log position
of the last notification its gateway accepted (a new pusher starts at the
position that created it). The sender reads the notifying rows after the
cursor, up to what the ``push_actions`` projection has applied, posts them one
by one in log order, and advances the cursor only after the gateway answered
200 — so a restart (or a crash) resumes where delivery stopped and loses
nothing; the price is at-least-once delivery (a push in flight at a crash is
sent again: gateways dedupe by ``event_id``).

A failing gateway is retried with exponential backoff (``initial_backoff_s``
doubling up to ``max_backoff_s``; the pusher's other notifications wait
behind, in order). A pusher that has been failing for longer than
``give_up_after_s`` is removed (``pusher.removed``, reason ``failing``), as is
one whose pushkey the gateway lists in ``rejected`` (reason ``rejected``).

The sender wakes on the bus (``applied.changed_after``), never polls a table.
``pusher_delivery`` is delivery state, not a read model: replay leaves it alone.
Run one sender per deployment (the processes with the ``projections`` role).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

from tessera.projections.blocking import in_thread
from tessera.query.push import pending_notifications
from tessera.query.pushers import PusherRow, all_pushers
from tessera.schema.readmodel import ReadModelDatabase

from .gateway import Gateway
from .payload import notification_body

_log = logging.getLogger(__name__)

DDL = (
    "CREATE TABLE IF NOT EXISTS pusher_delivery ("
    " user_id TEXT NOT NULL, app_id TEXT NOT NULL, pushkey TEXT NOT NULL,"
    " last_position BIGINT NOT NULL, failing_since BIGINT,"
    " PRIMARY KEY (user_id, app_id, pushkey))"
)
PUSH_ACTIONS = "push_actions"
PUSHERS = "pushers"
RELOAD_FALLBACK_S = 30.0

Key = tuple[str, str, str]
Remove = Callable[[str, str, str, str], Awaitable[list[int]]]


class Applied(Protocol):
    def applied(self, name: str) -> int: ...

    def changed(self, name: str) -> int: ...

    def current(self) -> int: ...

    async def changed_after(self, position: int, wait: float) -> int: ...


@dataclasses.dataclass(slots=True)
class _Delivery:
    pusher: PusherRow
    cursor: int
    failing_since: int | None = None
    attempts: int = 0
    next_attempt: float = 0.0

    @property
    def key(self) -> Key:
        p = self.pusher
        return (p.user_id, p.pusher.app_id, p.pusher.pushkey)


class PushSender:
    def __init__(
        self,
        db: ReadModelDatabase,
        applied: Applied,
        gateway: Gateway,
        remove: Remove,
        *,
        clock: Callable[[], int] = lambda: int(time.time() * 1000),
        initial_backoff_s: float = 1.0,
        max_backoff_s: float = 600.0,
        give_up_after_s: float = 24 * 3600.0,
        batch: int = 50,
    ) -> None:
        self.db = db
        self.applied = applied
        self.gateway = gateway
        self._remove = remove
        self._clock = clock
        self._initial = initial_backoff_s
        self._max = max_backoff_s
        self._give_up_ms = give_up_after_s * 1000
        self._batch = batch
        self._deliveries: dict[Key, _Delivery] = {}
        self._pushers_seen = -1
        self._reload_at = 0.0
        self.delivered = 0

    async def run(self) -> None:
        await in_thread(self._setup)
        while True:
            seen = self.applied.current()
            try:
                await self._round()
            except Exception:
                _log.exception("push sender round failed; retrying")
                await asyncio.sleep(self._initial)
                continue
            await self.applied.changed_after(seen, self._wait())

    def _setup(self) -> None:
        with self.db.migration() as tx:
            tx.execute(DDL)

    def _wait(self) -> float:
        now = time.monotonic()
        pending = [d.next_attempt - now for d in self._deliveries.values() if d.attempts]
        return max(0.05, min(pending, default=30.0))

    async def _round(self) -> None:
        # Reload when the pushers read model changed (not whenever its position
        # moves: most records leave it alone), or after a while in case the
        # signal saying so was lost.
        changed = self.applied.changed(PUSHERS)
        if changed != self._pushers_seen or time.monotonic() >= self._reload_at:
            self._pushers_seen = changed
            self._reload_at = time.monotonic() + RELOAD_FALLBACK_S
            await in_thread(self._load)
        if not self._deliveries:
            return
        upto = self.applied.applied(PUSH_ACTIONS)
        now = time.monotonic()
        due = [d for d in self._deliveries.values() if d.next_attempt <= now]
        await asyncio.gather(*(self._deliver(d, upto) for d in due))

    def _load(self) -> None:
        """The pushers now, with their cursors (a new pusher's from its creation)."""
        pushers = {(p.user_id, p.pusher.app_id, p.pusher.pushkey): p for p in all_pushers(self.db)}
        with self.db.transaction() as tx:
            rows = tx.fetchall(
                "SELECT user_id, app_id, pushkey, last_position, failing_since FROM pusher_delivery"
            )
            stored = {(r[0], r[1], r[2]): (int(r[3]), r[4]) for r in rows}
            for key in stored.keys() - pushers.keys():
                tx.execute(
                    "DELETE FROM pusher_delivery WHERE user_id = ? AND app_id = ? AND pushkey = ?",
                    key,
                )
            for key, pusher in pushers.items():
                if key not in stored:
                    stored[key] = (pusher.position, None)
                    tx.execute(
                        "INSERT INTO pusher_delivery (user_id, app_id, pushkey, last_position)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        (*key, pusher.position),
                    )
        deliveries: dict[Key, _Delivery] = {}
        for key, pusher in pushers.items():
            old = self._deliveries.get(key)
            cursor, failing = stored[key]
            if old is not None:
                old.pusher = pusher
                deliveries[key] = old
            else:
                deliveries[key] = _Delivery(pusher, cursor, failing)
        self._deliveries = deliveries

    def _pending(self, d: _Delivery, upto: int) -> list[tuple[int, str, str, str]]:
        rows = pending_notifications(self.db, d.pusher.user_id, d.cursor, upto, self._batch)
        return [(n.position, n.room_id, n.event_id, n.actions) for n in rows]

    def _advance(self, d: _Delivery, position: int) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE pusher_delivery SET last_position = ?, failing_since = NULL"
                " WHERE user_id = ? AND app_id = ? AND pushkey = ?",
                (position, *d.key),
            )

    def _failing(self, d: _Delivery, since: int) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE pusher_delivery SET failing_since = ?"
                " WHERE user_id = ? AND app_id = ? AND pushkey = ?",
                (since, *d.key),
            )

    async def _deliver(self, d: _Delivery, upto: int) -> None:
        while True:
            pending = await in_thread(self._pending, d, upto)
            if not pending:
                return
            for position, room_id, event_id, actions in pending:
                body = await in_thread(
                    self._body, d.pusher, event_id, room_id, orjson.loads(actions), upto
                )
                answer = await self.gateway.notify(str(d.pusher.pusher.data["url"]), body)
                if not answer.ok:
                    await self._failed(d, answer.error)
                    return
                if d.pusher.pusher.pushkey in answer.rejected:
                    await self._drop(d, "rejected")
                    return
                d.cursor, d.attempts, d.next_attempt = position, 0, 0.0
                if d.failing_since is not None:
                    d.failing_since = None
                await in_thread(self._advance, d, position)
                self.delivered += 1
            if len(pending) < self._batch:
                return

    def _body(
        self, pusher: PusherRow, event_id: str, room_id: str, actions: list[Any], upto: int
    ) -> dict[str, Any]:
        return notification_body(
            self.db, pusher, event_id=event_id, room_id=room_id, actions=actions, upto=upto
        )

    async def _failed(self, d: _Delivery, error: str | None) -> None:
        now = self._clock()
        if d.failing_since is None:
            d.failing_since = now
            await in_thread(self._failing, d, now)
        elif now - d.failing_since > self._give_up_ms:
            await self._drop(d, "failing")
            return
        d.attempts += 1
        delay = min(self._max, self._initial * 2 ** (d.attempts - 1))
        d.next_attempt = time.monotonic() + delay
        _log.info("push to %s failed (%s); retrying in %.1fs", d.key, error, delay)

    async def _drop(self, d: _Delivery, reason: str) -> None:
        _log.warning("removing pusher %s: %s", d.key, reason)
        self._deliveries.pop(d.key, None)
        with contextlib.suppress(Exception):
            await self._remove(*d.key, reason)
