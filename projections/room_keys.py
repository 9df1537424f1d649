"""Key backup: versions and their room keys (``backup|<user>``, ``tessera.schema.room_keys``).

``room_keys_versions`` holds the live versions with the ``etag`` and ``count``
their last change produced (decided on the write side); a deleted version's
row and keys are removed.
"""

from __future__ import annotations

import orjson

from tessera.schema import keys as k
from tessera.schema import room_keys as rk
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change

name = "room_keys"
tables: tuple[str, ...] = ("room_keys_versions", "room_keys")
migrations: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS room_keys_versions ("
    " user_id TEXT NOT NULL, version BIGINT NOT NULL, algorithm TEXT NOT NULL,"
    " auth_data TEXT NOT NULL, etag BIGINT NOT NULL, count BIGINT NOT NULL,"
    " position BIGINT NOT NULL, PRIMARY KEY (user_id, version))",
    "CREATE TABLE IF NOT EXISTS room_keys ("
    " user_id TEXT NOT NULL, version BIGINT NOT NULL, room_id TEXT NOT NULL,"
    " session_id TEXT NOT NULL, data TEXT NOT NULL, position BIGINT NOT NULL,"
    " PRIMARY KEY (user_id, version, room_id, session_id))",
)


def _json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def apply(record: LogRecord) -> list[Change]:
    user_id = rk.backup_stream_user(record.stream)
    if user_id is None:
        return []
    body = k.decode(record.payload)
    pos = record.position
    if record.kind == rk.VERSION_CREATED:
        params = (user_id, int(body["version"]), body["algorithm"], _json(body["auth_data"]), pos)
        return [
            Change(
                "INSERT INTO room_keys_versions (user_id, version, algorithm, auth_data, etag,"
                " count, position) VALUES (?, ?, ?, ?, 0, 0, ?) ON CONFLICT DO NOTHING",
                params,
            )
        ]
    version = (user_id, int(body["version"]))
    where = " WHERE user_id = ? AND version = ?"
    if record.kind == rk.VERSION_UPDATED:
        return [
            Change(
                "UPDATE room_keys_versions SET auth_data = ?, position = ?" + where,
                (_json(body["auth_data"]), pos, *version),
            )
        ]
    if record.kind == rk.VERSION_DELETED:
        return [
            Change("DELETE FROM room_keys_versions" + where, version),
            Change("DELETE FROM room_keys" + where, version),
        ]
    counters = Change(
        "UPDATE room_keys_versions SET etag = ?, count = ?, position = ?" + where,
        (int(body["etag"]), int(body["count"]), pos, *version),
    )
    if record.kind == rk.KEYS_PUT:
        return [
            counters,
            *(
                Change(
                    "INSERT INTO room_keys (user_id, version, room_id, session_id, data, position)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, version, room_id, session_id)"
                    " DO UPDATE SET data = excluded.data, position = excluded.position",
                    (*version, room_id, session_id, _json(data), pos),
                )
                for room_id, session_id, data in body["keys"]
            ),
        ]
    if record.kind == rk.KEYS_DELETED:
        return [
            counters,
            *(
                Change(
                    "DELETE FROM room_keys" + where + " AND room_id = ? AND session_id = ?",
                    (*version, room_id, session_id),
                )
                for room_id, session_id in body["keys"]
            ),
        ]
    return []
