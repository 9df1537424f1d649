"""The ``m.room.power_levels`` auth rule: 10 [v6–11 9, v1–5 10].

A *new* power levels event must be readable whole: before v10 strings that spell
an integer (and, v1–v5, floats) pass, but a value that cannot be read at all
rejects the event rather than falling back to a default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..events import Event
from ..identifiers import is_valid_user_id
from ..room_versions import RoomVersion
from .errors import deny
from .power_levels import NAMED_DEFAULTS, PowerLevel, creators, parse_level


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
    """The ``m.room.power_levels`` rule: 10 [v6–11 9, v1–5 10]; raises AuthError.

    Comments give the v12 numbers, then in brackets older versions' numbers.
    """
    rv = event.room_version
    content = event.content
    # 10.1 [v10–11 9.1]. If any of the properties users_default, events_default,
    # state_default, ban, redact, kick, or invite in content are present and not an
    # integer, reject. (Before v10 the same reading applies to strings and floats.)
    new_named = _levels(content, rv, "power_levels.int_fields")
    # 10.2 [v10–11 9.2]. If either of the properties events or notifications in
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
    # 10.3 [v10–11 9.3, v6–9 9.1, v1–5 10.1]. If the users property in content
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
    # 10.4 [v12 only]. If the users property in content contains the sender of the
    # m.room.create event or any of the additional_creators, reject.
    if rv.privileged_creators:
        listed = creators(create) & new_users.keys()
        if listed:
            raise deny(rv, "power_levels.creators", f"creators may not be listed: {sorted(listed)}")
    # 10.5 [v10–11 9.4, v6–9 9.2, v1–5 10.2]. If there is no previous
    # m.room.power_levels event in the room, allow.
    if previous is None:
        return
    old = previous.content
    old_named = {k: named_value(old, k, rv) for k in NAMED_DEFAULTS}
    # 10.6 [v10–11 9.5, v6–9 9.3, v1–5 10.3]. For the properties users_default,
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
            # 10.7.1 [v10–11 9.6.1, v6–9 9.4.1, v1–5 10.4.1]. For each entry being
            # changed in, or removed from, events (v6+: or notifications): if the current
            # value is greater than the sender's current power level, reject.
            if key in was_map and was_map[key] > sender_level:
                raise deny(
                    rv,
                    "power_levels.events_removed.current",
                    f"{name}[{key!r}] is above the sender's level",
                )
            # 10.8.1 [v10–11 9.7.1, v6–9 9.5.1, v1–5 10.5.1]. For each entry being
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
        # 10.9.1 [v10–11 9.8.1, v6–9 9.6.1, v1–5 10.6.1]. For each entry being
        # changed in, or removed from, users, other than the sender's own entry: if the
        # current value is greater than or equal to the sender's current power level, reject.
        if user_id != event.sender and user_id in old_users and old_users[user_id] >= sender_level:
            raise deny(
                rv,
                "power_levels.users_removed.current",
                f"{user_id} has a level at or above the sender's",
            )
        # 10.10.1 [v10–11 9.9.1, v6–9 9.7.1, v1–5 10.7.1]. For each entry being
        # added to, or changed in, users: if the new value is greater than the sender's
        # current power level, reject.
        if user_id in new_users and new_users[user_id] > sender_level:
            raise deny(
                rv,
                "power_levels.users_added.new",
                f"new level of {user_id} is above the sender's",
            )
    # 10.11 [v10–11 9.10, v6–9 9.8, v1–5 10.8]. Otherwise, allow.


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
