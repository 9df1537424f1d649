"""Definitions: auth chains, the auth difference and (v2.1) the conflicted state subgraph.

Every walk here is linear in the events it visits: a frontier-at-a-time
breadth-first search over ``auth_events`` with one ``seen`` set, fetching each
frontier from the source in one batch. No per-event chain is materialised, so
memory stays linear in the room's auth graph rather than quadratic.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from .source import EventCache


def auth_closure(
    cache: EventCache, start: Iterable[str], stop: Collection[str] = frozenset()
) -> set[str]:
    """``start`` and every event reachable from it through ``auth_events``.

    The walk does not enter events in ``stop`` (nor start from them). IDs the
    source does not hold are kept in the result but not walked through.
    """
    frontier = [s for s in dict.fromkeys(start) if s not in stop]
    seen = set(frontier)
    while frontier:
        cache.load(frontier)
        following: list[str] = []
        for event_id in frontier:
            event = cache.get(event_id)
            if event is None:
                continue
            for auth_id in event.auth_event_ids:
                if auth_id not in seen and auth_id not in stop:
                    seen.add(auth_id)
                    following.append(auth_id)
        frontier = following
    return seen


def auth_difference(
    cache: EventCache, unconflicted: Iterable[str], conflicted_by_set: Sequence[set[str]]
) -> set[str]:
    """∪ Cᵢ − ∩ Cᵢ, where Cᵢ is the full auth chain of state set i.

    Cᵢ counts the state set's own events as well as their auth chains: this
    does not change the full conflicted set (a conflicted event is in it anyway,
    an unconflicted one is in every Cᵢ), and it is how deployed servers compute it.

    Every state set holds the unconflicted events, so Cᵢ = A ∪ Dᵢ with A the
    closure of the unconflicted events and Dᵢ that of set i's conflicted
    events; then ∪ Cᵢ − ∩ Cᵢ = (∪ Dᵢ − ∩ Dᵢ) − A. A is closed under
    ``auth_events``, so each Dᵢ walk stops at A and only visits the part of the
    graph the forks do not share.
    """
    common = auth_closure(cache, unconflicted)
    chains = [auth_closure(cache, ids, stop=common) for ids in conflicted_by_set]
    if not chains:
        return set()
    union = set().union(*chains)
    return union.difference(chains[0].intersection(*chains[1:]))


def conflicted_subgraph(cache: EventCache, conflicted: Collection[str]) -> set[str]:
    """MSC4297: every event on an ``auth_events`` path between two conflicted events.

    The endpoints are included. An event is on such a path when it is reachable
    from a conflicted event (an ancestor, found walking ``auth_events``) and a
    conflicted event is reachable from it (a descendant, found walking the same
    edges backwards within the ancestors).
    """
    ancestors = auth_closure(cache, conflicted)
    cited_by: dict[str, list[str]] = {}
    for event_id in ancestors:
        event = cache.get(event_id)
        if event is None:
            continue
        for auth_id in event.auth_event_ids:
            cited_by.setdefault(auth_id, []).append(event_id)
    # Walk "is cited by" edges up from each conflicted event; anything reached
    # (other than by standing still) leads down to a conflicted event.
    reached: set[str] = set()
    stack = [c for c in conflicted if c in ancestors]
    while stack:
        for citer in cited_by.get(stack.pop(), ()):
            if citer not in reached:
                reached.add(citer)
                stack.append(citer)
    return reached.union(c for c in conflicted if c in ancestors)
