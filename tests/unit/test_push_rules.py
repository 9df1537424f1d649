"""Push rules set changes (pure) and the merged ruleset clients see."""

from __future__ import annotations

import pytest

from tessera.command.push_rules import (
    PushRuleError,
    delete_rule,
    put_rule,
    set_actions,
    set_enabled,
)
from tessera.schema.push_rules import empty_document, merged_ruleset

ME = "@me:hs"


def ids(rules: list[dict[str, object]]) -> list[object]:
    return [r["rule_id"] for r in rules]


def test_defaults_are_personalised_and_master_is_disabled() -> None:
    ruleset = merged_ruleset(None, ME)
    assert ruleset["override"][0]["rule_id"] == ".m.rule.master"
    assert ruleset["override"][0]["enabled"] is False
    invite = next(r for r in ruleset["override"] if r["rule_id"] == ".m.rule.invite_for_me")
    assert {"kind": "event_match", "key": "state_key", "pattern": ME} in invite["conditions"]
    assert ids(ruleset["underride"])[-1] == ".m.rule.encrypted"
    assert ruleset["content"] == [] and ruleset["room"] == [] and ruleset["sender"] == []


def test_new_rules_go_first_and_before_after_place_them() -> None:
    doc = empty_document()
    doc = put_rule("override", "a", {"actions": ["notify"], "conditions": []}, None, None)(doc)
    doc = put_rule("override", "b", {"actions": []}, None, None)(doc)
    doc = put_rule("override", "c", {"actions": []}, None, "b")(doc)
    doc = put_rule("override", "d", {"actions": []}, "a", None)(doc)
    assert ids(doc["override"]) == ["b", "c", "d", "a"]
    ruleset = merged_ruleset(doc, ME)
    # user rules rank above the defaults, but below the master rule
    assert ids(ruleset["override"])[:5] == [".m.rule.master", "b", "c", "d", "a"]


def test_updating_a_rule_keeps_its_place_and_enabled_state() -> None:
    doc = empty_document()
    for name in ("x", "y"):
        doc = put_rule("room", name, {"actions": []}, None, None)(doc)
    doc = set_enabled("room", "x", False)(doc)
    doc = put_rule("room", "x", {"actions": ["notify"]}, None, None)(doc)
    assert ids(doc["room"]) == ["y", "x"]
    assert doc["room"][1] == {
        "rule_id": "x",
        "default": False,
        "enabled": False,
        "actions": ["notify"],
    }


def test_default_rules_can_be_toggled_but_not_deleted_or_replaced() -> None:
    doc = set_enabled("override", ".m.rule.master", True)(empty_document())
    doc = set_actions("underride", ".m.rule.message", ["dont_notify"])(doc)
    ruleset = merged_ruleset(doc, ME)
    assert ruleset["override"][0]["enabled"] is True
    message = next(r for r in ruleset["underride"] if r["rule_id"] == ".m.rule.message")
    assert message["actions"] == ["dont_notify"]
    with pytest.raises(PushRuleError) as e:
        delete_rule("override", ".m.rule.master")(doc)
    assert e.value.status == 400
    with pytest.raises(PushRuleError):
        put_rule("override", ".m.rule.master", {"actions": []}, None, None)


@pytest.mark.parametrize(
    ("kind", "rule_id", "body", "status"),
    [
        ("nonsense", "x", {"actions": []}, 400),
        ("content", "x", {"actions": []}, 400),  # no pattern
        ("override", "a/b", {"actions": []}, 400),
        ("override", "x", {"actions": "notify"}, 400),
    ],
)
def test_bad_rules_are_refused(
    kind: str, rule_id: str, body: dict[str, object], status: int
) -> None:
    with pytest.raises(PushRuleError) as e:
        put_rule(kind, rule_id, body, None, None)(empty_document())
    assert e.value.status == status


def test_unknown_rules_and_anchors_are_errors() -> None:
    doc = empty_document()
    with pytest.raises(PushRuleError) as e:
        delete_rule("sender", "@nobody:hs")(doc)
    assert e.value.status == 404
    with pytest.raises(PushRuleError) as e:
        set_enabled("sender", "@nobody:hs", True)(doc)
    assert e.value.status == 404
    with pytest.raises(PushRuleError) as e:
        put_rule("override", "x", {"actions": []}, "missing", None)(doc)
    assert e.value.errcode == "M_UNKNOWN"
