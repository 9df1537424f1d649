"""A user's settings: account data (global and per room), filters, push rules,
and the rooms they forgot (``room.forgotten`` of ``tessera.schema.directory``).

Every row carries the log ``position`` of the record that last wrote it, so
sync asks "what changed in ``(since, upto]``". ``room_id`` is ``''`` for global
account data. A forgotten room stays hidden from sync while the user's
membership is older than ``forgotten_rooms.position``.
``user_push_rules.rules`` is the user's document (``tessera.schema.push_rules``);
readers merge it with the server defaults.
"""

from __future__ import annotations

from tessera.schema.directory import ROOM_FORGOTTEN, USER_ROOMS_PREFIX, RoomForgotten
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change
from tessera.schema.userdata import (
    ACCOUNT_DATA_SET,
    FILTER_CREATED,
    PUSH_RULES_SET,
    AccountDataSet,
    FilterCreated,
    PushRulesSet,
    encode,
    stream_user,
)

name = "account_data"
tables: tuple[str, ...] = ("account_data", "user_filters", "user_push_rules", "forgotten_rooms")
migrations: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS account_data ("
    " user_id TEXT NOT NULL, room_id TEXT NOT NULL, type TEXT NOT NULL,"
    " content TEXT NOT NULL, position BIGINT NOT NULL,"
    " PRIMARY KEY (user_id, room_id, type))",
    "CREATE INDEX IF NOT EXISTS account_data_user_position ON account_data (user_id, position)",
    "CREATE TABLE IF NOT EXISTS user_filters ("
    " user_id TEXT NOT NULL, filter_id TEXT NOT NULL, filter TEXT NOT NULL,"
    " position BIGINT NOT NULL, PRIMARY KEY (user_id, filter_id))",
    "CREATE TABLE IF NOT EXISTS user_push_rules ("
    " user_id TEXT PRIMARY KEY, rules TEXT NOT NULL, position BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS forgotten_rooms ("
    " user_id TEXT NOT NULL, room_id TEXT NOT NULL, position BIGINT NOT NULL,"
    " PRIMARY KEY (user_id, room_id))",
)


def _json(value: object) -> str:
    return encode(value).decode()


def apply(record: LogRecord) -> list[Change]:
    if record.kind == ROOM_FORGOTTEN and record.stream.startswith(USER_ROOMS_PREFIX):
        forgetter = record.stream[len(USER_ROOMS_PREFIX) :]
        room_id = RoomForgotten.decode(record.payload).room_id
        return [
            Change(
                "INSERT INTO forgotten_rooms (user_id, room_id, position) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id, room_id) DO UPDATE SET position = excluded.position",
                (forgetter, room_id, record.position),
            )
        ]
    if record.kind not in (ACCOUNT_DATA_SET, FILTER_CREATED, PUSH_RULES_SET):
        return []
    user_id = stream_user(record.stream)
    if user_id is None:
        return []
    if record.kind == ACCOUNT_DATA_SET:
        data = AccountDataSet.decode(record.payload)
        return [
            Change(
                "INSERT INTO account_data (user_id, room_id, type, content, position)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, room_id, type) DO UPDATE SET"
                " content = excluded.content, position = excluded.position",
                (user_id, data.room_id or "", data.type, _json(data.content), record.position),
            )
        ]
    if record.kind == FILTER_CREATED:
        created = FilterCreated.decode(record.payload)
        return [
            Change(
                "INSERT INTO user_filters (user_id, filter_id, filter, position)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, filter_id) DO NOTHING",
                (user_id, created.filter_id, _json(created.filter), record.position),
            )
        ]
    rules = PushRulesSet.decode(record.payload).rules
    return [
        Change(
            "INSERT INTO user_push_rules (user_id, rules, position) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET"
            " rules = excluded.rules, position = excluded.position",
            (user_id, _json(rules), record.position),
        )
    ]
