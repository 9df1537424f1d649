"""createRoom: the events, their order and content, per preset and room version."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tessera.command.aliases import resolve_alias
from tessera.command.create_room import CreateRoom, create_room
from tessera.command.room_deps import Profile, RoomDeps, RoomError
from tessera.kernel.hashing import room_id_from_create_event_id
from tessera.schema.directory import VISIBILITY_SET, VisibilitySet, directory_stream
from tessera.schema.log import EventStore
from tests.unit.roomkit import (
    ALICE,
    BOB,
    CAROL,
    LogLookups,
    deps,
    log_records,
    new_room,
    pdus,
    store,
)

__all__ = ["deps", "store"]


def by_key(events: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["type"], e["state_key"]): e for e in events if "state_key" in e}


async def test_default_room_is_v12_named_by_its_create_event(
    deps: RoomDeps, store: EventStore
) -> None:
    batches = deps.rooms._committer.batches
    room_id = await new_room(deps)
    events = pdus(store, room_id)
    assert deps.rooms._committer.batches == batches + 1, "one append for the whole room"
    create = events[0]
    assert create["type"] == "m.room.create" and "room_id" not in create
    assert room_id == room_id_from_create_event_id(create["event_id"])
    assert create["content"]["room_version"] == "12"
    assert [(e["type"], e["state_key"]) for e in events] == [
        ("m.room.create", ""),
        ("m.room.member", ALICE),
        ("m.room.power_levels", ""),
        ("m.room.join_rules", ""),
        ("m.room.history_visibility", ""),
        ("m.room.guest_access", ""),
    ]
    state = by_key(events)
    power = state[("m.room.power_levels", "")]["content"]
    assert ALICE not in power["users"], "v12 creators are never listed"
    assert power["events"]["m.room.tombstone"] > power["state_default"]
    assert state[("m.room.join_rules", "")]["content"] == {"join_rule": "invite"}
    assert state[("m.room.guest_access", "")]["content"] == {"guest_access": "can_join"}
    # a single chain: every event's prev_events is the one before it
    for before, after in itertools.pairwise(events):
        assert after["prev_events"] == [before["event_id"]]


async def test_v10_room_has_a_server_room_id_and_a_listed_creator(
    deps: RoomDeps, store: EventStore
) -> None:
    room_id = await new_room(deps, room_version="10")
    assert room_id.startswith("!") and room_id.endswith(":hs.test")
    state = by_key(pdus(store, room_id))
    assert state[("m.room.create", "")]["content"]["creator"] == ALICE
    assert state[("m.room.power_levels", "")]["content"]["users"] == {ALICE: 100}


async def test_public_chat_with_name_topic_alias_and_directory(
    deps: RoomDeps, store: EventStore
) -> None:
    room_id = await new_room(
        deps,
        preset="public_chat",
        visibility="public",
        name="Pub",
        topic="Happy hour",
        room_alias_name="pub",
    )
    events = pdus(store, room_id)
    state = by_key(events)
    assert state[("m.room.join_rules", "")]["content"] == {"join_rule": "public"}
    assert state[("m.room.guest_access", "")]["content"] == {"guest_access": "forbidden"}
    assert state[("m.room.history_visibility", "")]["content"] == {"history_visibility": "shared"}
    assert state[("m.room.name", "")]["content"] == {"name": "Pub"}
    assert state[("m.room.topic", "")]["content"]["topic"] == "Happy hour"
    assert state[("m.room.canonical_alias", "")]["content"] == {"alias": "#pub:hs.test"}
    order = [e["type"] for e in events]
    assert order.index("m.room.canonical_alias") < order.index("m.room.join_rules")
    assert order.index("m.room.join_rules") < order.index("m.room.name")
    assert await resolve_alias(deps, "#pub:hs.test") == room_id
    visibility = [r for r in log_records(store) if r.stream == directory_stream(room_id)]
    assert [r.kind for r in visibility] == [VISIBILITY_SET]
    assert VisibilitySet.decode(visibility[0].payload).visibility == "public"


async def test_visibility_public_alone_implies_the_public_preset(
    deps: RoomDeps, store: EventStore
) -> None:
    room_id = await new_room(deps, visibility="public")
    state = by_key(pdus(store, room_id))
    assert state[("m.room.join_rules", "")]["content"] == {"join_rule": "public"}


async def test_initial_state_beats_the_preset_and_name_beats_initial_state(
    deps: RoomDeps, store: EventStore
) -> None:
    room_id = await new_room(
        deps,
        name="Real name",
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}},
            {"type": "m.room.name", "state_key": "", "content": {"name": "Ignored"}},
            {"type": "m.room.encryption", "content": {"algorithm": "m.megolm.v1.aes-sha2"}},
        ],
    )
    events = pdus(store, room_id)
    types = [e["type"] for e in events]
    assert types.count("m.room.history_visibility") == 1
    assert types.count("m.room.name") == 1
    state = by_key(events)
    assert state[("m.room.history_visibility", "")]["content"] == {"history_visibility": "joined"}
    assert state[("m.room.name", "")]["content"] == {"name": "Real name"}
    assert ("m.room.encryption", "") in state


async def test_invites_carry_is_direct_and_the_profile(deps: RoomDeps, store: EventStore) -> None:
    assert isinstance(deps.lookups, LogLookups)
    deps.lookups.profiles[ALICE] = Profile("Alice", "mxc://hs.test/a")
    deps.lookups.profiles[BOB] = Profile("Bob", None)
    room_id = await new_room(deps, invite=[BOB, CAROL], is_direct=True)
    events = pdus(store, room_id)
    state = by_key(events)
    assert state[("m.room.member", ALICE)]["content"] == {
        "membership": "join",
        "displayname": "Alice",
        "avatar_url": "mxc://hs.test/a",
    }
    assert state[("m.room.member", BOB)]["content"] == {
        "membership": "invite",
        "displayname": "Bob",
        "is_direct": True,
    }
    assert state[("m.room.member", CAROL)]["content"]["is_direct"] is True
    assert events[-1]["type"] == "m.room.member", "invites come last"


@pytest.mark.parametrize("version", ["10", "12"])
async def test_trusted_private_chat_gives_invitees_the_creators_power(
    deps: RoomDeps, store: EventStore, version: str
) -> None:
    room_id = await new_room(
        deps, preset="trusted_private_chat", invite=[BOB], room_version=version
    )
    state = by_key(pdus(store, room_id))
    if version == "12":
        assert state[("m.room.create", "")]["content"]["additional_creators"] == [BOB]
        assert BOB not in state[("m.room.power_levels", "")]["content"]["users"]
    else:
        assert state[("m.room.power_levels", "")]["content"]["users"][BOB] == 100


async def test_power_level_override_and_creation_content(deps: RoomDeps, store: EventStore) -> None:
    room_id = await new_room(
        deps,
        power_level_content_override={"events_default": 10, "users": {BOB: 50}},
        creation_content={"type": "m.space", "m.federate": False, "creator": "@mallory:x"},
    )
    state = by_key(pdus(store, room_id))
    create = state[("m.room.create", "")]["content"]
    assert create == {"type": "m.space", "m.federate": False, "room_version": "12"}
    power = state[("m.room.power_levels", "")]["content"]
    assert power["events_default"] == 10 and power["users"] == {BOB: 50}


async def test_unknown_room_version_is_refused(deps: RoomDeps, store: EventStore) -> None:
    with pytest.raises(RoomError) as e:
        await new_room(deps, room_version="99")
    assert (e.value.status, e.value.errcode) == (400, "M_UNSUPPORTED_ROOM_VERSION")
    assert log_records(store) == []


async def test_state_the_rules_refuse_is_invalid_room_state(
    deps: RoomDeps, store: EventStore
) -> None:
    # v12 forbids listing a creator in the power levels' users
    with pytest.raises(RoomError) as e:
        await new_room(deps, power_level_content_override={"users": {ALICE: 100}})
    assert (e.value.status, e.value.errcode) == (400, "M_INVALID_ROOM_STATE")
    assert log_records(store) == [], "nothing of a refused room is committed"


async def test_a_taken_alias_refuses_the_whole_room(deps: RoomDeps, store: EventStore) -> None:
    await new_room(deps, room_alias_name="taken")
    before = len(log_records(store))
    with pytest.raises(RoomError) as e:
        await new_room(deps, BOB, room_alias_name="taken")
    assert (e.value.status, e.value.errcode) == (400, "M_ROOM_IN_USE")
    assert len(log_records(store)) == before


@pytest.mark.parametrize(
    "body",
    [
        {"visibility": "everyone"},
        {"preset": "secret"},
        {"name": 5},
        {"initial_state": [{"type": "m.room.topic"}]},
        {"initial_state": [{"type": "m.room.create", "content": {}}]},
        {"power_level_content_override": []},
    ],
)
async def test_ill_typed_requests_are_bad_json(deps: RoomDeps, body: dict[str, Any]) -> None:
    with pytest.raises(RoomError) as e:
        await create_room(deps, CreateRoom.from_body(ALICE, body))
    assert e.value.errcode == "M_BAD_JSON"
