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
import json
from collections.abc import Sequence
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, Header, StorageType
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from tessera.schema.bus import H_POSITION, BusRecord, Handler, OutOfStep, Unlisten, topic_matches

#: JetStream's error code for a failed ``Nats-Expected-Last-Msg-Id`` check.
_WRONG_LAST_MSG_ID = 10070


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
        self._publish_timeout = publish_timeout
        self._owns = owns_connection
        self._consumers: list[NatsConsumer] = []
        # Without echo the server does not send our own signals back: deliver
        # them to this process's listeners here.
        self._local: list[tuple[str, Handler]] | None = [] if nc.options.get("no_echo") else None
        # Publish acknowledgements come back on this inbox, one token per message.
        self._inbox = nc.new_inbox()
        self._replies: Subscription | None = None
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._serial = 0
        # Known after the first look at the stream: the first message of an
        # empty stream has no predecessor to expect.
        self._stream_has_messages: bool | None = None

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
        try:
            last = await self.js.get_last_msg(self.stream, self.subject)
        except NotFoundError:
            self._stream_has_messages = False
            return 0
        self._stream_has_messages = True
        return int((last.headers or {})[H_POSITION])

    async def publish(self, records: Sequence[BusRecord]) -> None:
        if self._stream_has_messages is None:
            await self.resume_after()
        # Pipelined: every message is sent before the first acknowledgement is
        # awaited. The server stores them in the order they arrive, and a message
        # whose predecessor is missing fails its expected-last check.
        if self._replies is None:
            self._replies = await self.nc.subscribe(self._inbox + ".*", cb=self._on_reply)
        loop = asyncio.get_running_loop()
        waiting: list[asyncio.Future[dict[str, Any]]] = []
        try:
            for record in records:
                headers = record.headers()
                headers[Header.EXPECTED_STREAM] = self.stream
                if self._stream_has_messages:
                    headers[Header.EXPECTED_LAST_MSG_ID] = str(record.previous)
                self._stream_has_messages = True
                self._serial += 1
                token = str(self._serial)
                self._acks[token] = future = loop.create_future()
                waiting.append(future)
                await self.nc.publish(
                    self.subject, record.payload, reply=f"{self._inbox}.{token}", headers=headers
                )
            async with asyncio.timeout(self._publish_timeout):
                acks = await asyncio.gather(*waiting)
        except BaseException:
            self._stream_has_messages = None  # look at the stream before the next attempt
            raise
        finally:
            for future in waiting:
                future.cancel()
            self._acks = {t: f for t, f in self._acks.items() if not f.done()}
        for ack in acks:
            error = ack.get("error")
            if error is None:
                continue
            self._stream_has_messages = None
            if error.get("err_code") == _WRONG_LAST_MSG_ID:
                raise OutOfStep(await self.resume_after() or 0)
            raise RuntimeError(f"JetStream refused a record: {error}")

    async def _on_reply(self, msg: Msg) -> None:
        future = self._acks.get(msg.subject.rpartition(".")[2])
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get("Status") == "503":
            future.set_result({"error": {"description": "no stream answers", "err_code": 503}})
            return
        future.set_result(json.loads(msg.data))

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
        if self._replies is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._replies.unsubscribe()
            self._replies = None
        if self._owns:
            await self.nc.drain()
