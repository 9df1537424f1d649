"""The event value type the kernel's rules read.

An ``Event`` wraps a PDU dict in federation format and exposes its fields with
one meaning across room versions: ``prev_event_ids`` and ``auth_event_ids`` are
plain lists of IDs even in v1/v2 (where PDUs carry ``[id, hashes]`` pairs);
``redacts`` comes from the content in v11+; ``room_id`` of a v12 create event is
derived from its own ID. The wrapped dict is never changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .hashing import compute_event_id, room_id_from_create_event_id
from .room_versions import RoomVersion

StateKey = tuple[str, str]
"""A state entry's key: ``(type, state_key)``."""


def _ids(refs: Any) -> list[str]:
    if not isinstance(refs, list):
        return []
    out: list[str] = []
    for ref in refs:
        if isinstance(ref, str):
            out.append(ref)
        elif isinstance(ref, list) and ref and isinstance(ref[0], str):  # v1/v2 pair
            out.append(ref[0])
    return out


class Event:
    __slots__ = ("_auth", "_event_id", "_prev", "pdu", "room_version")

    def __init__(
        self, pdu: dict[str, Any], room_version: RoomVersion, event_id: str | None = None
    ) -> None:
        self.pdu = pdu
        self.room_version = room_version
        self._event_id = event_id
        self._prev: list[str] | None = None
        self._auth: list[str] | None = None

    def __repr__(self) -> str:
        return f"<Event {self.event_id} {self.type} {self.state_key!r} by {self.sender}>"

    @property
    def event_id(self) -> str:
        if self._event_id is None:
            self._event_id = compute_event_id(self.room_version, self.pdu)
        return self._event_id

    @property
    def type(self) -> str:
        return str(self.pdu.get("type", ""))

    @property
    def state_key(self) -> str | None:
        sk = self.pdu.get("state_key")
        return sk if isinstance(sk, str) else None

    @property
    def is_state(self) -> bool:
        return self.state_key is not None

    @property
    def state_entry(self) -> StateKey:
        """``(type, state_key)``; only meaningful for state events."""
        return (self.type, self.state_key or "")

    @property
    def sender(self) -> str:
        return str(self.pdu.get("sender", ""))

    @property
    def content(self) -> Mapping[str, Any]:
        c = self.pdu.get("content")
        return c if isinstance(c, dict) else {}

    @property
    def room_id(self) -> str:
        room_id = self.pdu.get("room_id")
        if (
            room_id is None
            and self.room_version.room_id_is_create_event_id
            and self.type == "m.room.create"
            and self.state_key == ""
        ):
            return room_id_from_create_event_id(self.event_id)
        return room_id if isinstance(room_id, str) else ""

    @property
    def depth(self) -> int:
        d = self.pdu.get("depth")
        return d if type(d) is int else 0

    @property
    def origin_server_ts(self) -> int:
        ts = self.pdu.get("origin_server_ts")
        return ts if type(ts) is int else 0

    @property
    def prev_event_ids(self) -> list[str]:
        if self._prev is None:
            self._prev = _ids(self.pdu.get("prev_events"))
        return self._prev

    @property
    def auth_event_ids(self) -> list[str]:
        if self._auth is None:
            self._auth = _ids(self.pdu.get("auth_events"))
        return self._auth

    @property
    def redacts(self) -> str | None:
        if self.room_version.redacts_in_content:
            r = self.content.get("redacts")
        else:
            r = self.pdu.get("redacts")
        return r if isinstance(r, str) else None

    @property
    def membership(self) -> str | None:
        m = self.content.get("membership")
        return m if isinstance(m, str) else None
