"""Reading power levels, and the auth rule for changing them.

Levels are read with the room version's leniency: v1–v9 accept strings that
spell an integer (``" +050 "``) and, before canonical JSON was enforced (v1–v5),
floats, truncated; v10+ accept integers only. A value that cannot be read falls
back to its default when *reading* an accepted event, and makes a *new* power
levels event fail the rules (``check_power_levels_change``).

v12 (MSC4289): the create event's sender and its ``additional_creators`` have an
infinite level (``math.inf``), whatever ``m.room.power_levels`` says.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..events import Event, StateKey
from ..identifiers import is_valid_user_id
from ..room_versions import RoomVersion
from .errors import deny

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


# --- the m.room.power_levels rule ------------------------------------------------------


def _int_map(value: Any, rv: RoomVersion) -> dict[str, int] | None:
    """An object's values as levels, or None if it is not an object of levels."""
    if not isinstance(value, dict):
        return None
    out: dict[str, int] = {}
    for key, raw in value.items():
        level = parse_level(raw, rv)
        if level is None:
            return None
        out[key] = level
    return out


def _levels(content: Mapping[str, Any], rv: RoomVersion, rule: str) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for name in NAMED_DEFAULTS:
        if name in content:
            level = parse_level(content[name], rv)
            if level is None:
                raise deny(rv, rule, f"power level {name!r} is not an integer")
            out[name] = level
        else:
            out[name] = None
    return out


def _changed(old: Mapping[str, int], new: Mapping[str, int]) -> Iterable[str]:
    return {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}


def check_power_levels_change(
    event: Event, previous: Event | None, sender_level: PowerLevel, create: Event | None
) -> None:
    """The ``m.room.power_levels`` rule (v1–v5: 10, v6–v11: 9, v12: 10); raises AuthError."""
    rv = event.room_version
    content = event.content
    # 10.1 (v10–v11: 9.1). If any of the properties users_default, events_default,
    # state_default, ban, redact, kick, or invite in content are present and not an
    # integer, reject. (Before v10 the same reading applies to strings and floats.)
    new_named = _levels(content, rv, "power_levels.int_fields")
    # 10.2 (v10–v11: 9.2). If either of the properties events or notifications in
    # content are present and not an object with values that are integers, reject.
    maps: dict[str, dict[str, int]] = {}
    for name in ("events", "notifications"):
        if name in content:
            parsed = _int_map(content[name], rv)
            if parsed is None:
                if name == "events" or rv.limit_notifications_power_levels:
                    raise deny(rv, "power_levels.int_maps", f"{name!r} is not an object of levels")
                parsed = {}
            maps[name] = parsed
        else:
            maps[name] = {}
    # 10.3 (v1–v5: 10.1, v6–v9: 9.1, v10–v11: 9.3). If the users property in content
    # is not an object with keys that are valid user IDs with values that are integers
    # (or, before v10, a string that is an integer), reject.
    new_users: dict[str, int] = {}
    if "users" in content:
        parsed_users = _int_map(content["users"], rv)
        if parsed_users is None:
            raise deny(rv, "power_levels.users", "'users' is not an object of levels")
        for user_id in parsed_users:
            if not is_valid_user_id(user_id):
                raise deny(rv, "power_levels.users", f"{user_id!r} is not a user ID")
        new_users = parsed_users
    # 10.4 (v12 only). If the users property in content contains the sender of the
    # m.room.create event or any of the additional_creators, reject.
    if rv.privileged_creators:
        listed = creators(create) & new_users.keys()
        if listed:
            raise deny(rv, "power_levels.creators", f"creators may not be listed: {sorted(listed)}")
    # 10.5 (v1–v5: 10.2, v6–v9: 9.2, v10–v11: 9.4). If there is no previous
    # m.room.power_levels event in the room, allow.
    if previous is None:
        return
    old = previous.content
    old_named = {k: named_value(old, k, rv) for k in NAMED_DEFAULTS}
    # 10.6 (v1–v5: 10.3, v6–v9: 9.3, v10–v11: 9.5). For the properties users_default,
    # events_default, state_default, ban, redact, kick, invite check if they were
    # added, changed or removed. For each found alteration:
    for name in NAMED_DEFAULTS:
        was, now = old_named[name], new_named[name]
        if was == now:
            continue
        # 10.6.1. If the current value is higher than the sender's current power level, reject.
        if was is not None and was > sender_level:
            raise deny(rv, "power_levels.named.current", f"{name!r} is above the sender's level")
        # 10.6.2. If the new value is higher than the sender's current power level, reject.
        if now is not None and now > sender_level:
            raise deny(rv, "power_levels.named.new", f"new {name!r} is above the sender's level")
    # Only v6+ checks changes to notifications.
    limited = ("events", "notifications") if rv.limit_notifications_power_levels else ("events",)
    for name in limited:
        was_map = _lenient_map(old.get(name), rv)
        now_map = maps[name]
        for key in _changed(was_map, now_map):
            # 10.7.1 (v1–v5: 10.4.1, v6–v9: 9.4.1, v10–v11: 9.6.1). For each entry being
            # changed in, or removed from, events (v6+: or notifications): if the current
            # value is greater than the sender's current power level, reject.
            if key in was_map and was_map[key] > sender_level:
                raise deny(
                    rv,
                    "power_levels.events_removed.current",
                    f"{name}[{key!r}] is above the sender's level",
                )
            # 10.8.1 (v1–v5: 10.5.1, v6–v9: 9.5.1, v10–v11: 9.7.1). For each entry being
            # added to, or changed in, events (v6+: or notifications): if the new value is
            # greater than the sender's current power level, reject.
            if key in now_map and now_map[key] > sender_level:
                raise deny(
                    rv,
                    "power_levels.events_added.new",
                    f"new {name}[{key!r}] is above the sender's level",
                )
    old_users = _lenient_map(old.get("users"), rv)
    for user_id in _changed(old_users, new_users):
        # 10.9.1 (v1–v5: 10.6.1, v6–v9: 9.6.1, v10–v11: 9.8.1). For each entry being
        # changed in, or removed from, users, other than the sender's own entry: if the
        # current value is greater than or equal to the sender's current power level, reject.
        if user_id != event.sender and user_id in old_users and old_users[user_id] >= sender_level:
            raise deny(
                rv,
                "power_levels.users_removed.current",
                f"{user_id} has a level at or above the sender's",
            )
        # 10.10.1 (v1–v5: 10.7.1, v6–v9: 9.7.1, v10–v11: 9.9.1). For each entry being
        # added to, or changed in, users: if the new value is greater than the sender's
        # current power level, reject.
        if user_id in new_users and new_users[user_id] > sender_level:
            raise deny(
                rv,
                "power_levels.users_added.new",
                f"new level of {user_id} is above the sender's",
            )
    # 10.11 (v1–v5: 10.8, v6–v9: 9.8, v10–v11: 9.10). Otherwise, allow.


def named_value(content: Mapping[str, Any], name: str, rv: RoomVersion) -> int | None:
    """An explicitly set named level (None when absent or unreadable)."""
    return parse_level(content[name], rv) if name in content else None


def _lenient_map(value: Any, rv: RoomVersion) -> dict[str, int]:
    """An accepted event's map of levels, skipping entries that cannot be read."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, int] = {}
    for key, raw in value.items():
        level = parse_level(raw, rv)
        if level is not None:
            out[key] = level
    return out
