"""Two writers ("processes": each its own room cache and group committer) sending
to one room at once lose nothing, duplicate nothing and never fork the DAG
(DESIGN invariant 2), on both profiles."""

from __future__ import annotations

import asyncio
import itertools

import orjson

from tessera.command import membership
from tessera.command.create_room import CreateRoom, create_room
from tessera.command.send import send_message
from tessera.kernel.signing import SigningKey
from tessera.schema.log import EventStore
from tessera.schema.records import PDU, PduRecord
from tests.unit.roomkit import ALICE, BOB, make_deps, new_room, pdus, send_text

PER_WRITER = 30
TASKS_PER_WRITER = 3


async def test_two_writers_on_one_room_make_one_chain(event_store: EventStore) -> None:
    key = SigningKey.generate()
    one, two = make_deps(event_store, key), make_deps(event_store, key)
    room_id, _ = await create_room(one, CreateRoom.from_body(ALICE, {"preset": "public_chat"}))
    await membership.join(two, BOB, room_id)  # `two` loads the room; `one` now holds a stale copy

    async def writer(deps: object, sender: str, task: int) -> list[str]:
        ids = []
        for i in range(PER_WRITER // TASKS_PER_WRITER):
            event_id, _ = await send_message(
                deps,  # type: ignore[arg-type]
                sender=sender,
                device_id=f"D{task}",
                room_id=room_id,
                event_type="m.room.message",
                txn_id=f"{sender}-{task}-{i}",
                content={"body": f"{sender} {task} {i}"},
            )
            ids.append(event_id)
        return ids

    results = await asyncio.gather(
        *(writer(one, ALICE, t) for t in range(TASKS_PER_WRITER)),
        *(writer(two, BOB, t) for t in range(TASKS_PER_WRITER)),
    )
    acknowledged = [e for ids in results for e in ids]

    records = await asyncio.to_thread(event_store.load, room_id)
    assert [r.version for r in records] == list(range(1, len(records) + 1))
    events = []
    for record in records:
        assert record.kind == PDU
        body = PduRecord.decode(record.payload)
        events.append({**orjson.loads(body.pdu_json), "event_id": body.event_id})
    messages = [e for e in events if e["type"] == "m.room.message"]
    assert len(messages) == 2 * PER_WRITER, "nothing lost, nothing duplicated"
    assert sorted(e["event_id"] for e in messages) == sorted(acknowledged)
    assert len({e["content"]["body"] for e in messages}) == 2 * PER_WRITER
    for before, after in itertools.pairwise(events):
        assert after["prev_events"] == [before["event_id"]], "the DAG never forks"
        assert after["depth"] == before["depth"] + 1


async def test_a_refusal_or_a_retry_on_a_stale_copy_is_decided_again_on_the_log(
    event_store: EventStore,
) -> None:
    """A writer's cached room is behind when another writer ("process") let a user
    in or already made a transaction's event: it must catch up with the log
    before it refuses or answers "nothing to do", not act on its stale copy."""
    key = SigningKey.generate()
    one, two = make_deps(event_store, key), make_deps(event_store, key)
    room_id = await new_room(one, preset="public_chat")
    await send_text(one, room_id, ALICE, "a1", "a1")  # `one` caches the room
    await membership.join(two, BOB, room_id)  # the join only `two` has seen
    await send_text(one, room_id, BOB, "b1", "b1")  # refused on the stale copy before
    first = await send_text(two, room_id, BOB, "b2", "b2")
    retried = await send_text(one, room_id, BOB, "b2", "b2")
    assert retried == first, "a retry through the other writer: same event"
    bodies = [e["content"].get("body") for e in pdus(event_store, room_id)]
    assert bodies.count("b2") == 1 and bodies.count("b1") == 1
