"""Membership commands: each change through the auth rules, refusals as Matrix errors."""

from __future__ import annotations

import pytest

from tessera.command import membership
from tessera.command.aliases import create_alias
from tessera.command.room_deps import Profile, RoomDeps, RoomError
from tessera.command.state import set_state
from tessera.schema.directory import ROOM_FORGOTTEN, RoomForgotten, user_rooms_stream
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


async def refused(coro: object, status: int = 403, errcode: str = "M_FORBIDDEN") -> RoomError:
    with pytest.raises(RoomError) as e:
        await coro  # type: ignore[misc]
    assert (e.value.status, e.value.errcode) == (status, errcode), e.value.error
    return e.value


def membership_of(store: EventStore, room_id: str, user: str) -> str | None:
    found = None
    for pdu in pdus(store, room_id):
        if pdu["type"] == "m.room.member" and pdu["state_key"] == user:
            found = pdu["content"]["membership"]
    return found


async def test_invite_join_leave_forget(deps: RoomDeps, store: EventStore) -> None:
    room_id = await new_room(deps)
    await refused(membership.join(deps, BOB, room_id))  # invite-only
    await membership.invite(deps, ALICE, room_id, BOB, reason="come")
    assert membership_of(store, room_id, BOB) == "invite"
    joined, _ = await membership.join(deps, BOB, room_id)
    assert joined == room_id and membership_of(store, room_id, BOB) == "join"
    count = len(pdus(store, room_id))
    await membership.join(deps, BOB, room_id)
    assert len(pdus(store, room_id)) == count, "joining again changes nothing"
    await refused(membership.forget(deps, BOB, room_id), 400, "M_UNKNOWN")
    await membership.leave(deps, BOB, room_id)
    assert membership_of(store, room_id, BOB) == "leave"
    await membership.leave(deps, BOB, room_id)
    assert len(pdus(store, room_id)) == count + 1, "leaving again changes nothing"
    await membership.forget(deps, BOB, room_id)
    forgotten = [r for r in log_records(store) if r.stream == user_rooms_stream(BOB)]
    assert [r.kind for r in forgotten] == [ROOM_FORGOTTEN]
    assert RoomForgotten.decode(forgotten[0].payload).room_id == room_id


async def test_join_public_room_by_alias_carries_the_profile(
    deps: RoomDeps, store: EventStore
) -> None:
    assert isinstance(deps.lookups, LogLookups)
    deps.lookups.profiles[BOB] = Profile("Bob", None)
    room_id = await new_room(deps, preset="public_chat")
    await create_alias(deps, "#lobby:hs.test", room_id, ALICE)
    joined, _ = await membership.join(deps, BOB, "#lobby:hs.test")
    assert joined == room_id
    member = [p for p in pdus(store, room_id) if p.get("state_key") == BOB][-1]
    assert member["content"] == {"membership": "join", "displayname": "Bob"}


async def test_unknown_rooms_and_aliases_are_not_found(deps: RoomDeps) -> None:
    await refused(membership.join(deps, BOB, "!nowhere:hs.test"), 404, "M_NOT_FOUND")
    await refused(membership.join(deps, BOB, "#nothing:hs.test"), 404, "M_NOT_FOUND")
    await refused(membership.join(deps, BOB, "#far:elsewhere.test"), 404, "M_NOT_FOUND")
    await refused(membership.join(deps, BOB, "garbage"), 400, "M_INVALID_PARAM")
    await refused(membership.leave(deps, BOB, "!nowhere:hs.test"), 404, "M_NOT_FOUND")


async def test_kick_and_ban_need_power(deps: RoomDeps, store: EventStore) -> None:
    room_id = await new_room(deps, preset="public_chat")
    await membership.join(deps, BOB, room_id)
    await membership.join(deps, CAROL, room_id)
    error = await refused(membership.kick(deps, BOB, room_id, CAROL))
    assert "auth rule" in error.error
    await refused(membership.ban(deps, BOB, room_id, CAROL))
    await membership.kick(deps, ALICE, room_id, CAROL, reason="spam")
    assert membership_of(store, room_id, CAROL) == "leave"
    await refused(membership.kick(deps, ALICE, room_id, CAROL))  # not in the room any more
    await membership.ban(deps, ALICE, room_id, CAROL)
    await refused(membership.join(deps, CAROL, room_id))
    await refused(membership.unban(deps, BOB, room_id, CAROL))
    await membership.unban(deps, ALICE, room_id, CAROL)
    await refused(membership.unban(deps, ALICE, room_id, CAROL))  # not banned
    await membership.join(deps, CAROL, room_id)
    assert membership_of(store, room_id, CAROL) == "join"


async def test_a_member_cannot_change_another_users_membership(
    deps: RoomDeps, store: EventStore
) -> None:
    room_id = await new_room(deps, preset="public_chat")
    await membership.join(deps, BOB, room_id)
    for content in ({"membership": "join"}, {"membership": "leave"}, {"membership": "ban"}):
        await refused(
            set_state(
                deps,
                sender=BOB,
                room_id=room_id,
                event_type="m.room.member",
                state_key=ALICE,
                content=content,
            )
        )
    assert membership_of(store, room_id, ALICE) == "join"


async def test_knock_then_invite(deps: RoomDeps, store: EventStore) -> None:
    room_id = await new_room(
        deps, initial_state=[{"type": "m.room.join_rules", "content": {"join_rule": "knock"}}]
    )
    await refused(membership.join(deps, BOB, room_id))
    await membership.knock(deps, BOB, room_id, reason="let me in")
    knock = [p for p in pdus(store, room_id) if p.get("state_key") == BOB][-1]
    assert knock["content"] == {"membership": "knock", "reason": "let me in"}
    await membership.invite(deps, ALICE, room_id, BOB)
    await membership.join(deps, BOB, room_id)
    assert membership_of(store, room_id, BOB) == "join"


async def test_knock_on_an_invite_only_room_is_refused(deps: RoomDeps) -> None:
    room_id = await new_room(deps)
    await refused(membership.knock(deps, BOB, room_id))


async def test_profile_change_resends_joins_only_where_joined(
    deps: RoomDeps, store: EventStore
) -> None:
    first = await new_room(deps, preset="public_chat")
    second = await new_room(deps, preset="public_chat")
    third = await new_room(deps, preset="public_chat")
    await membership.join(deps, BOB, first)
    await membership.join(deps, BOB, second)
    await membership.join(deps, BOB, third)
    await membership.leave(deps, BOB, third)
    positions = await membership.update_member_profile(deps, BOB, "Robert", "mxc://hs.test/b")
    assert len(positions) == 2
    for room_id in (first, second):
        member = [p for p in pdus(store, room_id) if p.get("state_key") == BOB][-1]
        assert member["content"] == {
            "membership": "join",
            "displayname": "Robert",
            "avatar_url": "mxc://hs.test/b",
        }
    assert membership_of(store, third, BOB) == "leave"
    again = await membership.update_member_profile(deps, BOB, "Robert", "mxc://hs.test/b")
    assert again == [], "an unchanged profile re-sends nothing"
