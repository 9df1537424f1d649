"""Integration subjects on a real NATS server: the documented wildcard filters pick
exactly one room or one type, whatever dots and wildcard characters they contain."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import nats
import pytest
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg

from tessera.app.integrations import JetStreamEvents
from tessera.schema.integrations import EventMessage, parse_subject, subscription
from tests.services import NATS_URL, require

ROOMS = ["!a.b:example.org", "!a:example.org", "!*:>", "!a b:[::1]:8448"]
TYPES = ["m.room.message", "m.room.*", "m.room", "org.example.>"]


@pytest.fixture
async def nc() -> AsyncIterator[Nats]:
    require("NATS", "127.0.0.1", 4222)
    connection = await nats.connect(NATS_URL)
    try:
        yield connection
    finally:
        await connection.drain()


async def test_wildcard_filters_pick_one_room_or_one_type(nc: Nats) -> None:
    root = "s" + uuid.uuid4().hex[:12]
    sink = JetStreamEvents(nc, root=root)
    await sink.setup()
    heard: dict[str, list[tuple[str, str]]] = {}
    filters = {
        **{f"room {r}": subscription(root, r) for r in ROOMS},
        **{f"type {t}": subscription(root, event_type=t) for t in TYPES},
        "one": subscription(root, ROOMS[2], TYPES[3]),
    }
    done = asyncio.Event()
    expected_total = len(ROOMS) * len(TYPES) * 2 + 1

    def listener(name: str) -> Callable[[Msg], Awaitable[None]]:
        async def on(msg: Msg) -> None:
            heard.setdefault(name, []).append(parse_subject(root, msg.subject))
            if sum(len(v) for v in heard.values()) == expected_total:
                done.set()

        return on

    for name, subject in filters.items():
        await nc.subscribe(subject, cb=listener(name))
    await nc.flush()
    messages: list[EventMessage] = []
    for room in ROOMS:
        for kind in TYPES:
            event = {"event_id": f"$e{len(messages)}", "room_id": room, "type": kind}
            previous = messages[-1].position if messages else 0
            messages.append(EventMessage(len(messages) + 1, previous, event))
    try:
        await sink.publish(messages)
        async with asyncio.timeout(5):
            await done.wait()
        for room in ROOMS:
            assert heard[f"room {room}"] == [(room, t) for t in TYPES]
        for kind in TYPES:
            assert heard[f"type {kind}"] == [(r, kind) for r in ROOMS]
        assert heard["one"] == [(ROOMS[2], TYPES[3])]
        info = await nc.jetstream().stream_info(sink.stream)
        assert info.state.messages == len(messages)
    finally:
        await sink.close()
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await nc.jetstream().delete_stream(sink.stream)
