"""The ``/notify`` request body for one notification (Push Gateway API), read
from the read models (blocking; the sender runs it in a thread)."""

from __future__ import annotations

from typing import Any

import orjson

from tessera.query.push import rooms_with_notifications, unread_counts
from tessera.query.pushers import PusherRow
from tessera.schema.readmodel import ReadModelDatabase


def _state_content(db: ReadModelDatabase, room_id: str, kind: str, key: str) -> dict[str, Any]:
    for (pdu,) in db.iter_rows(
        "SELECT e.pdu FROM current_state s JOIN room_events e ON e.event_id = s.event_id"
        " WHERE s.room_id = ? AND s.type = ? AND s.state_key = ?",
        (room_id, kind, key),
    ):
        content = orjson.loads(pdu).get("content")
        return content if isinstance(content, dict) else {}
    return {}


def unread_total(db: ReadModelDatabase, user_id: str, upto: int) -> int:
    """Unread notifications across the rooms the user has any in (the badge)."""
    rooms = rooms_with_notifications(db, user_id)
    counts = unread_counts(db, user_id, rooms, upto)
    return sum(c.total.notifications for c in counts.values())


def notification_body(
    db: ReadModelDatabase,
    pusher: PusherRow,
    *,
    event_id: str,
    room_id: str,
    actions: list[Any],
    upto: int,
) -> dict[str, Any]:
    tweaks: dict[str, Any] = {}
    for action in actions:
        if isinstance(action, dict) and isinstance(action.get("set_tweak"), str):
            name = action["set_tweak"]
            tweaks[name] = action.get("value", True) if name == "highlight" else action.get("value")
    data = {k: v for k, v in pusher.pusher.data.items() if k != "url"}
    device = {
        "app_id": pusher.pusher.app_id,
        "pushkey": pusher.pusher.pushkey,
        "pushkey_ts": pusher.pusher.ts // 1000,
        "data": data,
        "tweaks": tweaks,
    }
    unread = unread_total(db, pusher.user_id, upto)
    notification: dict[str, Any] = {
        "event_id": event_id,
        "room_id": room_id,
        "prio": "high" if tweaks.get("highlight") or "sound" in tweaks else "low",
        "counts": {"unread": unread} if unread else {},
        "devices": [device],
    }
    if data.get("format") == "event_id_only":
        return {"notification": notification}
    for (pdu_json,) in db.iter_rows("SELECT pdu FROM room_events WHERE event_id = ?", (event_id,)):
        pdu = orjson.loads(pdu_json)
        notification["type"] = pdu.get("type")
        notification["sender"] = pdu.get("sender")
        if isinstance(pdu.get("content"), dict):
            notification["content"] = pdu["content"]
        if pdu.get("type") == "m.room.member":
            notification["user_is_target"] = pdu.get("state_key") == pusher.user_id
        sender = pdu.get("sender")
        if isinstance(sender, str):
            name = _state_content(db, room_id, "m.room.member", sender).get("displayname")
            if isinstance(name, str):
                notification["sender_display_name"] = name
    room_name = _state_content(db, room_id, "m.room.name", "").get("name")
    if isinstance(room_name, str) and room_name:
        notification["room_name"] = room_name
    alias = _state_content(db, room_id, "m.room.canonical_alias", "").get("alias")
    if isinstance(alias, str):
        notification["room_alias"] = alias
    return {"notification": notification}
