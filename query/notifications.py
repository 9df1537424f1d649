"""``GET /notifications``: the events that notified the user, newest first.

The token is the position of the last notification returned; the next page
lists those below it. ``read`` says whether the user's read position in the
event's thread (``tessera.query.push.read_positions``) has reached the event.
"""

from __future__ import annotations

from typing import Any

import orjson

from tessera.query.events import client_event, events_by_positions
from tessera.query.push import notifications, read_positions
from tessera.schema.readmodel import ReadModelDatabase

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def list_notifications(
    db: ReadModelDatabase,
    user_id: str,
    *,
    before: int | None,
    limit: int,
    only_highlight: bool,
    now_ms: int,
) -> dict[str, Any]:
    limit = max(1, min(limit, MAX_LIMIT))
    found = notifications(db, user_id, before, limit + 1, only_highlight)
    more = len(found) > limit
    found = found[:limit]
    rows = {row.position: row for row in events_by_positions(db, [n.position for n in found])}
    reads = read_positions(db, user_id, sorted({n.room_id for n in found}))
    listed: list[dict[str, Any]] = []
    for n in found:
        row = rows.get(n.position)
        if row is None:
            continue
        listed.append(
            {
                "actions": orjson.loads(n.actions),
                "event": client_event(row, now_ms=now_ms),
                "read": n.position <= reads[n.room_id].of(n.thread_id),
                "room_id": n.room_id,
                "ts": n.ts,
            }
        )
    body: dict[str, Any] = {"notifications": listed}
    if more and found:
        body["next_token"] = str(found[-1].position)
    return body
