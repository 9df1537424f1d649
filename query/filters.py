"""Filters (spec: "Filtering"): ``RoomEventFilter`` — parsing, SQL pre-filtering,
exact matching — and ``SyncFilter``, the whole filter definition that ``/sync``
reads (``POST /user/{userId}/filter``, ``/sync?filter=``).

``sql()`` narrows a query cheaply and never drops an event the filter keeps
(it may keep some the filter drops: SQLite's ``LIKE`` ignores ASCII case, and
``not_types`` wildcards and ``contains_url`` are left to Python). ``matches``
is the exact answer, so a reader runs the SQL, then ``matches`` on each row.

A stored filter is kept exactly as the client sent it (the filter's record holds
the JSON); ``SyncFilter.parse`` turns it into the values sync needs and raises
FilterError (``M_BAD_JSON``) for a filter whose fields have the wrong types.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

#: Sync's timeline limit when the filter gives none (as Synapse), and the cap of
#: every limit of a sync filter.
DEFAULT_TIMELINE_LIMIT = 10
MAX_LIMIT = 1000


class FilterError(ValueError):
    """The filter is not valid JSON (``not_json``) or not a valid filter."""

    def __init__(self, message: str, *, not_json: bool = False) -> None:
        super().__init__(message)
        self.not_json = not_json


_LISTS = ("types", "not_types", "senders", "not_senders", "rooms", "not_rooms")
_FLAGS = (
    "lazy_load_members",
    "include_redundant_members",
    "unread_thread_notifications",
)


@functools.lru_cache(maxsize=1024)
def _pattern(glob: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in glob.split("*")), re.DOTALL)


def type_matches(event_type: str, globs: Sequence[str]) -> bool:
    """Does ``event_type`` match one of the patterns (``*``: any characters)?"""
    for glob in globs:
        if "*" in glob:
            if _pattern(glob).fullmatch(event_type):
                return True
        elif glob == event_type:
            return True
    return False


def _like(glob: str) -> str:
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def _strings(value: Mapping[str, Any], key: str, path: str) -> tuple[str, ...] | None:
    items = value.get(key)
    if items is None:
        return None
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise FilterError(f"'{path}{key}' must be a list of strings")
    return tuple(items)


def _flag(value: Mapping[str, Any], key: str, path: str) -> bool | None:
    flag = value.get(key)
    if flag is not None and not isinstance(flag, bool):
        raise FilterError(f"'{path}{key}' must be a boolean")
    return flag


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FilterError(f"'{path}' must be a JSON object")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class RoomEventFilter:
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
    #: Counts per thread (``room.timeline`` of a sync filter; the push module).
    unread_thread_notifications: bool = False

    @classmethod
    def parse(cls, value: Any, *, path: str = "", min_limit: int = 1) -> RoomEventFilter:
        """A filter from its JSON object; raises FilterError. ``path`` prefixes the
        field names in errors (``room.timeline.``); ``min_limit`` is the smallest
        ``limit`` accepted (the spec says greater than 0; sync takes 0 too)."""
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise FilterError("a RoomEventFilter must be a JSON object")
        fields: dict[str, Any] = {}
        for key in _LISTS:
            items = _strings(value, key, path)
            if items is not None:
                fields[key] = items
        for key in (*_FLAGS, "contains_url"):
            flag = _flag(value, key, path)
            if flag is not None:
                fields[key] = flag
        limit = value.get("limit")
        if limit is not None:
            if type(limit) is not int or limit < min_limit:
                raise FilterError(f"'{path}limit' must be an integer of at least {min_limit}")
            fields["limit"] = limit
        return cls(**fields)

    @classmethod
    def from_json(cls, text: str | None) -> RoomEventFilter:
        """A filter from a query parameter's JSON text (absent: no filtering)."""
        if text is None or not text.strip():
            return cls()
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise FilterError("the filter is not valid JSON", not_json=True) from None
        return cls.parse(value)

    @property
    def matches_everything(self) -> bool:
        """Nothing but the room lists narrows it (sync reads a room's timeline
        with a plain ``LIMIT`` then)."""
        return (
            self.types is None
            and not self.not_types
            and self.senders is None
            and not self.not_senders
            and self.contains_url is None
        )

    def allows_room(self, room_id: str) -> bool:
        if room_id in self.not_rooms:
            return False
        return self.rooms is None or room_id in self.rooms

    def allows_type(self, event_type: str) -> bool:
        if type_matches(event_type, self.not_types):
            return False
        return self.types is None or type_matches(event_type, self.types)

    def allows(
        self, event_type: str, sender: str, content: Mapping[str, Any] | None = None
    ) -> bool:
        """Type and sender, and ``contains_url`` when ``content`` is given; the room
        lists are left to the caller (sync applies ``room.rooms``, not a section's)."""
        if sender in self.not_senders or (self.senders is not None and sender not in self.senders):
            return False
        if type_matches(event_type, self.not_types):
            return False
        if self.types is not None and not type_matches(event_type, self.types):
            return False
        if self.contains_url is not None and content is not None:
            return isinstance(content.get("url"), str) == self.contains_url
        return True

    def matches(
        self,
        event_type: str,
        sender: str,
        room_id: str,
        content: Mapping[str, Any] | None = None,
    ) -> bool:
        """The exact answer; ``content`` is only read when ``contains_url`` is set
        (None: an event without a ``url``)."""
        if room_id in self.not_rooms or (self.rooms is not None and room_id not in self.rooms):
            return False
        return self.allows(event_type, sender, {} if content is None else content)

    def sql(self, alias: str = "e") -> tuple[str, list[Any]]:
        """A condition on ``alias``'s ``type``, ``sender`` and ``room_id`` that keeps
        every event ``matches`` keeps; ``"1 = 1"`` when there is nothing to narrow."""
        parts: list[str] = []
        params: list[Any] = []

        def within(column: str, values: Sequence[str], negate: bool = False) -> None:
            if not values:
                parts.append("1 = 1" if negate else "1 = 0")
                return
            marks = ",".join("?" * len(values))
            parts.append(f"{alias}.{column} {'NOT IN' if negate else 'IN'} ({marks})")
            params.extend(values)

        if self.types is not None:
            exact = [t for t in self.types if "*" not in t]
            globs = [t for t in self.types if "*" in t]
            alternatives: list[str] = []
            if exact:
                alternatives.append(f"{alias}.type IN ({','.join('?' * len(exact))})")
                params.extend(exact)
            for glob in globs:
                alternatives.append(f"{alias}.type LIKE ? ESCAPE '\\'")
                params.append(_like(glob))
            parts.append("(" + " OR ".join(alternatives) + ")" if alternatives else "1 = 0")
        exact_not = [t for t in self.not_types if "*" not in t]
        if exact_not:
            within("type", exact_not, negate=True)
        if self.senders is not None:
            within("sender", self.senders)
        if self.not_senders:
            within("sender", self.not_senders, negate=True)
        if self.rooms is not None:
            within("room_id", self.rooms)
        if self.not_rooms:
            within("room_id", self.not_rooms, negate=True)
        return (" AND ".join(parts) if parts else "1 = 1"), params


