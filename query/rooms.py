"""Reading a room's state and members: ``/event``, ``/state``, ``/members``,
``/joined_members``, ``/joined_rooms``.

Who may read what (spec: the endpoints' 403s, "Room History Visibility"):
a joined user reads the current state; anyone reads the current state of a
world-readable room; a user who left (or was kicked or banned) reads the state
as it was when their last stay ended; anybody else gets 403. A single event is
served only if history visibility lets the user see it, else 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tessera.schema.readmodel import ReadModelDatabase

from .aggregations import Reader, formatted
from .errors import Forbidden, NotFound
from .events import EventRow, Viewer, client_event, event_in_room, events_by_ids
from .state import MEMBER, StateEntry, joined_members, room_state, rooms_of_user, state_entry
from .visibility import RoomVisibility, load_visibility

MEMBERSHIPS = frozenset({"join", "invite", "knock", "leave", "ban"})


def state_position(visibility: RoomVisibility) -> int | None:
    """Where the user reads the room's state: ``None`` for now, else a position;
    raises Forbidden."""
    if visibility.current_membership == "join":
        return None
    if visibility.current_visibility == "world_readable":
        return None
    departure = visibility.departure()
    if departure is not None:
        return departure
    raise Forbidden("You aren't a member of the room and weren't previously a member of the room")


def _events(
    db: ReadModelDatabase, entries: Sequence[StateEntry], viewer: Viewer, now_ms: int
) -> list[dict[str, Any]]:
    rows = events_by_ids(db, [e.event_id for e in entries])
    return [
        client_event(rows[e.event_id], now_ms=now_ms, viewer=viewer)
        for e in entries
        if e.event_id in rows
    ]


def get_event(
    db: ReadModelDatabase, room_id: str, event_id: str, viewer: Viewer, now_ms: int
) -> dict[str, Any]:
    """``GET /rooms/{roomId}/event/{eventId}``: 404 for unknown and invisible alike,
    so the answer does not reveal that an event exists."""
    row = event_in_room(db, room_id, event_id)
    if row is None:
        raise NotFound("Event not found")
    visibility = load_visibility(db, room_id, viewer.user_id)
    if not visibility.is_visible(row.position):
        raise NotFound("Event not found")
    return formatted(db, [row], Reader(viewer, {room_id: visibility}, now_ms))[0]


def get_state(
    db: ReadModelDatabase, room_id: str, viewer: Viewer, now_ms: int
) -> list[dict[str, Any]]:
    """``GET /rooms/{roomId}/state``."""
    at = state_position(load_visibility(db, room_id, viewer.user_id))
    return _events(db, room_state(db, room_id, at), viewer, now_ms)


def get_state_event(
    db: ReadModelDatabase, room_id: str, event_type: str, state_key: str, viewer: Viewer
) -> EventRow:
    """``GET /rooms/{roomId}/state/{eventType}/{stateKey}``: the state event's row."""
    at = state_position(load_visibility(db, room_id, viewer.user_id))
    entry = state_entry(db, room_id, event_type, state_key, at)
    rows = events_by_ids(db, [entry.event_id]) if entry is not None else {}
    if entry is None or entry.event_id not in rows:
        raise NotFound("Event not found")
    return rows[entry.event_id]


def get_members(
    db: ReadModelDatabase,
    room_id: str,
    viewer: Viewer,
    *,
    at: int | None,
    membership: str | None,
    not_membership: str | None,
    now_ms: int,
) -> list[dict[str, Any]]:
    """``GET /rooms/{roomId}/members``: with both ``membership`` and
    ``not_membership``, a member is kept if either condition holds (the spec's "or")."""
    limit = state_position(load_visibility(db, room_id, viewer.user_id))
    if limit is not None:
        at = limit if at is None else min(at, limit)
    entries = room_state(db, room_id, at, types=[MEMBER])

    def keep(m: str | None) -> bool:
        if membership is not None and not_membership is not None:
            return m == membership or m != not_membership
        if membership is not None:
            return m == membership
        if not_membership is not None:
            return m != not_membership
        return True

    return _events(db, [e for e in entries if keep(e.membership)], viewer, now_ms)


def get_joined_members(
    db: ReadModelDatabase, room_id: str, viewer: Viewer
) -> dict[str, dict[str, str]]:
    """``GET /rooms/{roomId}/joined_members``: for members of the room (or anyone,
    if it is world-readable)."""
    visibility = load_visibility(db, room_id, viewer.user_id)
    if not (
        visibility.current_membership == "join" or visibility.current_visibility == "world_readable"
    ):
        raise Forbidden("You aren't a member of the room")
    entries = joined_members(db, room_id)
    rows = events_by_ids(db, [e.event_id for e in entries])
    joined: dict[str, dict[str, str]] = {}
    for entry in entries:
        profile: dict[str, str] = {}
        if entry.event_id in rows:
            content = rows[entry.event_id].content()
            for source, target in (("displayname", "display_name"), ("avatar_url", "avatar_url")):
                value = content.get(source)
                if isinstance(value, str):
                    profile[target] = value
        joined[entry.state_key] = profile
    return joined


def get_joined_rooms(db: ReadModelDatabase, user_id: str) -> list[str]:
    """``GET /joined_rooms``."""
    return [m.room_id for m in rooms_of_user(db, user_id, ("join",))]
