"""``GET /_matrix/client/v1/rooms/{roomId}/hierarchy``: a space's tree of rooms (spec: "Spaces").

A depth-first walk over the ``m.space.child`` state of space-rooms (rooms whose
create event says ``type: m.space``), children in the spec's order (a valid
``order`` first, then the child event's timestamp, then the room ID). A child
counts when its ``via`` is a non-empty list; ``suggested_only`` keeps suggested
children only. Loops are broken by visiting each room once.

Only rooms this server has state of are described (no federation request), and
only those the reader may know of, as the response's description lists: joined
or invited; public, knockable or world-readable; restricted with the reader
joined to an allowed room. A banned reader sees only a world-readable room. A
room left out is not walked into either. The root itself answers 403 when the
reader may not see it (or it is unknown).

Pages are offsets into the walk (``h<offset>_<suggested>_<max_depth>``): the
walk is recomputed from the current state for each page, which is cheap for the
sizes of spaces people make and keeps the server stateless between pages; the
token carries the settings the spec forbids changing between pages.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tessera.schema.readmodel import ReadModelDatabase

from .errors import Forbidden
from .events import EventRow, select_events

SPACE, CHILD = "m.space", "m.space.child"
_STATE_TYPES = ("m.space.child", "m.room.join_rules", "m.room.encryption", "m.room.create")
_SUMMARY = (
    "SELECT name, topic, canonical_alias, avatar_url, join_rule, history_visibility,"
    " guest_access, room_type, joined_members FROM public_rooms WHERE room_id = ?"
)


class BadPageToken(ValueError):
    """An unknown ``from``, or one made with other ``suggested_only``/``max_depth``."""


@dataclasses.dataclass(frozen=True, slots=True)
class Walk:
    suggested_only: bool
    max_depth: int | None

    def token(self, offset: int) -> str:
        depth = "" if self.max_depth is None else str(self.max_depth)
        return f"h{offset}_{int(self.suggested_only)}_{depth}"

    def offset(self, token: str | None) -> int:
        if token is None or token == "":
            return 0
        head, _, rest = token.partition("_")
        if not head.startswith("h") or not head[1:].isdigit():
            raise BadPageToken("Unknown pagination token")
        if rest != self.token(0).partition("_")[2]:
            raise BadPageToken("suggested_only and max_depth cannot change on paginated requests")
        return int(head[1:])


def valid_order(value: Any) -> bool:
    return (
        isinstance(value, str) and len(value) <= 50 and all("\x20" <= ch <= "\x7e" for ch in value)
    )


def child_order(row: EventRow) -> tuple[int, str, int, str]:
    """The spec's "Ordering of children within a space"."""
    order = row.content().get("order")
    if valid_order(order):
        return (0, str(order), row.origin_server_ts, row.state_key or "")
    return (1, "", row.origin_server_ts, row.state_key or "")


def is_child(row: EventRow, suggested_only: bool) -> bool:
    content = row.content()
    via = content.get("via")
    if not isinstance(via, list) or not via or not (row.state_key or "").startswith("!"):
        return False
    return not suggested_only or content.get("suggested") is True


@dataclasses.dataclass(frozen=True, slots=True)
class _Room:
    summary: dict[str, Any]
    children: list[EventRow]
    join_rule: dict[str, Any]
    membership: str | None