def _section(value: Any, path: str) -> RoomEventFilter:
    """One section of a sync filter: ``limit`` 0 allowed, capped at MAX_LIMIT."""
    section = RoomEventFilter.parse(_object(value, path), path=path + ".", min_limit=0)
    if section.limit is not None and section.limit > MAX_LIMIT:
        return dataclasses.replace(section, limit=MAX_LIMIT)
    return section


@dataclasses.dataclass(frozen=True, slots=True)
class SyncFilter:
    """The spec's ``Filter``: the sections of a sync response, each a
    ``RoomEventFilter`` (account data and presence use only its event fields)."""

    timeline: RoomEventFilter = RoomEventFilter()
    state: RoomEventFilter = RoomEventFilter()
    ephemeral: RoomEventFilter = RoomEventFilter()
    room_account_data: RoomEventFilter = RoomEventFilter()
    account_data: RoomEventFilter = RoomEventFilter()
    presence: RoomEventFilter = RoomEventFilter()
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
            timeline=_section(room.get("timeline"), "room.timeline"),
            state=_section(room.get("state"), "room.state"),
            ephemeral=_section(room.get("ephemeral"), "room.ephemeral"),
            room_account_data=_section(room.get("account_data"), "room.account_data"),
            account_data=_section(body.get("account_data"), "account_data"),
            presence=_section(body.get("presence"), "presence"),
            rooms=_strings(room, "rooms", "room."),
            not_rooms=_strings(room, "not_rooms", "room.") or (),
            include_leave=bool(_flag(room, "include_leave", "room.")),
            event_fields=_strings(body, "event_fields", ""),
            event_format=event_format,
        )


def project_fields(event: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Only the listed (dotted, ``\\.``-escaped) fields of a client event
    (the filter's ``event_fields``)."""
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
