"""PDU validation: the shape of an event before any hash, signature or auth check.

``validate_pdu`` raises ``InvalidPdu`` with a message that says what is wrong;
it checks the 65,536-byte limit, the presence and types of fields for the room
version, the per-key size limits, depth and timestamp ranges, and (v6+) that
the event has a canonical JSON form at all.
"""

from __future__ import annotations

from typing import Any

from .canonical_json import MAX_SAFE_INTEGER, CanonicalJsonError, encode_canonical_json
from .identifiers import MAX_ID_BYTES, is_valid_event_id, is_valid_room_id, is_valid_user_id
from .room_versions import RoomVersion

#: The whole event in federation format, signatures included, as canonical JSON.
MAX_PDU_BYTES = 65_536


class InvalidPdu(ValueError):
    """The PDU is malformed; the message says which field and why."""


def _require(pdu: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if key not in pdu:
        raise InvalidPdu(f"missing field {key!r}")
    value = pdu[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidPdu(f"field {key!r} must be {what}")
    return value


def _check_event_refs(rv: RoomVersion, pdu: dict[str, Any], key: str) -> None:
    refs = _require(pdu, key, list, "a list")
    for ref in refs:
        if rv.event_ids_are_hashes:
            if not isinstance(ref, str) or not is_valid_event_id(ref):
                raise InvalidPdu(f"{key} must list event IDs, found {ref!r:.80}")
        elif not (
            isinstance(ref, list)
            and len(ref) == 2
            and isinstance(ref[0], str)
            and is_valid_event_id(ref[0])
            and isinstance(ref[1], dict)
        ):
            raise InvalidPdu(f"{key} must list [event_id, hashes] pairs, found {ref!r:.80}")


def validate_pdu(rv: RoomVersion, pdu: Any) -> None:
    """Raise InvalidPdu unless ``pdu`` is a well-formed PDU of room version ``rv``."""
    if not isinstance(pdu, dict):
        raise InvalidPdu("a PDU must be a JSON object")
    try:
        size = len(encode_canonical_json(pdu))
    except CanonicalJsonError as e:
        if rv.strict_canonical_json:
            raise InvalidPdu(f"not canonical JSON: {e}") from None
        size = 0  # pre-v6 rooms tolerate such values; they are sized below
    if size > MAX_PDU_BYTES:
        raise InvalidPdu(f"the event is {size} bytes, over the limit of {MAX_PDU_BYTES}")

    event_type = _require(pdu, "type", str, "a string")
    if len(event_type.encode()) > MAX_ID_BYTES:
        raise InvalidPdu("type is longer than 255 bytes")
    sender = _require(pdu, "sender", str, "a string")
    if not is_valid_user_id(sender):
        raise InvalidPdu(f"sender {sender!r:.80} is not a valid user ID")
    if "state_key" in pdu:
        state_key = _require(pdu, "state_key", str, "a string")
        if len(state_key.encode()) > MAX_ID_BYTES:
            raise InvalidPdu("state_key is longer than 255 bytes")
    _require(pdu, "content", dict, "an object")

    is_create = event_type == "m.room.create" and pdu.get("state_key") == ""
    if rv.room_id_is_create_event_id and is_create:
        if "room_id" in pdu:
            raise InvalidPdu("a create event of this room version has no room_id")
    else:
        room_id = _require(pdu, "room_id", str, "a string")
        if not is_valid_room_id(room_id):
            raise InvalidPdu(f"room_id {room_id!r:.80} is not a valid room ID")

    if not rv.event_ids_are_hashes:
        event_id = _require(pdu, "event_id", str, "a string")
        if not is_valid_event_id(event_id):
            raise InvalidPdu(f"event_id {event_id!r:.80} is not a valid event ID")

    ts = _require(pdu, "origin_server_ts", int, "an integer")
    if not 0 <= ts <= MAX_SAFE_INTEGER:
        raise InvalidPdu("origin_server_ts is out of range")
    depth = _require(pdu, "depth", int, "an integer")
    if not 0 <= depth <= MAX_SAFE_INTEGER:
        raise InvalidPdu("depth is out of range")

    _check_event_refs(rv, pdu, "prev_events")
    _check_event_refs(rv, pdu, "auth_events")

    hashes = _require(pdu, "hashes", dict, "an object")
    if not isinstance(hashes.get("sha256"), str):
        raise InvalidPdu("hashes.sha256 must be a string")
    signatures = _require(pdu, "signatures", dict, "an object")
    for server, keys in signatures.items():
        if not isinstance(keys, dict) or not all(isinstance(s, str) for s in keys.values()):
            raise InvalidPdu(f"signatures of {server!r:.80} must map key IDs to strings")
    if "unsigned" in pdu and not isinstance(pdu["unsigned"], dict):
        raise InvalidPdu("unsigned must be an object")
    if event_type == "m.room.redaction" and not rv.redacts_in_content:
        redacts = pdu.get("redacts")
        if redacts is not None and not isinstance(redacts, str):
            raise InvalidPdu("redacts must be an event ID")
