"""Step 3: the remaining events in mainline ordering.

Positions are counted here from the root of the mainline (its oldest power
levels event is 1, P₀ is the longest), and an event whose power levels chain
never meets the mainline gets 0. Sorting ascending by that depth is the spec's
order ("mainline position of x is greater", with ∞ first) without a sentinel.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..events import Event
from .source import EventCache

_POWER_LEVELS = ("m.room.power_levels", "")


def power_levels_auth_event(cache: EventCache, event: Event) -> Event | None:
    """The ``m.room.power_levels`` event among ``event``'s ``auth_events``, if any."""
    for auth_id in event.auth_event_ids:
        auth = cache.get(auth_id)
        if auth is not None and auth.is_state and auth.state_entry == _POWER_LEVELS:
            return auth
    return None


def mainline_of(cache: EventCache, power_levels_id: str | None) -> list[str]:
    """[P₀, P₁, …, Pₙ]: each Pᵢ₊₁ is the power levels event Pᵢ cites."""
    mainline: list[str] = []
    seen: set[str] = set()
    event = cache.get(power_levels_id) if power_levels_id is not None else None
    while event is not None and event.event_id not in seen:
        seen.add(event.event_id)
        mainline.append(event.event_id)
        event = power_levels_auth_event(cache, event)
    return mainline


def mainline_order(
    cache: EventCache, event_ids: Iterable[str], power_levels_id: str | None
) -> list[str]:
    """``event_ids`` sorted by the mainline ordering based on ``power_levels_id``."""
    mainline = mainline_of(cache, power_levels_id)
    depth: dict[str, int] = {p: len(mainline) - i for i, p in enumerate(mainline)}
    # Off-mainline power levels events met on the way, with the depth they led
    # to: many events share the same few chains, so each is walked once.
    memo: dict[str, int] = {}

    def position(event: Event) -> int:
        walked: dict[str, None] = {}  # ordered, with O(1) membership
        found = 0
        # e₀ itself is not looked up: the spec starts at e₁.
        step = power_levels_auth_event(cache, event)
        while step is not None:
            sid = step.event_id
            if sid in depth:
                found = depth[sid]
                break
            if sid in memo:
                found = memo[sid]
                break
            if sid in walked:  # a forged cycle (v1/v2 IDs); it meets no mainline
                break
            walked[sid] = None
            step = power_levels_auth_event(cache, step)
        for sid in walked:
            memo[sid] = found
        return found

    keyed: list[tuple[int, int, str]] = []
    for event_id in event_ids:
        event = cache.get(event_id)
        if event is not None:
            keyed.append((position(event), event.origin_server_ts, event_id))
    keyed.sort()
    return [event_id for _, _, event_id in keyed]
