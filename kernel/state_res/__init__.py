"""State resolution: v2 (room versions 2–11) and v2.1 (room version 12, MSC4297).

Public API:

- ``resolve_state(room_version, state_sets, source)``: the resolved state map
  ``(type, state_key) -> event_id`` of several state maps, per the room
  version's algorithm (``RoomVersion.state_res``).
- ``EventSource``: the protocol through which resolution reads events
  (synchronous: the kernel does no I/O, the caller preloads); ``MappingEventSource``
  implements it over events in memory.

One module per step of the spec's algorithm: ``conflicts`` (definitions),
``auth_chain`` (auth difference, conflicted subgraph), ``ordering`` (step 1),
``iterative`` (steps 2 and 4), ``mainline`` (step 3), ``resolve`` (the whole).
"""

from .resolve import resolve_state
from .source import EventSource, MappingEventSource

__all__ = ["EventSource", "MappingEventSource", "resolve_state"]
