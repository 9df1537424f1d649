"""Identifier grammar (appendices: "Identifier Grammar").

Server names, user IDs, room IDs and event IDs, with the spec's size limit of
255 bytes. User IDs are checked with the *historical* grammar (any printable
ASCII but ``:`` in the localpart) because remote servers created such users; the
stricter grammar for new local registrations lives with registration.
"""

from __future__ import annotations

import re

MAX_ID_BYTES = 255

_IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"
_IPV6 = r"\[[0-9A-Fa-f:.]{2,45}\]"
_DNS = r"[0-9A-Za-z.\-]{1,255}"
_SERVER_NAME = re.compile(rf"^(?:{_IPV4}|{_IPV6}|{_DNS})(?::\d{{1,5}})?$")
_HISTORICAL_LOCALPART = re.compile(r"^[\x21-\x39\x3b-\x7e]+$")
_STRICT_LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+$")


def is_valid_server_name(name: str) -> bool:
    return len(name) <= MAX_ID_BYTES and _SERVER_NAME.match(name) is not None


def server_name_of(identifier: str) -> str:
    """The server part of ``@user:server``, ``!room:server`` or ``$event:server``."""
    _, sep, server = identifier.partition(":")
    if not sep:
        raise ValueError(f"{identifier!r} has no server name")
    return server


def is_valid_user_id(user_id: str, *, strict: bool = False) -> bool:
    """``@localpart:server_name``, at most 255 bytes."""
    if not user_id.startswith("@") or len(user_id.encode()) > MAX_ID_BYTES:
        return False
    localpart, sep, server = user_id[1:].partition(":")
    if not sep or not localpart or not is_valid_server_name(server):
        return False
    grammar = _STRICT_LOCALPART if strict else _HISTORICAL_LOCALPART
    return grammar.match(localpart) is not None


def is_valid_room_id(room_id: str) -> bool:
    """``!opaque:server`` (v1–v11) or ``!hash`` (v12), at most 255 bytes."""
    return room_id.startswith("!") and len(room_id) > 1 and len(room_id.encode()) <= MAX_ID_BYTES


def is_valid_event_id(event_id: str) -> bool:
    return event_id.startswith("$") and len(event_id) > 1 and len(event_id.encode()) <= MAX_ID_BYTES
