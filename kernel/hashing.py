"""Content hashes, reference hashes and event IDs (server-server API, "Hashes").

The content hash covers the event without ``unsigned``, ``signatures`` and
``hashes``; the reference hash covers the redacted event without ``signatures``
and ``unsigned``. From room version 3 on, the event ID *is* the reference hash.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .b64 import decode_base64, encode_base64, encode_base64_urlsafe
from .canonical_json import encode_canonical_json
from .redaction import redact
from .room_versions import EventIdFormat, RoomVersion

_NOT_IN_CONTENT_HASH = ("unsigned", "signatures", "hashes")


def content_hash(event: dict[str, Any]) -> bytes:
    """SHA-256 of the canonical JSON of the event less unsigned, signatures, hashes."""
    stripped = {k: v for k, v in event.items() if k not in _NOT_IN_CONTENT_HASH}
    return hashlib.sha256(encode_canonical_json(stripped)).digest()


def add_content_hash(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``event`` with ``hashes.sha256`` set to its content hash."""
    out = dict(event)
    out["hashes"] = {"sha256": encode_base64(content_hash(event))}
    return out


def content_hash_matches(event: dict[str, Any]) -> bool:
    """Does ``hashes.sha256`` match the event's content hash?"""
    hashes = event.get("hashes")
    if not isinstance(hashes, dict):
        return False
    claimed = hashes.get("sha256")
    if not isinstance(claimed, str):
        return False
    try:
        return decode_base64(claimed) == content_hash(event)
    except ValueError:
        return False


def reference_hash(rv: RoomVersion, event: dict[str, Any]) -> bytes:
    """SHA-256 of the redacted event less signatures and unsigned."""
    redacted = redact(rv, event)
    redacted.pop("signatures", None)
    redacted.pop("unsigned", None)
    return hashlib.sha256(encode_canonical_json(redacted)).digest()


def compute_event_id(rv: RoomVersion, event: dict[str, Any]) -> str:
    """The event's ID: carried in the PDU for v1/v2, the reference hash from v3."""
    fmt = rv.event_id_format
    if fmt is EventIdFormat.SERVER_GENERATED:
        event_id = event.get("event_id")
        if not isinstance(event_id, str):
            raise ValueError("room version 1 and 2 events carry their own event_id")
        return event_id
    digest = reference_hash(rv, event)
    if fmt is EventIdFormat.REFERENCE_HASH_BASE64:
        return "$" + encode_base64(digest)
    return "$" + encode_base64_urlsafe(digest)


def room_id_from_create_event_id(create_event_id: str) -> str:
    """v12 (MSC4291): the room ID is the create event's ID with sigil ``!``."""
    return "!" + create_event_id[1:]
