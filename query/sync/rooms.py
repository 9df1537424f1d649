"""The per-room sections of a sync response: join, leave, invite, knock.

State sections follow the spec and MSC4222:

- ``state`` (default): the state at the *start* of the timeline — the whole of
  it on an initial sync, a newly joined room or ``full_state``; otherwise the
  keys that changed between ``since`` and the timeline's first event, with
  their values just before that event.
- ``state_after`` (``use_state_after=true``): the state at the *end* of the
  timeline — whole or, incrementally, every key changed in ``(since, upto]``.

Lazy-loading members keeps, in a whole-state section, only the member events of
the timeline's senders and the user's own.
"""

from __future__ import annotations

from typing import Any

from tessera.query.events import EventRow, Viewer, client_event
from tessera.query.tokens import StreamToken

from .context import RoomMembership, SyncContext
from .filter import EventFilter, project_fields
from .format import STRIPPED_STATE_TYPES, stripped_event
from .summary import room_summary


def _filter_state(
    ctx: SyncContext, rows: list[EventRow], senders: set[str], whole: bool
) -> list[EventRow]:
    flt: EventFilter = ctx.filter.state
    kept = [r for r in rows if flt.allows(r.type, r.sender)]
    if flt.lazy_load_members and whole:
        wanted = senders | {ctx.user_id}
        kept = [r for r in kept if r.type != "m.room.member" or r.state_key in wanted]
    return kept


def _events(ctx: SyncContext, rows: list[EventRow]) -> list[dict[str, Any]]:
    viewer = Viewer(ctx.user_id, ctx.request.device_id)
    events = [client_event(r, now_ms=ctx.now_ms, viewer=viewer) for r in rows]
    fields = ctx.filter.event_fields
    if fields is not None:
        events = [project_fields(e, fields) for e in events]
    return events


def timeline_and_state(
    ctx: SyncContext, room_id: str, after: int, upto: int, whole: bool
) -> tuple[dict[str, Any], dict[str, Any], list[EventRow]]:
    """The ``timeline`` section and the state section (``state`` or
    ``state_after``) of a room for ``(after, upto]``; ``whole`` sends the whole
    state instead of a delta since ``after``."""
    store = ctx.store
    rows, limited = store.timeline(
        room_id,
        after,
        upto,
        ctx.filter.timeline,
        ctx.filter.timeline_limit,
        visibility=ctx.visibility.get(room_id),
    )
    first = rows[0].position if rows else upto + 1
    timeline: dict[str, Any] = {
        "events": _events(ctx, rows),
        "limited": limited,
        "prev_batch": str(StreamToken(first - 1)),
    }
    senders = {r.sender for r in rows}
    since = 0 if whole else after
    if ctx.request.use_state_after:
        state_rows = store.state(room_id, since, upto)
        key = "state_after"
    else:
        state_rows = store.state(room_id, since, first - 1)
        key = "state"
    state = {key: {"events": _events(ctx, _filter_state(ctx, state_rows, senders, whole))}}
    return timeline, state, rows


def joined_room(ctx: SyncContext, entry: RoomMembership) -> dict[str, Any] | None:
    """A ``rooms.join`` entry, or None when nothing changed for an incremental sync."""
    room_id = entry.room_id
    since = ctx.since
    whole = since is None or entry.newly_joined or ctx.request.full_state
    after = 0 if since is None or entry.newly_joined else since
    timeline, state, rows = timeline_and_state(ctx, room_id, after, ctx.upto, whole)
    section: dict[str, Any] = {"timeline": timeline, **state}
    state_key = next(iter(state))
    if not whole and not rows and not state[state_key]["events"]:
        return None
    if whole or any(r.type == "m.room.member" for r in rows) or state[state_key]["events"]:
        section["summary"] = room_summary(ctx.store, room_id, ctx.user_id, ctx.upto)
    return section


def left_room(ctx: SyncContext, entry: RoomMembership) -> dict[str, Any]:
    """A ``rooms.leave`` entry: the room up to the user's leave (or ban)."""
    since = ctx.since
    end = entry.current.position
    was_joined = entry.at_since is not None and entry.at_since.membership == "join"
    whole = since is None or not was_joined or ctx.request.full_state
    after = since if since is not None and was_joined else 0
    timeline, state, _ = timeline_and_state(ctx, entry.room_id, after, end, whole)
    return {"timeline": timeline, **state, "account_data": {"events": []}}


def _stripped_state(
    ctx: SyncContext, room_id: str, membership: EventRow | None, at: int
) -> list[dict[str, Any]]:
    rows = ctx.store.state(room_id, 0, at, types=STRIPPED_STATE_TYPES)
    events = [stripped_event(r) for r in rows]
    if membership is not None:
        events.append(stripped_event(membership))
    return events


def invited_room(ctx: SyncContext, entry: RoomMembership) -> dict[str, Any]:
    member = ctx.store.events_by_id([entry.current.event_id]).get(entry.current.event_id)
    events = _stripped_state(ctx, entry.room_id, member, entry.current.position)
    return {"invite_state": {"events": events}}


def knocked_room(ctx: SyncContext, entry: RoomMembership) -> dict[str, Any]:
    member = ctx.store.events_by_id([entry.current.event_id]).get(entry.current.event_id)
    events = _stripped_state(ctx, entry.room_id, member, entry.current.position)
    return {"knock_state": {"events": events}}
