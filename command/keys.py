"""The aggregate of ``keys|<user>``: a user's device keys, cross-signing keys and
published signatures, and the decisions that change them.

Each ``decide_*`` returns the records to append (empty when nothing changes: a
client re-uploading the same keys must not make every peer re-query them) or
raises ``KeysRefused``; none changes the aggregate.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tessera.schema import keys as k
from tessera.schema.log import LogRecord, NewRecord

from .keys_validate import (
    KeysRefused,
    bad_signature,
    check_cross_signing_key,
    cross_signing_public,
    ed25519_public,
    invalid,
    signed_by,
    without_signatures,
)


@dataclasses.dataclass(frozen=True, slots=True)
class Signature:
    """A signature by the stream's user: of ``target_user``'s device (``target_key``
    is its device ID) or cross-signing key (``target_key`` is its public key)."""

    target_user: str
    target_key: str
    signer_key_id: str
    signature: str


def not_found(error: str) -> KeysRefused:
    return KeysRefused(404, "M_NOT_FOUND", error)


class UserKeys:
    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.stream_version = 0
        self.user_id = k.keys_stream_user(stream) or stream
        #: device ID -> the device keys as the device signed them
        self.devices: dict[str, dict[str, Any]] = {}
        #: "master" | "self_signing" | "user_signing" -> the key object
        self.cross_signing: dict[str, dict[str, Any]] = {}
        self.signatures: set[tuple[str, str, str, str]] = set()

    def apply(self, record: LogRecord | NewRecord) -> None:
        self.stream_version = record.version
        body = k.decode(record.payload)
        if record.kind == k.DEVICE_KEYS_UPLOADED:
            self.devices[body["device_id"]] = body["keys"]
        elif record.kind == k.DEVICE_KEYS_DELETED:
            self.devices.pop(body["device_id"], None)
            self.signatures = {s for s in self.signatures if s[1] != body["device_id"]}
        elif record.kind == k.CROSS_SIGNING_UPLOADED:
            self.cross_signing.update(body["keys"])
        elif record.kind == k.SIGNATURE_ADDED:
            s = Signature(**body)
            self.signatures.add((s.target_user, s.target_key, s.signer_key_id, s.signature))

    def _records(self, *items: tuple[str, dict[str, Any]]) -> list[NewRecord]:
        return [
            NewRecord(self.stream, self.stream_version + 1 + i, kind, k.encode(body))
            for i, (kind, body) in enumerate(items)
        ]

    def device_ed25519(self, device_id: str) -> bytes | None:
        keys = self.devices.get(device_id)
        return None if keys is None else ed25519_public(keys["keys"].get(f"ed25519:{device_id}"))

    def public(self, key_type: str) -> tuple[str, bytes] | None:
        key = self.cross_signing.get(key_type)
        return None if key is None else cross_signing_public(key)

    # -- device keys ---------------------------------------------------------------

    def decide_device_keys(self, device_id: str, keys: dict[str, Any]) -> list[NewRecord]:
        if self.devices.get(device_id) == keys:
            return []
        return self._records((k.DEVICE_KEYS_UPLOADED, {"device_id": device_id, "keys": keys}))

    def decide_delete_device(self, device_id: str) -> list[NewRecord]:
        if device_id not in self.devices:
            return []
        return self._records((k.DEVICE_KEYS_DELETED, {"device_id": device_id}))

    # -- cross-signing ---------------------------------------------------------------

    def replaces_master(self, keys: dict[str, Any]) -> bool:
        """Does this upload replace an existing key with another? (Then the spec
        asks for user-interactive auth; a first upload, or the same keys again,
        needs none.)"""
        return any(t in self.cross_signing and self.cross_signing[t] != v for t, v in keys.items())

    def decide_cross_signing(self, uploaded: dict[str, Any]) -> list[NewRecord]:
        keys = {
            t: check_cross_signing_key(uploaded[t], self.user_id, t)
            for t in k.CROSS_SIGNING_TYPES
            if uploaded.get(t) is not None
        }
        if not keys:
            return []
        master = keys.get("master") or self.cross_signing.get("master")
        if master is None:
            raise invalid("A master key is needed before a self-signing or user-signing key")
        master_id, master_public = cross_signing_public(master)
        for t in ("self_signing", "user_signing"):
            if t in keys and not signed_by(keys[t], self.user_id, master_id, master_public):
                raise bad_signature(f"The {t} key is not signed by the master key")
        changed = {t: v for t, v in keys.items() if self.cross_signing.get(t) != v}
        if not changed:
            return []
        return self._records((k.CROSS_SIGNING_UPLOADED, {"keys": changed}))

    # -- signatures ------------------------------------------------------------------

    def check_signatures(
        self, target_user: str, target_key: str, obj: dict[str, Any], other_master: Any
    ) -> list[Signature]:
        """The new valid signatures by this user in ``obj`` (an uploaded copy of the
        target key with signatures added). ``other_master`` is ``target_user``'s
        master key when that is another user. Raises KeysRefused."""
        sigs = obj.get("signatures")
        mine = sigs.get(self.user_id) if isinstance(sigs, dict) else None
        if not isinstance(mine, dict) or not all(isinstance(v, str) for v in mine.values()):
            raise bad_signature("No signature by the uploading user")
        if target_user != self.user_id:
            return self._check_user_signing(target_user, target_key, obj, other_master, mine)
        if target_key in self.devices:
            stored, signers = self.devices[target_key], [self.public("self_signing")]
        elif (master := self.public("master")) is not None and master[0] == f"ed25519:{target_key}":
            stored = self.cross_signing["master"]
            signers = [
                (f"ed25519:{d}", pub)
                for d in self.devices
                if (pub := self.device_ed25519(d)) is not None
            ]
        else:
            raise not_found(f"Unknown key {target_key} of {target_user}")
        if without_signatures(obj) != without_signatures(stored):
            raise invalid("The signed object differs from the stored key")
        out = [
            Signature(target_user, target_key, key_id, mine[key_id])
            for signer in signers
            if signer is not None and (key_id := signer[0]) in mine
            if signed_by(obj, self.user_id, key_id, signer[1])
        ]
        if not out:
            raise bad_signature("No valid signature by a key that may sign this key")
        return out

    def _check_user_signing(
        self,
        target_user: str,
        target_key: str,
        obj: dict[str, Any],
        master: Any,
        mine: dict[str, str],
    ) -> list[Signature]:
        if (
            not isinstance(master, dict)
            or cross_signing_public(master)[0] != f"ed25519:{target_key}"
        ):
            raise not_found(f"Unknown key {target_key} of {target_user}")
        if without_signatures(obj) != without_signatures(master):
            raise invalid("The signed object differs from the stored key")
        usk = self.public("user_signing")
        if usk is None or usk[0] not in mine or not signed_by(obj, self.user_id, *usk):
            raise bad_signature("Not signed by the uploading user's user-signing key")
        return [Signature(target_user, target_key, usk[0], mine[usk[0]])]

    def decide_signatures(self, signatures: list[Signature]) -> list[NewRecord]:
        new = [
            s
            for s in dict.fromkeys(signatures)
            if (s.target_user, s.target_key, s.signer_key_id, s.signature) not in self.signatures
        ]
        return self._records(*((k.SIGNATURE_ADDED, dataclasses.asdict(s)) for s in new))
