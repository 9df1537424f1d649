"""Sync across processes (scale profile): two servers on one PostgreSQL + NATS.

Server A runs every role; server B only the HTTP roles, so what B's long-polls
hear comes over the bus: projections' applied signals, and typing signals.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.e2e.harness import Client, ServerFactory, User
from tests.e2e.test_sync_http import WIDE, create_room, join, messages, room_path, send, sync


async def two_clients(
    profile: str, start_server: ServerFactory, http: aiohttp.ClientSession
) -> tuple[Client, Client]:
    if profile != "scale":
        pytest.skip("processes share a log only in the scale profile")
    a = await start_server()
    b = await start_server(roles=["api", "sync"])
    return Client(http, a.base_url), Client(http, b.base_url)


async def joined_on(client: Client, user: User, room: str) -> str:
    """The first sync on this process already has the join made through the other
    one (the read barrier: read-your-writes holds across processes)."""
    body = await sync(client, user)
    assert room in body["rooms"]["join"]
    return str(body["next_batch"])


async def test_typing_on_one_process_wakes_a_long_poll_on_another(
    profile: str, start_server: ServerFactory, http: aiohttp.ClientSession
) -> None:
    on_a, on_b = await two_clients(profile, start_server, http)
    alice, bob = await on_a.register(), await on_a.register()
    room = await create_room(on_a, alice, preset="public_chat")
    await join(on_a, bob, room)
    since = await joined_on(on_b, bob, room)
    poll = asyncio.ensure_future(sync(on_b, bob, since=since, timeout="10000"))
    await asyncio.sleep(0.1)
    assert not poll.done()
    path = room_path(room, "typing", alice.user_id)
    status, _ = await on_a.put(path, {"typing": True, "timeout": 30000}, token=alice.token)
    assert status == 200
    body = await asyncio.wait_for(poll, 5)
    ephemeral = body["rooms"]["join"][room]["ephemeral"]["events"]
    assert {"type": "m.typing", "content": {"user_ids": [alice.user_id]}} in ephemeral


async def test_chain_of_syncs_on_one_process_while_both_take_sends(
    profile: str, start_server: ServerFactory, http: aiohttp.ClientSession
) -> None:
    on_a, on_b = await two_clients(profile, start_server, http)
    reader = await on_a.register()
    writers = [await on_a.register() for _ in range(4)]
    room = await create_room(on_a, reader, preset="public_chat")
    for user in writers:
        await join(on_a, user, room)
    since = await joined_on(on_b, reader, room)
    per_writer = 10

    async def writer(client: Client, user: User) -> list[str]:
        return [await send(client, user, room, f"{user.user_id} {i}") for i in range(per_writer)]

    sending = asyncio.gather(*(writer(on_a if i % 2 else on_b, u) for i, u in enumerate(writers)))
    seen: list[str] = []
    while True:
        body = await sync(on_b, reader, since=since, timeout="2000", filter=WIDE)
        section = body["rooms"]["join"].get(room)
        if section is not None:
            assert section["timeline"]["limited"] is False
            seen += messages(section)
        since = body["next_batch"]
        if sending.done() and (section is None or len(seen) >= per_writer * len(writers)):
            break
    sent = await sending
    assert len(seen) == len(set(seen)), "an event came twice"
    assert sorted(seen) == sorted(e for batch in sent for e in batch)
    for batch in sent:
        assert [e for e in seen if e in set(batch)] == batch
