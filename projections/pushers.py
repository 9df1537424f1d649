"""Every user's pushers (projection ``pushers``; record kinds in
``tessera.schema.pushers``).

``pushers (user_id, app_id, pushkey, pusher, position)``: ``pusher`` is the
``pusher.set`` payload (JSON), ``position`` the record that last set it — the
push sender delivers notifications from after that position only. Index
``(app_id, pushkey)``: another user's pusher with the same key (``append``).
"""

from __future__ import annotations

from tessera.schema.log import LogRecord
from tessera.schema.pushers import (
    PUSHER_REMOVED,
    PUSHER_SET,
    PusherRemoved,
    PusherSet,
    stream_user,
)
from tessera.schema.readmodel import Change

name = "pushers"
tables: tuple[str, ...] = ("pushers",)
migrations: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS pushers ("
    " user_id TEXT NOT NULL, app_id TEXT NOT NULL, pushkey TEXT NOT NULL,"
    " pusher TEXT NOT NULL, position BIGINT NOT NULL,"
    " PRIMARY KEY (user_id, app_id, pushkey))",
    "CREATE INDEX IF NOT EXISTS pushers_key ON pushers (app_id, pushkey)",
)


def apply(record: LogRecord) -> list[Change]:
    if record.kind not in (PUSHER_SET, PUSHER_REMOVED):
        return []
    user_id = stream_user(record.stream)
    if user_id is None:
        return []
    if record.kind == PUSHER_SET:
        pusher = PusherSet.decode(record.payload)
        return [
            Change(
                "INSERT INTO pushers (user_id, app_id, pushkey, pusher, position)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, app_id, pushkey) DO UPDATE SET"
                " pusher = excluded.pusher, position = excluded.position",
                (user_id, pusher.app_id, pusher.pushkey, record.payload.decode(), record.position),
            )
        ]
    removed = PusherRemoved.decode(record.payload)
    return [
        Change(
            "DELETE FROM pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?",
            (user_id, removed.app_id, removed.pushkey),
        )
    ]
