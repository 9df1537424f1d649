"""The end-to-end encryption parts of a sync response (blocking; run with the rest).

- ``to_device.events``: the device's inbox rows in ``(since, upto]`` (all
  unacknowledged rows up to ``upto`` for an initial sync). Rows are deleted only
  once a later sync's ``since`` acknowledges them (``command/to_device.py``), so
  a client that lost a response and syncs again from the same token gets the
  same messages again.
- ``device_lists``: ``query.keys.device_list_changes`` (incremental syncs only).
- ``device_one_time_keys_count`` and ``device_unused_fallback_key_types``: the
  device's keys now.
"""

from __future__ import annotations

from typing import Any

import orjson

from tessera.query.keys import device_list_changes
from tessera.schema.readmodel import ReadModelDatabase


def to_device_events(
    db: ReadModelDatabase, user_id: str, device_id: str, since: int | None, upto: int
) -> list[dict[str, Any]]:
    rows = db.iter_rows(
        "SELECT sender, type, content FROM to_device_inbox"
        " WHERE user_id = ? AND device_id = ? AND position > ? AND position <= ?"
        " ORDER BY position, seq",
        (user_id, device_id, since or 0, upto),
    )
    return [{"sender": s, "type": t, "content": orjson.loads(c)} for s, t, c in rows]


def key_counts(
    db: ReadModelDatabase, user_id: str, device_id: str
) -> tuple[dict[str, int], list[str]]:
    counts = {"signed_curve25519": 0}
    for algorithm, count in db.iter_rows(
        "SELECT algorithm, COUNT(*) FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ?"
        " GROUP BY algorithm",
        (user_id, device_id),
    ):
        counts[str(algorithm)] = int(count)
    unused = sorted(
        str(r[0])
        for r in db.iter_rows(
            "SELECT algorithm FROM e2e_fallback_keys WHERE user_id = ? AND device_id = ?"
            " AND used = 0",
            (user_id, device_id),
        )
    )
    return counts, unused


def add_e2ee(
    db: ReadModelDatabase,
    body: dict[str, Any],
    *,
    user_id: str,
    device_id: str | None,
    since: int | None,
    upto: int,
) -> None:
    """Adds the sections to ``body`` (a sync response being assembled)."""
    if since is not None:
        changed, left = device_list_changes(db, user_id, since, upto)
        body["device_lists"] = {"changed": changed, "left": left}
    if device_id is None:
        return
    body["to_device"] = {"events": to_device_events(db, user_id, device_id, since, upto)}
    counts, unused = key_counts(db, user_id, device_id)
    body["device_one_time_keys_count"] = counts
    body["device_unused_fallback_key_types"] = unused


def has_e2ee_news(body: dict[str, Any]) -> bool:
    """Does the response carry something a long-poll must return for? (Key counts
    alone do not: they are state, not news.)"""
    lists = body.get("device_lists") or {}
    return bool(
        (body.get("to_device") or {}).get("events") or lists.get("changed") or lists.get("left")
    )
