"""``GET /_matrix/client/v1/rooms/{roomId}/threads``: a room's thread roots,
the most recently active first (spec: "Querying threads in a room").

The order comes from the ``threads`` read model (``projections/threads.py``:
the position of each root's latest reply). A page is one query: the roots the
reader may see (history visibility, on the root's position), optionally only
threads they took part in (sent the root or a reply), newest activity first.
``from``/``next_batch`` are stream tokens ``s<P>``: threads whose latest
activity is at or before ``P``. A thread that gets a new reply while a client
pages moves to the front, as on other servers; activity a reader may not see
(after they left) still orders the list, but is never shown: the summary in
``unsigned.m.relations.m.thread`` counts only what they may see.
"""

from __future__ import annotations

from typing import Any

from tessera.schema.readmodel import ReadModelDatabase

from .aggregations import Reader, formatted
from .errors import Forbidden
from .events import Viewer, events_by_ids
from .tokens import StreamToken
from .visibility import END, load_visibility

_PARTICIPATED = (
    " AND (r.sender = ? OR EXISTS (SELECT 1 FROM thread_events c"
    " WHERE c.root_id = t.root_id AND c.room_id = t.room_id AND c.sender = ? AND c.redacted = 0))"
)


def thread_roots(
    db: ReadModelDatabase,
    room_id: str,
    viewer: Viewer,
    *,
    participated: bool,
    from_token: StreamToken | None,
    limit: int,
    now_ms: int,
) -> dict[str, Any]:
    """The response body; raises Forbidden for a room the reader may not read."""
    visibility = load_visibility(db, room_id, viewer.user_id)
    if not visibility.may_read:
        raise Forbidden("You aren't a member of the room")
    upto = from_token.position if from_token is not None else END
    vis_sql, vis_params = visibility.sql("r.position")
    sql = (
        "SELECT t.root_id, t.latest_position FROM threads t"
        " JOIN room_events r ON r.event_id = t.root_id AND r.room_id = t.room_id"
        f" WHERE t.room_id = ? AND t.latest_position <= ? AND {vis_sql}"
    )
    params: list[Any] = [room_id, upto, *vis_params]
    if participated:
        sql += _PARTICIPATED
        params += [viewer.user_id, viewer.user_id]
    sql += f" ORDER BY t.latest_position DESC LIMIT {limit + 1}"
    found = list(db.iter_rows(sql, params))
    page = found[:limit]
    rows = events_by_ids(db, [root for root, _ in page])
    roots = [rows[root] for root, _ in page if root in rows]
    body: dict[str, Any] = {
        "chunk": formatted(db, roots, Reader(viewer, {room_id: visibility}, now_ms))
    }
    if len(found) > limit and page:
        body["next_batch"] = str(StreamToken(int(page[-1][1]) - 1))
    return body
