"""Record kinds of a user's pushers (stream ``pushers|@alice:hs``).

``pusher.set``
    ``{"app_id", "pushkey", "kind": "http", "app_display_name",
    "device_display_name", "profile_tag": str | null, "lang", "data": object,
    "ts": int}`` — creates the user's pusher ``(app_id, pushkey)`` or replaces
    its fields; ``data`` is the client's, ``url`` included; ``ts`` (ms) is when
    it was set (the gateway's ``pushkey_ts``, in seconds).

``pusher.removed``
    ``{"app_id", "pushkey", "reason"}`` — the pusher is gone. ``reason``:
    ``deleted`` (the user, ``kind: null``), ``replaced`` (another user took the
    pushkey without ``append``), ``rejected`` (the gateway rejected the
    pushkey), ``failing`` (the gateway kept failing past the retry period).

Payloads are the record's fields as JSON with sorted keys (not signed, so not
canonical JSON; ``schema/payloads.py``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tessera.schema.payloads import JsonRecord

PUSHERS_PREFIX = "pushers|"
PUSHER_SET = "pusher.set"
PUSHER_REMOVED = "pusher.removed"
REMOVAL_REASONS = ("deleted", "replaced", "rejected", "failing")


def pushers_stream(user_id: str) -> str:
    return PUSHERS_PREFIX + user_id


def stream_user(stream: str) -> str | None:
    return stream[len(PUSHERS_PREFIX) :] if stream.startswith(PUSHERS_PREFIX) else None


@dataclasses.dataclass(frozen=True, slots=True)
class PusherSet(JsonRecord):
    app_id: str
    pushkey: str
    kind: str
    app_display_name: str
    device_display_name: str
    profile_tag: str | None
    lang: str
    data: dict[str, Any]
    ts: int

    def client_format(self) -> dict[str, Any]:
        """As ``GET /pushers`` lists it."""
        body = dataclasses.asdict(self)
        del body["ts"]
        if body["profile_tag"] is None:
            del body["profile_tag"]
        return body


@dataclasses.dataclass(frozen=True, slots=True)
class PusherRemoved(JsonRecord):
    app_id: str
    pushkey: str
    reason: str
