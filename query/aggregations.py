"""Bundled aggregations: ``unsigned["m.relations"]`` of the events a reader is served.

Spec: "Aggregations of child events" and the modules that define one:

- ``m.thread`` (threading): ``latest_event`` (the newest reply, itself with its
  own aggregations), ``count`` (replies) and ``current_user_participated`` (the
  reader sent the root or a reply);
- ``m.replace`` (event replacements, v1.7+): the most recent *valid* edit as a
  whole event, by ``origin_server_ts`` then the greatest ``event_id``; never for
  a redacted original. The original's content is left as it is;
- ``m.reference``: ``{"chunk": [{"event_id"}…]}``;
- ``m.annotation`` (reactions) is not aggregated, as the spec says.

Children are read from ``room_events`` through its ``relates_to`` index, for a
whole batch of parents at once: a constant number of queries per batch (threads,
edits, references, the newest replies and their own edits), whatever its size.
A child counts only if it is in the parent's room, is not redacted (a redaction
breaks the relationship), lies at or before ``upto`` (sync: the response's
token, so a later sync does not deliver an already-counted child as new) and
the reader may see it (history visibility, per room). State events get no
aggregations (spec warning). Ignored users are not filtered: this server does
not implement ``m.ignored_user_list`` yet.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tessera.schema.readmodel import ReadModelDatabase

from .events import CHUNK, EVENT_COLUMNS, EVENT_FROM, EventRow, Viewer, client_event
from .events import events_by_positions as _by_positions
from .visibility import RoomVisibility

THREAD, REPLACE, REFERENCE = "m.thread", "m.replace", "m.reference"
#: "The child is in this room", written so that no index serves it: without
#: statistics SQLite would otherwise walk the room's index (every event of the
#: room) instead of ``relates_to``'s (the few children), on both dialects alike.
SAME_ROOM = "e.room_id || '' = ?"


@dataclasses.dataclass(frozen=True, slots=True)
class Reader:
    """Who reads, and what they may see: ``visibility`` per room (a room absent
    from it is wholly visible), children up to ``upto`` (None: all)."""

    viewer: Viewer
    visibility: Mapping[str, RoomVisibility]
    now_ms: int
    upto: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Thread:
    count: int
    latest: int
    participated: bool


def relation_of(content: Any) -> tuple[str | None, str | None]:
    """``(rel_type, event_id)`` of a content's ``m.relates_to`` (Nones if absent)."""
    relates = content.get("m.relates_to") if isinstance(content, dict) else None
    if not isinstance(relates, dict):
        return None, None
    rel_type, target = relates.get("rel_type"), relates.get("event_id")
    return (
        rel_type if isinstance(rel_type, str) else None,
        target if isinstance(target, str) else None,
    )


def _scope(parents: Sequence[EventRow], reader: Reader) -> tuple[str, list[Any]]:
    """A condition on children ``e`` of these parents that the reader may count."""
    by_room: dict[str, list[str]] = defaultdict(list)
    for row in parents:
        by_room[row.room_id].append(row.event_id)
    marks = ",".join("?" * len(parents))
    params: list[Any] = [row.event_id for row in parents]
    terms: list[str] = []
    for room_id, ids in by_room.items():
        visibility = reader.visibility.get(room_id)
        vis_sql, vis_params = visibility.sql("e.position") if visibility else ("1 = 1", [])
        terms.append(
            f"({SAME_ROOM} AND e.relates_to IN ({','.join('?' * len(ids))}) AND {vis_sql})"
        )
        params += [room_id, *ids, *vis_params]
    sql = f"e.relates_to IN ({marks}) AND e.redacted_by IS NULL AND ({' OR '.join(terms)})"
    if reader.upto is not None:
        sql += " AND e.position <= ?"
        params.append(reader.upto)
    return sql, params


def _threads(
    db: ReadModelDatabase, scope: tuple[str, list[Any]], user_id: str
) -> dict[str, _Thread]:
    sql, params = scope
    rows = db.iter_rows(
        "SELECT e.relates_to, COUNT(*), MAX(e.position),"
        " MAX(CASE WHEN e.sender = ? THEN 1 ELSE 0 END)"
        f" FROM room_events e WHERE e.rel_type = ? AND {sql} GROUP BY e.relates_to",
        [user_id, THREAD, *params],
    )
    return {root: _Thread(int(n), int(latest), bool(mine)) for root, n, latest, mine in rows}


