"""The published room directory: what ``/publicRooms`` lists about each room.

One row per room this server has state of (a room can be published at any
time, so every room is tracked), with its directory visibility from the
``directory|<room>`` stream and the summary fields from its current state:
name, topic, canonical alias, avatar, join rule, history visibility, guest
access, room type (from the create event) and the number of joined members.

Only PDU records that change the current state count (``is_state_change``),
so the row always reflects the state the room_state read model holds. Joined
members are kept in ``public_room_members`` so that the count is recomputed
from the rows in the same transaction, never incremented blindly (a replayed
join must not count twice).

Known gap: a redacted name/topic keeps showing here until the state changes
again (redactions are applied on the way out by the timeline readers).
"""

from __future__ import annotations

from typing import Any

from tessera.kernel.events import Event
from tessera.kernel.room_versions import UnknownRoomVersion, room_version
from tessera.schema.directory import VISIBILITY_SET, VisibilitySet
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change
from tessera.schema.records import PDU, PduRecord

name = "public_rooms"
tables: tuple[str, ...] = ("public_rooms", "public_room_members")
migrations: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS public_rooms ("
    " room_id TEXT PRIMARY KEY, visibility TEXT NOT NULL DEFAULT 'private',"
    " name TEXT, topic TEXT, canonical_alias TEXT, avatar_url TEXT, join_rule TEXT,"
    " history_visibility TEXT, guest_access TEXT, room_type TEXT,"
    " joined_members BIGINT NOT NULL DEFAULT 0, position BIGINT NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS public_rooms_listed ON public_rooms (visibility, joined_members)",
    "CREATE TABLE IF NOT EXISTS public_room_members ("
    " room_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (room_id, user_id))",
)

_ENSURE = "INSERT INTO public_rooms (room_id) VALUES (?) ON CONFLICT (room_id) DO NOTHING"
_JOINED = "INSERT INTO public_room_members (room_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING"
_NOT_JOINED = "DELETE FROM public_room_members WHERE room_id = ? AND user_id = ?"
_COUNT = (
    "UPDATE public_rooms SET joined_members ="
    " (SELECT COUNT(*) FROM public_room_members m WHERE m.room_id = ?), position = ?"
    " WHERE room_id = ?"
)

#: state event type -> (column, content key) of the summary fields.
_FIELDS: dict[str, tuple[str, str]] = {
    "m.room.create": ("room_type", "type"),
    "m.room.name": ("name", "name"),
    "m.room.topic": ("topic", "topic"),
    "m.room.canonical_alias": ("canonical_alias", "alias"),
    "m.room.avatar": ("avatar_url", "url"),
    "m.room.join_rules": ("join_rule", "join_rule"),
    "m.room.history_visibility": ("history_visibility", "history_visibility"),
    "m.room.guest_access": ("guest_access", "guest_access"),
}
_SET = {
    column: f"UPDATE public_rooms SET {column} = ?, position = ? WHERE room_id = ?"
    for column, _ in _FIELDS.values()
}
_VISIBILITY = "UPDATE public_rooms SET visibility = ?, position = ? WHERE room_id = ?"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def apply(record: LogRecord) -> list[Change]:
    if record.kind == VISIBILITY_SET:
        visibility = VisibilitySet.decode(record.payload)
        room_id = visibility.room_id
        return [
            Change(_ENSURE, (room_id,)),
            Change(_VISIBILITY, (visibility.visibility, record.position, room_id)),
        ]
    if record.kind != PDU:
        return []
    body = PduRecord.decode(record.payload)
    if not body.is_state_change:
        return []
    try:
        rv = room_version(body.room_version)
    except UnknownRoomVersion:
        return []
    event = Event(body.pdu(), rv, event_id=body.event_id)
    room_id = event.room_id or record.stream
    if event.type == "m.room.member" and event.state_key is not None:
        member = (room_id, event.state_key)
        return [
            Change(_ENSURE, (room_id,)),
            Change(_JOINED if event.membership == "join" else _NOT_JOINED, member),
            Change(_COUNT, (room_id, record.position, room_id)),
        ]
    field = _FIELDS.get(event.type)
    if field is None or event.state_key != "":
        return []
    column, key = field
    value = _text(event.content.get(key))
    return [Change(_ENSURE, (room_id,)), Change(_SET[column], (value, record.position, room_id))]
