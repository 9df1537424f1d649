"""Membership commands: join, invite, leave, kick, ban, unban, knock, forget, and
re-sending a user's member events when their profile changes.

Every change is an ``m.room.member`` event through the auth rules (a refusal is
403 M_FORBIDDEN with the rule's message); a few refusals the rules would let
through are the Client-Server API's own (kicking someone who is not in the
room, unbanning someone who is not banned). Forgetting a room is not a PDU: it
is a record on the user's ``rooms|<user>`` stream that the read side uses to
hide the room.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from tessera.kernel.identifiers import is_valid_user_id, server_name_of
from tessera.schema.directory import ROOM_FORGOTTEN, RoomForgotten, user_rooms_stream
from tessera.schema.log import NewRecord

from .aliases import resolve_room
from .room import Room
from .room_deps import (
    Profile,
    RoomDeps,
    RoomError,
    forbidden,
    invalid_param,
    not_found,
)
from .room_write import write_event
from .rooms import RoomNotFound
from .streams import Versioned

log = logging.getLogger(__name__)

MEMBER = "m.room.member"
#: Memberships that make a user part of the room (kickable; must leave before forgetting).
PRESENT = frozenset({"join", "invite", "knock"})


class Moderation(Protocol):
    """kick, ban, unban: one user acting on another's membership."""

    async def __call__(
        self, deps: RoomDeps, sender: str, room_id: str, target: str, *, reason: str | None = None
    ) -> list[int]: ...


def member_content(
    membership: str, *, profile: Profile | None = None, reason: str | None = None
) -> dict[str, Any]:
    content: dict[str, Any] = {"membership": membership}
    if profile is not None:
        if profile.displayname is not None:
            content["displayname"] = profile.displayname
        if profile.avatar_url is not None:
            content["avatar_url"] = profile.avatar_url
    if reason is not None:
        content["reason"] = reason
    return content


def _check_user_id(user_id: str) -> None:
    if not is_valid_user_id(user_id):
        raise invalid_param(f"{user_id!r} is not a valid user ID")


async def _profile_if_local(deps: RoomDeps, user_id: str) -> Profile | None:
    if server_name_of(user_id) != deps.server_name:
        return None
    return await deps.lookups.profile(user_id)


async def _member_event(
    deps: RoomDeps,
    room_id: str,
    sender: str,
    target: str,
    content: dict[str, Any],
    *,
    check: Callable[[Room], None] | None = None,
    existing: Callable[[Room], str | None] | None = None,
) -> tuple[str, list[int]]:
    return await write_event(
        deps,
        room_id,
        sender=sender,
        event_type=MEMBER,
        state_key=target,
        content=content,
        check=check,
        existing=existing,
    )


async def join(
    deps: RoomDeps, user_id: str, room_id_or_alias: str, *, reason: str | None = None
) -> tuple[str, list[int]]:
    """POST /join/{roomIdOrAlias}, POST /rooms/{roomId}/join: the room ID and positions.

    Joining a room already joined changes nothing. Rooms this server has no
    events of are unknown (404) until federation joins exist.
    """
    room_id = await resolve_room(deps, room_id_or_alias)
    content = member_content("join", profile=await deps.lookups.profile(user_id), reason=reason)

    def already(room: Room) -> str | None:
        member = room.state.get((MEMBER, user_id))
        if member is not None and member.membership == "join" and reason is None:
            return member.event_id
        return None

    _, positions = await _member_event(deps, room_id, user_id, user_id, content, existing=already)
    return room_id, positions


async def invite(
    deps: RoomDeps,
    sender: str,
    room_id: str,
    target: str,
    *,
    reason: str | None = None,
    is_direct: bool = False,
) -> list[int]:
    """POST /rooms/{roomId}/invite"""
    _check_user_id(target)
    content = member_content("invite", profile=await _profile_if_local(deps, target), reason=reason)
    if is_direct:
        content["is_direct"] = True
    _, positions = await _member_event(deps, room_id, sender, target, content)
    return positions


