"""DESIGN invariants 3, 5 and 6 over HTTP, on both profiles.

3. Acknowledged means durable and visible: a send answers 200 once its record
   is in the log, and every read begun after that waits until the projections
   reflect it (the read barrier); other writes answer only once every read
   model has them. A stalled projection holds the reads (and, past a bound,
   the sends) back; a read that cannot catch up is refused, never stale.
5. A sync token never runs ahead of what the projections applied, even while
   the log is ahead of them.
6. An event the auth rules refuse never reaches the log, the state or the
   timeline; history visibility holds on /messages, /context, /event and /sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import orjson
import psycopg

from tessera.app.stores import split_schema
from tessera.query.tokens import StreamToken
from tests.e2e.harness import Backing, Client, Server, ServerFactory, User
from tests.e2e.test_sync_http import WIDE, create_room, join, room_path, send, sync, texts
from tests.openapi import assert_matches_spec

V3 = "/_matrix/client/v3"


async def get(client: Client, user: User, path: str, **params: str) -> Any:
    status, body = await client.get(path, token=user.token, params=params or None)
    assert status == 200, f"GET {path}: {status} {body}"
    return body


def state_ids(events: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {(e["type"], e["state_key"]): e["event_id"] for e in events}


def position(token: str) -> int:
    return StreamToken.parse(token).position


def tracked(server: Server) -> dict[str, int]:
    rows = server.services.readdb.iter_rows("SELECT name, position FROM projection_tracking")
    return {str(name): int(pos) for name, pos in rows}


@contextlib.contextmanager
def stalled_projections(backing: Backing) -> Iterator[None]:
    """Hold the read models' write lock (embedded: all of them, SQLite has one
    writer) or the ``room_events`` tracking row (scale), so projections cannot
    commit until the block ends."""
    if backing.database is None:
        conn = sqlite3.connect(backing.data_dir / "read.db", isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        return
    dsn, schema = split_schema(backing.database)
    with psycopg.connect(dsn) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("SELECT 1 FROM projection_tracking WHERE name = 'room_events' FOR UPDATE")
        yield
        conn.rollback()


async def test_every_read_reflects_a_write_as_soon_as_it_is_acknowledged(client: Client) -> None:
    alice = await client.register()
    room = await create_room(client, alice, preset="private_chat")
    since = (await sync(client, alice))["next_batch"]
    for i in range(10):
        event_id = await send(client, alice, room, f"m{i}")
        assert (await get(client, alice, room_path(room, "event", event_id)))[
            "event_id"
        ] == event_id
        page = await get(client, alice, room_path(room, "messages"), dir="b", limit="1")
        assert [e["event_id"] for e in page["chunk"]] == [event_id]
        context = await get(client, alice, room_path(room, "context", event_id), limit="0")
        assert context["event"]["event_id"] == event_id
        body = await sync(client, alice, since=since, filter=WIDE)
        assert texts(body["rooms"]["join"][room]) == [f"m{i}"]
        since = body["next_batch"]
        status, _ = await client.put(
            room_path(room, "state", "m.room.topic", ""), {"topic": f"t{i}"}, token=alice.token
        )
        assert status == 200
        topic = await get(client, alice, room_path(room, "state", "m.room.topic", ""))
        assert topic == {"topic": f"t{i}"}
        status, _ = await client.put(
            f"{V3}/user/{alice.user_id}/account_data/org.example.n", {"n": i}, token=alice.token
        )
        assert status == 200
        assert await get(
            client, alice, f"{V3}/user/{alice.user_id}/account_data/org.example.n"
        ) == {"n": i}


def enough_threads_to_stall(backing: Backing) -> None:
    if backing.database is None:
        # Every stalled worker holds a thread of the default executor (SQLite
        # writers queue on one lock), which reads need too: give the loop
        # enough threads that the stall holds back projections only.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=32))


async def head_moves_past(server: Server, head: int) -> None:
    """Wait until the log's head is past ``head`` (a write was committed)."""
    store = server.services.store
    async with asyncio.timeout(10):
        while await asyncio.to_thread(store.head) <= head:  # noqa: ASYNC110 (polls the log)
            await asyncio.sleep(0.01)


async def stallable(
    backing: Backing, start_server: ServerFactory, http: aiohttp.ClientSession, **config: Any
) -> tuple[Server, Client, User, str]:
    """A server configured with ``config`` whose projections can be stalled, a user
    and their private room."""
    enough_threads_to_stall(backing)
    server = await start_server(**config)
    client = Client(http, server.base_url)
    alice = await client.register()
    return server, client, alice, await create_room(client, alice, preset="private_chat")


