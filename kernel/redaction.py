"""The redaction algorithm of each room version (spec: "Redactions").

``redact`` returns a new dict; the input is never changed. It is used for the
reference hash (event IDs), for signatures, and wherever a redacted event is read.
"""

from __future__ import annotations

from typing import Any

from .room_versions import RoomVersion

_KEPT_TOP_LEVEL_V1 = frozenset(
    {
        "event_id",
        "type",
        "room_id",
        "sender",
        "state_key",
        "content",
        "hashes",
        "signatures",
        "depth",
        "prev_events",
        "prev_state",
        "auth_events",
        "origin",
        "origin_server_ts",
        "membership",
    }
)
# v11 (MSC3989, MSC2176): `origin`, `membership` and `prev_state` are no longer kept.
_KEPT_TOP_LEVEL_V11 = _KEPT_TOP_LEVEL_V1 - {"origin", "membership", "prev_state"}

_POWER_LEVELS_KEYS = (
    "ban",
    "events",
    "events_default",
    "kick",
    "redact",
    "state_default",
    "users",
    "users_default",
)


def _kept_content(rv: RoomVersion, event_type: str, content: dict[str, Any]) -> dict[str, Any]:
    keys: tuple[str, ...]
    if event_type == "m.room.member":
        keys = ("membership",)
        if rv.redaction_keeps_join_authorised_via:
            keys += ("join_authorised_via_users_server",)
        kept = {k: content[k] for k in keys if k in content}
        if rv.updated_redaction_rules:
            tpi = content.get("third_party_invite")
            if isinstance(tpi, dict) and "signed" in tpi:
                kept["third_party_invite"] = {"signed": tpi["signed"]}
        return kept
    if event_type == "m.room.create":
        if rv.updated_redaction_rules:
            return dict(content)
        keys = ("creator",)
    elif event_type == "m.room.join_rules":
        keys = ("join_rule", "allow") if rv.redaction_keeps_join_rules_allow else ("join_rule",)
    elif event_type == "m.room.power_levels":
        keys = _POWER_LEVELS_KEYS + (("invite",) if rv.updated_redaction_rules else ())
    elif event_type == "m.room.aliases" and rv.special_case_aliases_auth:
        keys = ("aliases",)
    elif event_type == "m.room.history_visibility":
        keys = ("history_visibility",)
    elif event_type == "m.room.redaction" and rv.updated_redaction_rules:
        keys = ("redacts",)
    else:
        return {}
    return {k: content[k] for k in keys if k in content}


def redact(rv: RoomVersion, event: dict[str, Any]) -> dict[str, Any]:
    """The event as the room version's redaction algorithm leaves it.

    ``unsigned`` is dropped like any other unlisted key; callers that keep
    server-side metadata (``redacted_because``) add it back themselves.
    """
    kept_top = _KEPT_TOP_LEVEL_V11 if rv.updated_redaction_rules else _KEPT_TOP_LEVEL_V1
    out = {k: v for k, v in event.items() if k in kept_top}
    content = event.get("content")
    event_type = event.get("type")
    if isinstance(content, dict) and isinstance(event_type, str):
        out["content"] = _kept_content(rv, event_type, content)
    else:
        out["content"] = {}
    return out
