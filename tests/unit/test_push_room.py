"""Room-wide push evaluation (``tessera.kernel.push.room`` with the projection's
templates and member groups) against the plain definition: every member's own
ruleset, personalised with their user ID, tried rule by rule on a fresh context.
The two must agree for every member, on random rooms, rulesets and events."""

from __future__ import annotations

import functools
import math
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.kernel.push import (
    Actions,
    CompiledRuleset,
    PushContext,
    compile_ruleset,
    evaluate_room,
)
from tessera.kernel.push.conditions import Recipient
from tessera.kernel.push.room import effective, same
from tessera.projections.push_cache import Templates, groups_of
from tessera.projections.push_state import Member
from tessera.schema.push_rules import ME, merged_ruleset

ROOM = "!r:hs"
USERS = ["@alice:hs", "@bob:hs", "@Bob:hs", "@carol:hs", "@d?*:hs", "@tea:hs"]
NAMES = [None, "", "Alice", "alice", "Bob", "bo", "a.b", "Zed Zed", "ß", "tea", "@bob:hs"]
WORDS = ["hello", "Alice", "ALICE:", "bob", "bo", "a.b", "a-b", "zed zed", "Zed  Zed", "tea"]
WORDS += ["ß", "SS", "@room", "@bob:hs", "@d?*:hs", "x_bob", ""]
HIGHLIGHT = {"set_tweak": "highlight"}

OVERRIDES: list[dict[str, Any]] = [
    {"rule_id": "dn", "conditions": [{"kind": "contains_display_name"}], "actions": ["notify"]},
    {
        "rule_id": "dn-loud",
        "conditions": [
            {"kind": "event_match", "key": "type", "pattern": "m.room.message"},
            {"kind": "contains_display_name"},
        ],
        "actions": ["notify", HIGHLIGHT],
    },
    {
        "rule_id": "mentions-me",
        "conditions": [
            {"kind": "event_property_contains", "key": "content.m\\.mentions.user_ids", "value": ME}
        ],
        "actions": ["notify", {"set_tweak": "sound", "value": ME}],
    },
    {
        "rule_id": "notices",
        "conditions": [{"kind": "event_match", "key": "content.msgtype", "pattern": "m.notice"}],
        "actions": ["notify"],
    },
    {"rule_id": "unknown", "conditions": [{"kind": "nope"}], "actions": ["notify"]},
    {"rule_id": "disabled", "enabled": False, "conditions": [], "actions": ["notify"]},
    {
        "rule_id": "bobs",
        "conditions": [{"kind": "event_match", "key": "state_key", "pattern": "*bob*"}],
        "actions": ["notify", HIGHLIGHT],
    },
    {
        "rule_id": "small",
        "conditions": [{"kind": "room_member_count", "is": "<3"}],
        "actions": ["notify"],
    },
]
CONTENT = [
    {"rule_id": "tea", "pattern": "tea", "actions": ["notify", HIGHLIGHT]},
    {"rule_id": "bo", "pattern": "bo*", "actions": []},
    {"rule_id": "me", "pattern": ME, "actions": ["notify"]},
]
ROOMS = [
    {"rule_id": ROOM, "actions": []},
    {"rule_id": ROOM, "actions": ["notify", {"set_tweak": "sound", "value": "x"}]},
]
SENDERS = [{"rule_id": "@alice:hs", "actions": []}, {"rule_id": "@carol:hs", "actions": ["notify"]}]
UNDERRIDES = [
    {
        "rule_id": "any",
        "conditions": [{"kind": "event_match", "key": "type", "pattern": "m.*"}],
        "actions": ["notify"],
    }
]
DEFAULTS = [
    {".m.rule.is_user_mention": {"enabled": False}},
    {".m.rule.message": {"actions": []}},
    {".m.rule.master": {"enabled": True}},
    {".m.rule.suppress_notices": {"actions": ["notify"]}},
    {".m.rule.member_event": {"enabled": False}},
    {".m.rule.is_room_mention": {"actions": ["notify"]}},
]


def _some(options: list[dict[str, Any]]) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(st.sampled_from(options), max_size=3, unique_by=orjson.dumps)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for chosen in draw(_some(DEFAULTS)) if _sometimes(draw, 40) else []:
        defaults.update(chosen)
    return {
        "override": draw(_some(OVERRIDES)),
        "content": draw(_some(CONTENT)),
        "room": draw(_some(ROOMS)),
        "sender": draw(_some(SENDERS)),
        "underride": draw(_some(UNDERRIDES)),
        "defaults": defaults,
    }


def _sometimes(draw: st.DrawFn, percent: int) -> bool:
    return draw(st.integers(0, 99)) < percent