def _load(db: ReadModelDatabase, room_id: str, user_id: str) -> _Room | None:
    rows = list(db.iter_rows(_SUMMARY, (room_id,)))
    if not rows:
        return None
    name, topic, alias, avatar, join_rule, history, guests, room_type, joined = rows[0]
    state = select_events(
        db,
        "e.event_id IN (SELECT cs.event_id FROM current_state cs WHERE cs.room_id = ?"
        f" AND (cs.type IN ({','.join('?' * len(_STATE_TYPES))})"
        " OR (cs.type = 'm.room.member' AND cs.state_key = ?)))",
        (room_id, *_STATE_TYPES, user_id),
    )
    by_type = {row.type: row for row in state if row.type != CHILD}
    summary: dict[str, Any] = {
        "room_id": room_id,
        "num_joined_members": int(joined),
        "world_readable": history == "world_readable",
        "guest_can_join": guests == "can_join",
        "join_rule": join_rule or "invite",
    }
    for key, value in (("name", name), ("topic", topic), ("canonical_alias", alias),
                       ("avatar_url", avatar), ("room_type", room_type)):  # fmt: skip
        if value is not None:
            summary[key] = value
    if "m.room.create" in by_type:
        summary["room_version"] = by_type["m.room.create"].room_version
    algorithm = by_type["m.room.encryption"].content().get("algorithm") if (
        "m.room.encryption" in by_type) else None  # fmt: skip
    if algorithm == "m.megolm.v1.aes-sha2":
        summary["encryption"] = algorithm
    rules = by_type["m.room.join_rules"].content() if "m.room.join_rules" in by_type else {}
    allowed = _allowed_rooms(rules)
    if allowed:
        summary["allowed_room_ids"] = allowed
    member = by_type.get("m.room.member")
    membership = member.content().get("membership") if member is not None else None
    children = [row for row in state if row.type == CHILD] if room_type == SPACE else []
    return _Room(summary, children, rules, membership if isinstance(membership, str) else None)


def _allowed_rooms(rules: dict[str, Any]) -> list[str]:
    if rules.get("join_rule") not in ("restricted", "knock_restricted"):
        return []
    allow = rules.get("allow")
    entries = allow if isinstance(allow, list) else []
    return [
        entry["room_id"]
        for entry in entries
        if isinstance(entry, dict)
        and entry.get("type") == "m.room_membership"
        and isinstance(entry.get("room_id"), str)
    ]


def _joined_any(db: ReadModelDatabase, user_id: str, room_ids: list[str]) -> bool:
    if not room_ids:
        return False
    marks = ",".join("?" * len(room_ids))
    rows = db.iter_rows(
        "SELECT 1 FROM current_state WHERE type = 'm.room.member' AND state_key = ?"
        f" AND membership = 'join' AND room_id IN ({marks}) LIMIT 1",
        (user_id, *room_ids),
    )
    return any(True for _ in rows)


def accessible(db: ReadModelDatabase, room: _Room, user_id: str) -> bool:
    """May the reader know of the room (the response's description of ``rooms``)?"""
    if room.summary["world_readable"] or room.membership in ("join", "invite"):
        return True
    if room.membership == "ban":
        return False
    rule = room.summary["join_rule"]
    if rule in ("public", "knock", "knock_restricted"):
        return True
    return rule == "restricted" and _joined_any(db, user_id, _allowed_rooms(room.join_rule))


def _entry(room: _Room, suggested_only: bool) -> tuple[dict[str, Any], list[EventRow]]:
    children = sorted((r for r in room.children if is_child(r, suggested_only)), key=child_order)
    state = [
        {
            "type": CHILD,
            "state_key": row.state_key,
            "content": row.content(),
            "sender": row.sender,
            "origin_server_ts": row.origin_server_ts,
        }
        for row in children
    ]
    return {**room.summary, "children_state": state}, children


def hierarchy(
    db: ReadModelDatabase,
    room_id: str,
    user_id: str,
    *,
    walk: Walk,
    from_token: str | None,
    limit: int,
) -> dict[str, Any]:
    """The response body; raises Forbidden (root) or BadPageToken."""
    offset = walk.offset(from_token)
    root = _load(db, room_id, user_id)
    if root is None or not accessible(db, root, user_id):
        raise Forbidden("You are not allowed to view this room")
    found: list[dict[str, Any]] = []
    visited: set[str] = set()
    stack: list[tuple[str, int, _Room | None]] = [(room_id, 0, root)]
    while stack and len(found) <= offset + limit:
        current, depth, loaded = stack.pop()
        if current in visited:
            continue
        visited.add(current)
        room = loaded if loaded is not None else _load(db, current, user_id)
        if room is None or not accessible(db, room, user_id):
            continue
        entry, children = _entry(room, walk.suggested_only)
        found.append(entry)
        if walk.max_depth is None or depth < walk.max_depth:
            stack += [(row.state_key or "", depth + 1, None) for row in reversed(children)]
    body: dict[str, Any] = {"rooms": found[offset : offset + limit]}
    if len(found) > offset + limit:
        body["next_batch"] = walk.token(offset + limit)
    return body
