"""One-time and fallback keys: what is left to claim, per device.

Folds ``otk|<user>|<device>`` (``tessera.schema.keys``) and drops a deleted
device's keys on ``account.device_deleted``. Sync reads the counts
(``device_one_time_keys_count``) and the unused fallback key types from here;
claims are decided on the write side, never from these rows.
"""

from __future__ import annotations

import orjson

from tessera.schema import accounts as acc
from tessera.schema import keys as k
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change

name = "one_time_keys"
tables: tuple[str, ...] = ("e2e_one_time_keys", "e2e_fallback_keys")
migrations: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS e2e_one_time_keys ("
    " user_id TEXT NOT NULL, device_id TEXT NOT NULL, key_id TEXT NOT NULL,"
    " algorithm TEXT NOT NULL, key TEXT NOT NULL, position BIGINT NOT NULL,"
    " PRIMARY KEY (user_id, device_id, key_id))",
    "CREATE TABLE IF NOT EXISTS e2e_fallback_keys ("
    " user_id TEXT NOT NULL, device_id TEXT NOT NULL, algorithm TEXT NOT NULL,"
    " key_id TEXT NOT NULL, key TEXT NOT NULL, used BIGINT NOT NULL,"
    " position BIGINT NOT NULL, PRIMARY KEY (user_id, device_id, algorithm))",
)


def _gone(user_id: str, device_id: str) -> list[Change]:
    where = " WHERE user_id = ? AND device_id = ?"
    return [
        Change("DELETE FROM e2e_one_time_keys" + where, (user_id, device_id)),
        Change("DELETE FROM e2e_fallback_keys" + where, (user_id, device_id)),
    ]


def apply(record: LogRecord) -> list[Change]:
    if record.kind == acc.DeviceDeleted.KIND:
        event = acc.decode(record.kind, record.payload)
        assert isinstance(event, acc.DeviceDeleted)
        return _gone(record.stream, event.device_id)
    owner = k.otk_stream_owner(record.stream)
    if owner is None:
        return []
    user_id, device_id = owner
    body = k.decode(record.payload)
    pos = record.position
    if record.kind == k.OTK_UPLOADED:
        return [
            Change(
                "INSERT INTO e2e_one_time_keys (user_id, device_id, key_id, algorithm, key,"
                " position) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    user_id,
                    device_id,
                    key_id,
                    k.key_algorithm(key_id),
                    orjson.dumps(key).decode(),
                    pos,
                ),
            )
            for key_id, key in sorted(body["keys"].items())
        ]
    if record.kind == k.OTK_CLAIMED:
        return [
            Change(
                "DELETE FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ? AND key_id = ?",
                (user_id, device_id, body["key_id"]),
            )
        ]
    if record.kind == k.FALLBACK_UPLOADED:
        return [
            Change(
                "INSERT INTO e2e_fallback_keys (user_id, device_id, algorithm, key_id, key, used,"
                " position) VALUES (?, ?, ?, ?, ?, 0, ?)"
                " ON CONFLICT (user_id, device_id, algorithm) DO UPDATE SET"
                " key_id = excluded.key_id, key = excluded.key, used = 0,"
                " position = excluded.position",
                (
                    user_id,
                    device_id,
                    body["algorithm"],
                    body["key_id"],
                    orjson.dumps(body["key"]).decode(),
                    pos,
                ),
            )
        ]
    if record.kind == k.FALLBACK_USED:
        return [
            Change(
                "UPDATE e2e_fallback_keys SET used = 1, position = ?"
                " WHERE user_id = ? AND device_id = ? AND algorithm = ? AND key_id = ?",
                (pos, user_id, device_id, body["algorithm"], body["key_id"]),
            )
        ]
    if record.kind == k.OTK_CLEARED:
        return _gone(user_id, device_id)
    return []
