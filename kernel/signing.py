"""Signing JSON objects and events with ed25519 (appendices: "Signing JSON").

A JSON object is signed over its canonical form without ``signatures`` and
``unsigned``; an event is signed over its *redacted* form, so that a signature
survives redaction. Keys are named ``ed25519:<version>``; public keys and
signatures travel as standard unpadded base64.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from typing import Any

import nacl.exceptions
import nacl.signing

from .b64 import decode_base64, encode_base64
from .canonical_json import CanonicalJsonError, encode_canonical_json
from .redaction import redact
from .room_versions import RoomVersion

ED25519 = "ed25519"
_KEY_ID = re.compile(r"^ed25519:[A-Za-z0-9_]{1,64}$")


def is_valid_key_id(key_id: str) -> bool:
    """``ed25519:`` followed by a version of letters, digits and underscores."""
    return _KEY_ID.match(key_id) is not None


@dataclasses.dataclass(frozen=True)
class SigningKey:
    """A server's (or device's) ed25519 signing key with its key ID."""

    key_id: str
    key: nacl.signing.SigningKey

    @classmethod
    def generate(cls, version: str | None = None) -> SigningKey:
        version = version or "a_" + secrets.token_hex(2)
        return cls(f"{ED25519}:{version}", nacl.signing.SigningKey.generate())

    @classmethod
    def from_seed(cls, key_id: str, seed: bytes) -> SigningKey:
        if not is_valid_key_id(key_id):
            raise ValueError(f"invalid key ID {key_id!r}")
        return cls(key_id, nacl.signing.SigningKey(seed))

    @property
    def seed(self) -> bytes:
        return bytes(self.key)

    @property
    def public_key(self) -> bytes:
        return bytes(self.key.verify_key)

    @property
    def public_key_base64(self) -> str:
        return encode_base64(self.public_key)

    def sign(self, message: bytes) -> str:
        """The unpadded base64 signature of ``message``."""
        return encode_base64(self.key.sign(message).signature)


def _signable_bytes(obj: dict[str, Any]) -> bytes:
    return encode_canonical_json(
        {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    )


def _with_signature(
    obj: dict[str, Any], signature: str, signer: str, key_id: str
) -> dict[str, Any]:
    out = dict(obj)
    signatures = {k: dict(v) for k, v in (obj.get("signatures") or {}).items()}
    signatures.setdefault(signer, {})[key_id] = signature
    out["signatures"] = signatures
    return out


def sign_json(obj: dict[str, Any], signer: str, key: SigningKey) -> dict[str, Any]:
    """A copy of ``obj`` with ``signatures[signer][key.key_id]`` added."""
    return _with_signature(obj, key.sign(_signable_bytes(obj)), signer, key.key_id)


def verify_signature(message: bytes, signature_b64: str, public_key: bytes) -> bool:
    try:
        signature = decode_base64(signature_b64)
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (ValueError, nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
        return False
    except nacl.exceptions.TypeError:
        return False
    return True


def verify_json(obj: dict[str, Any], signer: str, key_id: str, public_key: bytes) -> bool:
    """Does ``obj`` carry a valid signature by ``signer`` with ``key_id``?"""
    signature = ((obj.get("signatures") or {}).get(signer) or {}).get(key_id)
    if not isinstance(signature, str):
        return False
    try:
        message = _signable_bytes(obj)
    except CanonicalJsonError:
        return False
    return verify_signature(message, signature, public_key)


def sign_event(
    rv: RoomVersion, event: dict[str, Any], signer: str, key: SigningKey
) -> dict[str, Any]:
    """A copy of ``event`` signed over its redacted form (hashes must be set first)."""
    signature = key.sign(_signable_bytes(redact(rv, event)))
    return _with_signature(event, signature, signer, key.key_id)


def verify_event_signature(
    rv: RoomVersion, event: dict[str, Any], signer: str, key_id: str, public_key: bytes
) -> bool:
    """Does the event's redacted form carry a valid signature by ``signer``?"""
    signature = ((event.get("signatures") or {}).get(signer) or {}).get(key_id)
    if not isinstance(signature, str):
        return False
    try:
        message = _signable_bytes(redact(rv, event))
    except CanonicalJsonError:
        return False
    return verify_signature(message, signature, public_key)
