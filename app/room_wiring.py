"""Wiring the room commands into a process's services (called by ``build_services``)."""

from __future__ import annotations

from tessera.command.membership import update_member_profile
from tessera.command.room_deps import RoomDeps, open_room_deps
from tessera.query.room_lookups import ReadModelRoomLookups

from .services import Services


def wire_room_commands(services: Services) -> RoomDeps:
    """Give ``services`` its ``room_deps``, and re-send member events on profile changes."""
    deps = open_room_deps(
        services.store,
        services.committer,
        services.rooms,
        signing_key=services.signing_key,
        server_name=services.server_name,
        clock=services.clock,
        lookups=ReadModelRoomLookups(services.readdb),
    )
    services.room_deps = deps
    services.on_profile_changed = profile_changed
    return deps


async def profile_changed(services: Services, user_id: str) -> None:
    """The user's member event in each joined room, re-sent with the new profile."""
    deps = services.room_deps
    if deps is None:
        return
    profile = await deps.lookups.profile(user_id)
    positions = await update_member_profile(deps, user_id, profile.displayname, profile.avatar_url)
    if positions:
        await services.applied.wait_for(max(positions))
