"""Reads of key backup (``room_keys`` read model; blocking, run in a thread)."""

from __future__ import annotations

from typing import Any

import orjson

from tessera.schema.readmodel import ReadModelDatabase


def backup_version(
    db: ReadModelDatabase, user_id: str, version: str | None
) -> dict[str, Any] | None:
    """The version's ``GET /room_keys/version[/{version}]`` body (the current,
    i.e. latest live, version when ``version`` is None), or None."""
    if version is None:
        where, params = "", (user_id,)
    elif version.isdigit() and len(version) < 18:
        where, params = " AND version = ?", (user_id, int(version))  # type: ignore[assignment]
    else:
        return None
    for number, algorithm, auth_data, etag, count in db.iter_rows(
        "SELECT version, algorithm, auth_data, etag, count FROM room_keys_versions"
        f" WHERE user_id = ?{where} ORDER BY version DESC LIMIT 1",
        params,
    ):
        return {
            "version": str(number),
            "algorithm": algorithm,
            "auth_data": orjson.loads(auth_data),
            "etag": str(etag),
            "count": int(count),
        }
    return None


def backup_keys(
    db: ReadModelDatabase, user_id: str, version: int, room_id: str | None, session_id: str | None
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{room_id: {session_id: key_data}}`` of the version, narrowed to a room or session."""
    sql = "SELECT room_id, session_id, data FROM room_keys WHERE user_id = ? AND version = ?"
    params: list[Any] = [user_id, version]
    if room_id is not None:
        sql += " AND room_id = ?"
        params.append(room_id)
    if session_id is not None:
        sql += " AND session_id = ?"
        params.append(session_id)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for room, session, data in db.iter_rows(sql, params):
        out.setdefault(room, {})[session] = orjson.loads(data)
    return out
