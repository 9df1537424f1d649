"""Typing notifications: ephemeral, in memory, never in the log.

Each process keeps the rooms' typing users with their expiry times and a serial
that counts changes (the ``E`` of a stream token ``s<P>_<E>``). A change made
through one process reaches every other one as a ``typing`` bus signal
(NATS core in the scale profile, see ``encode_update``); each process applies
it to its own tracker, so a long-poll anywhere wakes. Expiry is local: every
process drops a user when the timeout it was told runs out.

A serial means nothing to another process or after a restart; a token whose
serial this tracker never issued (greater than its own) gets every room's
current typing list, which is harmless because ``m.typing`` is a full
replacement, never a delta.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Callable, Iterable

import orjson

from tessera.schema.bus import Bus, Unlisten

#: The longest a client can claim to keep typing (Synapse and others cap similarly).
MAX_TIMEOUT_MS = 120_000
#: The marker of a typing update in a signal's body.
TYPING_SIGNAL = "typing"
#: The bus topic typing updates travel on (NATS core ``<root>.typing``).
TYPING_TOPIC = "typing"


@dataclasses.dataclass(frozen=True, slots=True)
class TypingUpdate:
    room_id: str
    user_id: str
    typing: bool
    timeout_ms: int = 0


def encode_update(update: TypingUpdate, origin: str = "") -> bytes:
    return orjson.dumps(
        {
            "kind": TYPING_SIGNAL,
            "origin": origin,
            "room_id": update.room_id,
            "user_id": update.user_id,
            "typing": update.typing,
            "timeout_ms": update.timeout_ms,
        }
    )


def decode_update(body: bytes, ignore_origin: str | None = None) -> TypingUpdate | None:
    """The update a signal carries, or None for another kind of signal (or one
    this process sent itself: it applied that update already)."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict) or value.get("kind") != TYPING_SIGNAL:
        return None
    if ignore_origin is not None and value.get("origin") == ignore_origin:
        return None
    try:
        return TypingUpdate(
            str(value["room_id"]),
            str(value["user_id"]),
            bool(value["typing"]),
            int(value.get("timeout_ms", 0)),
        )
    except (KeyError, TypeError, ValueError):
        return None


class TypingTracker:
    def __init__(
        self,
        on_change: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rooms: dict[str, dict[str, float]] = {}
        self._changed_at: dict[str, int] = {}
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._clock = clock
        self.serial = 0
        #: Called after every change.
        self.on_change = on_change
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        #: Tells this process's own signals apart when the bus echoes them back.
        self.origin = uuid.uuid4().hex
        self._bus: Bus | None = None
        self._unlisten: Unlisten | None = None

    def apply(self, update: TypingUpdate) -> bool:
        """Apply a start/stop; True if the room's typing list changed."""
        users = self._rooms.setdefault(update.room_id, {})
        key = (update.room_id, update.user_id)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        was_typing = update.user_id in users
        if update.typing:
            timeout = max(0, min(update.timeout_ms, MAX_TIMEOUT_MS)) / 1000
            users[update.user_id] = self._clock() + timeout
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                self._timers[key] = loop.call_later(timeout, self._expire, *key)
            changed = not was_typing
        else:
            users.pop(update.user_id, None)
            changed = was_typing
        if not users:
            self._rooms.pop(update.room_id, None)
        if changed:
            self._bump(update.room_id)
        return changed

    def _expire(self, room_id: str, user_id: str) -> None:
        self._timers.pop((room_id, user_id), None)
        users = self._rooms.get(room_id)
        if users is None or user_id not in users:
            return
        del users[user_id]
        if not users:
            del self._rooms[room_id]
        self._bump(room_id)

    def _bump(self, room_id: str) -> None:
        self.serial += 1
        self._changed_at[room_id] = self.serial
        for future in self._waiters.pop(room_id, ()):
            if not future.done():
                future.set_result(None)
        if self.on_change is not None:
            self.on_change()

    async def wait_changed(
        self,
        room_ids: Iterable[str],
        after: int | None,
        timeout: float,  # noqa: ASYNC109
    ) -> bool:
        """Sleep until the typing list of one of ``room_ids`` changes after serial
        ``after`` (at once if it already has), or ``timeout``; did one change?"""
        rooms = list(room_ids)
        if after is not None and any(self._changed_at.get(r, 0) > after for r in rooms):
            return True
        if not rooms or timeout <= 0:
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for room_id in rooms:
            self._waiters.setdefault(room_id, set()).add(future)
        try:
            async with asyncio.timeout(timeout):
                await future
            return True
        except TimeoutError:
            return False
        finally:
            for room_id in rooms:
                waiting = self._waiters.get(room_id)
                if waiting is not None:
                    waiting.discard(future)
                    if not waiting:
                        del self._waiters[room_id]

    def typing_users(self, room_id: str) -> list[str]:
        now = self._clock()
        users = self._rooms.get(room_id, {})
        return sorted(u for u, expires in users.items() if expires > now)

    def changes(self, room_ids: Iterable[str], since: int | None) -> dict[str, list[str]]:
        """The typing list of each room that changed after serial ``since`` (every
        room with someone typing when ``since`` is None or not one of ours)."""
        out: dict[str, list[str]] = {}
        for room_id in room_ids:
            if since is None or since > self.serial:
                users = self.typing_users(room_id)
                if users:
                    out[room_id] = users
            elif self._changed_at.get(room_id, 0) > since:
                out[room_id] = self.typing_users(room_id)
        return out

    async def attach(self, bus: Bus) -> None:
        """Hear the updates other processes make (and tell them ours, ``publish``)."""
        self._bus = bus
        self._unlisten = await bus.listen(TYPING_TOPIC, self._on_signal)

    def _on_signal(self, _topic: str, body: bytes) -> None:
        update = decode_update(body, ignore_origin=self.origin)
        if update is not None:
            self.apply(update)

    async def publish(self, update: TypingUpdate) -> bool:
        """Apply a client's start/stop here and send it to every other process."""
        changed = self.apply(update)
        if self._bus is not None:
            await self._bus.signal(TYPING_TOPIC, encode_update(update, self.origin))
        return changed

    async def close(self) -> None:
        if self._unlisten is not None:
            await self._unlisten()
            self._unlisten = None
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
