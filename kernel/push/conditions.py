"""Push rule conditions compiled to predicates.

A compiled condition reads the event's ``PushContext`` and the recipient
(``Recipient``: user ID, display name in the room). Conditions that do not
depend on the recipient carry a ``key`` (their JSON), so one event evaluates
each of them once however many members share the rule: the context memoizes
results by key. Conditions that name the recipient — the server-default rules'
``[the user's Matrix ID]`` placeholder, ``contains_display_name`` — are
``personal``: one compiled ruleset then serves every user whose rules are the
same document (all users on the defaults share one). A condition this server
does not know compiles to None, which makes its rule never match (as the spec
says).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from . import glob
from .paths import MISSING, split_path

if TYPE_CHECKING:
    from .evaluator import PushContext

#: Stands for the recipient's user ID in rule templates (``tessera.schema.push_rules``).
ME = "[the user's Matrix ID]"


@dataclasses.dataclass(frozen=True, slots=True)
class Recipient:
    user_id: str
    display_name: str | None = None


Predicate = Callable[["PushContext", Recipient], bool]
#: A recipient-independent necessary condition of a personal condition: when it
#: is false for an event, the condition is false for every member.
Possible = Callable[["PushContext"], bool]

_MEMBER_COUNT = re.compile(r"^(==|<=|>=|<|>)?([0-9]+)$")
_SCALARS = (str, int, bool, type(None))


@dataclasses.dataclass(frozen=True, slots=True)
class Condition:
    test: Predicate
    #: Memo key of a recipient-independent condition; None for personal ones.
    key: str | None
    #: Personal conditions: false means false for everyone (None: can't tell).
    possible: Possible | None = None

    @property
    def personal(self) -> bool:
        return self.key is None

    def __call__(self, ctx: PushContext, who: Recipient) -> bool:
        if self.key is None:
            return self.test(ctx, who)
        memo = ctx.memo
        found = memo.get(self.key)
        if found is None:
            found = memo[self.key] = self.test(ctx, who)
        return found


def _scalar(value: Any) -> bool:
    """Non-compound canonical JSON: strings, integers, booleans, null (no floats)."""
    return isinstance(value, _SCALARS)


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python; the spec says never to cast types.
    return type(a) is type(b) and a == b


def _event_match(key: str, pattern: str) -> Predicate:
    parts = split_path(key)
    if ME in pattern:

        def personal(ctx: PushContext, who: Recipient) -> bool:
            value = ctx.value(parts)
            mine = glob.whole_value(pattern.replace(ME, who.user_id))
            return isinstance(value, str) and mine.fullmatch(value) is not None

        return personal
    if key == "content.body":
        finder = glob.word_bounded(pattern)

        def body(ctx: PushContext, _who: Recipient) -> bool:
            value = ctx.value(parts)
            return isinstance(value, str) and finder.search(value) is not None

        return body
    matcher = glob.whole_value(pattern)

    def whole(ctx: PushContext, _who: Recipient) -> bool:
        value = ctx.value(parts)
        return isinstance(value, str) and matcher.fullmatch(value) is not None

    return whole


def _property_is(key: str, expected: Any) -> Predicate:
    parts = split_path(key)

    def test(ctx: PushContext, who: Recipient) -> bool:
        value = ctx.value(parts)
        wanted = who.user_id if expected == ME else expected
        return value is not MISSING and _scalar(value) and _same(value, wanted)

    return test


def _property_contains(key: str, expected: Any) -> Predicate:
    parts = split_path(key)

    def test(ctx: PushContext, who: Recipient) -> bool:
        value = ctx.value(parts)
        wanted = who.user_id if expected == ME else expected
        return isinstance(value, list) and any(_scalar(v) and _same(v, wanted) for v in value)

    return test


def _member_count(spec: str) -> Predicate | None:
    found = _MEMBER_COUNT.match(spec)
    if found is None:
        return None
    op, number = found.group(1) or "==", int(found.group(2))
    compare: dict[str, Callable[[int], bool]] = {
        "==": lambda n: n == number,
        "<": lambda n: n < number,
        ">": lambda n: n > number,
        "<=": lambda n: n <= number,
        ">=": lambda n: n >= number,
    }
    check = compare[op]
    return lambda ctx, _who: check(ctx.member_count)


def _sender_permission(key: str) -> Predicate:
    return lambda ctx, _who: ctx.sender_power >= ctx.notification_level(key)


_BODY = ("content", "body")


def _contains_display_name(ctx: PushContext, who: Recipient) -> bool:
    name = who.display_name
    if not name:
        return False
    found = ctx.names.get(name)
    if found is None:
        body = ctx.value(_BODY)
        found = isinstance(body, str) and (
            glob.word_bounded(name, literal=True).search(body) is not None
        )
        ctx.names[name] = found  # members often share a name (or none)
    return found


def _has_body(ctx: PushContext) -> bool:
    body = ctx.value(_BODY)
    return isinstance(body, str) and body != ""


def _possible(kind: str, key: Any, value: Any) -> Possible | None:
    """What a personal condition needs of the event whoever the member is: a
    string to match (``event_match``), a scalar or a list to compare with."""
    if not isinstance(key, str):
        return None
    parts = split_path(key)
    if kind == "event_match" or (kind == "event_property_is" and value == ME):
        return lambda ctx: isinstance(ctx.value(parts), str)
    if kind == "event_property_is":
        return lambda ctx: ctx.value(parts) is not MISSING
    if kind == "event_property_contains":
        return lambda ctx: isinstance(ctx.value(parts), list)
    return None


def compile_condition(condition: Any) -> Condition | None:
    """The condition as a predicate, or None if it is unknown or malformed."""
    if not isinstance(condition, dict):
        return None
    kind, key = condition.get("kind"), condition.get("key")
    test: Predicate | None = None
    if kind == "event_match":
        pattern = condition.get("pattern")
        if isinstance(key, str) and isinstance(pattern, str):
            test = _event_match(key, pattern)
    elif kind == "event_property_is":
        value = condition.get("value", MISSING)
        if isinstance(key, str) and value is not MISSING and _scalar(value):
            test = _property_is(key, value)
    elif kind == "event_property_contains":
        value = condition.get("value", MISSING)
        if isinstance(key, str) and value is not MISSING and _scalar(value):
            test = _property_contains(key, value)
    elif kind == "room_member_count":
        spec = condition.get("is")
        if isinstance(spec, str):
            test = _member_count(spec)
    elif kind == "sender_notification_permission":
        if isinstance(key, str):
            test = _sender_permission(key)
    elif kind == "contains_display_name":
        return Condition(_contains_display_name, None, _has_body)
    if test is None:
        return None
    memo_key = orjson.dumps(condition, option=orjson.OPT_SORT_KEYS).decode()
    if ME in memo_key:
        return Condition(test, None, _possible(str(kind), key, condition.get("value")))
    return Condition(test, memo_key)
