"""Integration delivery across publisher restarts and copies (docs/integrations.md,
"Delivery guarantees"): the stream holds every room event once, in log order.

The server runs without the integrations role; the test runs the publishers
itself (the same classes the role starts) so it can stop and start them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import aiohttp
import nats
import pytest
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg

from tessera.app.integrations import JetStreamEvents
from tessera.app.services import Services
from tessera.projections.integrations import IntegrationPublisher, messages_of, read_rows
from tessera.schema.bus import OutOfStep
from tessera.schema.integrations import subscription
from tests.e2e.harness import Client, ServerFactory
from tests.e2e.test_integrations import CS, read_until, send

#: The stream's duplicate window here: far shorter than the test.
WINDOW = 0.2


@pytest.fixture
def profile() -> str:
    return "scale"


class Running:
    """A publisher on its own task, as the role runs it."""

    def __init__(self, services: Services, nc: Nats, root: str) -> None:
        # A duplicate window far shorter than the test: what keeps the stream
        # free of duplicates here is the expected-last-message check alone.
        self.sink = JetStreamEvents(nc, root=root, duplicate_window=WINDOW)
        self.publisher = IntegrationPublisher(services.readdb, services.applied, self.sink)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Running:
        await self.sink.setup()
        self.task = asyncio.create_task(self.publisher.run())
        return self

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.sink.close()


def room_event_positions(services: Services) -> list[int]:
    rows = services.readdb.iter_rows("SELECT position FROM room_events ORDER BY position")
    return [int(p) for (p,) in rows]


async def test_restarted_and_concurrent_publishers_neither_lose_nor_duplicate(
    start_server: ServerFactory, http: aiohttp.ClientSession, nc: Nats
) -> None:
    server = await start_server(roles=["api", "sync", "projections", "relay"])
    services = server.services
    client = Client(http, server.base_url)
    root = "i" + uuid.uuid4().hex[:12]
    js = nc.jetstream()
    alice = await client.register()
    status, created = await client.post(f"{CS}/createRoom", {}, token=alice.token)
    assert status == 200
    room = created["room_id"]
    seen = 0
    some_published = asyncio.Event()

    async def on_message(_msg: Msg) -> None:
        nonlocal seen
        seen += 1
        if seen >= 10:
            some_published.set()

    await nc.subscribe(subscription(root, room), cb=on_message)
    first = await Running(services, nc, root).start()
    started = asyncio.get_running_loop().time()
    try:
        writer = asyncio.gather(*(send(client, alice, room, f"m{i}") for i in range(40)))
        # Stopped while events are still being written and published.
        await some_published.wait()
        await first.stop()
        copies = [await Running(services, nc, root).start() for _ in range(2)]
        await writer
        await services.barrier.wait()  # the sends answered once committed
        expected = await asyncio.to_thread(room_event_positions, services)
        got = await read_until(js, first.sink.stream, f"{root}.events.>", expected[-1])
        positions = [m.position for _, m in got]
        assert positions == expected, "every room event once, in log order"
        assert [m.previous for _, m in got] == [0, *positions[:-1]]
        for copy in copies:
            await copy.stop()
        assert max(c.publisher.position for c in copies) == expected[-1]

        # A publisher that lost its place, past the duplicate window, is
        # refused, told where the stream is, and appends nothing.
        stale = JetStreamEvents(nc, root=root)
        # Its positions were first published at the start: let the window pass,
        # with a margin, since JetStream forgets message IDs on a timer of its own
        # (the sends above no longer wait for the projections, and can all be done
        # within two windows: seen failing once in CI with 2 * WINDOW).
        await asyncio.sleep(max(0.0, started + 5 * WINDOW - asyncio.get_running_loop().time()))
        rows = await asyncio.to_thread(read_rows, services.readdb, 0, expected[-1], 5)
        with pytest.raises(OutOfStep) as refused:
            await stale.publish(messages_of(rows[1:], rows[0].position))
        assert refused.value.last == expected[-1]
        info = await js.stream_info(first.sink.stream)
        assert info.state.messages == len(expected)
        await stale.close()
    finally:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(first.sink.stream)
