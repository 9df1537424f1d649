"""Device keys, cross-signing keys, published signatures, and who changed when.

Folds ``keys|<user>`` (``tessera.schema.keys``) and, from account streams,
``account.device_deleted`` (a deleted device's keys go with the deletion's own
record, so no crash between two writes can leave them behind) and
``account.device_renamed`` (the display name is part of ``/keys/query``).

``e2e_device_list_changes`` keeps, per user, the position of the last change
of anything ``/keys/query`` shows for them: sync's ``device_lists.changed`` and
``/keys/changes`` ask which users changed in a window. Only the last position
is kept, so a user who changed twice is reported once, in the window of the
latest change.
"""

from __future__ import annotations

import orjson

from tessera.schema import accounts as acc
from tessera.schema import keys as k
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change

name = "device_keys"
tables: tuple[str, ...] = (
    "e2e_device_keys",
    "e2e_cross_signing_keys",
    "e2e_key_signatures",
    "e2e_device_list_changes",
)
migrations: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS e2e_device_keys ("
    " user_id TEXT NOT NULL, device_id TEXT NOT NULL, keys TEXT NOT NULL,"
    " position BIGINT NOT NULL, PRIMARY KEY (user_id, device_id))",
    "CREATE TABLE IF NOT EXISTS e2e_cross_signing_keys ("
    " user_id TEXT NOT NULL, key_type TEXT NOT NULL, key TEXT NOT NULL,"
    " position BIGINT NOT NULL, PRIMARY KEY (user_id, key_type))",
    "CREATE TABLE IF NOT EXISTS e2e_key_signatures ("
    " signer_user TEXT NOT NULL, target_user TEXT NOT NULL, target_key TEXT NOT NULL,"
    " signer_key_id TEXT NOT NULL, signature TEXT NOT NULL, position BIGINT NOT NULL,"
    " PRIMARY KEY (target_user, target_key, signer_user, signer_key_id))",
    "CREATE TABLE IF NOT EXISTS e2e_device_list_changes ("
    " user_id TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS e2e_device_list_changes_position"
    " ON e2e_device_list_changes (position)",
)

_CHANGED = (
    "INSERT INTO e2e_device_list_changes (user_id, position) VALUES (?, ?)"
    " ON CONFLICT (user_id) DO UPDATE SET position = excluded.position"
)


def _json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _device_gone(user_id: str, device_id: str) -> list[Change]:
    return [
        Change(
            "DELETE FROM e2e_device_keys WHERE user_id = ? AND device_id = ?", (user_id, device_id)
        ),
        Change(
            "DELETE FROM e2e_key_signatures WHERE target_user = ? AND target_key = ?",
            (user_id, device_id),
        ),
    ]


def _account(record: LogRecord) -> list[Change]:
    event = acc.decode(record.kind, record.payload)
    user_id = record.stream
    if isinstance(event, acc.DeviceDeleted):
        return [
            *_device_gone(user_id, event.device_id),
            Change(_CHANGED, (user_id, record.position)),
        ]
    if isinstance(event, acc.DeviceRenamed):
        return [Change(_CHANGED, (user_id, record.position))]
    return []


def apply(record: LogRecord) -> list[Change]:
    if record.kind in (acc.DeviceDeleted.KIND, acc.DeviceRenamed.KIND):
        return _account(record)
    if record.kind not in k.KEYS_KINDS:
        return []
    user_id = k.keys_stream_user(record.stream)
    if user_id is None:
        return []
    body = k.decode(record.payload)
    pos = record.position
    changes: list[Change] = []
    if record.kind == k.DEVICE_KEYS_UPLOADED:
        changes.append(
            Change(
                "INSERT INTO e2e_device_keys (user_id, device_id, keys, position)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, device_id) DO UPDATE SET"
                " keys = excluded.keys, position = excluded.position",
                (user_id, body["device_id"], _json(body["keys"]), pos),
            )
        )
    elif record.kind == k.DEVICE_KEYS_DELETED:
        changes += _device_gone(user_id, body["device_id"])
    elif record.kind == k.CROSS_SIGNING_UPLOADED:
        for key_type, key in sorted(body["keys"].items()):
            changes.append(
                Change(
                    "INSERT INTO e2e_cross_signing_keys (user_id, key_type, key, position)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, key_type) DO UPDATE SET"
                    " key = excluded.key, position = excluded.position",
                    (user_id, key_type, _json(key), pos),
                )
            )
    elif record.kind == k.SIGNATURE_ADDED:
        changes.append(
            Change(
                "INSERT INTO e2e_key_signatures (signer_user, target_user, target_key,"
                " signer_key_id, signature, position) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (target_user, target_key, signer_user, signer_key_id)"
                " DO UPDATE SET signature = excluded.signature, position = excluded.position",
                (
                    user_id,
                    body["target_user"],
                    body["target_key"],
                    body["signer_key_id"],
                    body["signature"],
                    pos,
                ),
            )
        )
    changes.append(Change(_CHANGED, (user_id, pos)))
    return changes
