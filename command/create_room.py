"""``POST /createRoom``: a new room's first events, committed in one append.

The events follow the spec's order (create, the creator's join, power levels,
canonical alias, the preset's rules, ``initial_state``, name and topic,
invites). Each is built on a room object nobody else sees yet, auth-checked
like any other event (an event the rules refuse is 400 M_INVALID_ROOM_STATE:
the request implied a state the room cannot have), and the whole lot — with
the alias and the directory visibility, which live on their own streams — is
committed atomically: a room exists completely or not at all.
"""

from __future__ import annotations

import secrets
from typing import Any

from tessera.kernel.room_versions import DEFAULT_ROOM_VERSION, KNOWN_ROOM_VERSIONS, RoomVersion
from tessera.schema.directory import VISIBILITY_SET, VisibilitySet, directory_stream
from tessera.schema.log import NewRecord, VersionConflict

from .aliases import created_record, local_alias
from .create_room_request import CreateRoom
from .membership import member_content
from .room import NewEvent, Room
from .room_deps import Profile, RoomDeps, RoomError
from .room_write import build_checked

__all__ = ["CreateRoom", "create_room"]

#: The spec's presets: join rule, history visibility, guest access.
PRESETS: dict[str, tuple[str, str, str]] = {
    "private_chat": ("invite", "shared", "can_join"),
    "trusted_private_chat": ("invite", "shared", "can_join"),
    "public_chat": ("public", "shared", "forbidden"),
}

StateItem = tuple[str, str, dict[str, Any]]

#: Attempts at a v12 room whose create event collides with an identical one.
MAX_ATTEMPTS = 5


def default_power_levels(
    rv: RoomVersion, creator: str, preset: str, invitees: list[str]
) -> dict[str, Any]:
    """The power levels a new room starts with, before the client's override."""
    users: dict[str, int] = {}
    if not rv.privileged_creators:  # v12: creators have infinite power and are never listed
        users[creator] = 100
        if preset == "trusted_private_chat":
            users.update(dict.fromkeys(invitees, 100))
    return {
        "users": users,
        "users_default": 0,
        "events": {
            "m.room.name": 50,
            "m.room.power_levels": 100,
            "m.room.history_visibility": 100,
            "m.room.canonical_alias": 50,
            "m.room.avatar": 50,
            # v12: above everyone's ordinary admin level (spec: higher than state_default).
            "m.room.tombstone": 150 if rv.privileged_creators else 100,
            "m.room.server_acl": 100,
            "m.room.encryption": 100,
        },
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 50 if preset == "public_chat" else 0,
        "historical": 100,
        "notifications": {"room": 50},
    }


def create_content(cmd: CreateRoom, rv: RoomVersion, preset: str) -> dict[str, Any]:
    content = dict(cmd.creation_content)
    content.pop("creator", None)
    content["room_version"] = rv.identifier
    if not rv.implicit_room_creator:
        content["creator"] = cmd.creator
    if rv.privileged_creators and preset == "trusted_private_chat":
        extra = content.get("additional_creators")
        merged = list(extra) if isinstance(extra, list) else []
        merged += [u for u in cmd.invite if u not in merged]
        content["additional_creators"] = merged
    return content


def planned_state(
    cmd: CreateRoom, rv: RoomVersion, preset: str, alias: str | None, profile: Profile
) -> list[StateItem]:
    """Every state event after the create event, in the spec's order."""
    initial = [(t, k, dict(c)) for t, k, c in cmd.initial_state]
    overridden = {(t, k) for t, k, _ in initial}
    if cmd.name is not None:
        initial = [s for s in initial if (s[0], s[1]) != ("m.room.name", "")]
    if cmd.topic is not None:
        initial = [s for s in initial if (s[0], s[1]) != ("m.room.topic", "")]
    power = next((c for t, k, c in initial if (t, k) == ("m.room.power_levels", "")), None)
    initial = [s for s in initial if (s[0], s[1]) != ("m.room.power_levels", "")]
    if power is None:
        power = default_power_levels(rv, cmd.creator, preset, list(cmd.invite))
    if cmd.power_level_content_override:
        power.update(cmd.power_level_content_override)

    plan: list[StateItem] = [
        ("m.room.member", cmd.creator, member_content("join", profile=profile)),
        ("m.room.power_levels", "", power),
    ]
    if alias is not None:
        plan.append(("m.room.canonical_alias", "", {"alias": alias}))
    join_rule, history, guests = PRESETS[preset]
    for key, content in (
        (("m.room.join_rules", ""), {"join_rule": join_rule}),
        (("m.room.history_visibility", ""), {"history_visibility": history}),
        (("m.room.guest_access", ""), {"guest_access": guests}),
    ):
        if key not in overridden:
            plan.append((key[0], key[1], content))
    plan += initial
    if cmd.name is not None:
        plan.append(("m.room.name", "", {"name": cmd.name}))
    if cmd.topic is not None:
        text = [{"body": cmd.topic, "mimetype": "text/plain"}]
        plan.append(("m.room.topic", "", {"topic": cmd.topic, "m.topic": {"m.text": text}}))
    return plan


