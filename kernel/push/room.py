"""One event evaluated for every member of its room at once: the outcome most
members share, and the members whose outcome differs.

A room of N members would otherwise cost N rows per event in the read model.
``evaluate_room`` instead gives ``RoomOutcome.default`` — what a member on the
server-default rules gets when no personal condition (a mention of them, their
display name, an invite for them) holds — and lists in ``exceptions`` only the
members whose result differs from it, whatever the reason (a mention, a muted
room, rules of their own). It is exact: for every member,
``outcome.of(user_id)`` equals evaluating that member's own ruleset alone
(tests/unit/test_push_room.py compares the two on random rooms and events).

Outcomes are compared by what the read model stores: whether the event
notifies, whether it highlights, and the actions' JSON. An outcome that neither
notifies nor highlights is None (it writes no row), so a rule with ``[]``
actions and no matching rule at all are the same outcome.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from .conditions import Recipient
from .evaluator import Actions, CompiledRuleset, PushContext


def effective(actions: Actions | None) -> Actions | None:
    """The outcome as the read model sees it: None unless it notifies or highlights."""
    if actions is None or not (actions.notify or actions.highlight):
        return None
    return actions


def same(a: Actions | None, b: Actions | None) -> bool:
    """Whether two effective outcomes write the same row."""
    if a is None or b is None:
        return a is b
    return a is b or (a.notify == b.notify and a.highlight == b.highlight and a.json == b.json)


@dataclasses.dataclass(frozen=True, slots=True)
class RoomOutcome:
    #: What every evaluated member not in ``exceptions`` gets (effective).
    default: Actions | None
    #: Members whose effective outcome differs from ``default`` (None: nothing).
    exceptions: dict[str, Actions | None]

    def of(self, user_id: str) -> Actions | None:
        return self.exceptions.get(user_id, self.default)


def evaluate_room(
    ctx: PushContext,
    default: CompiledRuleset,
    groups: Iterable[tuple[CompiledRuleset, Sequence[Recipient]]],
    *,
    exclude: str | None = None,
) -> RoomOutcome:
    """``default`` is the server-default template; ``groups`` are the members to
    evaluate, each with the template they share (``default`` among them for
    members on the defaults); ``exclude`` (the sender) is skipped."""
    base = effective(default.plan(ctx).fallback)
    exceptions: dict[str, Actions | None] = {}
    for ruleset, recipients in groups:
        plan = ruleset.plan(ctx)
        if plan.uniform:
            result = effective(plan.fallback)
            if not same(result, base):
                for who in recipients:
                    if who.user_id != exclude:
                        exceptions[who.user_id] = result
            continue
        for who in recipients:
            if who.user_id == exclude:
                continue
            result = effective(plan.outcome(ctx, who))
            if not same(result, base):
                exceptions[who.user_id] = result
    return RoomOutcome(base, exceptions)
