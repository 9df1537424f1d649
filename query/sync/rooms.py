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

Joined and left rooms are planned first (``Plan``: which window of which room)
and read in batches (``tessera.query.sync.batch``), whatever their number.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tessera.query.aggregations import Reader, bundles
from tessera.query.events import EventRow, Viewer, client_event
from tessera.query.filters import project_fields
from tessera.query.tokens import StreamToken

from . import batch
from .context import RoomMembership, SyncContext
from .format import STRIPPED_STATE_TYPES, stripped_event
from .summary import room_summary


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """One joined or left room's section: its timeline covers ``(after, upto]``;
    ``whole`` sends the whole state instead of a delta since ``after``."""

    entry: RoomMembership
    after: int
    upto: int
    whole: bool

    @property
    def room_id(self) -> str:
        return self.entry.room_id

    @property
    def joined(self) -> bool:
        return self.entry.current.membership == "join"


def plan_joined(ctx: SyncContext, entry: RoomMembership) -> Plan:
    since = ctx.since
    fresh = since is None or entry.newly_joined
    return Plan(entry, 0 if fresh else since or 0, ctx.upto, fresh or ctx.request.full_state)


def plan_left(ctx: SyncContext, entry: RoomMembership) -> Plan:
    """The room up to the user's leave (or ban); a user who was not joined at
    ``since`` (a rejected invite, a short stay) gets it whole."""
    since = ctx.since
    was_joined = entry.at_since is not None and entry.at_since.membership == "join"
    after = since if since is not None and was_joined else 0
    whole = since is None or not was_joined or ctx.request.full_state
    return Plan(entry, after, entry.current.position, whole)


def _events(
    ctx: SyncContext, rows: list[EventRow], relations: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    viewer = Viewer(ctx.user_id, ctx.request.device_id)
    found = relations or {}
    events = [
        client_event(r, now_ms=ctx.now_ms, viewer=viewer, relations=found.get(r.event_id))
        for r in rows
    ]
    fields = ctx.filter.event_fields
    if fields is not None:
        events = [project_fields(e, fields) for e in events]
    return events


def _filter_state(
    ctx: SyncContext, rows: list[EventRow], senders: set[str], whole: bool
) -> list[EventRow]:
    flt = ctx.filter.state
    url = flt.contains_url is not None
    kept = [
        r
        for r in rows
        if flt.allows(r.type, r.sender, r.content() if url else None) and flt.allows_room(r.room_id)
    ]
    if flt.lazy_load_members and whole:
        wanted = senders | {ctx.user_id}
        kept = [r for r in kept if r.type != "m.room.member" or r.state_key in wanted]
    return kept


def _add_senders_members(
    ctx: SyncContext,
    plans: list[Plan],
    timelines: dict[str, tuple[list[EventRow], bool]],
    states: dict[str, list[EventRow]],
) -> None:
    """Lazy-loading, incremental: the member events of timeline senders that
    neither the state delta nor the timeline carries, so the client can show
    who they are (possibly again: the server keeps no record of what each
    client already has, which the spec allows)."""
    wanted: list[tuple[str, list[str], int]] = []
    for plan in plans:
        if plan.whole:
            continue
        rows, _ = timelines[plan.room_id]
        known = {r.state_key for r in (*rows, *states[plan.room_id]) if r.type == "m.room.member"}
        missing = sorted({r.sender for r in rows} - known)
        if missing:
            first = rows[0].position
            end = plan.upto if ctx.request.use_state_after else first - 1
            wanted.append((plan.room_id, missing, end))
    if wanted:
        for room_id, extra in batch.member_events(ctx.store, wanted).items():
            states[room_id] = sorted([*states[room_id], *extra], key=lambda r: r.position)


def build_sections(ctx: SyncContext, plans: list[Plan]) -> dict[str, dict[str, Any]]:
    """The sections of the planned rooms; a joined room with nothing new for an
    incremental sync is left out."""
    store, flt = ctx.store, ctx.filter
    # A section's own ``rooms``/``not_rooms`` narrow it further than ``room.rooms``.
    windows = [
        batch.Window(p.room_id, p.after, p.upto, ctx.visibility.get(p.room_id))
        for p in plans
        if flt.timeline.allows_room(p.room_id)
    ]
    timelines = batch.timelines(store, windows, flt.timeline, flt.timeline_limit)
    for plan in plans:
        timelines.setdefault(plan.room_id, ([], False))
    state_key = "state_after" if ctx.request.use_state_after else "state"
    state_windows = []
    for plan in plans:
        rows, _ = timelines[plan.room_id]
        first = rows[0].position if rows else plan.upto + 1
        end = plan.upto if ctx.request.use_state_after else first - 1
        state_windows.append(batch.Window(plan.room_id, 0 if plan.whole else plan.after, end))
    states = batch.states(store, state_windows)
    if flt.state.lazy_load_members:
        _add_senders_members(ctx, plans, timelines, states)

    # Bundled aggregations for limited timelines only (spec: "Aggregations of
    # child events"), counted up to the token, in one batch for every room.
    limited_rows = [r for p in plans for r in timelines[p.room_id][0] if timelines[p.room_id][1]]
    viewer = Viewer(ctx.user_id, ctx.request.device_id)
    reader = Reader(viewer, ctx.visibility, ctx.now_ms, ctx.upto)
    relations = bundles(store.db, limited_rows, reader) if limited_rows else {}
    sections: dict[str, dict[str, Any]] = {}
    summarise: list[str] = []
    for plan in plans:
        rows, limited = timelines[plan.room_id]
        first = rows[0].position if rows else plan.upto + 1
        senders = {r.sender for r in rows}
        state = _filter_state(ctx, states[plan.room_id], senders, plan.whole)
        if plan.joined and not plan.whole and not rows and not state:
            continue
        sections[plan.room_id] = {
            "timeline": {
                "events": _events(ctx, rows, relations),
                "limited": limited,
                "prev_batch": str(StreamToken(first - 1)),
            },
            state_key: {"events": _events(ctx, state)},
        }
        if plan.joined and (plan.whole or state or any(r.type == "m.room.member" for r in rows)):
            summarise.append(plan.room_id)
    members = batch.memberships(store, summarise, ctx.upto)
    for room_id in summarise:
        sections[room_id]["summary"] = room_summary(members[room_id], ctx.user_id)
    return sections


def _stripped_state(ctx: SyncContext, entry: RoomMembership) -> list[dict[str, Any]]:
    at = entry.current.position
    rows = ctx.store.state(entry.room_id, 0, at, types=STRIPPED_STATE_TYPES)
    events = [stripped_event(r) for r in rows]
    member = ctx.store.events_by_id([entry.current.event_id]).get(entry.current.event_id)
    if member is not None:
        events.append(stripped_event(member))
    return events


def invited_room(ctx: SyncContext, entry: RoomMembership) -> dict[str, Any]:
    return {"invite_state": {"events": _stripped_state(ctx, entry)}}


def knocked_room(ctx: SyncContext, entry: RoomMembership) -> dict[str, Any]:
    return {"knock_state": {"events": _stripped_state(ctx, entry)}}
