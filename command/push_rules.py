"""Changes to a user's push rules document (``tessera.schema.push_rules``): pure
functions from the old document to the new one, raising PushRuleError to refuse.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from tessera.schema.push_rules import KINDS, default_rule_ids, empty_document

__all__ = ["KINDS", "Change", "PushRuleError", "empty_document"]

Change = Callable[[dict[str, Any]], dict[str, Any]]


class PushRuleError(Exception):
    def __init__(self, status: int, errcode: str, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.errcode = errcode
        self.error = error


def _not_found() -> PushRuleError:
    return PushRuleError(404, "M_NOT_FOUND", "The push rule was not found.")


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise PushRuleError(400, "M_INVALID_PARAM", f"Unknown push rule kind {kind!r}")


def _check_actions(actions: Any) -> list[Any]:
    if not isinstance(actions, list) or not all(isinstance(a, str | dict) for a in actions):
        raise PushRuleError(400, "M_BAD_JSON", "'actions' must be a list of strings and objects")
    return actions


def _index(rules: list[dict[str, Any]], rule_id: str) -> int | None:
    for i, rule in enumerate(rules):
        if rule["rule_id"] == rule_id:
            return i
    return None


def put_rule(
    kind: str, rule_id: str, body: dict[str, Any], before: str | None, after: str | None
) -> Change:
    """Create or replace a user-defined rule, placed as the spec says."""
    check_kind(kind)
    if not rule_id or rule_id.startswith(".") or "/" in rule_id or "\\" in rule_id:
        raise PushRuleError(400, "M_INVALID_PARAM", "Invalid rule_id")
    rule: dict[str, Any] = {
        "rule_id": rule_id,
        "default": False,
        "enabled": True,
        "actions": _check_actions(body.get("actions")),
    }
    if kind in ("override", "underride"):
        conditions = body.get("conditions", [])
        if not isinstance(conditions, list) or not all(
            isinstance(c, dict) and isinstance(c.get("kind"), str) for c in conditions
        ):
            raise PushRuleError(400, "M_BAD_JSON", "'conditions' must be a list of conditions")
        rule["conditions"] = conditions
    if kind == "content":
        pattern = body.get("pattern")
        if not isinstance(pattern, str):
            raise PushRuleError(400, "M_BAD_JSON", "content rules need a string 'pattern'")
        rule["pattern"] = pattern

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        new = copy.deepcopy(doc)
        rules: list[dict[str, Any]] = new.setdefault(kind, [])
        existing = _index(rules, rule_id)
        if existing is not None:
            rule["enabled"] = rules[existing].get("enabled", True)
            if before is None and after is None:
                rules[existing] = rule  # updated in place, keeps its priority
                return new
            del rules[existing]
        if before is not None:
            at = _index(rules, before)
            if at is None:
                raise PushRuleError(400, "M_UNKNOWN", f"before/after rule not found: {before}")
        elif after is not None:
            found = _index(rules, after)
            if found is None:
                raise PushRuleError(400, "M_UNKNOWN", f"before/after rule not found: {after}")
            at = found + 1
        else:
            at = 0  # a new rule is the most important of its kind
        rules.insert(at, rule)
        return new

    return change


def delete_rule(kind: str, rule_id: str) -> Change:
    check_kind(kind)

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        rules = doc.get(kind, [])
        at = _index(rules, rule_id)
        if at is None:
            if rule_id in default_rule_ids(kind):
                raise PushRuleError(
                    400, "M_INVALID_PARAM", "Server-default rules cannot be deleted"
                )
            raise _not_found()
        new = copy.deepcopy(doc)
        del new[kind][at]
        return new

    return change


def _set_attribute(kind: str, rule_id: str, attribute: str, value: Any) -> Change:
    check_kind(kind)

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        new = copy.deepcopy(doc)
        at = _index(new.get(kind, []), rule_id)
        if at is not None:
            new[kind][at][attribute] = value
        elif rule_id in default_rule_ids(kind):
            new.setdefault("defaults", {}).setdefault(rule_id, {})[attribute] = value
        else:
            raise _not_found()
        return new

    return change


def set_enabled(kind: str, rule_id: str, enabled: Any) -> Change:
    if not isinstance(enabled, bool):
        raise PushRuleError(400, "M_BAD_JSON", "'enabled' must be a boolean")
    return _set_attribute(kind, rule_id, "enabled", enabled)


def set_actions(kind: str, rule_id: str, actions: Any) -> Change:
    return _set_attribute(kind, rule_id, "actions", _check_actions(actions))