def unsupported(version: str) -> RoomError:
    return RoomError(400, "M_UNSUPPORTED_ROOM_VERSION", f"Room version {version} is not supported")


async def create_room(deps: RoomDeps, cmd: CreateRoom) -> tuple[str, list[int]]:
    """The new room's ID and the positions of everything committed."""
    version = cmd.room_version or DEFAULT_ROOM_VERSION.identifier
    rv = KNOWN_ROOM_VERSIONS.get(version)
    if rv is None:
        raise unsupported(version)
    preset = cmd.preset or ("public_chat" if cmd.visibility == "public" else "private_chat")
    alias = local_alias(deps, cmd.room_alias_name) if cmd.room_alias_name is not None else None
    profiles = {cmd.creator: await deps.lookups.profile(cmd.creator)}
    for user in cmd.invite:
        if user.endswith(":" + deps.server_name):
            profiles[user] = await deps.lookups.profile(user)

    now = deps.clock()
    for attempt in range(MAX_ATTEMPTS):
        room, records = _build_room(
            deps, cmd, rv=rv, preset=preset, alias=alias, profiles=profiles, now=now + attempt
        )
        try:
            if alias is None:
                positions = await deps.rooms.create(room, records)
            else:
                positions = await _create_with_alias(deps, room, records, alias, cmd.creator)
        except VersionConflict:
            if rv.room_id_is_create_event_id:
                # The same creator made an identical room in the same millisecond: the
                # create events, hence the room IDs, are equal. A later timestamp differs.
                continue
            raise
        return room.room_id, positions
    raise VersionConflict([room.room_id])


def _build_room(
    deps: RoomDeps,
    cmd: CreateRoom,
    *,
    rv: RoomVersion,
    preset: str,
    alias: str | None,
    profiles: dict[str, Profile],
    now: int,
) -> tuple[Room, list[NewRecord]]:
    room_id = None
    if not rv.room_id_is_create_event_id:
        room_id = f"!{secrets.token_urlsafe(18)}:{deps.server_name}"
    try:
        room, create = Room.start(
            rv,
            sender=cmd.creator,
            content=create_content(cmd, rv, preset),
            now_ms=now,
            signing_key=deps.signing_key,
            room_id=room_id,
        )
        built = [create]
        plan = planned_state(cmd, rv, preset, alias, profiles[cmd.creator])
        built += [_add(room, deps, cmd.creator, item) for item in plan]
        for user in cmd.invite:
            content = member_content("invite", profile=profiles.get(user))
            if cmd.is_direct:
                content["is_direct"] = True
            built.append(_add(room, deps, cmd.creator, ("m.room.member", user, content)))
    except RoomError as e:
        if e.status != 403:
            raise
        raise RoomError(400, "M_INVALID_ROOM_STATE", e.error) from None
    records = [new.record for new in built]
    if cmd.visibility == "public":
        payload = VisibilitySet(room.room_id, "public", cmd.creator).encode()
        records.append(NewRecord(directory_stream(room.room_id), 1, VISIBILITY_SET, payload))
    return room, records


def _add(room: Room, deps: RoomDeps, sender: str, item: StateItem) -> NewEvent:
    event_type, state_key, content = item
    new = build_checked(
        room, deps, sender=sender, event_type=event_type, state_key=state_key, content=content
    )
    room.apply(new.record, new.event)
    return new


async def _create_with_alias(
    deps: RoomDeps, room: Room, records: list[NewRecord], alias: str, creator: str
) -> list[int]:
    def in_use() -> RoomError:
        return RoomError(400, "M_ROOM_IN_USE", f"Room alias {alias} is already taken")

    async with deps.aliases.lock(alias):
        agg = await deps.aliases.get(alias)
        if agg.room_id is not None:
            raise in_use()
        record = created_record(agg, room.room_id, creator)
        try:
            positions = await deps.rooms.create(room, [*records, record])
        except VersionConflict:
            await deps.aliases.catch_up(alias, agg)
            if agg.room_id is not None:  # another process took it first
                raise in_use() from None
            raise
        agg.apply(record)
    return positions