def _children(
    db: ReadModelDatabase, scope: tuple[str, list[Any]], rel_type: str
) -> list[tuple[str, EventRow]]:
    sql, params = scope
    rows = db.iter_rows(
        f"SELECT {EVENT_COLUMNS}, e.relates_to FROM {EVENT_FROM}"
        f" WHERE e.rel_type = ? AND {sql} ORDER BY e.position",
        [rel_type, *params],
    )
    return [(row[17], EventRow.of(row)) for row in rows]


def _references(db: ReadModelDatabase, scope: tuple[str, list[Any]]) -> dict[str, list[str]]:
    sql, params = scope
    found: dict[str, list[str]] = defaultdict(list)
    for parent, event_id in db.iter_rows(
        f"SELECT e.relates_to, e.event_id FROM room_events e WHERE e.rel_type = ? AND {sql}"
        " ORDER BY e.position",
        [REFERENCE, *params],
    ):
        found[parent].append(event_id)
    return found


def valid_edit(original: EventRow, edit: EventRow) -> bool:
    """Spec: "Validity of replacement events" (the room is checked by the query)."""
    if original.redacted_by is not None or original.state_key is not None:
        return False
    if edit.state_key is not None or edit.sender != original.sender or edit.type != original.type:
        return False
    if relation_of(original.content())[0] == REPLACE:
        return False  # an edit of an edit
    # An encrypted edit carries m.new_content inside its ciphertext.
    return edit.type == "m.room.encrypted" or isinstance(edit.content().get("m.new_content"), dict)


def latest_edit(original: EventRow, edits: Iterable[EventRow]) -> EventRow | None:
    valid = [edit for edit in edits if valid_edit(original, edit)]
    return max(valid, key=lambda e: (e.origin_server_ts, e.event_id), default=None)


def bundles(
    db: ReadModelDatabase, rows: Sequence[EventRow], reader: Reader, *, nested: bool = True
) -> dict[str, dict[str, Any]]:
    """``m.relations`` by event ID, for the rows that have any; ``nested``
    aggregates the newest thread replies too (one level: threads don't nest)."""
    parents = [row for row in rows if row.state_key is None]
    by_id = {row.event_id: row for row in parents}
    threads: dict[str, _Thread] = {}
    edits: dict[str, list[EventRow]] = defaultdict(list)
    references: dict[str, list[str]] = {}
    for start in range(0, len(parents), CHUNK):
        scope = _scope(parents[start : start + CHUNK], reader)
        threads |= _threads(db, scope, reader.viewer.user_id)
        for parent, child in _children(db, scope, REPLACE):
            edits[parent].append(child)
        references |= _references(db, scope)
    latest = {row.position: row for row in _by_positions(db, [t.latest for t in threads.values()])}
    inner = bundles(db, list(latest.values()), reader, nested=False) if nested and latest else {}
    out: dict[str, dict[str, Any]] = {}
    for event_id, row in by_id.items():
        relations: dict[str, Any] = {}
        thread = threads.get(event_id)
        newest = latest.get(thread.latest) if thread is not None else None
        if thread is not None and newest is not None:
            relations[THREAD] = {
                "latest_event": format_event(newest, reader, inner.get(newest.event_id)),
                "count": thread.count,
                "current_user_participated": thread.participated
                or row.sender == reader.viewer.user_id,
            }
        replacement = latest_edit(row, edits.get(event_id, ()))
        if replacement is not None:
            relations[REPLACE] = format_event(replacement, reader)
        if event_id in references:
            relations[REFERENCE] = {"chunk": [{"event_id": e} for e in references[event_id]]}
        if relations:
            out[event_id] = relations
    return out


def format_event(
    row: EventRow, reader: Reader, relations: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    visibility = reader.visibility.get(row.room_id)
    return client_event(
        row,
        now_ms=reader.now_ms,
        viewer=reader.viewer,
        may_see=visibility.is_visible if visibility is not None else None,
        relations=relations,
    )


def formatted(
    db: ReadModelDatabase, rows: Sequence[EventRow], reader: Reader, *, membership: bool = True
) -> list[dict[str, Any]]:
    """The rows in the client format with their aggregations; ``membership``
    adds ``unsigned.membership`` from the room's visibility when known."""
    found = bundles(db, rows, reader)
    out = []
    for row in rows:
        visibility = reader.visibility.get(row.room_id)
        event = format_event(row, reader, found.get(row.event_id))
        if membership and visibility is not None:
            event["unsigned"]["membership"] = visibility.membership_at(row.position)
        out.append(event)
    return out
