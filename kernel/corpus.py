"""Checking a PDU case against the verdicts a correct implementation gives.

A case is the corpus format of ``fixtures/pdu-corpus`` (see its README): a room
version, a PDU in federation format, the expected event ID, content-hash verdict,
signature verdict and redacted form, and the origin servers' public keys.
``check_case`` returns what differs (an empty list when all agree).
"""

from __future__ import annotations

from typing import Any

from .b64 import decode_base64
from .hashing import compute_event_id, content_hash_matches
from .identifiers import server_name_of
from .redaction import redact
from .room_versions import UnknownRoomVersion, room_version
from .signing import verify_event_signature


def _signature_ok(rv: Any, pdu: dict[str, Any], server_keys: dict[str, Any]) -> bool:
    """Does the sender's server sign the event with one of its known keys?"""
    try:
        origin = server_name_of(str(pdu.get("sender", "")))
    except ValueError:
        return False
    keys = server_keys.get(origin) or {}
    signed_with = (pdu.get("signatures") or {}).get(origin) or {}
    for key_id in signed_with:
        public = keys.get(key_id)
        if not isinstance(public, str):
            continue
        try:
            public_key = decode_base64(public)
        except ValueError:
            continue
        if verify_event_signature(rv, pdu, origin, key_id, public_key):
            return True
    return False


def check_case(case: Any) -> list[str]:
    """What differs between the kernel's verdicts and the case's expected ones."""
    if not isinstance(case, dict):
        return ["case is not a JSON object"]
    missing = [k for k in ("room_version", "pdu", "expected") if k not in case]
    if missing:
        return [f"case lacks {', '.join(missing)}"]
    try:
        rv = room_version(case["room_version"])
    except UnknownRoomVersion as e:
        return [str(e)]
    pdu, expected = case["pdu"], case["expected"]
    if not isinstance(pdu, dict) or not isinstance(expected, dict):
        return ["pdu and expected must be JSON objects"]
    diffs: list[str] = []

    if "event_id" in expected:
        try:
            event_id: str | None = compute_event_id(rv, pdu)
        except ValueError as e:
            event_id = None
            diffs.append(f"event_id: {e}")
        if event_id is not None and event_id != expected["event_id"]:
            diffs.append(f"event_id: got {event_id} expected {expected['event_id']}")
    if "content_hash_ok" in expected:
        ok = content_hash_matches(pdu)
        if ok != expected["content_hash_ok"]:
            diffs.append(f"content_hash_ok: got {ok} expected {expected['content_hash_ok']}")
    if "signature_ok" in expected:
        ok = _signature_ok(rv, pdu, case.get("server_keys") or {})
        if ok != expected["signature_ok"]:
            diffs.append(f"signature_ok: got {ok} expected {expected['signature_ok']}")
    if "redacted" in expected:
        redacted = redact(rv, pdu)
        redacted.pop("signatures", None)
        redacted.pop("unsigned", None)
        if redacted != expected["redacted"]:
            diffs.append(f"redacted: {_dict_diff(redacted, expected['redacted'])}")
    return diffs


def _dict_diff(got: dict[str, Any], want: Any) -> str:
    if not isinstance(want, dict):
        return "expected form is not an object"
    extra = sorted(set(got) - set(want))
    lacking = sorted(set(want) - set(got))
    changed = sorted(k for k in set(got) & set(want) if got[k] != want[k])
    parts = []
    if extra:
        parts.append(f"extra keys {extra}")
    if lacking:
        parts.append(f"missing keys {lacking}")
    if changed:
        parts.append(f"different {changed}")
    return "; ".join(parts) or "differs"
