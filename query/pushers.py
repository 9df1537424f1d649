"""Reads of the ``pushers`` read model."""

from __future__ import annotations

import dataclasses

from tessera.schema.pushers import PusherSet
from tessera.schema.readmodel import ReadModelDatabase


@dataclasses.dataclass(frozen=True, slots=True)
class PusherRow:
    user_id: str
    pusher: PusherSet
    #: The log position of the record that last set it.
    position: int


def _rows(db: ReadModelDatabase, where: str, params: tuple[str, ...]) -> list[PusherRow]:
    return [
        PusherRow(r[0], PusherSet.decode(r[1].encode()), int(r[2]))
        for r in db.iter_rows(
            f"SELECT user_id, pusher, position FROM pushers WHERE {where}"
            " ORDER BY user_id, app_id, pushkey",
            params,
        )
    ]


def user_pushers(db: ReadModelDatabase, user_id: str) -> list[PusherRow]:
    return _rows(db, "user_id = ?", (user_id,))


def pushers_with_key(db: ReadModelDatabase, app_id: str, pushkey: str) -> list[PusherRow]:
    return _rows(db, "app_id = ? AND pushkey = ?", (app_id, pushkey))


def all_pushers(db: ReadModelDatabase) -> list[PusherRow]:
    return _rows(db, "1 = 1", ())
