"""How state resolution reaches events: a small synchronous protocol.

The kernel is pure and does no I/O, so the protocol is synchronous: the caller
(the room aggregate, the federation join handler) preloads what a resolution
needs — the events of the state sets and their whole auth chains — and hands
them over behind this protocol. An event the source does not hold is treated
as absent: it drops out of the conflicted set and of the auth checks, which is
what the spec asks for events a server could not fetch. Tests replace the
source with a dict.

``EventCache`` wraps one source for the duration of one resolution: each event
is asked for once, and the graph walks ask in batches (one call per frontier),
so a source backed by a preloaded map or a batch query stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from ..events import Event


class EventSource(Protocol):
    """The events state resolution may read."""

    def get_events(self, event_ids: Iterable[str]) -> Mapping[str, Event]:
        """The events among ``event_ids`` that the source holds; absent IDs are left out."""
        ...

    def is_rejected(self, event_id: str) -> bool:
        """Whether the event was rejected on receipt.

        Iterative auth checks never take a rejected event from an event's own
        ``auth_events`` (spec: "if the auth event is not rejected").
        """
        ...


class MappingEventSource:
    """An ``EventSource`` over events already in memory."""

    __slots__ = ("_events", "_rejected")

    def __init__(self, events: Mapping[str, Event], rejected: Iterable[str] = ()) -> None:
        self._events = events
        self._rejected = frozenset(rejected)

    @classmethod
    def of(cls, events: Iterable[Event], rejected: Iterable[str] = ()) -> MappingEventSource:
        return cls({e.event_id: e for e in events}, rejected)

    def get_events(self, event_ids: Iterable[str]) -> Mapping[str, Event]:
        events = self._events
        return {i: events[i] for i in event_ids if i in events}

    def is_rejected(self, event_id: str) -> bool:
        return event_id in self._rejected


class EventCache:
    """One resolution's memo of the source: every ID is fetched at most once."""

    __slots__ = ("_absent", "_events", "_source")

    def __init__(self, source: EventSource) -> None:
        self._source = source
        self._events: dict[str, Event] = {}
        self._absent: set[str] = set()

    def load(self, event_ids: Iterable[str]) -> None:
        """Fetch, in one batch, those of ``event_ids`` not asked for yet."""
        events, absent = self._events, self._absent
        wanted = {i for i in event_ids if i not in events and i not in absent}
        if not wanted:
            return
        found = self._source.get_events(wanted)
        events.update(found)
        absent.update(wanted.difference(found))

    def get(self, event_id: str) -> Event | None:
        event = self._events.get(event_id)
        if event is None and event_id not in self._absent:
            self.load((event_id,))
            event = self._events.get(event_id)
        return event

    def is_rejected(self, event_id: str) -> bool:
        return self._source.is_rejected(event_id)
