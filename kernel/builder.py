"""Building a new PDU: fields, content hash, signature and event ID.

The order matters and is the spec's: the content hash is computed over the
unsigned event, the signature over the redacted event *with* its hashes, and the
v3+ event ID over the redacted event without signatures (so signing does not
change the ID).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from .hashing import add_content_hash, compute_event_id
from .identifiers import server_name_of
from .room_versions import RoomVersion
from .signing import SigningKey, sign_event


def event_references(
    rv: RoomVersion, event_ids: Sequence[str], hashes: Mapping[str, str] | None = None
) -> list[Any]:
    """``prev_events``/``auth_events`` in the room version's format.

    v1/v2 reference events as ``[event_id, {"sha256": reference hash}]`` pairs;
    ``hashes`` gives those reference hashes where known.
    """
    if rv.event_ids_are_hashes:
        return list(event_ids)
    hashes = hashes or {}
    return [[e, {"sha256": hashes[e]} if e in hashes else {}] for e in event_ids]


def build_pdu(
    rv: RoomVersion,
    *,
    room_id: str | None,
    sender: str,
    event_type: str,
    content: dict[str, Any],
    prev_events: Sequence[str],
    auth_events: Sequence[str],
    depth: int,
    origin_server_ts: int,
    signing_key: SigningKey,
    state_key: str | None = None,
    redacts: str | None = None,
    reference_hashes: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """A new, hashed and signed PDU and its event ID.

    ``room_id`` is None only for the create event of a room version whose room
    ID is derived from it (v12); the room ID is then the returned event ID with
    sigil ``!``.
    """
    origin = server_name_of(sender)
    pdu: dict[str, Any] = {
        "type": event_type,
        "sender": sender,
        "content": content,
        "prev_events": event_references(rv, prev_events, reference_hashes),
        "auth_events": event_references(rv, auth_events, reference_hashes),
        "depth": depth,
        "origin_server_ts": origin_server_ts,
    }
    if room_id is not None:
        pdu["room_id"] = room_id
    if state_key is not None:
        pdu["state_key"] = state_key
    if redacts is not None:
        if rv.redacts_in_content:
            pdu["content"] = {**content, "redacts": redacts}
        else:
            pdu["redacts"] = redacts
    if not rv.event_ids_are_hashes:
        pdu["event_id"] = f"${secrets.token_urlsafe(18)}:{origin}"
        pdu["origin"] = origin
    pdu = add_content_hash(pdu)
    pdu = sign_event(rv, pdu, origin, signing_key)
    return compute_event_id(rv, pdu), pdu
