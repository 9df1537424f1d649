"""The sync query over real read models, on both profiles (SQLite, PostgreSQL).

Rooms are scripted with the command side's ``Room`` (signed, auth-checked PDUs)
into a log; the real projections fold it into the read database; sync reads it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tessera.app.applied import AppliedPositions
from tessera.projections import (
    account_data,
    device_keys,
    one_time_keys,
    receipts,
    room_events,
    room_state,
    to_device,
)
from tessera.projections.push_actions import PushActionsProjection
from tessera.projections.runner import ProjectionRunner
from tessera.query.sync import SyncFilter, SyncRequest, SyncService, SyncStore
from tessera.query.tokens import StreamToken
from tessera.query.typing import TypingTracker, TypingUpdate
from tessera.schema.log import NewRecord
from tessera.schema.readmodel import ReadModelDatabase
from tessera.schema.userdata import (
    ACCOUNT_DATA_SET,
    RECEIPT_SENT,
    AccountDataSet,
    ReceiptSent,
    receipts_stream,
    userdata_stream,
)
from tests.room_script import ALICE, BOB, CAROL, MemoryLog, RoomScript

# push_actions: sync reads its unread counts; device_keys, one_time_keys, to_device: its e2ee parts.
PROJECTIONS = (
    room_events,
    room_state,
    receipts,
    account_data,
    PushActionsProjection(),
    device_keys,
    one_time_keys,
    to_device,
)


class World:
    """A log, the read models folded from it, and a sync service over them."""

    def __init__(self, db: ReadModelDatabase) -> None:
        self.log = MemoryLog()
        self.runners = [ProjectionRunner(db, p) for p in PROJECTIONS]  # type: ignore[arg-type]
        for runner in self.runners:
            runner.setup()
        self.applied = AppliedPositions([r.name for r in self.runners])
        self.typing = TypingTracker()
        self.sync_service = SyncService(
            SyncStore(db), self.applied, self.typing, clock=lambda: 2_000_000_000_000
        )
        self._versions: dict[str, int] = {}

    def project(self) -> None:
        for runner in self.runners:
            self.applied.update(runner.name, runner.process(self.log.records))

    def user_record(self, stream: str, kind: str, payload: bytes) -> None:
        version = self._versions[stream] = self._versions.get(stream, 0) + 1
        self.log.append(NewRecord(stream, version, kind, payload))

    def receipt(
        self, user: str, room: str, event_id: str, rtype: str = "m.read", thread: str | None = None
    ) -> None:
        self.user_record(
            receipts_stream(user),
            RECEIPT_SENT,
            ReceiptSent(room, event_id, rtype, thread, 123).encode(),
        )

    def account_data(
        self, user: str, room: str | None, data_type: str, content: dict[str, Any]
    ) -> None:
        self.user_record(
            userdata_stream(user),
            ACCOUNT_DATA_SET,
            AccountDataSet(room, data_type, content).encode(),
        )

    async def sync(self, user: str, since: str | None = None, **options: Any) -> dict[str, Any]:
        self.project()
        request = SyncRequest(
            user_id=user,
            device_id=options.pop("device_id", "DEV"),
            since=None if since is None else StreamToken.parse(since),
            filter=SyncFilter.parse(options.pop("filter", {})),
            **options,
        )
        return await self.sync_service.sync(request)


@pytest.fixture
def world(read_db: ReadModelDatabase) -> World:
    return World(read_db)


def bodies(section: dict[str, Any]) -> list[str]:
    return [
        e["content"].get("body")
        for e in section["timeline"]["events"]
        if e["type"] == "m.room.message"
    ]


def state_keys(events: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(e["type"], e["state_key"]) for e in events if "state_key" in e}


async def test_initial_sync_has_the_room_its_state_and_timeline(world: World) -> None:
    room = RoomScript(world.log)
    room.join(BOB)
    room.state(ALICE, "m.room.name", "", {"name": "Tea"})
    for i in range(3):
        room.send(
            BOB,
            f"m{i}",
        )
    body = await world.sync(BOB)
    section = body["rooms"]["join"][room.room_id]
    assert bodies(section) == ["m0", "m1", "m2"]
    keys = state_keys(section["state"]["events"] + section["timeline"]["events"])
    assert {("m.room.create", ""), ("m.room.name", ""), ("m.room.member", BOB)} <= keys
    assert section["summary"]["m.joined_member_count"] == 2
    assert section["summary"]["m.heroes"] == [ALICE]
    assert body["next_batch"] == f"s{len(world.log.records)}"
    push_rules = [e for e in body["account_data"]["events"] if e["type"] == "m.push_rules"]
    assert (
        push_rules
        and push_rules[0]["content"]["global"]["override"][0]["rule_id"] == ".m.rule.master"
    )


async def test_limited_timeline_state_is_at_its_start(world: World) -> None:
    room = RoomScript(world.log)
    room.join(BOB)
    room.state(ALICE, "m.room.topic", "", {"topic": "old"})
    for i in range(5):
        room.send(BOB, f"m{i}")
    room.state(ALICE, "m.room.topic", "", {"topic": "new"})
    room.send(BOB, "last")
    body = await world.sync(BOB, filter={"room": {"timeline": {"limit": 2}}})
    section = body["rooms"]["join"][room.room_id]
    assert section["timeline"]["limited"] is True
    timeline = section["timeline"]["events"]
    assert [e["type"] for e in timeline] == ["m.room.topic", "m.room.message"]
    topic = [e for e in section["state"]["events"] if e["type"] == "m.room.topic"]
    assert topic[0]["content"] == {"topic": "old"}  # the state *before* the timeline
    first = room.positions[timeline[0]["event_id"]]
    assert section["timeline"]["prev_batch"] == f"s{first - 1}"


async def test_state_after_is_the_state_at_the_end(world: World) -> None:
    room = RoomScript(world.log)
    room.join(BOB)
    room.state(ALICE, "m.room.topic", "", {"topic": "old"})
    first = await world.sync(BOB, use_state_after=True)
    assert "state" not in first["rooms"]["join"][room.room_id]
    room.state(ALICE, "m.room.topic", "", {"topic": "new"})
    body = await world.sync(BOB, first["next_batch"], use_state_after=True)
    section = body["rooms"]["join"][room.room_id]
    assert [e["content"] for e in section["state_after"]["events"]] == [{"topic": "new"}]
    assert "state" not in section


async def test_incremental_sync_returns_only_what_is_new(world: World) -> None:
    room = RoomScript(world.log)
    quiet = RoomScript(world.log)
    room.join(BOB)
    quiet.join(BOB)
    room.send(ALICE, "before")
    first = await world.sync(BOB)
    room.send(ALICE, "after")
    body = await world.sync(BOB, first["next_batch"])
    assert list(body["rooms"]["join"]) == [room.room_id]
    section = body["rooms"]["join"][room.room_id]
    assert bodies(section) == ["after"]
    assert section["timeline"]["limited"] is False
    assert section["state"]["events"] == []
    again = await world.sync(BOB, body["next_batch"])
    assert again["rooms"]["join"] == {}
    assert again["next_batch"] == body["next_batch"]


async def test_a_room_joined_since_comes_with_its_whole_state(world: World) -> None:
    room = RoomScript(world.log)
    room.state(ALICE, "m.room.name", "", {"name": "Tea"})
    room.send(ALICE, "old news")
    lonely = RoomScript(world.log, creator=BOB)
    first = await world.sync(BOB)
    assert room.room_id not in first["rooms"]["join"]
    room.join(BOB)
    body = await world.sync(BOB, first["next_batch"])
    section = body["rooms"]["join"][room.room_id]
    keys = state_keys(section["state"]["events"] + section["timeline"]["events"])
    assert ("m.room.name", "") in keys and ("m.room.create", "") in keys
    assert lonely.room_id not in body["rooms"]["join"]


async def test_invite_leave_and_include_leave(world: World) -> None:
    room = RoomScript(world.log)
    room.state(ALICE, "m.room.name", "", {"name": "Tea"})
    first = await world.sync(BOB)
    room.invite(ALICE, BOB)
    body = await world.sync(BOB, first["next_batch"])
    invite = body["rooms"]["invite"][room.room_id]["invite_state"]["events"]
    assert ("m.room.name", "") in state_keys(invite)
    assert any(
        e["type"] == "m.room.member" and e["content"]["membership"] == "invite" for e in invite
    )
    room.join(BOB)
    room.send(BOB, "hi")
    room.leave(BOB)
    room.send(ALICE, "after bob left")
    left = await world.sync(BOB, body["next_batch"])
    assert room.room_id in left["rooms"]["leave"]
    assert "after bob left" not in bodies(left["rooms"]["leave"][room.room_id])
    assert room.room_id not in left["rooms"]["join"]
    initial = await world.sync(BOB)
    assert initial["rooms"]["leave"] == {}
    with_leave = await world.sync(BOB, filter={"room": {"include_leave": True}})
    assert bodies(with_leave["rooms"]["leave"][room.room_id])[-1] == "hi"


async def test_lazy_loaded_members_are_only_the_senders(world: World) -> None:
    room = RoomScript(world.log)
    for user in (BOB, CAROL):
        room.join(user)
    room.send(ALICE, "one")
    room.send(ALICE, "two")
    body = await world.sync(
        BOB, filter={"room": {"timeline": {"limit": 2}, "state": {"lazy_load_members": True}}}
    )
    section = body["rooms"]["join"][room.room_id]
    members = {e["state_key"] for e in section["state"]["events"] if e["type"] == "m.room.member"}
    assert members == {ALICE, BOB}
    assert section["summary"]["m.joined_member_count"] == 3


async def test_receipts_public_to_members_private_to_their_owner(world: World) -> None:
    room = RoomScript(world.log)
    room.join(BOB)
    event = room.send(ALICE, "read me")
    first_alice = await world.sync(ALICE)
    first_bob = await world.sync(BOB)
    world.receipt(BOB, room.room_id, event, "m.read", "main")
    world.receipt(CAROL, room.room_id, event, "m.read.private")
    world.receipt(ALICE, room.room_id, event, "m.read.private")
    seen_by_alice = await world.sync(ALICE, first_alice["next_batch"])
    (receipt,) = seen_by_alice["rooms"]["join"][room.room_id]["ephemeral"]["events"]
    assert receipt["type"] == "m.receipt"
    assert receipt["content"][event] == {
        "m.read": {BOB: {"ts": 123, "thread_id": "main"}},
        "m.read.private": {ALICE: {"ts": 123}},
    }
    seen_by_bob = await world.sync(BOB, first_bob["next_batch"])
    (receipt,) = seen_by_bob["rooms"]["join"][room.room_id]["ephemeral"]["events"]
    assert receipt["content"][event] == {"m.read": {BOB: {"ts": 123, "thread_id": "main"}}}


async def test_account_data_global_and_per_room(world: World) -> None:
    room = RoomScript(world.log)
    first = await world.sync(ALICE)
    world.account_data(ALICE, None, "m.direct", {BOB: [room.room_id]})
    world.account_data(ALICE, room.room_id, "m.tag", {"tags": {"u.work": {}}})
    world.account_data(BOB, None, "m.direct", {"not": "alice's"})
    body = await world.sync(ALICE, first["next_batch"])
    assert body["account_data"]["events"] == [
        {"type": "m.direct", "content": {BOB: [room.room_id]}}
    ]
    section = body["rooms"]["join"][room.room_id]
    assert section["account_data"]["events"] == [
        {"type": "m.tag", "content": {"tags": {"u.work": {}}}}
    ]
    assert section["timeline"]["events"] == []


async def test_typing_arrives_and_wakes_a_long_poll(world: World) -> None:
    import asyncio

    room = RoomScript(world.log)
    room.join(BOB)
    first = await world.sync(BOB)
    waiting = asyncio.ensure_future(world.sync(BOB, first["next_batch"], timeout_ms=5000))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    world.typing.apply(TypingUpdate(room.room_id, ALICE, True, 30_000))
    body = await asyncio.wait_for(waiting, 1.0)
    (typing,) = body["rooms"]["join"][room.room_id]["ephemeral"]["events"]
    assert typing == {"type": "m.typing", "content": {"user_ids": [ALICE]}}
    after = await world.sync(BOB, body["next_batch"])
    assert after["rooms"]["join"] == {}


async def test_long_poll_wakes_when_projections_apply(world: World) -> None:
    import asyncio

    room = RoomScript(world.log)
    room.join(BOB)
    first = await world.sync(BOB)
    token = StreamToken.parse(first["next_batch"])
    request = SyncRequest(BOB, "DEV", token, timeout_ms=5000)
    waiting = asyncio.ensure_future(world.sync_service.sync(request))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    room.send(ALICE, "wake up")
    loop = asyncio.get_running_loop()
    started = loop.time()
    world.project()
    body = await asyncio.wait_for(waiting, 1.0)
    assert loop.time() - started < 0.5
    assert bodies(body["rooms"]["join"][room.room_id]) == ["wake up"]


async def test_transaction_id_only_to_the_sending_device(world: World) -> None:
    room = RoomScript(world.log)
    event = room.event(
        ALICE, "m.room.message", {"msgtype": "m.text", "body": "x"}, device_id="PHONE", txn_id="t1"
    )
    mine = await world.sync(ALICE, device_id="PHONE")
    other = await world.sync(ALICE, device_id="LAPTOP")

    def unsigned(body: dict[str, Any]) -> dict[str, Any]:
        events = body["rooms"]["join"][room.room_id]["timeline"]["events"]
        return next(e for e in events if e["event_id"] == event)["unsigned"]

    assert unsigned(mine)["transaction_id"] == "t1"
    assert "transaction_id" not in unsigned(other)


async def test_history_before_joining_is_hidden_when_visibility_is_joined(world: World) -> None:
    room = RoomScript(world.log, history_visibility="joined")
    room.send(ALICE, "secret")
    room.join(BOB)
    room.send(ALICE, "welcome")
    body = await world.sync(BOB)
    assert bodies(body["rooms"]["join"][room.room_id]) == ["welcome"]


async def test_forgotten_rooms_stay_hidden_until_membership_changes(world: World) -> None:
    from tessera.schema.directory import ROOM_FORGOTTEN, RoomForgotten, user_rooms_stream

    room = RoomScript(world.log)
    room.join(BOB)
    room.send(BOB, "bye")
    room.leave(BOB)
    include_leave = {"room": {"include_leave": True}}
    assert room.room_id in (await world.sync(BOB, filter=include_leave))["rooms"]["leave"]
    world.user_record(user_rooms_stream(BOB), ROOM_FORGOTTEN, RoomForgotten(room.room_id).encode())
    assert room.room_id not in (await world.sync(BOB, filter=include_leave))["rooms"]["leave"]
    room.join(BOB)
    assert room.room_id in (await world.sync(BOB))["rooms"]["join"]


async def test_lazy_loading_sends_new_senders_members_incrementally(world: World) -> None:
    room = RoomScript(world.log)
    for user in (BOB, CAROL):
        room.join(user)
    lazy = {"room": {"state": {"lazy_load_members": True}}}
    first = await world.sync(BOB, filter=lazy)
    room.send(CAROL, "first words")
    body = await world.sync(BOB, first["next_batch"], filter=lazy)
    section = body["rooms"]["join"][room.room_id]
    members = [e for e in section["state"]["events"] if e["type"] == "m.room.member"]
    assert [m["state_key"] for m in members] == [CAROL]
    plain = await world.sync(BOB, first["next_batch"])
    assert plain["rooms"]["join"][room.room_id]["state"]["events"] == []