async def leave(
    deps: RoomDeps, user_id: str, room_id: str, *, reason: str | None = None
) -> list[int]:
    """POST /rooms/{roomId}/leave: also rejects an invite or retracts a knock.

    Leaving a room already left changes nothing.
    """

    def check(room: Room) -> None:
        if room.membership(user_id) is None:
            raise forbidden(f"You are not a member of {room_id}")

    def already(room: Room) -> str | None:
        member = room.state.get((MEMBER, user_id))
        return member.event_id if member is not None and member.membership == "leave" else None

    content = member_content("leave", reason=reason)
    _, positions = await _member_event(
        deps, room_id, user_id, user_id, content, check=check, existing=already
    )
    return positions


async def kick(
    deps: RoomDeps, sender: str, room_id: str, target: str, *, reason: str | None = None
) -> list[int]:
    """POST /rooms/{roomId}/kick: needs the kick level, and a target present in the room."""
    _check_user_id(target)

    def check(room: Room) -> None:
        if room.membership(target) not in PRESENT:
            raise forbidden(f"{target} is not in the room")

    content = member_content("leave", reason=reason)
    _, positions = await _member_event(deps, room_id, sender, target, content, check=check)
    return positions


async def ban(
    deps: RoomDeps, sender: str, room_id: str, target: str, *, reason: str | None = None
) -> list[int]:
    """POST /rooms/{roomId}/ban"""
    _check_user_id(target)
    content = member_content("ban", reason=reason)
    _, positions = await _member_event(deps, room_id, sender, target, content)
    return positions


async def unban(
    deps: RoomDeps, sender: str, room_id: str, target: str, *, reason: str | None = None
) -> list[int]:
    """POST /rooms/{roomId}/unban: the target's membership becomes ``leave``."""
    _check_user_id(target)

    def check(room: Room) -> None:
        if room.membership(target) != "ban":
            raise forbidden(f"{target} is not banned")

    content = member_content("leave", reason=reason)
    _, positions = await _member_event(deps, room_id, sender, target, content, check=check)
    return positions


async def knock(
    deps: RoomDeps, user_id: str, room_id_or_alias: str, *, reason: str | None = None
) -> tuple[str, list[int]]:
    """POST /knock/{roomIdOrAlias}: the room ID and positions."""
    room_id = await resolve_room(deps, room_id_or_alias)
    content = member_content("knock", profile=await deps.lookups.profile(user_id), reason=reason)
    _, positions = await _member_event(deps, room_id, user_id, user_id, content)
    return room_id, positions


async def forget(deps: RoomDeps, user_id: str, room_id: str) -> list[int]:
    """POST /rooms/{roomId}/forget: only once the user is out of the room (400 otherwise)."""
    try:
        room = await deps.rooms.current(room_id)  # a leave through another process counts
    except RoomNotFound:
        raise not_found(f"Unknown room {room_id}") from None
    if room.membership(user_id) in PRESENT:
        raise RoomError(400, "M_UNKNOWN", "You must leave the room before forgetting it")
    payload = RoomForgotten(room_id).encode()

    def decide(agg: Versioned) -> tuple[list[NewRecord], None]:
        return [agg.next(ROOM_FORGOTTEN, payload)], None

    positions, _ = await deps.streams.write(user_rooms_stream(user_id), decide)
    return positions


async def update_member_profile(
    deps: RoomDeps, user_id: str, displayname: str | None, avatar_url: str | None
) -> list[int]:
    """Re-send ``user_id``'s join event, with the new profile, in each room they are in.

    A room that refuses (the user was kicked meanwhile, lacks the power…) is
    skipped: the profile change itself has already succeeded.
    """
    profile = Profile(displayname, avatar_url)

    async def one(room_id: str) -> list[int]:
        def already(room: Room) -> str | None:
            member = room.state.get((MEMBER, user_id))
            if member is None or member.membership != "join":
                return member.event_id if member is not None else ""
            if member.content.get("displayname") == displayname and (
                member.content.get("avatar_url") == avatar_url
            ):
                return member.event_id
            return None

        content = member_content("join", profile=profile)
        try:
            _, positions = await _member_event(
                deps, room_id, user_id, user_id, content, existing=already
            )
        except RoomError as e:
            log.info("profile of %s not updated in %s: %s", user_id, room_id, e.error)
            return []
        return positions

    results = await asyncio.gather(*(one(r) for r in await deps.lookups.joined_rooms(user_id)))
    return [p for positions in results for p in positions]
