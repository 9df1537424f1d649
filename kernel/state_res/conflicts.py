"""Definitions: power events, the unconflicted state map and the conflicted state set."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..events import Event, StateKey


def is_power_event(event: Event) -> bool:
    """A power event: one that might remove someone's ability to do something.

    ``m.room.power_levels`` and ``m.room.join_rules`` (state events), and
    ``m.room.member`` with membership ``leave`` or ``ban`` whose sender is not
    its state key (a kick or a ban, never a user leaving on their own).
    Power levels and join rules count only under state key ``""``, the one the
    auth rules read, as deployed servers count them.
    """
    if not event.is_state:
        return False
    if event.type in ("m.room.power_levels", "m.room.join_rules"):
        return event.state_key == ""
    if event.type == "m.room.member":
        return event.membership in ("leave", "ban") and event.sender != event.state_key
    return False


def split_conflicts(
    state_sets: Sequence[Mapping[StateKey, str]],
) -> tuple[dict[StateKey, str], dict[StateKey, set[str]]]:
    """The unconflicted state map and the conflicted state set, grouped by key.

    A key is unconflicted when every state set has it, with the same event.
    A key missing from some set is conflicted even when the others agree, and
    the conflicted set then holds only the events that are present.
    """
    if not state_sets:
        return {}, {}
    first, rest = state_sets[0], state_sets[1:]
    unconflicted: dict[StateKey, str] = {}
    conflicted: dict[StateKey, set[str]] = {}
    for key, event_id in first.items():
        if all(s.get(key) == event_id for s in rest):
            unconflicted[key] = event_id
    for state in state_sets:
        for key, event_id in state.items():
            if key not in unconflicted:
                conflicted.setdefault(key, set()).add(event_id)
    return unconflicted, conflicted
