"""Reads of aliases and the published room directory (read models ``room_aliases``
and ``public_rooms``, see docs/read-models.md).

``/publicRooms`` pages by offset: ``next_batch``/``prev_batch`` are ``o<offset>``
into the order "most joined members first, then room ID", which is stable
between pages unless rooms change meanwhile (the spec leaves the order to the
server and asks only for a stable one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from tessera.schema.readmodel import ReadModelDatabase

#: The most rooms one page returns, whatever ``limit`` asks.
MAX_LIMIT = 500


class BadToken(ValueError):
    pass


def room_for_alias(db: ReadModelDatabase, alias: str) -> str | None:
    for (room_id,) in db.iter_rows("SELECT room_id FROM room_aliases WHERE alias = ?", (alias,)):
        return str(room_id)
    return None


def aliases_of_room(db: ReadModelDatabase, room_id: str) -> list[str]:
    rows = db.iter_rows(
        "SELECT alias FROM room_aliases WHERE room_id = ? ORDER BY alias", (room_id,)
    )
    return [str(alias) for (alias,) in rows]


def visibility(db: ReadModelDatabase, room_id: str) -> str | None:
    """The room's directory visibility; None for a room this server has no state of."""
    for (value,) in db.iter_rows(
        "SELECT visibility FROM public_rooms WHERE room_id = ?", (room_id,)
    ):
        return str(value)
    return None


def may_read_aliases(db: ReadModelDatabase, room_id: str, user_id: str) -> bool:
    """Joined members may list a room's aliases; anyone may if it is world-readable."""
    for (membership,) in db.iter_rows(
        "SELECT membership FROM current_state"
        " WHERE room_id = ? AND type = 'm.room.member' AND state_key = ?",
        (room_id, user_id),
    ):
        if membership == "join":
            return True
    for (history,) in db.iter_rows(
        "SELECT history_visibility FROM public_rooms WHERE room_id = ?", (room_id,)
    ):
        return bool(history == "world_readable")
    return False


def _offset(since: str | None) -> int:
    if since is None or since == "":
        return 0
    if not since.startswith("o") or not since[1:].isdigit():
        raise BadToken(since)
    return int(since[1:])


def _like(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def public_rooms(
    db: ReadModelDatabase,
    *,
    limit: int | None = None,
    since: str | None = None,
    search: str | None = None,
    room_types: Sequence[str | None] | None = None,
) -> dict[str, Any]:
    """The ``/publicRooms`` response body; raises BadToken for an unknown ``since``."""
    offset = _offset(since)
    where = ["visibility = 'public'"]
    params: list[Any] = []
    if search:
        where.append(
            "(LOWER(COALESCE(name, '')) LIKE ? ESCAPE '\\'"
            " OR LOWER(COALESCE(topic, '')) LIKE ? ESCAPE '\\'"
            " OR LOWER(COALESCE(canonical_alias, '')) LIKE ? ESCAPE '\\')"
        )
        params += [_like(search)] * 3
    if room_types:  # an empty list filters nothing, like an absent one
        typed = [t for t in room_types if t is not None]
        alternatives = []
        if None in room_types:
            alternatives.append("room_type IS NULL")
        if typed:
            alternatives.append(f"room_type IN ({', '.join('?' * len(typed))})")
            params += typed
        where.append(f"({' OR '.join(alternatives)})")
    condition = " AND ".join(where)
    (total,) = next(
        iter(db.iter_rows(f"SELECT COUNT(*) FROM public_rooms WHERE {condition}", params))
    )
    size = MAX_LIMIT if limit is None else max(0, min(limit, MAX_LIMIT))
    rows = list(
        db.iter_rows(
            "SELECT room_id, name, topic, canonical_alias, avatar_url, join_rule,"
            " history_visibility, guest_access, room_type, joined_members"
            f" FROM public_rooms WHERE {condition}"
            " ORDER BY joined_members DESC, room_id LIMIT ? OFFSET ?",
            [*params, size, offset],
        )
    )
    body: dict[str, Any] = {
        "chunk": [_chunk(row) for row in rows],
        "total_room_count_estimate": int(total),
    }
    if offset + len(rows) < int(total) and rows:
        body["next_batch"] = f"o{offset + len(rows)}"
    if offset > 0:
        body["prev_batch"] = f"o{max(0, offset - size)}"
    return body


def _chunk(row: tuple[Any, ...]) -> dict[str, Any]:
    room_id, name, topic, alias, avatar, join_rule, history, guests, room_type, joined = row
    chunk: dict[str, Any] = {
        "room_id": room_id,
        "num_joined_members": int(joined),
        "world_readable": history == "world_readable",
        "guest_can_join": guests == "can_join",
        "join_rule": join_rule or "public",
    }
    for key, value in (
        ("name", name),
        ("topic", topic),
        ("canonical_alias", alias),
        ("avatar_url", avatar),
        ("room_type", room_type),
    ):
        if value is not None:
            chunk[key] = value
    return chunk


async def apublic_rooms(db: ReadModelDatabase, **kwargs: Any) -> dict[str, Any]:
    return await asyncio.to_thread(lambda: public_rooms(db, **kwargs))
