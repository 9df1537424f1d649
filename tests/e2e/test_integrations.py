"""The integration contract end to end (docs/integrations.md): a real server in the
scale profile, real NATS subscribers on the documented subjects.

Scale profile only: the embedded profile has no NATS to publish to.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import aiohttp
import jsonschema
import nats
import pytest
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from tessera.query.events import latest_position
from tessera.schema.integrations import (
    EventMessage,
    default_stream,
    parse_subject,
    subscription,
)
from tests.e2e.harness import Client, Server, ServerFactory, User
from tests.openapi import CLIENT_SERVER, _registry, _uri

CS = "/_matrix/client/v3"
SPEC = CLIENT_SERVER / "definitions" / "client_event.yaml"


@pytest.fixture
def profile() -> str:
    return "scale"


def client_event_validator() -> jsonschema.protocols.Validator:
    schema = {"$ref": _uri(SPEC, "")}
    return jsonschema.Draft202012Validator(schema, registry=_registry())


async def read_until(
    js: JetStreamContext, stream: str, subject: str, position: int, durable: str | None = None
) -> list[tuple[Msg, EventMessage]]:
    """Everything the stream holds on ``subject`` up to ``position`` (acknowledged)."""
    config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT)
    sub = await js.pull_subscribe(subject, durable=durable, stream=stream, config=config)
    got: list[tuple[Msg, EventMessage]] = []
    try:
        async with asyncio.timeout(15):
            while not got or got[-1][1].position < position:
                try:
                    batch = await sub.fetch(100, timeout=0.2)
                except nats.errors.TimeoutError:
                    continue
                for msg in batch:
                    got.append((msg, EventMessage.from_body(msg.data)))
                    await msg.ack()
    finally:
        await sub.unsubscribe()
    return got


async def send(client: Client, user: User, room: str, body: str) -> str:
    path = f"{CS}/rooms/{quote(room)}/send/m.room.message/{body}"
    status, answer = await client.put(path, {"msgtype": "m.text", "body": body}, token=user.token)
    assert status == 200, answer
    return str(answer["event_id"])


async def test_subscribers_get_client_format_events_in_order_with_redactions(
    start_server: ServerFactory, http: aiohttp.ClientSession, nc: Nats
) -> None:
    server: Server = await start_server()
    root = server.config.nats_subject_root
    stream = default_stream(root)
    client = Client(http, server.base_url)
    live: list[EventMessage] = []

    async def on_live(msg: Msg) -> None:
        live.append(EventMessage.from_body(msg.data))

    # A core subscription by type, across rooms: what a simple bot does.
    await nc.subscribe(subscription(root, event_type="m.room.message"), cb=on_live)
    await nc.flush()
    alice = await client.register()
    status, created = await client.post(f"{CS}/createRoom", {"name": "a.b*c>"}, token=alice.token)
    assert status == 200
    room = created["room_id"]
    sent = [await send(client, alice, room, f"m{i}") for i in range(3)]
    # A send answers once committed, possibly before the publisher has sent it
    # on: redact only once all three went out live, as the assertions want.
    async with asyncio.timeout(10):
        while len(live) < 3:  # noqa: ASYNC110 (the callback fills it)
            await asyncio.sleep(0.01)
    path = f"{CS}/rooms/{quote(room)}/redact/{quote(sent[1])}/r1"
    status, answer = await client.put(path, {"reason": "typo"}, token=alice.token)
    assert status == 200
    redaction = answer["event_id"]
    await server.services.barrier.wait()  # reading a read model directly, as a request does
    head = await asyncio.to_thread(latest_position, server.services.readdb)

    # A durable JetStream consumer of one room, every type: what a bridge does.
    js = nc.jetstream()
    got = await read_until(js, stream, subscription(root, room), head, durable="bridge")
    events = [m.event for _, m in got]
    positions = [m.position for _, m in got]
    assert positions == sorted(set(positions)), "in log order, each position once"
    assert [m.previous for _, m in got[1:]] == positions[:-1], "one room here: a gapless chain"
    validator = client_event_validator()
    for msg, message in got:
        assert msg.headers is not None and msg.headers["Nats-Msg-Id"] == str(message.position)
        assert parse_subject(root, msg.subject) == (room, message.event["type"])
        validator.validate(message.event)
        assert "age" not in message.event.get("unsigned", {})
    assert events[0]["type"] == "m.room.create"
    assert events[0]["state_key"] == ""
    assert {"m.room.member", "m.room.power_levels", "m.room.name"} <= {e["type"] for e in events}
    messages = [e for e in events if e["type"] == "m.room.message"]
    assert [e["event_id"] for e in messages] == sent
    # Published live, before the redaction: the original, then the redaction itself.
    assert messages[1]["content"]["body"] == "m1"
    assert events[-1]["event_id"] == redaction
    assert events[-1]["redacts"] == sent[1]
    assert events[-1]["sender"] == alice.user_id
    assert [m.event["content"]["body"] for m in live] == ["m0", "m1", "m2"]
    assert [m.position for m in live] == [
        p for p, e in zip(positions, events, strict=True) if e in messages
    ]

    # Deleting the stream and starting a publisher republishes the history into a
    # new stream, redactions applied (here a second process, integrations only).
    await js.delete_stream(stream)
    await start_server(roles=["integrations"])
    late = await send(client, alice, room, "m3")
    await server.services.barrier.wait()
    head = await asyncio.to_thread(latest_position, server.services.readdb)
    again = await read_until(js, stream, subscription(root, room), head)
    assert [m.position for _, m in again] == [*positions, head]
    republished = {m.event["event_id"]: m.event for _, m in again}
    assert republished[sent[1]]["content"] == {}
    assert republished[sent[1]]["unsigned"]["redacted_because"]["event_id"] == redaction
    assert republished[sent[0]]["content"]["body"] == "m0"
    assert republished[late]["content"]["body"] == "m3"
    validator.validate(republished[sent[1]])
    await js.delete_stream(stream)
