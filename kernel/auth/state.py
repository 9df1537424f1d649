"""Reading the auth state an event is checked against."""

from __future__ import annotations

from collections.abc import Mapping

from ..events import Event, StateKey
from .errors import deny

CREATE_KEY: StateKey = ("m.room.create", "")
POWER_LEVELS_KEY: StateKey = ("m.room.power_levels", "")
JOIN_RULES_KEY: StateKey = ("m.room.join_rules", "")
MEMBER = "m.room.member"


def fetch(auth_state: Mapping[StateKey, Event], key: StateKey, event: Event) -> Event | None:
    """The auth event under ``key``, if any.

    Every auth event read is checked against the event's room, so the check costs
    nothing for the (many) entries a caller's mapping may hold but no rule reads.
    """
    found = auth_state.get(key)
    # 3.4 (v1–v11: 2.5). If any event in auth_events has a room_id which does not
    # match that of the event being authorised, reject.
    if found is not None and found.room_id != event.room_id:
        raise deny(
            event.room_version,
            "auth_events.room_id",
            f"auth event {found.event_id} is in room {found.room_id}, not {event.room_id}",
        )
    return found


def membership_of(auth_state: Mapping[StateKey, Event], user_id: str, event: Event) -> str | None:
    """``user_id``'s current membership (``None`` if they have no member event)."""
    member = fetch(auth_state, (MEMBER, user_id), event)
    if member is None:
        return None
    membership = member.content.get("membership")
    return membership if isinstance(membership, str) else None
