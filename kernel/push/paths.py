"""Dot-separated property paths (appendices: "Dot-separated property paths").

``content.m\\.relates_to`` names ``event["content"]["m.relates_to"]``: a
backslash escapes a dot or a backslash; any other escape stays as written
(a backslash followed by that character).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

#: Stands for "the property is absent" (distinct from a JSON null).
MISSING: Any = object()


@lru_cache(maxsize=4096)
def split_path(path: str) -> tuple[str, ...]:
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(path):
        char = path[i]
        if char == "\\" and i + 1 < len(path) and path[i + 1] in ".\\":
            current.append(path[i + 1])
            i += 2
            continue
        if char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return tuple(parts)


def lookup(event: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    """The value at ``parts``, or MISSING when any step is absent or not an object."""
    value: Any = event
    for part in parts:
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value
