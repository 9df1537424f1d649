"""Paginating a room's history: ``/messages`` and ``/context``.

Tokens are log positions (``tessera.query.tokens``): backwards from ``s<P>``
returns positions ``<= P`` newest first, forwards from ``s<P>`` positions
``> P`` oldest first. The user's visible ranges (``RoomVisibility.sql``) and
the filter's cheap part go into the SQL, so a page usually costs one query;
the filter's exact part runs on the rows, and a page that the exact part thins
out fetches again, up to ``MAX_SCAN`` rows (then it answers with what it has
and an ``end`` token to carry on from, as the spec allows).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from tessera.schema.readmodel import ReadModelDatabase

from .aggregations import Reader, formatted
from .errors import Forbidden, NotFound
from .events import EventRow, Viewer, client_event, event_in_room, events_by_ids, latest_position
from .events import select_events as _select
from .filters import RoomEventFilter
from .state import MEMBER, room_state
from .tokens import StreamToken
from .visibility import END, RoomVisibility, load_visibility

MAX_SCAN = 2000
MIN_BATCH = 20


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    rows: list[EventRow]
    #: The last position examined (``None``: nothing was).
    cursor: int | None
    #: No event of the range is left beyond ``cursor``.
    exhausted: bool


def scan(
    db: ReadModelDatabase,
    room_id: str,
    visibility: RoomVisibility,
    event_filter: RoomEventFilter,
    *,
    after: int,
    upto: int,
    descending: bool,
    limit: int,
) -> Page:
    """Up to ``limit`` events of the room the user may see and the filter keeps,
    with ``after < position <= upto``, from the ``upto`` end when ``descending``."""
    if limit <= 0 or after >= upto:
        return Page([], None, after >= upto)
    vis_sql, vis_params = visibility.sql()
    filter_sql, filter_params = event_filter.sql()
    order = "DESC" if descending else "ASC"
    batch = max(limit, MIN_BATCH)
    found: list[EventRow] = []
    cursor: int | None = None
    scanned = 0
    lo, hi = after, upto
    while True:
        rows = _select(
            db,
            f"e.room_id = ? AND e.position > ? AND e.position <= ? AND {vis_sql} AND {filter_sql}",
            [room_id, lo, hi, *vis_params, *filter_params],
            f"ORDER BY e.position {order} LIMIT {batch}",
        )
        for i, row in enumerate(rows):
            cursor = row.position
            content = row.content() if event_filter.contains_url is not None else None
            if event_filter.matches(row.type, row.sender, row.room_id, content):
                found.append(row)
                if len(found) == limit:
                    return Page(found, cursor, i == len(rows) - 1 and len(rows) < batch)
        if len(rows) < batch:
            return Page(found, cursor, True)
        scanned += len(rows)
        if scanned >= MAX_SCAN or cursor is None:
            return Page(found, cursor, False)
        if descending:
            hi = cursor - 1
        else:
            lo = cursor


def _formatted(
    db: ReadModelDatabase,
    rows: Sequence[EventRow],
    visibility: RoomVisibility,
    viewer: Viewer,
    now_ms: int,
) -> list[dict[str, Any]]:
    """With ``unsigned.membership`` and the bundled aggregations, for the whole batch."""
    return formatted(db, rows, Reader(viewer, {visibility.room_id: visibility}, now_ms))


def _member_state(
    db: ReadModelDatabase,
    room_id: str,
    at: int,
    senders: Sequence[str],
    *,
    viewer: Viewer,
    now_ms: int,
) -> list[dict[str, Any]]:
    """Lazy-loading: the member events of ``senders`` at position ``at``.

    Redundant members are always sent: this server does not track what each
    client already holds, and the spec allows redundancy.
    """
    entries = room_state(db, room_id, at, types=[MEMBER], member_keys=sorted(set(senders)))
    rows = events_by_ids(db, [e.event_id for e in entries])
    return [
        client_event(rows[e.event_id], now_ms=now_ms, viewer=viewer)
        for e in entries
        if e.event_id in rows
    ]


def room_messages(
    db: ReadModelDatabase,
    room_id: str,
    viewer: Viewer,
    *,
    backwards: bool,
    from_token: StreamToken | None,
    to_token: StreamToken | None,
    limit: int,
    event_filter: RoomEventFilter,
    now_ms: int,
) -> dict[str, Any]:
    """The body of ``GET /rooms/{roomId}/messages``; raises Forbidden."""
    visibility = load_visibility(db, room_id, viewer.user_id)
    if not visibility.may_read:
        raise Forbidden("You aren't a member of the room")
    if from_token is not None:
        start = from_token
    else:
        start = StreamToken(latest_position(db) if backwards else 0)
    if backwards:
        after = to_token.position if to_token is not None else 0
        page = scan(db, room_id, visibility, event_filter, after=after, upto=start.position,
                    descending=True, limit=limit)  # fmt: skip
    else:
        upto = to_token.position if to_token is not None else END
        page = scan(db, room_id, visibility, event_filter, after=start.position, upto=upto,
                    descending=False, limit=limit)  # fmt: skip
    body: dict[str, Any] = {
        "start": str(start),
        "chunk": _formatted(db, page.rows, visibility, viewer, now_ms),
    }
    if not page.exhausted and page.cursor is not None:
        body["end"] = str(StreamToken(page.cursor - 1 if backwards else page.cursor))
    elif page.exhausted and to_token is not None:
        body["end"] = str(to_token)
    if event_filter.lazy_load_members and page.rows:
        newest = max(row.position for row in page.rows)
        senders = [row.sender for row in page.rows]
        body["state"] = _member_state(db, room_id, newest, senders, viewer=viewer, now_ms=now_ms)
    return body


def event_context(
    db: ReadModelDatabase,
    room_id: str,
    event_id: str,
    viewer: Viewer,
    *,
    limit: int,
    event_filter: RoomEventFilter,
    now_ms: int,
) -> dict[str, Any]:
    """The body of ``GET /rooms/{roomId}/context/{eventId}``; raises Forbidden, NotFound.

    ``limit`` is shared as Synapse does: half before (rounded down), the rest after.
    """
    visibility = load_visibility(db, room_id, viewer.user_id)
    if not visibility.may_read:
        raise Forbidden("You aren't a member of the room")
    row = event_in_room(db, room_id, event_id)
    if row is None or not visibility.is_visible(row.position):
        raise NotFound("Event not found")
    before_limit = limit // 2
    before = scan(db, room_id, visibility, event_filter, after=0, upto=row.position - 1,
                  descending=True, limit=before_limit)  # fmt: skip
    after = scan(db, room_id, visibility, event_filter, after=row.position, upto=END,
                 descending=False, limit=limit - before_limit)  # fmt: skip
    oldest = before.rows[-1].position if before.rows else row.position
    newest = after.rows[-1].position if after.rows else row.position
    start = (before.cursor if before.cursor is not None and not before.exhausted else oldest) - 1
    end = after.cursor if after.cursor is not None and not after.exhausted else newest
    returned = [*before.rows, row, *after.rows]
    member_keys = sorted({r.sender for r in returned}) if event_filter.lazy_load_members else None
    entries = room_state(db, room_id, newest, member_keys=member_keys)
    state_rows = events_by_ids(db, [e.event_id for e in entries])
    state = [
        client_event(state_rows[e.event_id], now_ms=now_ms, viewer=viewer)
        for e in entries
        if e.event_id in state_rows
        and event_filter.matches(e.type, state_rows[e.event_id].sender, room_id)
    ]
    events = _formatted(db, returned, visibility, viewer, now_ms)
    split = len(before.rows)
    return {
        "start": str(StreamToken(max(start, 0))),
        "end": str(StreamToken(end)),
        "events_before": events[:split],
        "event": events[split],
        "events_after": events[split + 1 :],
        "state": state,
    }
