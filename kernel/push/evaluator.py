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

from .conditions import Condition, Recipient, compile_condition
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
    #: ``contains_display_name`` results, by display name.
    names: dict[str, bool] = dataclasses.field(default_factory=dict)
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
    #: ``actions`` as JSON, made once per compiled rule (read models store it).
    json: str = "[]"

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
    return Actions(rule_id, tuple(listed), notify, highlight, orjson.dumps(listed).decode())


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
    #: Conditions that do not depend on the recipient (memoized per event).
    shared: tuple[Condition, ...]
    personal: tuple[Condition, ...]
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
    return _Rule(
        tuple(c for c in conditions if not c.personal),
        tuple(c for c in conditions if c.personal),
        actions_of(rule_id, rule.get("actions")),
    )


_NOBODY = Recipient("")


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """One event's evaluation for every member sharing a ruleset: the rules
    that can still match someone, in order. ``personal`` rules hold or not
    depending on the member; ``fallback`` is what a member none of them match
    gets (None: no rule matches)."""

    personal: tuple[_Rule, ...]
    fallback: Actions | None

    @property
    def uniform(self) -> bool:
        """Every member gets ``fallback``."""
        return not self.personal

    def outcome(self, ctx: PushContext, who: Recipient) -> Actions | None:
        for rule in self.personal:
            for condition in rule.personal:
                if not condition(ctx, who):
                    break
            else:
                return rule.actions
        return self.fallback


def _possible(rule: _Rule, ctx: PushContext) -> bool:
    for condition in rule.personal:
        possible = condition.possible
        if possible is not None and not possible(ctx):
            return False
    return True


@dataclasses.dataclass(frozen=True, slots=True)
class CompiledRuleset:
    rules: tuple[_Rule, ...]

    def plan(self, ctx: PushContext) -> Plan:
        """Decides every recipient-independent condition of the rules once: a
        rule is kept when its shared conditions hold and each personal one could
        hold for someone; the first kept rule without personal conditions ends
        the list (it matches everyone the rules above it miss)."""
        personal: list[_Rule] = []
        for rule in self.rules:
            for condition in rule.shared:
                if not condition(ctx, _NOBODY):
                    break
            else:
                if not rule.personal:
                    return Plan(tuple(personal), rule.actions)
                if _possible(rule, ctx):
                    personal.append(rule)
        return Plan(tuple(personal), None)

    def evaluate(
        self, ctx: PushContext, display_name: str | None = None, user_id: str = ""
    ) -> Actions | None:
        """The first matching rule's actions, or None when no rule matches."""
        return self.plan(ctx).outcome(ctx, Recipient(user_id, display_name))

    def evaluate_many(
        self, ctx: PushContext, recipients: Sequence[Recipient]
    ) -> list[Actions | None]:
        """``evaluate`` for several recipients sharing this ruleset: the shared
        part of every rule is decided once."""
        plan = self.plan(ctx)
        if plan.uniform:
            return [plan.fallback] * len(recipients)
        return [plan.outcome(ctx, who) for who in recipients]


def compile_ruleset(ruleset: Mapping[str, Sequence[Any]]) -> CompiledRuleset:
    """``ruleset`` is the ``global`` ruleset (kind -> rules in priority order)."""
    compiled: list[_Rule] = []
    for kind in KINDS:
        for rule in ruleset.get(kind, ()):
            built = _compile_rule(kind, rule)
            if built is not None:
                compiled.append(built)
    return CompiledRuleset(tuple(compiled))


__all__ = [
    "MISSING",
    "Actions",
    "CompiledRuleset",
    "Plan",
    "PushContext",
    "actions_of",
    "compile_ruleset",
]
