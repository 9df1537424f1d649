"""Shape and signature checks of uploaded keys (pure: no I/O).

Everything a client uploads is checked before anything is recorded, so bad
input changes nothing. Signatures are checked as the spec's "Signing JSON"
says: over the canonical JSON of the object without ``signatures`` and
``unsigned`` (``tessera.kernel.signing.verify_json``).
"""

from __future__ import annotations

import re
from typing import Any

from tessera.kernel.b64 import decode_base64
from tessera.kernel.signing import verify_json

#: ``<algorithm>:<identifier>``: the algorithm is a short token, the identifier
#: (a device ID, an unpadded base64 public key, a key counter…) is printable
#: and has no whitespace.
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}:[!-~]{1,255}")
#: One upload adds at most this many one-time keys (clients upload 50 or so).
MAX_ONE_TIME_KEYS = 1000
MAX_KEY_LENGTH = 1024


class KeysRefused(Exception):
    """A refused key operation: answered with ``errcode`` and ``status``."""

    def __init__(self, status: int, errcode: str, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.errcode = errcode
        self.error = error
        #: Fields the error body carries besides ``errcode`` and ``error``.
        self.extra: dict[str, Any] = {}

    def with_extra(self, **extra: Any) -> KeysRefused:
        self.extra.update(extra)
        return self


def invalid(error: str) -> KeysRefused:
    return KeysRefused(400, "M_INVALID_PARAM", error)


def bad_json(error: str) -> KeysRefused:
    return KeysRefused(400, "M_BAD_JSON", error)


def bad_signature(error: str) -> KeysRefused:
    return KeysRefused(400, "M_INVALID_SIGNATURE", error)


def is_key_id(value: object) -> bool:
    return isinstance(value, str) and _KEY_ID.fullmatch(value) is not None


def ed25519_public(text: object) -> bytes | None:
    """The 32 bytes of an unpadded base64 ed25519 public key, or None."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    try:
        raw = decode_base64(text)
    except ValueError:
        return None
    return raw if len(raw) == 32 else None


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_json(f"{what} must be an object")
    return value


def check_device_keys(keys: object, user_id: str, device_id: str) -> dict[str, Any]:
    """A device's identity keys, signed by its own ed25519 key."""
    obj = _object(keys, "device_keys")
    if obj.get("user_id") != user_id or obj.get("device_id") != device_id:
        raise invalid("device_keys must be those of the requesting user's own device")
    algorithms = obj.get("algorithms")
    if not isinstance(algorithms, list) or not all(isinstance(a, str) for a in algorithms):
        raise bad_json("device_keys.algorithms must be a list of strings")
    key_map = _object(obj.get("keys"), "device_keys.keys")
    for key_id, key in key_map.items():
        if not is_key_id(key_id) or not isinstance(key, str) or len(key) > MAX_KEY_LENGTH:
            raise invalid(f"Malformed key ID or key: {key_id!r}")
    public = ed25519_public(key_map.get(f"ed25519:{device_id}"))
    if public is None:
        raise invalid(f"device_keys.keys must hold the device's key ed25519:{device_id}")
    if not verify_json(obj, user_id, f"ed25519:{device_id}", public):
        raise bad_signature("device_keys are not signed by the device's ed25519 key")
    return obj


def check_one_time_keys(
    keys: object, user_id: str, device_id: str, ed25519: bytes | None, what: str
) -> dict[str, Any]:
    """``{"alg:id": key}``; a signed key (an object) must carry the device's
    signature when the device's ed25519 key is known."""
    obj = _object(keys, what)
    if len(obj) > MAX_ONE_TIME_KEYS:
        raise KeysRefused(413, "M_TOO_LARGE", f"At most {MAX_ONE_TIME_KEYS} keys per upload")
    for key_id, key in obj.items():
        if not is_key_id(key_id):
            raise invalid(f"Malformed key ID {key_id!r} in {what}")
        if isinstance(key, str):
            if len(key) > MAX_KEY_LENGTH:
                raise invalid(f"Key {key_id} is too long")
            continue
        if not isinstance(key, dict) or not isinstance(key.get("key"), str):
            raise bad_json(f"{what}[{key_id!r}] must be a key or a signed key object")
        if ed25519 is not None and not verify_json(key, user_id, f"ed25519:{device_id}", ed25519):
            raise bad_signature(f"Key {key_id} is not signed by the device")
    return obj


def cross_signing_public(key: dict[str, Any]) -> tuple[str, bytes]:
    """The key ID (``ed25519:<public>``) and public key of a checked cross-signing key."""
    [(key_id, value)] = key["keys"].items()
    public = ed25519_public(value)
    assert public is not None
    return key_id, public


def check_cross_signing_key(value: object, user_id: str, usage: str) -> dict[str, Any]:
    """One cross-signing key object: the user's, of this usage, holding exactly one
    ed25519 key whose ID names the public key itself."""
    obj = _object(value, f"{usage} key")
    if obj.get("user_id") != user_id:
        raise invalid(f"The {usage} key must be the requesting user's")
    uses = obj.get("usage")
    if not isinstance(uses, list) or usage not in uses:
        raise invalid(f"The {usage} key's usage must include {usage!r}")
    key_map = _object(obj.get("keys"), f"{usage} key's keys")
    if len(key_map) != 1:
        raise invalid(f"The {usage} key must hold exactly one key")
    [(key_id, key)] = key_map.items()
    if not is_key_id(key_id) or not key_id.startswith("ed25519:") or key_id[8:] != key:
        raise invalid(f"Malformed {usage} key ID {key_id!r}")
    if ed25519_public(key) is None:
        raise invalid(f"The {usage} key is not an ed25519 public key")
    signatures = obj.get("signatures", {})
    if not isinstance(signatures, dict):
        raise bad_json(f"The {usage} key's signatures must be an object")
    return obj


def signed_by(obj: dict[str, Any], user_id: str, key_id: str, public: bytes) -> bool:
    return verify_json(obj, user_id, key_id, public)


def without_signatures(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
