"""A user's push ruleset, compiled once, evaluated per event.

Rules are tried in the spec's order — override, content, room, sender,
underride, each kind's rules in priority order as ``merged_ruleset`` lists them
(``.m.rule.master`` first, the user's rules ahead of the server defaults) — and
the first enabled rule whose conditions all hold gives the actions. Disabled
rules and rules with an unknown condition are dropped at compile time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import orjson

from .conditions import Condition, compile_condition
from .paths import MISSING, lookup

KINDS = ("override", "content", "room", "sender", "underride")
#: Actions older specs defined; the spec says to strip them.
_HISTORICAL = frozenset({"dont_notify", "coalesce"})
#: ``notifications.room`` (and any key) defaults to 50 (``m.room.power_levels``).
DEFAULT_NOTIFICATION_LEVEL = 50


@dataclasses.dataclass(slots=True)
class PushContext:
    """One event as the conditions see it; shared by every member evaluated for it."""

    #: The event (its PDU or client format: ``type``, ``content``, ``sender``, ``state_key``…).
    event: Mapping[str, Any]
    #: Joined members of the room.
    member_count: int
    #: The sender's power level (``math.inf`` for a v12 creator).
    sender_power: float
    #: ``m.room.power_levels``'s ``notifications`` (already parsed as integers).
    notification_levels: Mapping[str, int] = dataclasses.field(default_factory=dict)
    #: Results of user-independent conditions, by condition JSON.
    memo: dict[str, bool] = dataclasses.field(default_factory=dict)
    _values: dict[tuple[str, ...], Any] = dataclasses.field(default_factory=dict)

    def value(self, parts: tuple[str, ...]) -> Any:
        found = self._values.get(parts, _UNSET)
        if found is _UNSET:
            found = self._values[parts] = lookup(self.event, parts)
        return found

    def notification_level(self, key: str) -> int:
        return self.notification_levels.get(key, DEFAULT_NOTIFICATION_LEVEL)


_UNSET: Any = object()


@dataclasses.dataclass(frozen=True, slots=True)
class Actions:
    """What the matching rule asks for."""

    rule_id: str
    #: The actions as the rule lists them, historical ones stripped.
    actions: tuple[Any, ...]
    notify: bool
    highlight: bool

    def tweaks(self) -> dict[str, Any]:
        """``set_tweak`` actions as the push gateway's ``tweaks`` (highlight given
        without a value means true)."""
        tweaks: dict[str, Any] = {}
        for action in self.actions:
            if isinstance(action, dict) and isinstance(action.get("set_tweak"), str):
                name = action["set_tweak"]
                tweaks[name] = (
                    action.get("value", True) if name == "highlight" else action.get("value")
                )
        return tweaks


def actions_of(rule_id: str, raw: Any) -> Actions:
    listed = (
        [a for a in raw if not (isinstance(a, str) and a in _HISTORICAL)]
        if isinstance(raw, list)
        else []
    )
    notify = "notify" in listed
    highlight = False
    for action in listed:
        if isinstance(action, dict) and action.get("set_tweak") == "highlight":
            highlight = action.get("value", True) is True
    return Actions(rule_id, tuple(listed), notify, highlight)


@lru_cache(maxsize=16384)
def _interned(condition_json: str) -> Condition | None:
    return compile_condition(orjson.loads(condition_json))


def _condition(condition: Any) -> Condition | None:
    try:
        text = orjson.dumps(condition, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return None
    return _interned(text)


@dataclasses.dataclass(frozen=True, slots=True)
class _Rule:
    conditions: tuple[Condition, ...]
    actions: Actions


def _implicit_conditions(kind: str, rule: Mapping[str, Any]) -> list[Any] | None:
    rule_id = rule.get("rule_id")
    if kind == "content":
        pattern = rule.get("pattern")
        if not isinstance(pattern, str):
            return None
        return [{"kind": "event_match", "key": "content.body", "pattern": pattern}]
    if kind == "room":
        return [{"kind": "event_property_is", "key": "room_id", "value": rule_id}]
    if kind == "sender":
        return [{"kind": "event_property_is", "key": "sender", "value": rule_id}]
    conditions = rule.get("conditions", [])
    return conditions if isinstance(conditions, list) else None


def _compile_rule(kind: str, rule: Any) -> _Rule | None:
    if not isinstance(rule, Mapping) or rule.get("enabled", True) is not True:
        return None
    rule_id = rule.get("rule_id")
    raw_conditions = _implicit_conditions(kind, rule)
    if not isinstance(rule_id, str) or raw_conditions is None:
        return None
    conditions: list[Condition] = []
    for raw in raw_conditions:
        compiled = _condition(raw)
        if compiled is None:
            return None  # an unrecognised condition never matches
        conditions.append(compiled)
    return _Rule(tuple(conditions), actions_of(rule_id, rule.get("actions")))


@dataclasses.dataclass(frozen=True, slots=True)
class CompiledRuleset:
    rules: tuple[_Rule, ...]

    def evaluate(self, ctx: PushContext, display_name: str | None = None) -> Actions | None:
        """The first matching rule's actions, or None when no rule matches."""
        for rule in self.rules:
            for condition in rule.conditions:
                if not condition(ctx, display_name):
                    break
            else:
                return rule.actions
        return None


def compile_ruleset(ruleset: Mapping[str, Sequence[Any]]) -> CompiledRuleset:
    """``ruleset`` is the ``global`` ruleset (kind -> rules in priority order)."""
    compiled: list[_Rule] = []
    for kind in KINDS:
        for rule in ruleset.get(kind, ()):
            built = _compile_rule(kind, rule)
            if built is not None:
                compiled.append(built)
    return CompiledRuleset(tuple(compiled))


__all__ = ["MISSING", "Actions", "CompiledRuleset", "PushContext", "actions_of", "compile_ruleset"]
