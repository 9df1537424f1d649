"""Steps 2 and 4: the iterative auth checks.

Each event is checked against the state it would be authorised by during the
replay: its own ``auth_events`` (the ones not rejected), overridden by the
partially resolved state for every key the auth rules read for that event
(``auth_types_for_event``). A key missing from the partial state thus falls
back to the event's own auth event, as the spec says. The create event is
always supplied, from the room ID in v12 where events no longer cite it.

An event the rules reject is skipped: the replay goes on without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..auth import AuthError, auth_types_for_event, check_auth
from ..events import Event, StateKey
from ..room_versions import RoomVersion
from .ordering import create_event_for
from .source import EventCache

_CREATE: StateKey = ("m.room.create", "")


def iterative_auth_checks(
    rv: RoomVersion,
    cache: EventCache,
    event_ids: Iterable[str],
    base_state: Mapping[StateKey, str],
) -> dict[StateKey, str]:
    """``base_state`` with each of ``event_ids`` applied in order, when the auth rules allow it."""
    ordered = list(event_ids)
    state = dict(base_state)
    # One batch for everything the loop will read, instead of one per event.
    cache.load(ordered)
    needed = [a for e in ordered if (ev := cache.get(e)) is not None for a in ev.auth_event_ids]
    cache.load(needed)
    cache.load(state.values())

    for event_id in ordered:
        event = cache.get(event_id)
        if event is None or not event.is_state:
            continue
        auth_state = _auth_state_for(rv, cache, event, state)
        try:
            check_auth(event, auth_state)
        except AuthError:
            continue
        state[event.state_entry] = event_id
    return state


def _auth_state_for(
    rv: RoomVersion, cache: EventCache, event: Event, state: Mapping[StateKey, str]
) -> dict[StateKey, Event]:
    auth_state: dict[StateKey, Event] = {}
    for auth_id in event.auth_event_ids:
        auth = cache.get(auth_id)
        if auth is not None and auth.is_state and not cache.is_rejected(auth_id):
            auth_state[auth.state_entry] = auth
    keys = set(auth_types_for_event(event))
    keys.add(_CREATE)
    for key in keys:
        current = state.get(key)
        if current is not None:
            resolved = cache.get(current)
            if resolved is not None:
                auth_state[key] = resolved
    if _CREATE not in auth_state:
        create = create_event_for(rv, cache, event)
        if create is not None:
            auth_state[_CREATE] = create
    return auth_state
