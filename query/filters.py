"""``RoomEventFilter`` (spec: "Filtering"): parsing, SQL pre-filtering, exact matching.

``sql()`` narrows a query cheaply and never drops an event the filter keeps
(it may keep some the filter drops: SQLite's ``LIKE`` ignores ASCII case, and
``not_types`` wildcards and ``contains_url`` are left to Python). ``matches``
is the exact answer, so a reader runs the SQL, then ``matches`` on each row.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson


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
    unread_thread_notifications: bool = False

    @classmethod
    def parse(cls, value: Any) -> RoomEventFilter:
        """A filter from its JSON object; raises FilterError."""
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise FilterError("a RoomEventFilter must be a JSON object")
        fields: dict[str, Any] = {}
        for key in _LISTS:
            items = value.get(key)
            if items is None:
                continue
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise FilterError(f"'{key}' must be a list of strings")
            fields[key] = tuple(items)
        for key in (*_FLAGS, "contains_url"):
            flag = value.get(key)
            if flag is None:
                continue
            if not isinstance(flag, bool):
                raise FilterError(f"'{key}' must be a boolean")
            fields[key] = flag
        limit = value.get("limit")
        if limit is not None:
            if type(limit) is not int or limit <= 0:
                raise FilterError("'limit' must be an integer greater than 0")
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

    def allows_room(self, room_id: str) -> bool:
        if room_id in self.not_rooms:
            return False
        return self.rooms is None or room_id in self.rooms

    def matches(
        self,
        event_type: str,
        sender: str,
        room_id: str,
        content: Mapping[str, Any] | None = None,
    ) -> bool:
        """The exact answer; ``content`` is only read when ``contains_url`` is set."""
        if not self.allows_room(room_id):
            return False
        if sender in self.not_senders or (self.senders is not None and sender not in self.senders):
            return False
        if type_matches(event_type, self.not_types):
            return False
        if self.types is not None and not type_matches(event_type, self.types):
            return False
        if self.contains_url is not None:
            has_url = isinstance((content or {}).get("url"), str)
            if has_url != self.contains_url:
                return False
        return True

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
