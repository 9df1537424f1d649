"""The ``integrations`` role: room events to NATS JetStream for bots and bridges.

``JetStreamEvents`` is the publisher's sink: one JetStream stream (default
``<ROOT>_EVENTS``, capturing ``<root>.events.>``) that subscribers read with
durable consumers. Each message's ``Nats-Msg-Id`` is its log position, so the
server drops a position published twice within the duplicate window, and
``Nats-Expected-Last-Msg-Id`` is the position published before it, so a
publisher that is behind the stream (a second copy, or one restarted past that
window) is refused and skips to the stream's last position instead of
appending events out of order.

The publisher's position is the stream's last message, read at start: the
stream is the one place that knows what subscribers can get, so no tracking
table can disagree with it. An empty (or deleted, then recreated) stream means
"publish the whole history", with the redactions known by then.

Only the scale profile runs it (``nats`` configured); it shares the bus's NATS
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import Any

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import DiscardPolicy, Header, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from tessera.app.bus.nats import NatsBus
from tessera.app.services import Services
from tessera.projections.integrations import IntegrationPublisher
from tessera.schema.bus import OutOfStep
from tessera.schema.integrations import H_POSITION, EventMessage, default_stream, stream_subjects

#: JetStream's error code for a failed ``Nats-Expected-Last-Msg-Id`` check.
_WRONG_LAST_MSG_ID = 10070


class JetStreamEvents:
    def __init__(
        self,
        nc: Client,
        *,
        root: str = "tessera",
        stream: str | None = None,
        max_bytes: int = 0,
        duplicate_window: float = 120.0,
        publish_timeout: float = 10.0,
    ) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.root = root
        self.stream = stream or default_stream(root)
        self._max_bytes = max_bytes
        self._duplicate_window = duplicate_window
        self._publish_timeout = publish_timeout
        self._inbox = nc.new_inbox()
        self._replies: Subscription | None = None
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._serial = 0
        self._has_messages: bool | None = None

    async def setup(self) -> None:
        """Create the stream if it does not exist (an existing one is left as the
        operator configured it)."""
        try:
            await self.js.stream_info(self.stream)
        except NotFoundError:
            await self.js.add_stream(
                StreamConfig(
                    name=self.stream,
                    subjects=stream_subjects(self.root),
                    storage=StorageType.FILE,
                    duplicate_window=self._duplicate_window,
                    # Dropping the oldest keeps the newest message, which is
                    # where a restarted publisher resumes; an age limit could
                    # empty the stream and make it republish everything.
                    max_bytes=self._max_bytes or -1,
                    discard=DiscardPolicy.OLD,
                )
            )

    async def resume_after(self) -> int:
        try:
            info = await self.js.stream_info(self.stream)
        except NotFoundError:  # deleted by the operator: republish into a new one
            await self.setup()
            info = await self.js.stream_info(self.stream)
        last = info.state.last_seq if info.state.messages else 0
        if not last:
            self._has_messages = False
            return 0
        message = await self.js.get_msg(self.stream, seq=last)
        self._has_messages = True
        return int((message.headers or {})[H_POSITION])

    async def publish(self, messages: Sequence[EventMessage]) -> None:
        if self._has_messages is None:
            await self.resume_after()
        if self._replies is None:
            self._replies = await self.nc.subscribe(self._inbox + ".*", cb=self._on_reply)
        # Pipelined: all sent before the first acknowledgement is awaited; the
        # server stores them in arrival order, and one whose predecessor is
        # missing fails its expected-last check.
        loop = asyncio.get_running_loop()
        waiting: list[asyncio.Future[dict[str, Any]]] = []
        try:
            for message in messages:
                headers = message.headers()
                headers[Header.EXPECTED_STREAM] = self.stream
                if self._has_messages:
                    headers[Header.EXPECTED_LAST_MSG_ID] = str(message.previous)
                self._has_messages = True
                self._serial += 1
                token = str(self._serial)
                self._acks[token] = future = loop.create_future()
                waiting.append(future)
                await self.nc.publish(
                    message.subject(self.root),
                    message.body(),
                    reply=f"{self._inbox}.{token}",
                    headers=headers,
                )
            async with asyncio.timeout(self._publish_timeout):
                acks = await asyncio.gather(*waiting)
        except BaseException:
            self._has_messages = None  # look at the stream before the next attempt
            raise
        finally:
            for future in waiting:
                future.cancel()
            self._acks = {t: f for t, f in self._acks.items() if not f.done()}
        for ack in acks:
            error = ack.get("error")
            if error is None:
                continue
            self._has_messages = None
            if error.get("err_code") == _WRONG_LAST_MSG_ID:
                raise OutOfStep(await self.resume_after())
            raise RuntimeError(f"JetStream refused an integration event: {error}")

    async def _on_reply(self, msg: Msg) -> None:
        future = self._acks.get(msg.subject.rpartition(".")[2])
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get("Status") == "503":
            future.set_result({"error": {"description": "no stream answers", "err_code": 503}})
            return
        future.set_result(json.loads(msg.data))

    async def close(self) -> None:
        if self._replies is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._replies.unsubscribe()
            self._replies = None


async def start_integrations(services: Services) -> IntegrationPublisher:
    """Start the publisher of the ``integrations`` role; stopped by ``close_services``."""
    bus = services.bus
    if not isinstance(bus, NatsBus):
        raise RuntimeError("the integrations role needs NATS (the scale profile)")
    config = services.config
    sink = JetStreamEvents(
        bus.nc,
        root=config.nats_subject_root,
        stream=config.integrations_stream,
        max_bytes=config.integrations_max_bytes,
    )
    await sink.setup()
    publisher = IntegrationPublisher(services.readdb, services.applied, sink)
    task = asyncio.create_task(publisher.run(), name="integrations")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sink.close()

    services.closers.append(stop)
    return publisher
