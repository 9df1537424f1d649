"""Record kinds of end-to-end encryption keys (docs/e2ee.md).

Two kinds of stream:

- ``keys|@alice:hs`` — the user's device keys (each as its device signed it),
  cross-signing keys, and the signatures the user published. Every record of
  this stream means "alice's keys changed" for ``device_lists`` in sync.
- ``otk|@alice:hs|DEVICE`` — one device's one-time and fallback keys. A claim
  is a record here, so claims of one device's keys are serialized by the
  stream's version constraint: a key is handed out at most once, even when
  processes race for the last one.

Payloads are JSON objects with sorted keys (``encode``). Key objects are kept as
the client sent them (their signatures cover their canonical JSON, which any
reader can recompute). Kinds and fields:

``device_keys.uploaded``  ``{"device_id", "keys": DeviceKeys}``
``device_keys.deleted``   ``{"device_id"}`` — the device was deleted
``cross_signing.uploaded`` ``{"keys": {"master"|"self_signing"|"user_signing": CrossSigningKey}}``
    — the key types present replace the user's keys of those types
``signature.added``       ``{"target_user", "target_key", "signer_key_id", "signature"}`` —
    a signature by this stream's user of a device (``target_key`` = device ID)
    or cross-signing key (``target_key`` = its public key)
``otk.uploaded``          ``{"keys": {"alg:id": key}}``
``otk.claimed``           ``{"key_id": "alg:id"}``
``fallback.uploaded``     ``{"algorithm", "key_id", "key"}`` — replaces the algorithm's fallback key
``fallback.used``         ``{"algorithm", "key_id"}``
``otk.cleared``           ``{}`` — the device was deleted: every key of the stream is gone
"""

from __future__ import annotations

from typing import Any

import orjson

from tessera.schema.payloads import sorted_json

KEYS_PREFIX = "keys|"
OTK_PREFIX = "otk|"

DEVICE_KEYS_UPLOADED = "device_keys.uploaded"
DEVICE_KEYS_DELETED = "device_keys.deleted"
CROSS_SIGNING_UPLOADED = "cross_signing.uploaded"
SIGNATURE_ADDED = "signature.added"
KEYS_KINDS = frozenset(
    {DEVICE_KEYS_UPLOADED, DEVICE_KEYS_DELETED, CROSS_SIGNING_UPLOADED, SIGNATURE_ADDED}
)

OTK_UPLOADED = "otk.uploaded"
OTK_CLAIMED = "otk.claimed"
FALLBACK_UPLOADED = "fallback.uploaded"
FALLBACK_USED = "fallback.used"
OTK_CLEARED = "otk.cleared"

CROSS_SIGNING_TYPES = ("master", "self_signing", "user_signing")


encode = sorted_json


def decode(payload: bytes) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(payload)
    return body


def keys_stream(user_id: str) -> str:
    return KEYS_PREFIX + user_id


def otk_stream(user_id: str, device_id: str) -> str:
    return f"{OTK_PREFIX}{user_id}|{device_id}"


def keys_stream_user(stream: str) -> str | None:
    return stream[len(KEYS_PREFIX) :] if stream.startswith(KEYS_PREFIX) else None


def otk_stream_owner(stream: str) -> tuple[str, str] | None:
    """``(user_id, device_id)`` of an ``otk|`` stream. Local user IDs cannot
    contain ``|`` (the grammar allows ``[a-z0-9._=/+-]`` and a server name) while
    client-chosen device IDs may, so the first ``|`` splits."""
    if not stream.startswith(OTK_PREFIX):
        return None
    user_id, sep, device_id = stream[len(OTK_PREFIX) :].partition("|")
    return (user_id, device_id) if sep else None


def key_algorithm(key_id: str) -> str:
    return key_id.partition(":")[0]
