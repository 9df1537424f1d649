"""Sync filters (``POST /user/{userId}/filter``, ``/sync?filter=``): parsing,
validation and matching.

A filter is kept exactly as the client sent it (the filter's record stores the
JSON); ``SyncFilter.parse`` turns it into the values sync needs and raises
FilterError (``M_BAD_JSON``) for a filter whose fields have the wrong types.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Mapping
from typing import Any

#: The timeline limit when the filter gives none (as Synapse), and the cap.
DEFAULT_TIMELINE_LIMIT = 10
MAX_LIMIT = 1000


class FilterError(ValueError):
    pass


def _strings(value: Any, field: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FilterError(f"'{field}' must be a list of strings")
    return tuple(value)


def _bool(value: Any, field: str, default: bool = False) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise FilterError(f"'{field}' must be a boolean")
    return value


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FilterError(f"'{field}' must be an object")
    return value


def _type_matches(pattern: str, event_type: str) -> bool:
    if "*" in pattern:
        return fnmatch.fnmatchcase(event_type, pattern.replace("[", "[[]"))
    return pattern == event_type


@dataclasses.dataclass(frozen=True, slots=True)
class EventFilter:
    limit: int | None = None
    types: tuple[str, ...] | None = None
    not_types: tuple[str, ...] = ()
    senders: tuple[str, ...] | None = None
    not_senders: tuple[str, ...] = ()
    rooms: tuple[str, ...] | None = None
    not_rooms: tuple[str, ...] = ()
    contains_url: bool | None = None
    lazy_load_members: bool = False
    include_redundant_members: bool = False
    #: ``room.timeline.unread_thread_notifications``: counts per thread (push module).
    unread_thread_notifications: bool = False

    @classmethod
    def parse(cls, value: Any, field: str) -> EventFilter:
        body = _object(value, field)
        limit = body.get("limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
            raise FilterError(f"'{field}.limit' must be an integer")
        if limit is not None and limit < 0:
            raise FilterError(f"'{field}.limit' must not be negative")
        contains_url = body.get("contains_url")
        if contains_url is not None:
            _bool(contains_url, f"{field}.contains_url")
        return cls(
            limit=None if limit is None else min(limit, MAX_LIMIT),
            types=_strings(body.get("types"), f"{field}.types"),
            not_types=_strings(body.get("not_types"), f"{field}.not_types") or (),
            senders=_strings(body.get("senders"), f"{field}.senders"),
            not_senders=_strings(body.get("not_senders"), f"{field}.not_senders") or (),
            rooms=_strings(body.get("rooms"), f"{field}.rooms"),
            not_rooms=_strings(body.get("not_rooms"), f"{field}.not_rooms") or (),
            contains_url=contains_url,
            lazy_load_members=_bool(body.get("lazy_load_members"), f"{field}.lazy_load_members"),
            include_redundant_members=_bool(
                body.get("include_redundant_members"), f"{field}.include_redundant_members"
            ),
            unread_thread_notifications=_bool(
                body.get("unread_thread_notifications"), f"{field}.unread_thread_notifications"
            ),
        )

    def allows_room(self, room_id: str) -> bool:
        if room_id in self.not_rooms:
            return False
        return self.rooms is None or room_id in self.rooms

    def allows_type(self, event_type: str) -> bool:
        if any(_type_matches(p, event_type) for p in self.not_types):
            return False
        return self.types is None or any(_type_matches(p, event_type) for p in self.types)

    def allows(
        self, event_type: str, sender: str, content: Mapping[str, Any] | None = None
    ) -> bool:
        if not self.allows_type(event_type):
            return False
        if sender in self.not_senders:
            return False
        if self.senders is not None and sender not in self.senders:
            return False
        if self.contains_url is not None and content is not None:
            return ("url" in content) == self.contains_url
        return True

    @property
    def matches_everything(self) -> bool:
        return (
            self.types is None
            and not self.not_types
            and self.senders is None
            and not self.not_senders
            and self.contains_url is None
        )


@dataclasses.dataclass(frozen=True, slots=True)
class SyncFilter:
    timeline: EventFilter = EventFilter()
    state: EventFilter = EventFilter()
    ephemeral: EventFilter = EventFilter()
    room_account_data: EventFilter = EventFilter()
    account_data: EventFilter = EventFilter()
    presence: EventFilter = EventFilter()
    rooms: tuple[str, ...] | None = None
    not_rooms: tuple[str, ...] = ()
    include_leave: bool = False
    event_fields: tuple[str, ...] | None = None
    event_format: str = "client"

    @property
    def timeline_limit(self) -> int:
        limit = self.timeline.limit
        return DEFAULT_TIMELINE_LIMIT if limit is None else limit

    def allows_room(self, room_id: str) -> bool:
        if room_id in self.not_rooms:
            return False
        return self.rooms is None or room_id in self.rooms

    @classmethod
    def parse(cls, value: Any) -> SyncFilter:
        body = _object(value, "filter")
        room = _object(body.get("room"), "room")
        event_format = body.get("event_format", "client")
        if event_format not in ("client", "federation"):
            raise FilterError("'event_format' must be 'client' or 'federation'")
        return cls(
            timeline=EventFilter.parse(room.get("timeline"), "room.timeline"),
            state=EventFilter.parse(room.get("state"), "room.state"),
            ephemeral=EventFilter.parse(room.get("ephemeral"), "room.ephemeral"),
            room_account_data=EventFilter.parse(room.get("account_data"), "room.account_data"),
            account_data=EventFilter.parse(body.get("account_data"), "account_data"),
            presence=EventFilter.parse(body.get("presence"), "presence"),
            rooms=_strings(room.get("rooms"), "room.rooms"),
            not_rooms=_strings(room.get("not_rooms"), "room.not_rooms") or (),
            include_leave=_bool(room.get("include_leave"), "room.include_leave"),
            event_fields=_strings(body.get("event_fields"), "event_fields"),
            event_format=event_format,
        )


def project_fields(event: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Only the listed (dotted, ``\\.``-escaped) fields of a client event."""
    out: dict[str, Any] = {}
    for field in fields:
        path = [p.replace("\0", ".") for p in field.replace("\\.", "\0").split(".")]
        source: Any = event
        for part in path:
            if not isinstance(source, dict) or part not in source:
                break
            source = source[part]
        else:
            target = out
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = source
    return out