@st.composite
def events(draw: st.DrawFn, members: list[Member]) -> dict[str, Any]:
    """Mostly messages that mention members, by ID or by display name."""
    sender = draw(st.sampled_from([*USERS, "@remote:elsewhere"]))
    ids = [m.user_id for m in members] + USERS
    if _sometimes(draw, 20):
        membership = draw(st.sampled_from(["invite", "join", "leave"]))
        return {
            "type": "m.room.member",
            "sender": sender,
            "room_id": ROOM,
            "state_key": draw(st.sampled_from(ids)),
            "content": {"membership": membership},
        }
    content: dict[str, Any] = {}
    if _sometimes(draw, 60):
        content["msgtype"] = draw(st.sampled_from(["m.text", "m.text", "m.notice"]))
    names = [m.display_name for m in members if m.display_name]
    words = st.sampled_from(WORDS + names * 3 + ids)
    if _sometimes(draw, 90):
        separator = draw(st.sampled_from([" ", ", ", "", "_"]))
        content["body"] = separator.join(draw(st.lists(words, max_size=4)))
    else:
        content["body"] = draw(st.integers(0, 3))
    if _sometimes(draw, 60):
        mentions: dict[str, Any] = {}
        if _sometimes(draw, 85):
            listed = draw(st.lists(st.sampled_from(ids), max_size=3))
            mentions["user_ids"] = listed if _sometimes(draw, 90) else ",".join(listed)
        if _sometimes(draw, 30):
            mentions["room"] = draw(st.booleans())
        content["m.mentions"] = mentions
    if _sometimes(draw, 10):
        content["m.relates_to"] = {"rel_type": "m.replace", "event_id": "$x"}
    kinds = ["m.room.message"] * 6 + ["m.room.encrypted", "m.call.invite", "m.reaction"]
    event = {"type": draw(st.sampled_from([*kinds, "m.room.tombstone"])), "content": content}
    if event["type"] == "m.room.tombstone":
        event["state_key"] = ""
    return {**event, "sender": sender, "room_id": ROOM}


@st.composite
def rooms(draw: st.DrawFn) -> list[Member]:
    docs = draw(st.lists(st.one_of(st.none(), documents()), min_size=1, max_size=3))
    users = draw(st.lists(st.sampled_from(USERS), min_size=1, unique=True))
    members = []
    for user_id in users:
        doc = draw(st.sampled_from(docs))
        rules = None if doc is None else orjson.dumps(doc).decode()
        members.append(Member(user_id, draw(st.sampled_from(NAMES)), True, rules, 0))
    if draw(st.booleans()):  # remote members are never evaluated
        members.append(Member("@bob:elsewhere", "bob", False, None, 0))
    return members


def context(event: dict[str, Any], count: int, power: float, level: int | None) -> PushContext:
    return PushContext(event, count, power, {} if level is None else {"room": level})


@functools.cache
def own_ruleset(rules: str | None, user_id: str) -> CompiledRuleset:
    document = None if rules is None else orjson.loads(rules)
    return compile_ruleset(merged_ruleset(document, user_id))


def naive(member: Member, event: dict[str, Any], make: Any) -> Actions | None:
    """The member's own ruleset (their user ID in place of the placeholder),
    every condition of every rule tried in order, nothing shared."""
    ruleset = own_ruleset(member.rules, member.user_id)
    ctx = make()
    who = Recipient(member.user_id, member.display_name)
    for rule in ruleset.rules:
        if all(condition(ctx, who) for condition in (*rule.shared, *rule.personal)):
            return effective(rule.actions)
    return None


@settings(max_examples=300, deadline=None)
@given(
    st.data(),
    rooms(),
    st.integers(1, 4),
    st.sampled_from([0.0, 50.0, 100.0, math.inf]),
    st.sampled_from([None, 0, 50, 100]),
)
def test_room_evaluation_equals_each_members_own(
    data: st.DataObject, members: list[Member], count: int, power: float, level: int | None
) -> None:
    event = data.draw(events(members))
    templates = Templates()
    outcome = evaluate_room(
        context(event, count, power, level),
        templates.get(None),
        ((templates.get(key), who) for key, who in groups_of(members)),
        exclude=event["sender"],
    )
    assert event["sender"] not in outcome.exceptions
    assert "@bob:elsewhere" not in outcome.exceptions
    for member in members:
        if not member.local or member.user_id == event["sender"]:
            continue
        expected = naive(member, event, lambda: context(event, count, power, level))
        got = outcome.of(member.user_id)
        assert same(got, expected), (member, got, expected)
    for user_id, listed in outcome.exceptions.items():
        assert not same(listed, outcome.default), user_id  # only real differences


def test_a_plain_message_in_a_default_room_has_no_exceptions() -> None:
    members = [Member(f"@u{i}:hs", f"User {i}", True, None, 0) for i in range(31)]
    templates = Templates()
    message = {"type": "m.room.message", "sender": "@u0:hs", "room_id": ROOM,
               "content": {"msgtype": "m.text", "body": "hi User 3"}}  # fmt: skip
    outcome = evaluate_room(
        context(message, 31, 0, None),
        templates.get(None),
        ((templates.get(key), who) for key, who in groups_of(members)),
        exclude="@u0:hs",
    )
    assert outcome.default is not None and outcome.default.rule_id == ".m.rule.message"
    assert outcome.exceptions == {}
    mention = {**message, "content": {**message["content"], "m.mentions": {"user_ids": ["@u3:hs"]}}}
    outcome = evaluate_room(
        context(mention, 31, 0, None),
        templates.get(None),
        ((templates.get(key), who) for key, who in groups_of(members)),
        exclude="@u0:hs",
    )
    assert list(outcome.exceptions) == ["@u3:hs"]
    assert outcome.exceptions["@u3:hs"] is not None and outcome.exceptions["@u3:hs"].highlight
