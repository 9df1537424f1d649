"""The aggregate of ``otk|<user>|<device>``: one device's one-time and fallback keys.

A claim is decided here and recorded on this stream, so every claim of one
device's keys is serialized: in this process by the stream lock, across
processes by the store's version constraint (a claim that lost the race reloads
and picks the next key). That is why a one-time key is handed out at most once.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tessera.schema import keys as k
from tessera.schema.log import LogRecord, NewRecord

from .keys_validate import KeysRefused


@dataclasses.dataclass(slots=True)
class FallbackKey:
    key_id: str
    key: Any
    used: bool = False


class DeviceOneTimeKeys:
    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.stream_version = 0
        #: "alg:id" -> key, oldest upload first and by key ID within an upload
        #: (the record's sorted JSON): claims hand out the oldest
        self.keys: dict[str, Any] = {}
        #: algorithm -> its fallback key
        self.fallback: dict[str, FallbackKey] = {}

    def apply(self, record: LogRecord | NewRecord) -> None:
        self.stream_version = record.version
        body = k.decode(record.payload)
        if record.kind == k.OTK_UPLOADED:
            self.keys.update(body["keys"])
        elif record.kind == k.OTK_CLAIMED:
            self.keys.pop(body["key_id"], None)
        elif record.kind == k.FALLBACK_UPLOADED:
            self.fallback[body["algorithm"]] = FallbackKey(body["key_id"], body["key"])
        elif record.kind == k.FALLBACK_USED:
            fallback = self.fallback.get(body["algorithm"])
            if fallback is not None and fallback.key_id == body["key_id"]:
                fallback.used = True
        elif record.kind == k.OTK_CLEARED:
            self.keys.clear()
            self.fallback.clear()

    def _records(self, *items: tuple[str, dict[str, Any]]) -> list[NewRecord]:
        return [
            NewRecord(self.stream, self.stream_version + 1 + i, kind, k.encode(body))
            for i, (kind, body) in enumerate(items)
        ]

    def counts(self) -> dict[str, int]:
        """Unclaimed keys per algorithm; ``signed_curve25519`` always present
        (clients read its absence as "unknown", not zero)."""
        out = {"signed_curve25519": 0}
        for key_id in self.keys:
            algorithm = k.key_algorithm(key_id)
            out[algorithm] = out.get(algorithm, 0) + 1
        return out

    def unused_fallback_types(self) -> list[str]:
        return sorted(a for a, f in self.fallback.items() if not f.used)

    def decide_upload(self, one_time: dict[str, Any], fallback: dict[str, Any]) -> list[NewRecord]:
        new: dict[str, Any] = {}
        for key_id, key in one_time.items():
            old = self.keys.get(key_id)
            if old is None:
                new[key_id] = key
            elif old != key:  # the spec: a key ID already in use must not be overwritten
                raise KeysRefused(400, "M_INVALID_PARAM", f"One-time key {key_id} already exists")
        items: list[tuple[str, dict[str, Any]]] = []
        if new:
            items.append((k.OTK_UPLOADED, {"keys": new}))
        by_algorithm: dict[str, tuple[str, Any]] = {}
        for key_id, key in fallback.items():
            by_algorithm[k.key_algorithm(key_id)] = (key_id, key)  # one per algorithm: the last
        for algorithm, (key_id, key) in sorted(by_algorithm.items()):
            old_fallback = self.fallback.get(algorithm)
            if old_fallback is not None and (old_fallback.key_id, old_fallback.key) == (
                key_id,
                key,
            ):
                continue
            body = {"algorithm": algorithm, "key_id": key_id, "key": key}
            items.append((k.FALLBACK_UPLOADED, body))
        return self._records(*items)

    def decide_claim(self, algorithm: str) -> tuple[list[NewRecord], tuple[str, Any] | None]:
        """The oldest unclaimed key of ``algorithm``, else the fallback key (marked
        used the first time; a used fallback key is handed out again, as the spec
        allows), else nothing."""
        for key_id, key in self.keys.items():
            if k.key_algorithm(key_id) == algorithm:
                return self._records((k.OTK_CLAIMED, {"key_id": key_id})), (key_id, key)
        fallback = self.fallback.get(algorithm)
        if fallback is None:
            return [], None
        found = (fallback.key_id, fallback.key)
        if fallback.used:
            return [], found
        body = {"algorithm": algorithm, "key_id": fallback.key_id}
        return self._records((k.FALLBACK_USED, body)), found

    def decide_clear(self) -> list[NewRecord]:
        if not self.keys and not self.fallback:
            return []
        return self._records((k.OTK_CLEARED, {}))
