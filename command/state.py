"""Setting room state: ``PUT /rooms/{roomId}/state/{eventType}/{stateKey}``.

Setting a state entry to exactly what it already is (same content, same
sender) answers the current event and appends nothing, so a client that
re-applies its settings does not flood the timeline. ``m.room.canonical_alias``
is checked against the alias directory: each alias it newly lists must be
well formed (M_INVALID_PARAM) and point at this room (M_BAD_ALIAS).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .aliases import alias_server, load_alias
from .room import Room
from .room_deps import RoomDeps, RoomError, bad_json, invalid_param, not_found
from .room_write import write_event
from .rooms import RoomNotFound

CANONICAL_ALIAS = "m.room.canonical_alias"


def _aliases_of(content: Mapping[str, Any]) -> list[str]:
    """``alias`` and ``alt_aliases``; M_INVALID_PARAM for ill-typed ones."""
    found: list[str] = []
    alias = content.get("alias")
    if alias is not None:
        if not isinstance(alias, str):
            raise invalid_param("'alias' must be a string")
        found.append(alias)
    alt = content.get("alt_aliases")
    if alt is not None:
        if not isinstance(alt, list) or not all(isinstance(a, str) for a in alt):
            raise invalid_param("'alt_aliases' must be a list of strings")
        found.extend(alt)
    return found


async def check_canonical_alias(
    deps: RoomDeps, room_id: str, content: Mapping[str, Any], current: Mapping[str, Any]
) -> None:
    """Every alias ``content`` adds to ``current`` must exist and point at the room."""
    known = set(_aliases_of(current)) if current else set()
    for alias in _aliases_of(content):
        alias_server(alias)
        if alias in known:
            continue
        if alias_server(alias) != deps.server_name:
            raise RoomError(400, "M_BAD_ALIAS", f"The alias {alias} cannot be verified")
        agg = await load_alias(deps, alias)
        if agg.room_id != room_id:
            raise RoomError(400, "M_BAD_ALIAS", f"The alias {alias} does not point to this room")


async def set_state(
    deps: RoomDeps,
    *,
    sender: str,
    room_id: str,
    event_type: str,
    state_key: str,
    content: dict[str, Any],
) -> tuple[str, list[int]]:
    """The state event's ID and positions (none when the state is already so)."""
    if not event_type:
        raise bad_json("The event type must not be empty")
    if event_type == CANONICAL_ALIAS:
        try:
            room = await deps.rooms.current(room_id)
        except RoomNotFound:
            raise not_found(f"Unknown room {room_id}") from None
        await check_canonical_alias(deps, room_id, content, room.state_content(CANONICAL_ALIAS))

    def unchanged(room: Room) -> str | None:
        current = room.state.get((event_type, state_key))
        if current is not None and current.sender == sender and current.content == content:
            return current.event_id
        return None

    return await write_event(
        deps,
        room_id,
        sender=sender,
        event_type=event_type,
        state_key=state_key,
        content=content,
        existing=unchanged,
    )