async def test_a_send_answers_once_logged_and_every_later_read_waits_for_it(
    backing: Backing, server: Server, client: Client
) -> None:
    enough_threads_to_stall(backing)
    alice = await client.register()
    room = await create_room(client, alice, preset="private_chat")
    since = (await sync(client, alice))["next_batch"]
    store = server.services.store
    head_before = store.head()
    with stalled_projections(backing):
        # A long-poll begun before the send may answer while the log is ahead
        # of the projections (invariant 5 is about that answer).
        polling = asyncio.ensure_future(
            sync(client, alice, since=since, timeout="1500", filter=WIDE)
        )
        await asyncio.sleep(0.3)
        # The send answers once it is in the log, without the projections...
        event_id = await asyncio.wait_for(send(client, alice, room, "held back"), 10)
        assert store.head() > head_before
        # ...and a read begun after it waits for them (invariant 3).
        reading = asyncio.ensure_future(get(client, alice, room_path(room, "event", event_id)))
        syncing = asyncio.ensure_future(sync(client, alice, since=since, filter=WIDE))
        # A write that settles (state) does not answer while they lag.
        topic = asyncio.ensure_future(
            client.put(room_path(room, "state", "m.room.topic", ""), {"topic": "t"}, alice.token)
        )
        body = await asyncio.wait_for(polling, 10)
        assert position(body["next_batch"]) < store.head()
        assert position(body["next_batch"]) <= min(tracked(server).values())
        assert room not in body["rooms"]["join"]
        await asyncio.sleep(0.3)
        assert not reading.done(), "a read answered without an acknowledged send"
        assert not syncing.done(), "a sync answered without an acknowledged send"
        assert not topic.done(), "a state write answered before its read models had it"
    assert (await asyncio.wait_for(reading, 10))["event_id"] == event_id
    synced = await asyncio.wait_for(syncing, 10)
    assert texts(synced["rooms"]["join"][room]) == ["held back"]
    assert position(synced["next_batch"]) <= min(tracked(server).values())
    assert (await asyncio.wait_for(topic, 10))[0] == 200
    body = await sync(client, alice, since=body["next_batch"], timeout="5000", filter=WIDE)
    events = body["rooms"]["join"][room]["timeline"]["events"]
    assert [e["event_id"] for e in events if e["type"] == "m.room.message"] == [event_id]
    assert position(body["next_batch"]) <= min(tracked(server).values())


async def test_sends_wait_when_the_projections_fall_too_far_behind(
    backing: Backing, start_server: ServerFactory, http: aiohttp.ClientSession
) -> None:
    server, client, alice, room = await stallable(
        backing, start_server, http, max_unsettled_positions=1
    )
    with stalled_projections(backing):
        await asyncio.wait_for(send(client, alice, room, "one ahead"), 10)
        head = await asyncio.to_thread(server.services.store.head)
        second = asyncio.ensure_future(send(client, alice, room, "two ahead"))
        await head_moves_past(server, head)
        await asyncio.sleep(0.3)
        assert not second.done(), "a send answered further ahead of the projections than allowed"
    await asyncio.wait_for(second, 10)


async def test_a_read_that_cannot_catch_up_is_refused_not_answered_stale(
    backing: Backing, start_server: ServerFactory, http: aiohttp.ClientSession
) -> None:
    _, client, alice, room = await stallable(
        backing, start_server, http, read_barrier_timeout_ms=300
    )
    with stalled_projections(backing):
        event_id = await asyncio.wait_for(send(client, alice, room, "stuck"), 10)
        status, body = await client.get(room_path(room, "event", event_id), token=alice.token)
        assert (status, body["errcode"]) == (503, "M_UNKNOWN")
        # What reads no read model is not held back (the exempt routes).
        assert (await client.get("/_matrix/client/versions"))[0] == 200
    assert (await get(client, alice, room_path(room, "event", event_id)))["event_id"] == event_id


async def test_a_send_held_back_too_long_is_refused_and_its_retry_answers_the_event(
    backing: Backing, start_server: ServerFactory, http: aiohttp.ClientSession
) -> None:
    """With every send settling (bound 0) and a short barrier, a send made while
    the projections are stalled is committed but answers 503; the client's retry
    with the same transaction ID answers the one event, and nothing is doubled."""
    server, client, alice, room = await stallable(
        backing, start_server, http, read_barrier_timeout_ms=300, max_unsettled_positions=0
    )
    path = room_path(room, "send", "m.room.message", "txn-held")
    content = {"msgtype": "m.text", "body": "held"}
    head = await asyncio.to_thread(server.services.store.head)
    with stalled_projections(backing):
        status, body = await client.put(path, content, token=alice.token)
        assert (status, body["errcode"]) == (503, "M_UNKNOWN")
    assert await asyncio.to_thread(server.services.store.head) == head + 1, "committed once"
    status, body = await client.put(path, content, token=alice.token)
    assert status == 200
    page = await get(client, alice, room_path(room, "messages"), dir="b", limit="5")
    held = [e for e in page["chunk"] if e["type"] == "m.room.message"]
    assert [e["event_id"] for e in held] == [body["event_id"]]


