"""Room aliases: which local alias points at which room (``GET /directory/room``,
``GET /rooms/{roomId}/aliases``).

Folds the alias streams' ``alias.created``/``alias.deleted`` records
(``tessera.schema.directory``); ``position`` is the record's log position.
"""

from __future__ import annotations

from tessera.schema.directory import ALIAS_CREATED, ALIAS_DELETED, AliasCreated, AliasDeleted
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change

name = "room_aliases"
tables: tuple[str, ...] = ("room_aliases",)
migrations: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS room_aliases ("
    " alias TEXT PRIMARY KEY, room_id TEXT NOT NULL, creator TEXT NOT NULL,"
    " position BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS room_aliases_room ON room_aliases (room_id)",
)

_UPSERT = (
    "INSERT INTO room_aliases (alias, room_id, creator, position) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (alias) DO UPDATE SET"
    " room_id = excluded.room_id, creator = excluded.creator, position = excluded.position"
)
_DELETE = "DELETE FROM room_aliases WHERE alias = ?"


def apply(record: LogRecord) -> list[Change]:
    if record.kind == ALIAS_CREATED:
        created = AliasCreated.decode(record.payload)
        return [Change(_UPSERT, (created.alias, created.room_id, created.creator, record.position))]
    if record.kind == ALIAS_DELETED:
        return [Change(_DELETE, (AliasDeleted.decode(record.payload).alias,))]
    return []
