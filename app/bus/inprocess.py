"""The in-process bus of the embedded profile: queues and callbacks in one event loop.

Nothing survives a restart, so ``resume_after`` is ``None``: the relay starts at
the log's head and each worker catches up from the log on start. A consumer's
queue is bounded and ``publish`` waits for room, so a slow projection slows the
relay down instead of growing memory without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from tessera.schema.bus import BusRecord, Handler, OutOfStep, Unlisten, topic_matches


class InProcessConsumer:
    def __init__(self, bus: InProcessBus, name: str, capacity: int) -> None:
        self.name = name
        self._bus = bus
        self.queue: asyncio.Queue[BusRecord] = asyncio.Queue(capacity)

    async def fetch(self, max_records: int, wait: float) -> list[BusRecord]:
        try:
            async with asyncio.timeout(wait):
                first = await self.queue.get()
        except TimeoutError:
            return []
        batch = [first]
        while len(batch) < max_records and not self.queue.empty():
            batch.append(self.queue.get_nowait())
        return batch

    async def ack(self) -> None:
        # The tracking position in the read model is the durable acknowledgement.
        return None

    async def close(self) -> None:
        self._bus._drop(self)


class InProcessBus:
    def __init__(self, *, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._consumers: dict[str, InProcessConsumer] = {}
        self._listeners: list[tuple[str, Handler]] = []
        self._last: int | None = None

    async def resume_after(self) -> int | None:
        return self._last

    async def publish(self, records: Sequence[BusRecord]) -> None:
        for record in records:
            if self._last is not None and record.position <= self._last:
                continue  # re-published: already delivered
            if self._last is not None and record.previous < self._last:
                raise OutOfStep(self._last)  # a relay behind what was published
            for consumer in list(self._consumers.values()):
                await consumer.queue.put(record)
            self._last = record.position

    async def consumer(self, name: str) -> InProcessConsumer:
        # A restarted worker replaces its predecessor; what that one held unapplied
        # the new one reads from the log (it catches up on start).
        consumer = InProcessConsumer(self, name, self._capacity)
        self._consumers[name] = consumer
        return consumer

    def _drop(self, consumer: InProcessConsumer) -> None:
        if self._consumers.get(consumer.name) is consumer:
            del self._consumers[consumer.name]
        # Unblock a publish waiting for room in a queue nobody reads any more.
        while not consumer.queue.empty():
            consumer.queue.get_nowait()

    async def signal(self, topic: str, body: bytes = b"") -> None:
        for pattern, handler in list(self._listeners):
            if topic_matches(pattern, topic):
                handler(topic, body)

    async def listen(self, topic: str, handler: Handler) -> Unlisten:
        entry = (topic, handler)
        self._listeners.append(entry)

        async def unlisten() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(entry)

        return unlisten

    async def close(self) -> None:
        for consumer in list(self._consumers.values()):
            await consumer.close()
        self._listeners.clear()
