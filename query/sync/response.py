"""One sync response computed over the window ``(since, upto]`` (blocking; the
service runs it in a thread). Typing is merged afterwards, on the event loop,
because it lives in the loop's memory."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from tessera.query.tokens import StreamToken
from tessera.query.visibility import load_visibilities
from tessera.schema.push_rules import merged_ruleset

from .context import ACTIVE, GONE, RoomMembership, SyncContext, fold_memberships
from .e2ee import add_e2ee, has_e2ee_news
from .ephemeral import receipt_events, typing_event
from .rooms import build_sections, invited_room, knocked_room, plan_joined, plan_left
from .unread import add_unread_counts


@dataclasses.dataclass(slots=True)
class SyncResult:
    body: dict[str, Any]
    #: The rooms the user is joined to at ``upto`` (typing is merged for these;
    #: a long-poll listens to them).
    joined: list[str]


def _empty_join_section(upto: int, use_state_after: bool) -> dict[str, Any]:
    return {
        "timeline": {"events": [], "limited": False, "prev_batch": str(StreamToken(upto))},
        "state_after" if use_state_after else "state": {"events": []},
    }


def _account_data(
    ctx: SyncContext, newly_joined: set[str]
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    store, since, flt = ctx.store, ctx.since, ctx.filter
    rows = store.account_data(ctx.user_id, since or 0, ctx.upto)
    if since is not None and newly_joined:
        old = {(r[0], r[1]) for r in rows}
        rows += [
            r
            for r in store.account_data(ctx.user_id, 0, since)
            if r[0] in newly_joined and (r[0], r[1]) not in old
        ]
    global_events: list[dict[str, Any]] = []
    per_room: dict[str, list[dict[str, Any]]] = {}
    for room_id, data_type, content in rows:
        event = {"type": data_type, "content": orjson.loads(content)}
        if not room_id:
            if flt.account_data.allows_type(data_type):
                global_events.append(event)
        elif flt.room_account_data.allows_type(data_type) and flt.room_account_data.allows_room(
            room_id
        ):
            per_room.setdefault(room_id, []).append(event)
    document, position = store.push_rules(ctx.user_id)
    if (since is None or since < position <= ctx.upto) and flt.account_data.allows_type(
        "m.push_rules"
    ):
        ruleset = merged_ruleset(document, ctx.user_id)
        global_events.append({"type": "m.push_rules", "content": {"global": ruleset}})
    limit = flt.account_data.limit
    return (global_events if limit is None else global_events[:limit]), per_room


def _shown(ctx: SyncContext, entry: RoomMembership) -> bool:
    if not ctx.filter.allows_room(entry.room_id):
        return False
    forgot_at = ctx.forgotten.get(entry.room_id)
    return forgot_at is None or entry.current.position > forgot_at


def build(ctx: SyncContext) -> SyncResult:
    since, store = ctx.since, ctx.store
    entries = fold_memberships(store.membership_changes(ctx.user_id, ctx.upto), since)
    if any(e.current.membership in GONE for e in entries):  # only they can be forgotten
        ctx.forgotten = store.forgotten(ctx.user_id)
    entries = [e for e in entries if _shown(ctx, e)]
    joined = [e for e in entries if e.current.membership == "join"]
    with_timeline = [e.room_id for e in entries if e.current.membership in ("join", *GONE)]
    ctx.visibility = load_visibilities(store.db, with_timeline, ctx.user_id)
    newly = {e.room_id for e in joined if since is not None and e.newly_joined}
    global_data, room_data = _account_data(ctx, newly)

    ephemeral_filter = ctx.filter.ephemeral
    receipt_rows = []
    if ephemeral_filter.allows_type("m.receipt"):
        rooms = [e.room_id for e in joined if ephemeral_filter.allows_room(e.room_id)]
        receipt_rows = store.receipts([r for r in rooms if r not in newly], since or 0, ctx.upto)
        receipt_rows += store.receipts(sorted(newly.intersection(rooms)), 0, ctx.upto)
    receipts = receipt_events(receipt_rows, ctx.user_id)

    gone = []
    for entry in entries:
        if entry.current.membership not in GONE:
            continue
        if since is None:
            wanted = ctx.filter.include_leave
        else:
            before = entry.at_since.membership if entry.at_since else None
            wanted = bool(entry.changes) and (before is None or before in ACTIVE)
        if wanted:
            gone.append(entry)
    plans = [plan_joined(ctx, e) for e in joined] + [plan_left(ctx, e) for e in gone]
    sections = build_sections(ctx, plans)

    join: dict[str, Any] = {}
    for entry in joined:
        room_id = entry.room_id
        section = sections.get(room_id)
        ephemeral = [receipts[room_id]] if room_id in receipts else []
        account = room_data.get(room_id, [])
        if section is None:
            if not ephemeral and not account:
                continue
            section = _empty_join_section(ctx.upto, ctx.request.use_state_after)
        section["ephemeral"] = {"events": ephemeral}
        section["account_data"] = {"events": account}
        join[room_id] = section
    add_unread_counts(ctx, join)
    leave = {
        e.room_id: {**sections[e.room_id], "account_data": {"events": room_data.get(e.room_id, [])}}
        for e in gone
    }

    invite: dict[str, Any] = {}
    knock: dict[str, Any] = {}
    for entry in entries:
        membership = entry.current.membership
        fresh = since is None or entry.current.position > since
        if membership == "invite" and fresh:
            invite[entry.room_id] = invited_room(ctx, entry)
        elif membership == "knock" and fresh:
            knock[entry.room_id] = knocked_room(ctx, entry)

    body: dict[str, Any] = {
        "next_batch": str(StreamToken(ctx.upto)),
        "rooms": {"join": join, "invite": invite, "leave": leave, "knock": knock},
        "account_data": {"events": global_data},
        "presence": {"events": []},
    }
    add_e2ee(
        store.db,
        body,
        user_id=ctx.user_id,
        device_id=ctx.request.device_id,
        since=since,
        upto=ctx.upto,
    )
    return SyncResult(body, [e.room_id for e in joined])


def merge_typing(
    result: SyncResult, typing: dict[str, list[str]], upto: int, use_state_after: bool
) -> None:
    join = result.body["rooms"]["join"]
    for room_id, users in typing.items():
        section = join.get(room_id)
        if section is None:
            section = join[room_id] = _empty_join_section(upto, use_state_after)
            section["ephemeral"] = {"events": []}
            section["account_data"] = {"events": []}
        section["ephemeral"]["events"].append(typing_event(users))


def is_empty(body: dict[str, Any]) -> bool:
    rooms = body["rooms"]
    return (
        not any(rooms[k] for k in ("join", "invite", "leave", "knock"))
        and not body["account_data"]["events"]
        and not has_e2ee_news(body)
    )
