"""A room's ephemeral events in sync: ``m.receipt`` (from the receipts read
model) and ``m.typing`` (from the in-memory tracker).

``m.read.private`` receipts are shown only to their owner; ``m.read`` to every
member.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

PRIVATE = "m.read.private"

#: ``(room_id, user_id, receipt_type, thread_id, event_id, ts)``, as ``SyncStore.receipts``.
ReceiptRow = tuple[str, str, str, str, str, int]


def receipt_events(rows: Iterable[ReceiptRow], user_id: str) -> dict[str, dict[str, Any]]:
    """Per room, its ``m.receipt`` event for these receipts as ``user_id`` may see them."""
    contents: dict[str, dict[str, Any]] = {}
    for room_id, reader, receipt_type, thread_id, event_id, ts in rows:
        if receipt_type == PRIVATE and reader != user_id:
            continue
        receipt: dict[str, Any] = {"ts": ts}
        if thread_id:
            receipt["thread_id"] = thread_id
        content = contents.setdefault(room_id, {})
        content.setdefault(event_id, {}).setdefault(receipt_type, {})[reader] = receipt
    return {room: {"type": "m.receipt", "content": c} for room, c in contents.items()}


def typing_event(user_ids: list[str]) -> dict[str, Any]:
    return {"type": "m.typing", "content": {"user_ids": user_ids}}
