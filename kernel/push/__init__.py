"""Push rule evaluation (the client-server API's push module): pure functions, no I/O.

``compile_ruleset(ruleset)`` turns a user's merged ruleset
(``tessera.schema.push_rules.merged_ruleset``) into a ``CompiledRuleset`` once;
``CompiledRuleset.evaluate(ctx, display_name)`` gives the actions of the first
matching rule for one event (``PushContext``), or None when no rule matched;
``evaluate_room`` evaluates one event for a whole room as a shared default
outcome plus the members whose outcome differs.
"""

from .evaluator import Actions, CompiledRuleset, PushContext, compile_ruleset
from .room import RoomOutcome, evaluate_room

__all__ = [
    "Actions",
    "CompiledRuleset",
    "PushContext",
    "RoomOutcome",
    "compile_ruleset",
    "evaluate_room",
]
