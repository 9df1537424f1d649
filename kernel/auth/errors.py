"""The rejection of an event by the auth rules."""

from __future__ import annotations

from ..room_versions import RoomVersion
from .numbering import rule_number


class AuthError(Exception):
    """An event failed the auth rules.

    ``rule`` is the rule's stable key (``"member.join.sender"``, see
    ``numbering.RULES``), ``number`` its number in the event's room version
    (``"4.3.2"``); the message names both, so a log line points into the spec.
    """

    def __init__(self, message: str, *, rule: str = "", number: str = "") -> None:
        super().__init__(message)
        self.rule = rule
        self.number = number


def deny(rv: RoomVersion, rule: str, reason: str) -> AuthError:
    """An AuthError for ``rule`` in ``rv`` (raise it)."""
    number = rule_number(rv, rule)
    return AuthError(
        f"auth rule {number} (room version {rv.identifier}): {reason}", rule=rule, number=number
    )
