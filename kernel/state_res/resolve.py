"""The resolution of a set of states: state resolution v2 and v2.1, step by step.

v2 (room versions 2–11) and v2.1 (room version 12, MSC4297) differ in two
places, both about which events are replayed, never how they are ordered or
authorised:

- the full conflicted set also holds the *conflicted state subgraph*, the auth
  events lying between conflicted events (so a fork citing an old event has the
  history after it replayed);
- step 2 starts the iterative auth checks from the empty state rather than the
  unconflicted state map (so the replay rests on the events' own auth chains,
  not on whatever the forks happened to agree on).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..events import Event, StateKey
from ..room_versions import RoomVersion, StateResAlgorithm
from .auth_chain import auth_difference, conflicted_subgraph
from .conflicts import is_power_event, split_conflicts
from .iterative import iterative_auth_checks
from .mainline import mainline_order
from .ordering import reverse_topological_power_order
from .source import EventCache, EventSource

_POWER_LEVELS: StateKey = ("m.room.power_levels", "")


def resolve_state(
    room_version: RoomVersion,
    state_sets: Sequence[Mapping[StateKey, str]],
    source: EventSource,
) -> dict[StateKey, str]:
    """The resolved state of ``state_sets`` (the states after each ``prev_event``).

    ``source`` must hold the events of the state sets and their auth chains;
    events it lacks are left out of the resolution. Raises NotImplementedError
    for room version 1 (state resolution v1).
    """
    algorithm = room_version.state_res
    if algorithm is StateResAlgorithm.V1:
        raise NotImplementedError("state resolution v1 (room version 1)")
    v2_1 = algorithm is StateResAlgorithm.V2_1

    unconflicted, conflicted = split_conflicts(state_sets)
    if not conflicted:
        return unconflicted
    cache = EventCache(source)

    conflicted_ids: set[str] = set().union(*conflicted.values())
    per_set = [{e for k, e in s.items() if k not in unconflicted} for s in state_sets]
    full_conflicted = conflicted_ids | auth_difference(cache, unconflicted.values(), per_set)
    if v2_1:
        full_conflicted |= conflicted_subgraph(cache, conflicted_ids)
    cache.load(full_conflicted)
    full_conflicted = {e for e in full_conflicted if cache.get(e) is not None}

    # 1. Select the set X of all power events that appear in the full
    #    conflicted set, enlarged by their auth chains within the full
    #    conflicted set; sort X by the reverse topological power ordering.
    power_events = [e for e in full_conflicted if is_power_event(_known(cache, e))]
    sorted_power = reverse_topological_power_order(
        room_version, cache, power_events, full_conflicted
    )

    # 2. Apply the iterative auth checks to X, starting from the unconflicted
    #    state map (v2) or the empty state map (v2.1), giving a partially
    #    resolved state.
    partial = iterative_auth_checks(room_version, cache, sorted_power, {} if v2_1 else unconflicted)

    # 3. Order the remaining events by the mainline ordering based on the
    #    power levels event of the partially resolved state.
    picked = set(sorted_power)
    remaining = [e for e in full_conflicted if e not in picked]
    ordered = mainline_order(cache, remaining, partial.get(_POWER_LEVELS))

    # 4. Apply the iterative auth checks to them on the partially resolved state.
    resolved = iterative_auth_checks(room_version, cache, ordered, partial)

    # 5. The unconflicted state map wins over anything the replay put under its keys.
    resolved.update(unconflicted)
    return resolved


def _known(cache: EventCache, event_id: str) -> Event:
    event = cache.get(event_id)
    assert event is not None  # the full conflicted set holds only known events
    return event
