"""The NATS JetStream bus of the scale profile.

Records go to one JetStream stream (``TESSERA_LOG``, subject
``<root>.log.records``); each projection has a durable pull consumer on it.
Signals are NATS core messages on ``<root>.<topic>``. The bus's own connection
is opened without echo, and a signal reaches the listeners of the process that
sent it directly: a worker's ``applied`` signal wakes the writers waiting in its
own process without a round trip through the server (and exactly once).

Idempotent publishing, in two layers: each message's ``Nats-Msg-Id`` is its log
position, so the server drops a position published twice within the stream's
duplicate window (a relay retrying after a lost acknowledgement, two relays
racing); and each message carries ``Nats-Expected-Last-Msg-Id`` = the position
the relay published before it, so a relay that is behind the stream (beyond
that window too) is refused and told where the stream is, instead of appending
records out of order.

The relay's own position is the position of the stream's last message, read at
start: the stream is the one place that knows what was published, so no
tracking table can disagree with it. An empty stream means "publish the whole
log".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from tessera.app.bus.jetstream import Outgoing, StreamPublisher
from tessera.schema.bus import H_POSITION, BusRecord, Handler, Unlisten, topic_matches


def _outcome_ignored(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: an abandoned fetch's error is nobody's


class NatsConsumer:
    def __init__(self, sub: JetStreamContext.PullSubscription, *, ack_all: bool = True) -> None:
        self._sub = sub
        self._unacked: list[Msg] = []
        #: ``AckPolicy.ALL``: acknowledging a message acknowledges every one
        #: before it, so a batch costs one acknowledgement. (A durable created
        #: before, with explicit acks, is acknowledged message by message.)
        self._ack_all = ack_all

    async def fetch(self, max_records: int, wait: float) -> list[BusRecord]:
        # nats-py's fetch waits with asyncio.wait_for, which on Python 3.11 swallows
        # a cancellation that arrives with a message (CPython gh-86296): awaited
        # directly, it returns to a cancelled worker, which then never stops. Behind
        # a shield the caller's cancellation is the caller's; the fetch is cancelled
        # too, and whatever it still took is never acknowledged, so redelivered.
        fetching = asyncio.ensure_future(self._sub.fetch(max_records, timeout=wait))
        try:
            msgs = await asyncio.shield(fetching)
        except TimeoutError:  # nats-py raises its own subclass, or asyncio's plain one
            return []
        except asyncio.CancelledError:
            fetching.cancel()
            fetching.add_done_callback(_outcome_ignored)
            raise
        self._unacked.extend(msgs)
        return [BusRecord.from_wire(m.headers or {}, m.data) for m in msgs]

    async def ack(self) -> None:
        if self._ack_all and self._unacked:
            await self._unacked[-1].ack()
        else:
            for msg in self._unacked:
                await msg.ack()
        self._unacked.clear()

    async def close(self) -> None:
        # Unacknowledged messages are redelivered to the next worker after ack_wait.
        self._unacked.clear()
        with contextlib.suppress(nats.errors.Error):
            await self._sub.unsubscribe()


class NatsBus:
    def __init__(
        self,
        nc: Client,
        *,
        root: str = "tessera",
        stream: str = "TESSERA_LOG",
        duplicate_window: float = 120.0,
        ack_wait: float = 60.0,
        publish_timeout: float = 10.0,
        owns_connection: bool = False,
    ) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.root = root
        self.stream = stream
        self.subject = f"{root}.log.records"
        self._duplicate_window = duplicate_window
        self._ack_wait = ack_wait
        self._owns = owns_connection
        self._consumers: list[NatsConsumer] = []
        # Without echo the server does not send our own signals back: deliver
        # them to this process's listeners here.
        self._local: list[tuple[str, Handler]] | None = [] if nc.options.get("no_echo") else None
        self._publisher = StreamPublisher(
            nc, stream, self._last_position, what="a record", timeout=publish_timeout
        )

    @classmethod
    async def connect(cls, url: str, **options: object) -> NatsBus:
        nc = await nats.connect(url, max_reconnect_attempts=-1, no_echo=True)
        bus = cls(nc, owns_connection=True, **options)  # type: ignore[arg-type]
        await bus.setup()
        return bus

    async def setup(self) -> None:
        """Create the stream if it does not exist (an existing one is left as the
        operator configured it)."""
        try:
            await self.js.stream_info(self.stream)
        except NotFoundError:
            await self.js.add_stream(
                name=self.stream,
                subjects=[self.subject],
                storage=StorageType.FILE,
                duplicate_window=self._duplicate_window,
            )

    async def resume_after(self) -> int | None:
        return await self._publisher.resume_after()

    async def _last_position(self) -> int | None:
        try:
            last = await self.js.get_last_msg(self.stream, self.subject)
        except NotFoundError:
            return None
        return int((last.headers or {})[H_POSITION])

    async def publish(self, records: Sequence[BusRecord]) -> None:
        await self._publisher.publish(
            [Outgoing(self.subject, r.payload, r.headers(), r.previous) for r in records]
        )

    async def consumer(self, name: str) -> NatsConsumer:
        config = ConsumerConfig(
            durable_name=name,
            # Records published before the consumer existed come from the log:
            # the worker catches up from its tracked position on start.
            deliver_policy=DeliverPolicy.NEW,
            # Whoever acknowledges position N has applied everything up to N
            # (a worker reads any gap from the log first), so acknowledging the
            # last message of a batch may acknowledge all of them, even when
            # several copies of a worker share the consumer.
            ack_policy=AckPolicy.ALL,
            ack_wait=self._ack_wait,
            max_ack_pending=20_000,
        )
        sub = await self.js.pull_subscribe(
            self.subject, durable=name, stream=self.stream, config=config
        )
        info = await sub.consumer_info()
        consumer = NatsConsumer(sub, ack_all=info.config.ack_policy == AckPolicy.ALL)
        self._consumers.append(consumer)
        return consumer

    async def signal(self, topic: str, body: bytes = b"") -> None:
        await self.nc.publish(f"{self.root}.{topic}", body)
        for pattern, handler in list(self._local or ()):
            if topic_matches(pattern, topic):
                handler(topic, body)

    async def listen(self, topic: str, handler: Handler) -> Unlisten:
        prefix = len(self.root) + 1

        async def deliver(msg: Msg) -> None:
            handler(msg.subject[prefix:], msg.data)

        sub = await self.nc.subscribe(f"{self.root}.{topic}", cb=deliver)
        # Signals are not stored: return only once the server routes them here.
        await self.nc.flush()
        local = (topic, handler)
        if self._local is not None:
            self._local.append(local)

        async def unlisten() -> None:
            if self._local is not None and local in self._local:
                self._local.remove(local)
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()

        return unlisten

    async def close(self) -> None:
        for consumer in self._consumers:
            await consumer.close()
        self._consumers.clear()
        await self._publisher.close()
        if self._owns:
            await self.nc.drain()
