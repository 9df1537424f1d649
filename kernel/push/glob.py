"""Glob-style patterns (appendices: ``*`` any run of characters, ``?`` exactly one)
compiled once to regular expressions, matched case-insensitively.

Two shapes: the whole value must match (``event_match`` on any key), or, for
``content.body``, any substring that starts and ends at a word boundary — the
start or end of the value, or a character outside ``[A-Za-z0-9_]``.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = "A-Za-z0-9_"


def _translate(pattern: str) -> str:
    out: list[str] = []
    for char in pattern:
        if char == "*":
            if out and out[-1] == ".*?":
                continue  # "**" is "*": runs of stars only feed backtracking
            out.append(".*?")
        elif char == "?":
            out.append(".")
        else:
            out.append(re.escape(char))
    return "".join(out)


@lru_cache(maxsize=8192)
def whole_value(pattern: str) -> re.Pattern[str]:
    """Matches (with ``fullmatch``) values the glob matches entirely."""
    return re.compile(_translate(pattern), re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=8192)
def word_bounded(pattern: str, *, literal: bool = False) -> re.Pattern[str]:
    """Finds (with ``search``) the glob, or the literal text, between word boundaries."""
    body = re.escape(pattern) if literal else _translate(pattern)
    return re.compile(f"(?<![{_WORD}])(?:{body})(?![{_WORD}])", re.IGNORECASE | re.DOTALL)