async def test_refused_events_never_reach_the_log_state_or_timeline(
    server: Server, client: Client
) -> None:
    alice, bob, carol = [await client.register() for _ in range(3)]
    room = await create_room(client, alice, preset="public_chat", name="Tea")
    for user in (bob, carol):
        await join(client, user, room)
    state_before = state_ids(await get(client, alice, room_path(room, "state")))
    head_before = server.services.store.head()
    power = await get(client, alice, room_path(room, "state", "m.room.power_levels", ""))
    refused: list[tuple[str, str, dict[str, Any]]] = [
        # raising one's own power
        ("PUT", room_path(room, "state", "m.room.power_levels", ""),
         {**power, "users": {**power["users"], bob.user_id: 100}}),
        # renaming without the power to
        ("PUT", room_path(room, "state", "m.room.name", ""), {"name": "Bob's now"}),
        # changing another user's membership, directly or through the endpoints
        ("PUT", room_path(room, "state", "m.room.member", carol.user_id), {"membership": "leave"}),
        ("PUT", room_path(room, "state", "m.room.member", carol.user_id),
         {"membership": "join", "displayname": "puppet"}),
        ("POST", room_path(room, "kick"), {"user_id": carol.user_id}),
        ("POST", room_path(room, "ban"), {"user_id": alice.user_id}),
    ]  # fmt: skip
    for method, path, body in refused:
        status, answer = await client.request(method, path, body, bob.token)
        assert (status, answer["errcode"]) == (403, "M_FORBIDDEN"), (method, path, answer)
        assert_matches_spec(method, path, status, answer)
    assert server.services.store.head() == head_before, "a refused event reached the log"
    assert state_ids(await get(client, alice, room_path(room, "state"))) == state_before
    page = await get(client, alice, room_path(room, "messages"), dir="b", limit="50")
    assert not any(e["sender"] == bob.user_id and e["type"] != "m.room.member"
                   for e in page["chunk"])  # fmt: skip
    members = await get(client, alice, room_path(room, "joined_members"))
    assert set(members["joined"]) == {alice.user_id, bob.user_id, carol.user_id}
    assert members["joined"][carol.user_id].get("display_name") != "puppet"


async def test_history_visibility_on_every_read_path(client: Client) -> None:
    """Bob joins a ``joined``-visibility room late and leaves early: every read
    path shows him only what happened while he was in; Carol, who never joined,
    sees nothing."""
    alice, bob, carol = [await client.register() for _ in range(3)]
    room = await create_room(
        client, alice, preset="public_chat",
        initial_state=[{"type": "m.room.history_visibility", "state_key": "",
                        "content": {"history_visibility": "joined"}}],
    )  # fmt: skip
    before = await send(client, alice, room, "before")
    await join(client, bob, room)
    during = await send(client, alice, room, "during")
    status, _ = await client.post(room_path(room, "leave"), {}, token=bob.token)
    assert status == 200
    after = await send(client, alice, room, "after")

    page = await get(client, bob, room_path(room, "messages"), dir="b", limit="50")
    assert texts({"timeline": {"events": page["chunk"]}}) == ["during"]
    page = await get(client, bob, room_path(room, "messages"), dir="f", limit="50")
    assert texts({"timeline": {"events": page["chunk"]}}) == ["during"]
    context = await get(client, bob, room_path(room, "context", during), limit="10")
    around = context["events_before"] + context["events_after"]
    assert {before, after}.isdisjoint(e["event_id"] for e in around)
    for hidden in (before, after):
        for path in (room_path(room, "event", hidden), room_path(room, "context", hidden)):
            status, body = await client.get(path, token=bob.token)
            assert status in (403, 404) and body["errcode"] in ("M_FORBIDDEN", "M_NOT_FOUND"), path
    assert (await get(client, bob, room_path(room, "event", during)))["event_id"] == during

    include_leave = orjson.dumps(
        {"room": {"include_leave": True, "timeline": {"limit": 50}}}
    ).decode()
    body = await sync(client, bob, filter=include_leave)
    assert room not in body["rooms"]["join"]
    left = body["rooms"]["leave"][room]
    seen = {e["event_id"] for e in left["timeline"]["events"]}
    assert during in seen and not {before, after} & seen

    for path in (room_path(room, "messages"), room_path(room, "context", during)):
        status, body = await client.get(path, token=carol.token, params={"dir": "b"})
        assert (status, body["errcode"]) == (403, "M_FORBIDDEN"), path
    status, body = await client.get(room_path(room, "event", during), token=carol.token)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    assert room not in (await sync(client, carol, filter=include_leave))["rooms"]["leave"]
