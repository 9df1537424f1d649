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
from collections.abc import Sequence

from nats.aio.client import Client
from nats.js.api import DiscardPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from tessera.app.bus.jetstream import Outgoing, StreamPublisher
from tessera.app.bus.nats import NatsBus
from tessera.app.services import Services
from tessera.projections.integrations import IntegrationPublisher
from tessera.schema.integrations import H_POSITION, EventMessage, default_stream, stream_subjects


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
        self._publisher = StreamPublisher(
            nc,
            self.stream,
            self._last_position,
            what="an integration event",
            timeout=publish_timeout,
        )

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
                    max_bytes=self._max_bytes or -1,
                    discard=DiscardPolicy.OLD,
                )
            )

    async def resume_after(self) -> int:
        return await self._publisher.resume_after()

    async def _last_position(self) -> int | None:
        try:
            info = await self.js.stream_info(self.stream)
        except NotFoundError:  # deleted by the operator: republish into a new one
            await self.setup()
            info = await self.js.stream_info(self.stream)
        last = info.state.last_seq if info.state.messages else 0
        if not last:
            return None
        message = await self.js.get_msg(self.stream, seq=last)
        return int((message.headers or {})[H_POSITION])

    async def publish(self, messages: Sequence[EventMessage]) -> None:
        await self._publisher.publish(
            [Outgoing(m.subject(self.root), m.body(), m.headers(), m.previous) for m in messages]
        )

    async def close(self) -> None:
        await self._publisher.close()


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
