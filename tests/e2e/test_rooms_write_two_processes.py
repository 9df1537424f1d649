"""Two API processes (scale profile: one PostgreSQL log, one NATS) sending to one
room at once: every acknowledged event is in the room exactly once, on one chain,
and each process reads the other's writes as soon as they are acknowledged."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp
import orjson
import pytest

from tessera.schema.records import PduRecord
from tests.e2e.harness import Backing, Client, Server, ServerFactory, User
from tests.e2e.test_invariants import stalled_projections
from tests.e2e.test_rooms_write import V3, call, create, q, send

PER_CLIENT = 15


async def test_two_processes_send_to_one_room(
    profile: str, start_server: ServerFactory, http: aiohttp.ClientSession
) -> None:
    if profile != "scale":
        pytest.skip("two processes share a log only in the scale profile")
    one, two = await start_server(), await start_server()
    first, second = Client(http, one.base_url), Client(http, two.base_url)
    alice = await first.register()
    bob = await second.register()
    room_id = await create(first, alice, preset="public_chat")
    await call(second, "POST", f"/join/{q(room_id)}", {}, user=bob)

    async def sender(client: Client, user: User, tag: str) -> list[str]:
        return [
            await send(client, user, room_id, f"{tag} {i}", f"{tag}{i}") for i in range(PER_CLIENT)
        ]

    sent = await asyncio.gather(
        sender(first, alice, "a1"),
        sender(first, alice, "a2"),
        sender(second, bob, "b1"),
        sender(second, bob, "b2"),
    )
    acknowledged = {e for ids in sent for e in ids}
    assert len(acknowledged) == 4 * PER_CLIENT
    for event_id in list(acknowledged)[:5]:  # each process reads the other's writes
        for client, user in ((first, alice), (second, bob)):
            await call(client, "GET", f"/rooms/{q(room_id)}/event/{q(event_id)}", user=user)

    records = await asyncio.to_thread(one.services.store.load, room_id)
    events = [
        {**orjson.loads(b.pdu_json), "event_id": b.event_id}
        for b in (PduRecord.decode(r.payload) for r in records)
    ]
    messages = [e["event_id"] for e in events if e["type"] == "m.room.message"]
    assert sorted(messages) == sorted(acknowledged), "nothing lost, nothing duplicated"
    for before, after in itertools.pairwise(events):
        assert after["prev_events"] == [before["event_id"]], "one chain: the DAG never forks"


async def test_a_send_acknowledged_by_one_process_is_read_on_the_other(
    profile: str, backing: Backing, start_server: ServerFactory, http: aiohttp.ClientSession
) -> None:
    """Read-your-writes across API processes: a read on B begun after A
    acknowledged a send waits for the projections to apply it, though B never
    saw the send (the read barrier reads the shared log's head)."""
    if profile != "scale":
        pytest.skip("two processes share a log only in the scale profile")
    one, two = await start_server(), await start_server(roles=["api", "sync"])
    first, second = Client(http, one.base_url), Client(http, two.base_url)
    alice = await first.register()
    room_id = await create(first, alice, preset="public_chat")
    event_path = f"/rooms/{q(room_id)}/event/"
    with stalled_projections(backing):
        event_id = await asyncio.wait_for(send(first, alice, room_id, "logged", "t1"), 10)
        reading = asyncio.ensure_future(call(second, "GET", event_path + q(event_id), user=alice))
        await asyncio.sleep(0.3)
        assert not reading.done(), "the other process answered without the acknowledged send"
    assert (await asyncio.wait_for(reading, 10))["event_id"] == event_id


async def second_without_token_follower(
    profile: str, start_server: ServerFactory, http: aiohttp.ClientSession
) -> tuple[Server, Server, Client, Client]:
    """Server A with every role, server B with the HTTP roles and its token map's
    own follower stopped: only the read barrier's catch-up can make B current."""
    if profile != "scale":
        pytest.skip("two processes share a log only in the scale profile")
    one, two = await start_server(), await start_server(roles=["api", "sync"])
    await two.services.tokens.close()
    return one, two, Client(http, one.base_url), Client(http, two.base_url)


async def test_a_login_or_logout_on_one_process_holds_on_the_other_at_once(
    profile: str, start_server: ServerFactory, http: aiohttp.ClientSession
) -> None:
    """Element logs in on the API process and syncs on the sync process at once:
    the new token must be known there, and a logged-out one refused, without
    waiting for the token map's own follower (stopped here, so only the read
    barrier's catch-up can make the second process current)."""
    _, _, first, second = await second_without_token_follower(profile, start_server, http)
    alice = await first.register()
    status, body = await second.get(V3 + "/account/whoami", token=alice.token)
    assert (status, body.get("user_id")) == (200, alice.user_id), body
    status, _ = await first.post(V3 + "/logout", {}, token=alice.token)
    assert status == 200
    status, body = await second.get(V3 + "/account/whoami", token=alice.token)
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")


async def test_a_send_on_one_process_authenticates_a_token_made_or_revoked_on_the_other(
    profile: str, start_server: ServerFactory, http: aiohttp.ClientSession
) -> None:
    """A send skips the read barrier, but not the token map: a token issued on A
    a moment ago is known by B's send (unknown tokens go through the barrier
    before being refused), and once B has heard that the accounts read model
    moved, a token logged out on A is refused. B's follower is stopped."""
    one, two, first, second = await second_without_token_follower(profile, start_server, http)
    alice = await first.register()
    room_id = await create(first, alice, preset="private_chat")
    alice2 = await first.login(alice.user_id)
    await send(second, alice2, room_id, "from a new login", "n1")
    status, _ = await first.post(V3 + "/logout", {}, token=alice2.token)
    assert status == 200
    logged_out = await asyncio.to_thread(one.services.store.head)
    async with asyncio.timeout(10):  # B hears that the accounts read model moved
        while two.services.applied.changed("accounts") < logged_out:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    path = f"{V3}/rooms/{q(room_id)}/send/m.room.message/n2"
    status, body = await second.put(path, {"msgtype": "m.text", "body": "x"}, token=alice2.token)
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
