"""Event authorization: the spec's auth rules for every room version.

Public API (see ``rules.py`` for the rules themselves, numbered as the spec numbers them):

- ``AuthError``: raised when an event is rejected; says which rule.
- ``check_auth(event, auth_state)``: the auth rules for ``event`` against the
  state it is authorised by, a mapping ``(type, state_key) -> Event``. The create
  event is always passed under ``("m.room.create", "")``, even in v12 where it is
  not listed in the PDU's ``auth_events`` (the caller resolves it from the room ID).
- ``auth_types_for_event(event)``: the state keys an event's ``auth_events`` must be
  chosen from ("auth events selection"). The create event is selected in v1–v11
  only; in v12 it is never listed, though ``check_auth`` is always given it.

Also for the command and query sides: ``user_power_level`` (``math.inf`` for a v12
creator), ``required_power_level``, ``named_power_level`` (invite, kick, ban,
redact), ``is_creator``/``creators``; for federation: ``auth_state_from_auth_events``
(the rules about the ``auth_events`` list itself) and ``required_signers``.
"""

from .errors import AuthError
from .numbering import rule_number
from .power_levels import (
    CREATOR_POWER_LEVEL,
    PowerLevel,
    creators,
    is_creator,
    named_power_level,
    required_power_level,
    user_power_level,
)
from .rules import (
    auth_state_from_auth_events,
    auth_types_for_event,
    check_auth,
    required_signers,
)

__all__ = [
    "CREATOR_POWER_LEVEL",
    "AuthError",
    "PowerLevel",
    "auth_state_from_auth_events",
    "auth_types_for_event",
    "check_auth",
    "creators",
    "is_creator",
    "named_power_level",
    "required_power_level",
    "required_signers",
    "rule_number",
    "user_power_level",
]
