"""Aliases and directory visibility on the command side."""

from __future__ import annotations

import pytest

from tessera.command import membership
from tessera.command.aliases import create_alias, delete_alias, resolve_alias
from tessera.command.directory import set_visibility
from tessera.command.room_deps import RoomDeps, RoomError
from tessera.schema.directory import VisibilitySet, directory_stream
from tessera.schema.log import EventStore
from tests.unit.roomkit import ALICE, BOB, CAROL, deps, log_records, new_room, store

__all__ = ["deps", "store"]


async def refused(coro: object, status: int = 403, errcode: str = "M_FORBIDDEN") -> None:
    with pytest.raises(RoomError) as e:
        await coro  # type: ignore[misc]
    assert (e.value.status, e.value.errcode) == (status, errcode), e.value.error


async def test_alias_lifecycle(deps: RoomDeps) -> None:
    room_id = await new_room(deps, preset="public_chat")
    await membership.join(deps, BOB, room_id)
    await refused(create_alias(deps, "#x:hs.test", room_id, CAROL))  # not in the room
    await refused(create_alias(deps, "#x:elsewhere.test", room_id, BOB), 400, "M_INVALID_PARAM")
    await refused(create_alias(deps, "x:hs.test", room_id, BOB), 400, "M_INVALID_PARAM")
    await refused(create_alias(deps, "#x:hs.test", "!none:hs.test", BOB), 404, "M_NOT_FOUND")
    await create_alias(deps, "#x:hs.test", room_id, BOB)
    await refused(create_alias(deps, "#x:hs.test", room_id, ALICE), 409, "M_UNKNOWN")
    assert await resolve_alias(deps, "#x:hs.test") == room_id
    await refused(delete_alias(deps, "#x:hs.test", CAROL))
    await delete_alias(deps, "#x:hs.test", ALICE)  # the room's admin may
    await refused(resolve_alias(deps, "#x:hs.test"), 404, "M_NOT_FOUND")
    await refused(delete_alias(deps, "#x:hs.test", ALICE), 404, "M_NOT_FOUND")
    await create_alias(deps, "#x:hs.test", room_id, BOB)  # free again
    await delete_alias(deps, "#x:hs.test", BOB)  # its creator may


async def test_visibility_needs_power_in_the_room(deps: RoomDeps, store: EventStore) -> None:
    room_id = await new_room(deps, preset="public_chat")
    await membership.join(deps, BOB, room_id)
    await refused(set_visibility(deps, BOB, room_id, "public"))
    await refused(set_visibility(deps, ALICE, room_id, "open"), 400, "M_BAD_JSON")
    await refused(set_visibility(deps, ALICE, "!none:hs.test", "public"), 404, "M_NOT_FOUND")
    await set_visibility(deps, ALICE, room_id, "public")
    await set_visibility(deps, BOB, room_id, "private", is_admin=True)
    records = [r for r in log_records(store) if r.stream == directory_stream(room_id)]
    assert [VisibilitySet.decode(r.payload).visibility for r in records] == ["public", "private"]
