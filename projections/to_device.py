"""To-device inboxes: the messages each device has not acknowledged yet.

Folds ``to_device.sent`` (one row per recipient device, at the send record's
position; ``seq`` orders the rows of one record) and ``to_device.acked``
(deletes the device's rows up to the acknowledged position), and empties a
deleted device's inbox on ``account.device_deleted``. Sync delivers a device's
rows in ``(since, upto]``; until acknowledged they are delivered again to any
sync from an older token, so a dropped response loses nothing.
"""

from __future__ import annotations

import orjson

from tessera.schema import accounts as acc
from tessera.schema import keys as k
from tessera.schema import to_device as td
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change

name = "to_device"
tables: tuple[str, ...] = ("to_device_inbox",)
migrations: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS to_device_inbox ("
    " user_id TEXT NOT NULL, device_id TEXT NOT NULL, position BIGINT NOT NULL,"
    " seq BIGINT NOT NULL, sender TEXT NOT NULL, type TEXT NOT NULL, content TEXT NOT NULL,"
    " PRIMARY KEY (user_id, device_id, position, seq))",
)


def apply(record: LogRecord) -> list[Change]:
    if record.kind == td.TO_DEVICE_SENT:
        body = k.decode(record.payload)
        return [
            Change(
                "INSERT INTO to_device_inbox (user_id, device_id, position, seq, sender, type,"
                " content) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    user_id,
                    device_id,
                    record.position,
                    seq,
                    body["sender"],
                    body["type"],
                    orjson.dumps(content).decode(),
                ),
            )
            for seq, (user_id, device_id, content) in enumerate(body["messages"])
        ]
    if record.kind == td.TO_DEVICE_ACKED:
        owner = td.inbox_owner(record.stream)
        if owner is None:
            return []
        upto = int(k.decode(record.payload)["upto"])
        return [
            Change(
                "DELETE FROM to_device_inbox WHERE user_id = ? AND device_id = ? AND position <= ?",
                (*owner, upto),
            )
        ]
    if record.kind == acc.DeviceDeleted.KIND:
        event = acc.decode(record.kind, record.payload)
        assert isinstance(event, acc.DeviceDeleted)
        return [
            Change(
                "DELETE FROM to_device_inbox WHERE user_id = ? AND device_id = ?",
                (record.stream, event.device_id),
            )
        ]
    return []
