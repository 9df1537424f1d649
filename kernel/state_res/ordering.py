"""Step 1: the power events of the full conflicted set, in reverse topological power ordering."""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from ..events import Event
from ..room_versions import RoomVersion
from .source import EventCache

#: A room creator's power in v12+ (MSC4289): above any integer a power levels event can hold.
INFINITE_POWER = 2**63

_CREATE = ("m.room.create", "")
_POWER_LEVELS = ("m.room.power_levels", "")


def as_int(value: Any, default: int) -> int:
    """A power level as an integer; room versions before 10 allow strings (and floats)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return default
    return default


def create_event_for(rv: RoomVersion, cache: EventCache, event: Event) -> Event | None:
    """The room's create event as seen from ``event``.

    v12+ events never cite it: the room ID is the create event's ID with sigil ``!``.
    """
    if rv.room_id_is_create_event_id:
        if event.type == "m.room.create" and event.state_key == "":
            return event
        room_id = event.room_id
        return cache.get("$" + room_id[1:]) if room_id.startswith("!") else None
    for auth_id in event.auth_event_ids:
        auth = cache.get(auth_id)
        if auth is not None and auth.state_entry == _CREATE and auth.is_state:
            return auth
    return None


def room_creators(rv: RoomVersion, create: Event) -> set[str]:
    if rv.privileged_creators:
        extra = create.content.get("additional_creators")
        more = [u for u in extra if isinstance(u, str)] if isinstance(extra, list) else []
        return {create.sender, *more}
    if rv.implicit_room_creator:
        return {create.sender}
    creator = create.content.get("creator")
    return {creator} if isinstance(creator, str) else set()


def sender_power(rv: RoomVersion, cache: EventCache, event: Event) -> int:
    """The sender's power level, looking at the event's own ``auth_events``."""
    power_levels: Event | None = None
    for auth_id in event.auth_event_ids:
        auth = cache.get(auth_id)
        if auth is not None and auth.is_state and auth.state_entry == _POWER_LEVELS:
            power_levels = auth
            break
    if rv.privileged_creators or power_levels is None:
        create = create_event_for(rv, cache, event)
        creators = room_creators(rv, create) if create is not None else set()
        if rv.privileged_creators and event.sender in creators:
            return INFINITE_POWER
        if power_levels is None:
            # Without power levels the creator has 100 and everybody else 0.
            return 100 if event.sender in creators else 0
    assert power_levels is not None
    content = power_levels.content
    users = content.get("users")
    default = as_int(content.get("users_default"), 0)
    if isinstance(users, Mapping) and event.sender in users:
        return as_int(users[event.sender], default)
    return default


def reverse_topological_power_order(
    rv: RoomVersion,
    cache: EventCache,
    power_events: Iterable[str],
    full_conflicted: Collection[str],
) -> list[str]:
    """X, sorted earliest first: Kahn's algorithm choosing the smallest ready event.

    X grows from the power events through ``auth_events`` edges that stay in
    the full conflicted set. The graph is walked through those edges only (an
    auth ancestor reached solely through events outside the set is left out),
    which is how deployed servers build it; the spec's wording ("the auth chain
    of P which also belong to the full conflicted set") differs from this only
    when such an ancestor exists, and servers must agree to converge.

    "Smallest" is: greater sender power, then smaller ``origin_server_ts``, then
    smaller event ID.
    """
    auth_edges: dict[str, list[str]] = {}
    stack = list(power_events)
    while stack:
        event_id = stack.pop()
        if event_id in auth_edges:
            continue
        event = cache.get(event_id)
        edges = [] if event is None else list(dict.fromkeys(event.auth_event_ids))
        edges = [a for a in edges if a in full_conflicted and a != event_id]
        auth_edges[event_id] = edges
        stack.extend(a for a in edges if a not in auth_edges)

    cited_by: dict[str, list[str]] = {}
    waiting: dict[str, int] = {}
    ready: list[tuple[int, int, str]] = []
    for event_id, edges in auth_edges.items():
        waiting[event_id] = len(edges)
        for auth_id in edges:
            cited_by.setdefault(auth_id, []).append(event_id)
        if not edges:
            ready.append(_sort_key(rv, cache, event_id))
    heapq.heapify(ready)

    ordered: list[str] = []
    while ready:
        event_id = heapq.heappop(ready)[2]
        ordered.append(event_id)
        for citer in cited_by.get(event_id, ()):
            waiting[citer] -= 1
            if waiting[citer] == 0:
                heapq.heappush(ready, _sort_key(rv, cache, citer))
    # Events on an auth cycle (impossible with hashed IDs, forgeable in v1/v2)
    # never become ready and are left out rather than looping forever.
    return ordered


def _sort_key(rv: RoomVersion, cache: EventCache, event_id: str) -> tuple[int, int, str]:
    event = cache.get(event_id)
    if event is None:
        return (0, 0, event_id)
    return (-sender_power(rv, cache, event), event.origin_server_ts, event_id)
