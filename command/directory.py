"""The published room directory: ``PUT /directory/list/room/{roomId}``.

A room's visibility is a record on its ``directory|<room>`` stream (not a PDU:
it is this server's listing, not room state). Changing it takes the power to
change the room's canonical alias — the level that already governs how a room
presents itself — or a server admin.
"""

from __future__ import annotations

from tessera.kernel.auth import required_power_level, user_power_level
from tessera.schema.directory import VISIBILITIES, VISIBILITY_SET, VisibilitySet, directory_stream
from tessera.schema.log import NewRecord

from .room_deps import RoomDeps, bad_json, forbidden, not_found
from .rooms import RoomNotFound
from .streams import Versioned


async def set_visibility(
    deps: RoomDeps, user_id: str, room_id: str, visibility: str, *, is_admin: bool = False
) -> list[int]:
    if visibility not in VISIBILITIES:
        raise bad_json("'visibility' must be 'public' or 'private'")
    try:
        room = await deps.rooms.current(room_id)  # a join or a power level set elsewhere counts
    except RoomNotFound:
        raise not_found(f"Unknown room {room_id}") from None
    if not is_admin:
        needed = required_power_level("m.room.canonical_alias", True, room.state)
        if room.membership(user_id) != "join" or user_power_level(user_id, room.state) < needed:
            raise forbidden("You may not change this room's visibility in the directory")
    payload = VisibilitySet(room_id, visibility, user_id).encode()

    def decide(agg: Versioned) -> tuple[list[NewRecord], None]:
        return [agg.next(VISIBILITY_SET, payload)], None

    positions, _ = await deps.streams.write(directory_stream(room_id), decide)
    return positions
