"""Event authorization: the spec's auth rules for every room version.

Public API (see ``rules.py`` for the rules themselves, numbered as the spec numbers them):

- ``AuthError``: raised when an event is rejected; says which rule.
- ``check_auth(event, auth_state)``: the auth rules for ``event`` against the
  state it is authorised by, a mapping ``(type, state_key) -> Event``. The create
  event is always passed under ``("m.room.create", "")``, even in v12 where it is
  not listed in the PDU's ``auth_events`` (the caller resolves it from the room ID).
- ``auth_types_for_event(event)``: the state keys an event's ``auth_events`` must be
  chosen from ("auth events selection").
"""
