"""``GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]``.

The children of a parent event (spec: "Relationships API"), from
``room_events`` by its ``relates_to`` index. Tokens are log positions
(``tessera.query.tokens``), as for ``/messages``: backwards (``dir=b``, the
default) from ``s<P>`` gives positions ``<= P`` newest first, forwards from
``s<P>`` positions ``> P`` oldest first; ``to`` bounds the other end. So a
``/messages`` or ``/sync`` token works as ``from``, as the spec asks.

A parent the reader may not see (or that is not in the room) is 404, like
``/event``; children are filtered by history visibility and left out once
redacted (a redaction breaks the relationship). With ``recurse``, children of
children count too, up to ``RECURSION_DEPTH`` levels, following only events
that pass the ``rel_type``/``event_type`` filters (the spec: an event reached
only through a non-matching one is not included).
"""

from __future__ import annotations

from typing import Any

from tessera.schema.readmodel import ReadModelDatabase

from .aggregations import SAME_ROOM, Reader, formatted
from .errors import NotFound
from .events import Viewer, event_in_room, select_events
from .tokens import StreamToken
from .visibility import END, RoomVisibility, load_visibility

#: Levels of relationships followed with ``recurse`` (the spec asks for at least 3).
RECURSION_DEPTH = 3
#: The most events a recursive walk follows, so a huge tree cannot exhaust the server.
MAX_TREE = 1000


def _filters(rel_type: str | None, event_type: str | None) -> tuple[str, list[Any]]:
    sql, params = "", []
    if rel_type is not None:
        sql += " AND e.rel_type = ?"
        params.append(rel_type)
    if event_type is not None:
        sql += " AND e.type = ?"
        params.append(event_type)
    return sql, params


def _tree(
    db: ReadModelDatabase,
    room_id: str,
    root: str,
    visibility: RoomVisibility,
    filters: tuple[str, list[Any]],
) -> list[str]:
    """The root and its matching descendants down to ``RECURSION_DEPTH - 1``
    levels: the events whose children make up the answer."""
    vis_sql, vis_params = visibility.sql("e.position")
    seen, frontier = [root], [root]
    for _ in range(RECURSION_DEPTH - 1):
        marks = ",".join("?" * len(frontier))
        rows = db.iter_rows(
            "SELECT e.event_id FROM room_events e"
            f" WHERE {SAME_ROOM} AND e.relates_to IN ({marks})"
            f" AND e.redacted_by IS NULL AND {vis_sql}{filters[0]} ORDER BY e.position",
            [room_id, *frontier, *vis_params, *filters[1]],
        )
        known = set(seen)
        frontier = [event_id for (event_id,) in rows if event_id not in known]
        frontier = frontier[: MAX_TREE - len(seen)]
        if not frontier:
            break
        seen += frontier
    return seen


def relations(
    db: ReadModelDatabase,
    room_id: str,
    event_id: str,
    viewer: Viewer,
    *,
    rel_type: str | None,
    event_type: str | None,
    from_token: StreamToken | None,
    to_token: StreamToken | None,
    limit: int,
    backwards: bool,
    recurse: bool | None,
    now_ms: int,
) -> dict[str, Any]:
    """The response body; raises NotFound for a parent the reader may not see."""
    visibility = load_visibility(db, room_id, viewer.user_id)
    parent = event_in_room(db, room_id, event_id)
    if parent is None or not visibility.is_visible(parent.position):
        raise NotFound("Event not found")
    filters = _filters(rel_type, event_type)
    parents = _tree(db, room_id, event_id, visibility, filters) if recurse else [event_id]
    if backwards:
        lo = to_token.position if to_token is not None else 0
        hi = from_token.position if from_token is not None else END
    else:
        lo = from_token.position if from_token is not None else 0
        hi = to_token.position if to_token is not None else END
    vis_sql, vis_params = visibility.sql("e.position")
    rows = select_events(
        db,
        f"{SAME_ROOM} AND e.relates_to IN ({','.join('?' * len(parents))})"
        f" AND e.redacted_by IS NULL AND e.position > ? AND e.position <= ? AND {vis_sql}"
        + filters[0],
        [room_id, *parents, lo, hi, *vis_params, *filters[1]],
        f"ORDER BY e.position {'DESC' if backwards else 'ASC'} LIMIT {limit + 1}",
    )
    page = rows[:limit]
    reader = Reader(viewer, {room_id: visibility}, now_ms)
    body: dict[str, Any] = {"chunk": formatted(db, page, reader)}
    if len(rows) > limit and page:
        last = page[-1].position
        body["next_batch"] = str(StreamToken(last - 1 if backwards else last))
    if from_token is not None:
        body["prev_batch"] = str(from_token)
    if recurse is not None:
        body["recursion_depth"] = RECURSION_DEPTH if recurse else 1
    return body
