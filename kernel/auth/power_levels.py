"""Reading power levels, and the auth rule for changing them.

Levels are read with the room version's leniency: v1–v9 accept strings that
spell an integer (``" +050 "``) and, before canonical JSON was enforced (v1–v5),
floats, truncated; v10+ accept integers only. A value that cannot be read falls
back to its default when *reading* an accepted event, and makes a *new* power
levels event fail the rules (``power_levels_rule.py``).

v12 (MSC4289): the create event's sender and its ``additional_creators`` have an
infinite level (``math.inf``), whatever ``m.room.power_levels`` says.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ..events import Event, StateKey
from ..room_versions import RoomVersion

PowerLevel = int | float
"""A user's level: an ``int``, or ``math.inf`` for a v12 room creator."""

CREATE_KEY: StateKey = ("m.room.create", "")
POWER_LEVELS_KEY: StateKey = ("m.room.power_levels", "")
CREATOR_POWER_LEVEL: float = math.inf

#: The named levels and their defaults (client-server API, ``m.room.power_levels``).
NAMED_DEFAULTS: dict[str, int] = {
    "users_default": 0,
    "events_default": 0,
    "state_default": 50,
    "ban": 50,
    "kick": 50,
    "redact": 50,
    "invite": 0,
}
#: Without any power levels event, the creator has this level (v1–v11).
CREATOR_DEFAULT_LEVEL = 100

_STRINGY_INT = re.compile(r"^\s*[+-]?[0-9]+\s*$", re.ASCII)


def parse_level(value: Any, rv: RoomVersion) -> int | None:
    """``value`` as a power level in ``rv``, or None if it is not one."""
    if type(value) is int:
        return value
    if rv.enforce_int_power_levels:
        return None
    if isinstance(value, str):
        return int(value) if _STRINGY_INT.match(value) else None
    if type(value) is float and not rv.strict_canonical_json and math.isfinite(value):
        return int(value)
    return None


def creators(create: Event | None) -> frozenset[str]:
    """The room's creators: v12 the sender plus ``additional_creators``;
    before, the one creator (``content.creator``, or the sender from v11)."""
    if create is None:
        return frozenset()
    rv = create.room_version
    if rv.implicit_room_creator:
        found = {create.sender}
        if rv.privileged_creators:
            extra = create.content.get("additional_creators")
            if isinstance(extra, list):
                found.update(u for u in extra if isinstance(u, str))
        return frozenset(found)
    creator = create.content.get("creator")
    return frozenset((creator,)) if isinstance(creator, str) else frozenset()


def original_creator(create: Event) -> str | None:
    """The user who created the room: ``content.creator`` before v11, the sender from v11."""
    if create.room_version.implicit_room_creator:
        return create.sender
    creator = create.content.get("creator")
    return creator if isinstance(creator, str) else None


def _is_privileged_creator(user_id: str, create: Event | None) -> bool:
    if create is None or not create.room_version.privileged_creators:
        return False
    if user_id == create.sender:
        return True
    extra = create.content.get("additional_creators")
    return isinstance(extra, list) and user_id in extra


def is_creator(user_id: str, auth_state: Mapping[StateKey, Event]) -> bool:
    """Is ``user_id`` a creator of the room (v12: with infinite power)?"""
    return user_id in creators(auth_state.get(CREATE_KEY))


def level_of_user(user_id: str, pl: Event | None, create: Event | None) -> PowerLevel:
    if _is_privileged_creator(user_id, create):
        return CREATOR_POWER_LEVEL
    if pl is None:
        if create is not None and user_id in creators(create):
            return CREATOR_DEFAULT_LEVEL
        return 0
    content = pl.content
    rv = pl.room_version
    users = content.get("users")
    if isinstance(users, dict) and user_id in users:
        level = parse_level(users[user_id], rv)
        if level is not None:
            return level
    return named_level(content, "users_default", rv)


def named_level(content: Mapping[str, Any], name: str, rv: RoomVersion) -> int:
    """``ban``, ``kick``, ``invite``, ``redact``, ``*_default`` with their defaults."""
    if name in content:
        level = parse_level(content[name], rv)
        if level is not None:
            return level
    return NAMED_DEFAULTS[name]


def level_to_send(event_type: str, is_state: bool, pl: Event | None) -> int:
    """The *required power level* to send ``event_type`` (state or not)."""
    if pl is None:
        return NAMED_DEFAULTS["state_default" if is_state else "events_default"]
    content = pl.content
    events = content.get("events")
    if isinstance(events, dict) and event_type in events:
        level = parse_level(events[event_type], pl.room_version)
        if level is not None:
            return level
    return named_level(content, "state_default" if is_state else "events_default", pl.room_version)


def user_power_level(user_id: str, auth_state: Mapping[StateKey, Event]) -> PowerLevel:
    """``user_id``'s power level in the state ``auth_state`` (math.inf for v12 creators)."""
    return level_of_user(user_id, auth_state.get(POWER_LEVELS_KEY), auth_state.get(CREATE_KEY))


def required_power_level(
    event_type: str, is_state: bool, auth_state: Mapping[StateKey, Event]
) -> int:
    """The level needed to send an event of ``event_type`` (state or not)."""
    return level_to_send(event_type, is_state, auth_state.get(POWER_LEVELS_KEY))


def named_power_level(name: str, auth_state: Mapping[StateKey, Event]) -> int:
    """The ``invite``/``kick``/``ban``/``redact`` (or a default) level in ``auth_state``."""
    pl = auth_state.get(POWER_LEVELS_KEY)
    if pl is None:
        return NAMED_DEFAULTS[name]
    return named_level(pl.content, name, pl.room_version)
