"""Canonical JSON as the spec's appendix defines it.

The bytes are orjson's with sorted keys (UTF-8, no insignificant white space,
shortest escapes), which match the appendix's grammar; on top of that the Matrix
checks run: integers within ±(2^53−1) and no floats anywhere. Those checks are a
walk over the value because orjson has no option to refuse floats.
"""

from __future__ import annotations

from typing import Any

import orjson

MAX_SAFE_INTEGER = 2**53 - 1
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
#: How deeply JSON may nest; deeper input is hostile, not a conversation.
MAX_DEPTH = 100


class CanonicalJsonError(ValueError):
    """A value that has no canonical JSON form (a float, a too-large integer…)."""


def _check(value: Any, depth: int) -> None:
    # Iterative for dicts and lists in the common shallow case, recursive below.
    if depth > MAX_DEPTH:
        raise CanonicalJsonError("JSON nests too deeply")
    t = type(value)
    if t is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise CanonicalJsonError(f"object key {k!r} is not a string")
            tv = type(v)
            if tv is str or tv is bool or v is None:
                continue
            _check(v, depth + 1)
    elif t is list or t is tuple:
        for v in value:
            tv = type(v)
            if tv is str or tv is bool or v is None:
                continue
            _check(v, depth + 1)
    elif t is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalJsonError(f"integer {value} is outside ±(2^53−1)")
    elif t is float:
        raise CanonicalJsonError(f"float {value!r} is not allowed in canonical JSON")
    elif t is str or t is bool or value is None:
        return
    else:
        raise CanonicalJsonError(f"{t.__name__} is not a JSON value")


def check_canonical(value: Any) -> None:
    """Raise CanonicalJsonError if ``value`` has no canonical JSON form."""
    _check(value, 0)


def encode_canonical_json(value: Any) -> bytes:
    """The canonical JSON bytes of ``value``; raises CanonicalJsonError."""
    _check(value, 0)
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except orjson.JSONEncodeError as e:  # e.g. a lone surrogate in a string
        raise CanonicalJsonError(str(e)) from None


def encode_canonical_json_unchecked(value: Any) -> bytes:
    """Canonical bytes of a value already known to be valid (built by us, or checked).

    Used on hot paths where the value has passed ``check_canonical`` once, such
    as re-encoding a stored PDU's redacted form for hashing.
    """
    return orjson.dumps(value, option=_OPTIONS)


def decode_json(data: bytes | str) -> Any:
    """Parse JSON text (no canonical checks: see ``check_canonical``)."""
    return orjson.loads(data)
