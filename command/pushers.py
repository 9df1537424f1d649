"""Writes of pushers: ``POST /pushers/set`` and the sender's removals
(records in ``tessera.schema.pushers``, one ``pushers|<user>`` stream per user).

``parse_pusher_request`` checks the body (pure); ``PusherCommands`` appends.
The aggregate knows the user's pushers, so deleting an unknown one writes
nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from tessera.schema.log import EventStore, LogRecord, NewRecord
from tessera.schema.pushers import (
    PUSHER_REMOVED,
    PUSHER_SET,
    PusherRemoved,
    PusherSet,
    pushers_stream,
)

from .group_commit import GroupCommitter
from .streams import StreamRepository

NOTIFY_PATH = "/_matrix/push/v1/notify"
MAX_PUSHKEY_BYTES = 512
MAX_APP_ID = 64


class PusherError(Exception):
    def __init__(self, errcode: str, error: str) -> None:
        super().__init__(error)
        self.errcode = errcode
        self.error = error


def _string(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        raise PusherError("M_MISSING_PARAM", f"'{key}' is required")
    if not isinstance(value, str):
        raise PusherError("M_INVALID_PARAM", f"'{key}' must be a string")
    return value


def check_gateway_url(url: Any, allowed: Iterable[str] = ()) -> str:
    """The gateway URL if acceptable: http(s), the notify path, and not a literal
    private or loopback address unless ``allowed`` (CIDRs) covers it. Names are
    checked again where the connection is made (``tessera.app.push``)."""
    if not isinstance(url, str):
        raise PusherError("M_INVALID_PARAM", "'data.url' is required for an http pusher")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PusherError("M_INVALID_PARAM", "'data.url' must be an http(s) URL")
    if parts.path != NOTIFY_PATH:
        raise PusherError("M_INVALID_PARAM", f"'data.url' must have the path {NOTIFY_PATH}")
    try:
        ip = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return url
    networks = [ipaddress.ip_network(c, strict=False) for c in allowed]
    if not ip.is_global and not any(ip.version == n.version and ip in n for n in networks):
        raise PusherError("M_INVALID_PARAM", "push gateways on private addresses are refused")
    return url


def parse_pusher_request(
    body: dict[str, Any], now_ms: int, allowed: Iterable[str] = ()
) -> tuple[PusherSet | PusherRemoved, bool]:
    """The record a ``/pushers/set`` body asks for, and its ``append`` flag."""
    app_id, pushkey = _string(body, "app_id"), _string(body, "pushkey")
    if len(app_id) > MAX_APP_ID or len(pushkey.encode()) > MAX_PUSHKEY_BYTES:
        raise PusherError("M_INVALID_PARAM", "'app_id' or 'pushkey' is too long")
    if "kind" not in body:
        raise PusherError("M_MISSING_PARAM", "'kind' is required")
    append = body.get("append", False)
    if not isinstance(append, bool):
        raise PusherError("M_INVALID_PARAM", "'append' must be a boolean")
    kind = body["kind"]
    if kind is None:
        return PusherRemoved(app_id, pushkey, "deleted"), append
    if kind != "http":
        raise PusherError("M_INVALID_PARAM", "only 'http' pushers are supported")
    data = body.get("data")
    if not isinstance(data, dict):
        raise PusherError("M_MISSING_PARAM", "'data' is required")
    check_gateway_url(data.get("url"), allowed)
    fmt = data.get("format")
    if fmt is not None and fmt != "event_id_only":
        raise PusherError("M_INVALID_PARAM", "'data.format' must be 'event_id_only'")
    profile_tag = body.get("profile_tag")
    if profile_tag is not None and not isinstance(profile_tag, str):
        raise PusherError("M_INVALID_PARAM", "'profile_tag' must be a string")
    pusher = PusherSet(
        app_id=app_id,
        pushkey=pushkey,
        kind=kind,
        app_display_name=_string(body, "app_display_name"),
        device_display_name=_string(body, "device_display_name"),
        profile_tag=profile_tag,
        lang=_string(body, "lang"),
        data=data,
        ts=now_ms,
    )
    return pusher, append


class UserPushers:
    """The aggregate of ``pushers|<user>``: the pushers that exist."""

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.stream_version = 0
        self.pushers: dict[tuple[str, str], PusherSet] = {}

    def apply(self, record: LogRecord | NewRecord) -> None:
        self.stream_version = record.version
        if record.kind == PUSHER_SET:
            pusher = PusherSet.decode(record.payload)
            self.pushers[(pusher.app_id, pusher.pushkey)] = pusher
        elif record.kind == PUSHER_REMOVED:
            removed = PusherRemoved.decode(record.payload)
            self.pushers.pop((removed.app_id, removed.pushkey), None)

    def next(self, kind: str, payload: bytes) -> NewRecord:
        return NewRecord(self.stream, self.stream_version + 1, kind, payload)


class PusherCommands:
    def __init__(self, store: EventStore, committer: GroupCommitter) -> None:
        self.streams: StreamRepository[UserPushers] = StreamRepository(
            store, committer, UserPushers
        )

    async def set(self, user_id: str, pusher: PusherSet) -> list[int]:
        def decide(agg: UserPushers) -> tuple[list[NewRecord], None]:
            if agg.pushers.get((pusher.app_id, pusher.pushkey)) == pusher:
                return [], None
            return [agg.next(PUSHER_SET, pusher.encode())], None

        positions, _ = await self.streams.write(pushers_stream(user_id), decide)
        return positions

    async def remove(self, user_id: str, app_id: str, pushkey: str, reason: str) -> list[int]:
        def decide(agg: UserPushers) -> tuple[list[NewRecord], None]:
            if (app_id, pushkey) not in agg.pushers:
                return [], None
            payload = PusherRemoved(app_id, pushkey, reason).encode()
            return [agg.next(PUSHER_REMOVED, payload)], None

        positions, _ = await self.streams.write(pushers_stream(user_id), decide)
        return positions
