"""Payloads that are a record dataclass's fields as one JSON object.

A record class mixes in ``JsonRecord`` (JSON with sorted keys, nested ones too:
floats allowed, as clients put them in account data) or ``CanonicalJsonRecord``
(canonical JSON: no floats) and gets ``encode`` — its fields by name — and
``decode`` — the fields read back by name; other keys of the object are ignored.
Which of the two a kind uses is part of its stored format: never switch a kind
(``tests/unit/test_record_payloads.py`` pins the bytes).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Self

import orjson

from tessera.kernel.canonical_json import encode_canonical_json


def sorted_json(value: object) -> bytes:
    """``value`` as JSON with its objects' keys sorted (not canonical JSON)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    """The names of ``cls``'s fields (computed once per class)."""
    try:
        return _NAMES[cls]
    except KeyError:
        names = _NAMES[cls] = tuple(field.name for field in dataclasses.fields(cls))
        return names


class JsonRecord:
    """Mixin of a record dataclass whose payload is its fields, keys sorted."""

    __slots__ = ()

    def _fields(self) -> dict[str, Any]:
        """The record's fields by name (values as they are, not copied)."""
        return {name: getattr(self, name) for name in _names(type(self))}

    def encode(self) -> bytes:
        return sorted_json(self._fields())

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        body = orjson.loads(payload)
        return cls(**{name: body[name] for name in _names(cls)})


class CanonicalJsonRecord(JsonRecord):
    """Mixin of a record dataclass whose payload is its fields as canonical JSON."""

    __slots__ = ()

    def encode(self) -> bytes:
        return encode_canonical_json(self._fields())
