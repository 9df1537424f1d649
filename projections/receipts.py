"""Read receipts: the latest receipt per (room, user, receipt type, thread).

``position`` is the log position of the receipt's record, so sync asks "which
receipts of these rooms changed in ``(since, upto]``". ``thread_id`` is ``''``
for an unthreaded receipt (a key column cannot be NULL in a primary key).
"""

from __future__ import annotations

from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change
from tessera.schema.userdata import RECEIPT_SENT, ReceiptSent, stream_user

name = "receipts"
tables: tuple[str, ...] = ("receipts",)
migrations: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS receipts ("
    " room_id TEXT NOT NULL, user_id TEXT NOT NULL, receipt_type TEXT NOT NULL,"
    " thread_id TEXT NOT NULL, event_id TEXT NOT NULL, ts BIGINT NOT NULL,"
    " position BIGINT NOT NULL,"
    " PRIMARY KEY (room_id, user_id, receipt_type, thread_id))",
    "CREATE INDEX IF NOT EXISTS receipts_room_position ON receipts (room_id, position)",
)

_UPSERT = (
    "INSERT INTO receipts (room_id, user_id, receipt_type, thread_id, event_id, ts, position)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (room_id, user_id, receipt_type, thread_id) DO UPDATE SET"
    " event_id = excluded.event_id, ts = excluded.ts, position = excluded.position"
)


def apply(record: LogRecord) -> list[Change]:
    if record.kind != RECEIPT_SENT:
        return []
    user_id = stream_user(record.stream)
    if user_id is None:
        return []
    r = ReceiptSent.decode(record.payload)
    params = (r.room_id, user_id, r.receipt_type, r.thread_id or "", r.event_id, r.ts)
    return [Change(_UPSERT, (*params, record.position))]
