"""``GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event`` (Element's "jump to date").

The event of the room closest to a timestamp in one direction: forwards, the
first with ``origin_server_ts >= ts``; backwards, the last with
``origin_server_ts <= ts``; ties by log position. Only events the reader may
see count (history visibility), and only a reader who may read the room asks
(403 otherwise, as ``/messages``). The server knows only its own copy of the
room's history: it does not ask other servers (the spec's federation fallback).
``room_events`` is indexed on ``(room_id, origin_server_ts)`` for this.
"""

from __future__ import annotations

from typing import Any

from tessera.schema.readmodel import ReadModelDatabase

from .errors import Forbidden, NotFound
from .visibility import load_visibility


def event_at(
    db: ReadModelDatabase, room_id: str, user_id: str, ts: int, *, forwards: bool
) -> dict[str, Any]:
    """``{"event_id", "origin_server_ts"}``; raises Forbidden or NotFound."""
    visibility = load_visibility(db, room_id, user_id)
    if not visibility.may_read:
        raise Forbidden("You aren't a member of the room")
    vis_sql, vis_params = visibility.sql("e.position")
    compare, order = (">=", "ASC") if forwards else ("<=", "DESC")
    for event_id, origin_ts in db.iter_rows(
        "SELECT e.event_id, e.origin_server_ts FROM room_events e"
        f" WHERE e.room_id = ? AND e.origin_server_ts {compare} ? AND {vis_sql}"
        f" ORDER BY e.origin_server_ts {order}, e.position {order} LIMIT 1",
        [room_id, ts, *vis_params],
    ):
        return {"event_id": event_id, "origin_server_ts": int(origin_ts)}
    direction = "forward" if forwards else "backward"
    raise NotFound(f"Unable to find event from {ts} in {direction} direction")
