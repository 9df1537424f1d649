"""The push rules set: the server-default rules (the spec's "Predefined Rules",
v1.19) and how a user's document (``tessera.schema.userdata.PushRulesSet``)
merges with them into what ``GET /pushrules/`` and the ``m.push_rules`` account
data show.

Server-default rules rank below the user's rules of the same kind, except
``.m.rule.master``, which always ranks first. A user cannot delete or move a
default rule, only enable/disable it or change its actions (kept in the
document's ``defaults``).
"""

from __future__ import annotations

import copy
from typing import Any

KINDS = ("override", "content", "room", "sender", "underride")
#: Stands for the user's own ID in the default rules' conditions.
ME = "[the user's Matrix ID]"


def _match(key: str, pattern: str) -> dict[str, Any]:
    return {"kind": "event_match", "key": key, "pattern": pattern}


def _is(key: str, value: Any) -> dict[str, Any]:
    return {"kind": "event_property_is", "key": key, "value": value}


def _rule(rule_id: str, conditions: list[dict[str, Any]], actions: list[Any]) -> dict[str, Any]:
    return {
        "rule_id": rule_id,
        "default": True,
        "enabled": True,
        "conditions": conditions,
        "actions": actions,
    }


SOUND_DEFAULT = {"set_tweak": "sound", "value": "default"}
HIGHLIGHT = {"set_tweak": "highlight"}

MASTER: dict[str, Any] = {**_rule(".m.rule.master", [], []), "enabled": False}

DEFAULT_OVERRIDE: list[dict[str, Any]] = [
    _rule(".m.rule.suppress_notices", [_match("content.msgtype", "m.notice")], []),
    _rule(
        ".m.rule.invite_for_me",
        [
            _match("type", "m.room.member"),
            _match("content.membership", "invite"),
            _match("state_key", ME),
        ],
        ["notify", SOUND_DEFAULT],
    ),
    _rule(".m.rule.member_event", [_match("type", "m.room.member")], []),
    _rule(
        ".m.rule.is_user_mention",
        [{"kind": "event_property_contains", "key": "content.m\\.mentions.user_ids", "value": ME}],
        ["notify", SOUND_DEFAULT, HIGHLIGHT],
    ),
    _rule(
        ".m.rule.is_room_mention",
        [
            _is("content.m\\.mentions.room", True),
            {"kind": "sender_notification_permission", "key": "room"},
        ],
        ["notify", HIGHLIGHT],
    ),
    _rule(
        ".m.rule.tombstone",
        [_match("type", "m.room.tombstone"), _match("state_key", "")],
        ["notify", HIGHLIGHT],
    ),
    _rule(".m.rule.reaction", [_match("type", "m.reaction")], []),
    _rule(
        ".m.rule.room.server_acl",
        [_match("type", "m.room.server_acl"), _match("state_key", "")],
        [],
    ),
    _rule(".m.rule.suppress_edits", [_is("content.m\\.relates_to.rel_type", "m.replace")], []),
]

_ONE_TO_ONE = {"kind": "room_member_count", "is": "2"}

DEFAULT_UNDERRIDE: list[dict[str, Any]] = [
    _rule(
        ".m.rule.call",
        [_match("type", "m.call.invite")],
        ["notify", {"set_tweak": "sound", "value": "ring"}],
    ),
    _rule(
        ".m.rule.encrypted_room_one_to_one",
        [_ONE_TO_ONE, _match("type", "m.room.encrypted")],
        ["notify", SOUND_DEFAULT],
    ),
    _rule(
        ".m.rule.room_one_to_one",
        [_ONE_TO_ONE, _match("type", "m.room.message")],
        ["notify", SOUND_DEFAULT],
    ),
    _rule(".m.rule.message", [_match("type", "m.room.message")], ["notify"]),
    _rule(".m.rule.encrypted", [_match("type", "m.room.encrypted")], ["notify"]),
]


def default_rules() -> dict[str, list[dict[str, Any]]]:
    """The server-default rules per kind, fresh copies (master first among overrides)."""
    return {
        "override": copy.deepcopy([MASTER, *DEFAULT_OVERRIDE]),
        "content": [],
        "room": [],
        "sender": [],
        "underride": copy.deepcopy(DEFAULT_UNDERRIDE),
    }


def default_rule_ids(kind: str) -> set[str]:
    return {rule["rule_id"] for rule in default_rules().get(kind, [])}


def empty_document() -> dict[str, Any]:
    return {**{kind: [] for kind in KINDS}, "defaults": {}}


def _personalise(value: Any, user_id: str) -> Any:
    if isinstance(value, str):
        return user_id if value == ME else value
    if isinstance(value, list):
        return [_personalise(v, user_id) for v in value]
    if isinstance(value, dict):
        return {k: _personalise(v, user_id) for k, v in value.items()}
    return value


def merged_ruleset(document: dict[str, Any] | None, user_id: str) -> dict[str, Any]:
    """The ``global`` ruleset a user sees: their rules above the defaults, master first."""
    doc = document or empty_document()
    defaults = default_rules()
    overrides: dict[str, Any] = doc.get("defaults", {})
    for rules in defaults.values():
        for rule in rules:
            rule.update(overrides.get(rule["rule_id"], {}))
    master, *rest = defaults["override"]
    ruleset: dict[str, Any] = {
        "override": [master, *doc.get("override", []), *rest],
        "underride": [*doc.get("underride", []), *defaults["underride"]],
    }
    for kind in ("content", "room", "sender"):
        ruleset[kind] = list(doc.get(kind, []))
    personal: dict[str, Any] = _personalise(ruleset, user_id)
    return personal
