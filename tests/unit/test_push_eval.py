"""The push rule evaluator (``tessera.kernel.push``): each default rule and each
condition kind, table-driven."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tessera.kernel.push import PushContext, compile_ruleset
from tessera.kernel.push.paths import split_path
from tessera.schema.push_rules import merged_ruleset

ME = "@me:hs"
OTHER = "@other:hs"
ROOM = "!room:hs"


def msg(body: str = "hello", **content: Any) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "sender": OTHER,
        "room_id": ROOM,
        "content": {"msgtype": "m.text", "body": body, **content},
    }


def event(event_type: str, content: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"type": event_type, "sender": OTHER, "room_id": ROOM, "content": content, **top}


def ctx(ev: dict[str, Any], members: int = 5, power: float = 0, **levels: int) -> PushContext:
    return PushContext(ev, members, power, levels)


NOTIFY = (True, False)
HIGHLIGHT = (True, True)
SILENT = (False, False)

# (name, event, member count, sender power) -> (matching rule, (notify, highlight))
DEFAULT_RULES: dict[str, tuple[dict[str, Any], int, float, str | None, tuple[bool, bool]]] = {
    "suppress_notices": (msg(msgtype="m.notice"), 5, 0, ".m.rule.suppress_notices", SILENT),
    "invite_for_me": (
        event("m.room.member", {"membership": "invite"}, state_key=ME),
        5,
        0,
        ".m.rule.invite_for_me",
        NOTIFY,
    ),
    "invite_for_someone_else_is_a_member_event": (
        event("m.room.member", {"membership": "invite"}, state_key="@x:hs"),
        5,
        0,
        ".m.rule.member_event",
        SILENT,
    ),
    "member_event": (
        event("m.room.member", {"membership": "join"}, state_key=OTHER),
        5,
        0,
        ".m.rule.member_event",
        SILENT,
    ),
    "is_user_mention": (
        msg("hi", **{"m.mentions": {"user_ids": [ME]}}),
        5,
        0,
        ".m.rule.is_user_mention",
        HIGHLIGHT,
    ),
    "is_room_mention_with_power": (
        msg("@room", **{"m.mentions": {"room": True}}),
        5,
        50,
        ".m.rule.is_room_mention",
        HIGHLIGHT,
    ),
    "is_room_mention_without_power_is_a_plain_message": (
        msg("@room", **{"m.mentions": {"room": True}}),
        5,
        0,
        ".m.rule.message",
        NOTIFY,
    ),
    "tombstone": (
        event("m.room.tombstone", {"replacement_room": "!new:hs"}, state_key=""),
        5,
        100,
        ".m.rule.tombstone",
        HIGHLIGHT,
    ),
    "reaction": (
        event("m.reaction", {"m.relates_to": {"rel_type": "m.annotation", "key": "x"}}),
        2,
        0,
        ".m.rule.reaction",
        SILENT,
    ),
    "server_acl": (
        event("m.room.server_acl", {"allow": ["*"]}, state_key=""),
        5,
        100,
        ".m.rule.room.server_acl",
        SILENT,
    ),
    "suppress_edits": (
        msg("* fixed", **{"m.relates_to": {"rel_type": "m.replace", "event_id": "$e"}}),
        2,
        0,
        ".m.rule.suppress_edits",
        SILENT,
    ),
    "call": (event("m.call.invite", {"call_id": "c"}), 5, 0, ".m.rule.call", NOTIFY),
    "encrypted_room_one_to_one": (
        event("m.room.encrypted", {"algorithm": "m.megolm.v1.aes-sha2"}),
        2,
        0,
        ".m.rule.encrypted_room_one_to_one",
        NOTIFY,
    ),
    "room_one_to_one": (msg(), 2, 0, ".m.rule.room_one_to_one", NOTIFY),
    "message": (msg(), 5, 0, ".m.rule.message", NOTIFY),
    "encrypted": (
        event("m.room.encrypted", {"algorithm": "m.megolm.v1.aes-sha2"}),
        3,
        0,
        ".m.rule.encrypted",
        NOTIFY,
    ),
    "no_rule_for_a_topic_change": (
        event("m.room.topic", {"topic": "t"}, state_key=""),
        5,
        100,
        None,
        SILENT,
    ),
}


@pytest.mark.parametrize("name", sorted(DEFAULT_RULES))
def test_default_rules(name: str) -> None:
    ev, members, power, rule_id, (notify, highlight) = DEFAULT_RULES[name]
    rules = compile_ruleset(merged_ruleset(None, ME))
    actions = rules.evaluate(ctx(ev, members, power))
    if rule_id is None:
        assert actions is None
        return
    assert actions is not None
    assert (actions.rule_id, actions.notify, actions.highlight) == (rule_id, notify, highlight)


def test_every_default_rule_is_covered() -> None:
    ruleset = merged_ruleset(None, ME)
    covered = {case[3] for case in DEFAULT_RULES.values()}
    for kind in ("override", "underride"):
        for rule in ruleset[kind]:
            if rule["rule_id"] != ".m.rule.master":
                assert rule["rule_id"] in covered, rule["rule_id"]


def test_master_rule_enabled_silences_everything() -> None:
    ruleset = merged_ruleset({"defaults": {".m.rule.master": {"enabled": True}}}, ME)
    actions = compile_ruleset(ruleset).evaluate(ctx(msg(**{"m.mentions": {"user_ids": [ME]}})))
    assert actions is not None and actions.rule_id == ".m.rule.master" and not actions.notify


def _one(condition: dict[str, Any]) -> Any:
    return compile_ruleset(
        {"override": [{"rule_id": "t", "conditions": [condition], "actions": ["notify"]}]}
    )


# (condition, event, member count, sender power, levels, display name) -> matches
CONDITIONS: list[
    tuple[str, dict[str, Any], dict[str, Any], int, float, dict[str, int], str | None, bool]
] = [
    (
        "glob whole value",
        {"kind": "event_match", "key": "content.topic", "pattern": "lunc?*"},
        event("m.room.topic", {"topic": "Lunch plans"}),
        5,
        0,
        {},
        None,
        True,
    ),
    (
        "glob is case-insensitive, star matches nothing",
        {"kind": "event_match", "key": "content.topic", "pattern": "lunc?*"},
        event("m.room.topic", {"topic": "LUNCH"}),
        5,
        0,
        {},
        None,
        True,
    ),
    (
        "glob leading space",
        {"kind": "event_match", "key": "content.topic", "pattern": "lunc?*"},
        event("m.room.topic", {"topic": " lunch"}),
        5,
        0,
        {},
        None,
        False,
    ),
    (
        "glob ? needs a character",
        {"kind": "event_match", "key": "content.topic", "pattern": "lunc?*"},
        event("m.room.topic", {"topic": "lunc"}),
        5,
        0,
        {},
        None,
        False,
    ),
    (
        "glob non-string",
        {"kind": "event_match", "key": "content.topic", "pattern": "*"},
        event("m.room.topic", {"topic": None}),
        5,
        0,
        {},
        None,
        False,
    ),
    (
        "glob absent property",
        {"kind": "event_match", "key": "content.nope", "pattern": "*"},
        msg(),
        5,
        0,
        {},
        None,
        False,
    ),
    (
        "body word boundary",
        {"kind": "event_match", "key": "content.body", "pattern": "ex*ple"},
        msg("An example event."),
        5,
        0,
        {},
        None,
        True,
    ),
    (
        "body whole value",
        {"kind": "event_match", "key": "content.body", "pattern": "ex*ple"},
        msg("exple"),
        5,
        0,
        {},
        None,
        True,
    ),
    (
        "body across words",
        {"kind": "event_match", "key": "content.body", "pattern": "ex*ple"},
        msg("An exciting triple-whammy"),
        5,
        0,
        {},
        None,
        True,
    ),
    (
        "body inside a word",
        {"kind": "event_match", "key": "content.body", "pattern": "cat"},
        msg("concatenate"),
        5,
        0,
        {},
        None,
        False,
    ),
    (
        "body underscore is a word character",
        {"kind": "event_match", "key": "content.body", "pattern": "cat"},
        msg("a_cat"),
        5,
        0,
        {},
        None,
        False,
    ),
    (
        "escaped dot in key",
        {"kind": "event_match", "key": "content.m\\.relates_to.rel_type", "pattern": "m.thread"},
        msg(**{"m.relates_to": {"rel_type": "m.thread"}}),
        5,
        0,
        {},
        None,
        True,
    ),
    (
        "property_is bool",
        {"kind": "event_property_is", "key": "content.m\\.federate", "value": True},
        event("m.room.create", {"m.federate": True}),
        5,
        0,
        {},
        None,
        True,
    ),
    (
        "property_is no casting string",
        {"kind": "event_property_is", "key": "content.m\\.federate", "value": True},
        event("m.room.create", {"m.federate": "true"}),
        5,
        0,
        {},
        None,
        False,
    ),
    (
        "property_is no casting int",
        {"kind": "event_property_is", "key": "content.m\\.federate", "value": True},
        event("m.room.create", {"m.federate": 1}),
        5,
        0,
        {},
        None,
        False,
    ),
    (
        "property_is null",
        {"kind": "event_property_is", "key": "content.x", "value": None},
        event("t", {"x": None}),
        5,
        0,
        {},
        None,
        True,
    ),
    (
        "property_is absent",
        {"kind": "event_property_is", "key": "content.x", "value": None},
        event("t", {}),
        5,
        0,
        {},
        None,
        False,
    ),
    (
        "contains",
        {
            "kind": "event_property_contains",
            "key": "content.alt_aliases",
            "value": "#myroom:example.com",
        },
        event("m.room.canonical_alias", {"alt_aliases": ["#a:b", "#myroom:example.com"]}),
        5,
        0,
        {},
        None,
        True,
    ),
    (
        "contains partial",
        {"kind": "event_property_contains", "key": "content.alt_aliases", "value": ":example.com"},
        event("m.room.canonical_alias", {"alt_aliases": ["#myroom:example.com"]}),
        5,
        0,
        {},
        None,
        False,
    ),
    (
        "contains not an array",
        {"kind": "event_property_contains", "key": "content.alt_aliases", "value": "x"},
        event("m.room.canonical_alias", {"alt_aliases": "x"}),
        5,
        0,
        {},
        None,
        False,
    ),
    ("display name", {"kind": "contains_display_name"}, msg("hey Alice!"), 5, 0, {}, "alice", True),
    (
        "display name inside a word",
        {"kind": "contains_display_name"},
        msg("Malice"),
        5,
        0,
        {},
        "alice",
        False,
    ),
    ("no display name", {"kind": "contains_display_name"}, msg("hey"), 5, 0, {}, None, False),
    (
        "member count default ==",
        {"kind": "room_member_count", "is": "2"},
        msg(),
        2,
        0,
        {},
        None,
        True,
    ),
    ("member count ==", {"kind": "room_member_count", "is": "==3"}, msg(), 2, 0, {}, None, False),
    ("member count <", {"kind": "room_member_count", "is": "<3"}, msg(), 2, 0, {}, None, True),
    ("member count >", {"kind": "room_member_count", "is": ">2"}, msg(), 2, 0, {}, None, False),
    ("member count >=", {"kind": "room_member_count", "is": ">=2"}, msg(), 2, 0, {}, None, True),
    ("member count <=", {"kind": "room_member_count", "is": "<=1"}, msg(), 2, 0, {}, None, False),
    (
        "member count malformed",
        {"kind": "room_member_count", "is": "two"},
        msg(),
        2,
        0,
        {},
        None,
        False,
    ),
    (
        "permission default 50",
        {"kind": "sender_notification_permission", "key": "room"},
        msg(),
        5,
        50,
        {},
        None,
        True,
    ),
    (
        "permission below",
        {"kind": "sender_notification_permission", "key": "room"},
        msg(),
        5,
        49,
        {},
        None,
        False,
    ),
    (
        "permission custom level",
        {"kind": "sender_notification_permission", "key": "room"},
        msg(),
        5,
        10,
        {"room": 10},
        None,
        True,
    ),
    (
        "permission v12 creator",
        {"kind": "sender_notification_permission", "key": "room"},
        msg(),
        5,
        math.inf,
        {"room": 100},
        None,
        True,
    ),
    ("unknown condition never matches", {"kind": "future_thing"}, msg(), 5, 0, {}, None, False),
]


@pytest.mark.parametrize("case", CONDITIONS, ids=[c[0] for c in CONDITIONS])
def test_conditions(case: tuple[Any, ...]) -> None:
    _, condition, ev, members, power, levels, name, expected = case
    actions = _one(condition).evaluate(PushContext(ev, members, power, levels), name)
    assert (actions is not None) is expected


def test_user_rules_rank_by_kind_then_defaults() -> None:
    doc = {
        "override": [],
        "content": [
            {"rule_id": "tea", "pattern": "tea", "actions": ["notify", {"set_tweak": "highlight"}]}
        ],
        "room": [{"rule_id": ROOM, "actions": []}],
        "sender": [{"rule_id": OTHER, "actions": ["notify", {"set_tweak": "sound", "value": "x"}]}],
        "underride": [],
        "defaults": {},
    }
    rules = compile_ruleset(merged_ruleset(doc, ME))
    tea = rules.evaluate(ctx(msg("time for tea")))
    assert tea is not None and tea.rule_id == "tea" and tea.highlight
    muted = rules.evaluate(ctx(msg("plain")))
    assert muted is not None and muted.rule_id == ROOM and not muted.notify
    elsewhere = rules.evaluate(ctx({**msg("plain"), "room_id": "!else:hs"}))
    assert elsewhere is not None and elsewhere.rule_id == OTHER
    assert elsewhere.tweaks() == {"sound": "x"}
    # the override still wins over the room rule
    mention = rules.evaluate(ctx(msg(**{"m.mentions": {"user_ids": [ME]}})))
    assert mention is not None and mention.rule_id == ".m.rule.is_user_mention"


def test_historical_actions_are_stripped_and_disabled_rules_skipped() -> None:
    doc = {
        "room": [{"rule_id": ROOM, "actions": ["dont_notify"], "enabled": True}],
        "sender": [{"rule_id": OTHER, "actions": ["notify"], "enabled": False}],
        "defaults": {".m.rule.message": {"actions": ["notify", "coalesce"]}},
    }
    rules = compile_ruleset(merged_ruleset(doc, ME))
    muted = rules.evaluate(ctx(msg()))
    assert muted is not None and muted.actions == () and not muted.notify
    other = rules.evaluate(ctx({**msg(), "room_id": "!x:hs"}))
    assert other is not None and other.rule_id == ".m.rule.message" and other.actions == ("notify",)


def test_highlight_tweak_values() -> None:
    rules = compile_ruleset(
        {
            "override": [
                {
                    "rule_id": "off",
                    "conditions": [
                        {"kind": "event_match", "key": "content.body", "pattern": "off"}
                    ],
                    "actions": ["notify", {"set_tweak": "highlight", "value": False}],
                },
            ],
            "underride": [
                {"rule_id": "on", "conditions": [], "actions": [{"set_tweak": "highlight"}]}
            ],
        }
    )
    off = rules.evaluate(ctx(msg("off")))
    assert off is not None and off.notify and not off.highlight
    on = rules.evaluate(ctx(msg("x")))
    assert on is not None and on.highlight and not on.notify and on.tweaks() == {"highlight": True}


def test_paths_escape_dots_and_backslashes() -> None:
    assert split_path("content.m\\.relates_to") == ("content", "m.relates_to")
    assert split_path("content.m\\\\foo") == ("content", "m\\foo")
    assert split_path("content.a\\xb") == ("content", "a\\xb")


def test_shared_conditions_are_evaluated_once_per_event() -> None:
    rules_a = compile_ruleset(merged_ruleset(None, ME))
    rules_b = compile_ruleset(merged_ruleset(None, "@b:hs"))
    context = ctx(msg())
    rules_a.evaluate(context)
    seen = dict(context.memo)
    rules_b.evaluate(context)
    # the second member only adds its own personalised conditions' results
    assert set(seen) <= set(context.memo)
    assert any("content.msgtype" in key for key in seen)


def test_one_template_serves_every_user_on_the_defaults() -> None:
    from tessera.kernel.push.conditions import Recipient
    from tessera.schema.push_rules import ME as PLACEHOLDER

    template = compile_ruleset(merged_ruleset(None, PLACEHOLDER))
    people = [Recipient("@a:hs"), Recipient("@b:hs", "Bee"), Recipient(ME)]
    mention = msg(**{"m.mentions": {"user_ids": ["@b:hs"]}})
    results = template.evaluate_many(ctx(mention), people)
    assert [r.rule_id if r else None for r in results] == [
        ".m.rule.message",
        ".m.rule.is_user_mention",
        ".m.rule.message",
    ]
    invite = event("m.room.member", {"membership": "invite"}, state_key="@a:hs")
    results = template.evaluate_many(ctx(invite), people)
    assert [r.rule_id if r else None for r in results] == [
        ".m.rule.invite_for_me",
        ".m.rule.member_event",
        ".m.rule.member_event",
    ]
