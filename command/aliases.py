"""Room aliases: ``PUT``/``DELETE /directory/room/{roomAlias}``, and resolving one.

Each local alias is its own stream (``tessera.schema.directory``), so taking an
alias is decided on that stream's aggregate under its lock, and two processes
racing for it meet on the store's version constraint: exactly one wins.
Aliases of other servers are resolved over federation, which comes later; for
now they are unknown (404).
"""

from __future__ import annotations

from tessera.kernel.auth import required_power_level, user_power_level
from tessera.schema.directory import ALIAS_CREATED, ALIAS_DELETED, AliasCreated, AliasDeleted
from tessera.schema.log import NewRecord

from .room import Room
from .room_deps import Alias, RoomDeps, RoomError, forbidden, invalid_param, not_found
from .rooms import RoomNotFound

MAX_ALIAS_BYTES = 255


def alias_server(alias: str) -> str:
    """The server part of ``#localpart:server``; M_INVALID_PARAM for anything else."""
    localpart, sep, server = alias[1:].partition(":")
    if (
        not alias.startswith("#")
        or not sep
        or not localpart
        or not server
        or "\x00" in alias
        or len(alias.encode()) > MAX_ALIAS_BYTES
    ):
        raise invalid_param(f"Room alias {alias!r} is invalid")
    return server


def local_alias(deps: RoomDeps, localpart: str) -> str:
    """The alias ``room_alias_name`` names on this server (createRoom)."""
    if not localpart or ":" in localpart or "#" in localpart or any(c.isspace() for c in localpart):
        raise invalid_param(f"Room alias name {localpart!r} is invalid")
    alias = f"#{localpart}:{deps.server_name}"
    alias_server(alias)
    return alias


def in_use(alias: str) -> RoomError:
    # The spec's example for PUT /directory/room answers 409 M_UNKNOWN.
    return RoomError(409, "M_UNKNOWN", f"Room alias {alias} already exists")


def created_record(agg: Alias, room_id: str, creator: str) -> NewRecord:
    """The record that takes ``agg``'s alias for ``room_id``; M_UNKNOWN (409) if taken."""
    if agg.room_id is not None:
        raise in_use(agg.alias)
    return agg.next(ALIAS_CREATED, AliasCreated(agg.alias, room_id, creator).encode())


async def load_alias(deps: RoomDeps, alias: str) -> Alias:
    """The alias's aggregate, caught up with the log (another process may have written it)."""
    return await deps.aliases.current(alias)


async def resolve_alias(deps: RoomDeps, alias: str) -> str:
    """The room an alias points at; 404 M_NOT_FOUND if none (or not ours, for now)."""
    if alias_server(alias) != deps.server_name:
        raise not_found(f"Room alias {alias} not found (federation is not available yet)")
    agg = await load_alias(deps, alias)
    if agg.room_id is None:
        raise not_found(f"Room alias {alias} not found")
    return agg.room_id


async def resolve_room(deps: RoomDeps, room_id_or_alias: str) -> str:
    """A room ID, or the room an alias points at."""
    if room_id_or_alias.startswith("#"):
        return await resolve_alias(deps, room_id_or_alias)
    if not room_id_or_alias.startswith("!"):
        raise invalid_param(f"{room_id_or_alias!r} is neither a room ID nor a room alias")
    return room_id_or_alias


async def _room(deps: RoomDeps, room_id: str, *, current: bool = False) -> Room:
    try:
        return await (deps.rooms.current if current else deps.rooms.get)(room_id)
    except RoomNotFound:
        raise not_found(f"Unknown room {room_id}") from None


async def create_alias(deps: RoomDeps, alias: str, room_id: str, user_id: str) -> list[int]:
    """PUT /_matrix/client/v3/directory/room/{roomAlias}: members of a room may name it."""
    if alias_server(alias) != deps.server_name:
        raise invalid_param(f"Room alias {alias} is not on this server")
    room = await _room(deps, room_id, current=True)
    if room.membership(user_id) != "join":
        raise forbidden("You must be joined to the room to give it an alias")
    positions, _ = await deps.aliases.write(
        alias, lambda agg: ([created_record(agg, room_id, user_id)], None)
    )
    return positions


async def delete_alias(
    deps: RoomDeps, alias: str, user_id: str, *, is_admin: bool = False
) -> list[int]:
    """DELETE /_matrix/client/v3/directory/room/{roomAlias}.

    Allowed to the alias's creator, a server admin, and anyone whose power in the
    room suffices to change its ``m.room.canonical_alias``.
    """
    if alias_server(alias) != deps.server_name:
        raise not_found(f"Room alias {alias} not found")
    agg = await load_alias(deps, alias)
    if agg.room_id is None:
        raise not_found(f"Room alias {alias} not found")
    if not is_admin and agg.creator != user_id:
        try:
            room = await deps.rooms.current(agg.room_id)
        except RoomNotFound:
            raise forbidden("You may not delete this alias") from None
        needed = required_power_level("m.room.canonical_alias", True, room.state)
        if room.membership(user_id) != "join" or user_power_level(user_id, room.state) < needed:
            raise forbidden("You may not delete this alias")

    def decide(agg: Alias) -> tuple[list[NewRecord], None]:
        if agg.room_id is None:
            raise not_found(f"Room alias {alias} not found")
        return [agg.next(ALIAS_DELETED, AliasDeleted(alias, agg.room_id, user_id).encode())], None

    positions, _ = await deps.aliases.write(alias, decide)
    return positions
