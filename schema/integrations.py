"""The integration contract: room events on public NATS subjects (docs/integrations.md).

Bots and bridges subscribe here instead of polling the Client-Server API. This
is a *public* contract, separate from the internal bus (``schema/bus.py``):
subscribers see client-format events, never log records, and what is written
here may only change in ways existing subscribers survive.

Subjects: ``<root>.events.room.<room>.<type>``, where ``<room>`` and ``<type>``
are the room ID and event type escaped into single NATS tokens (``escape_token``),
so a subscriber picks rooms and types with ordinary NATS wildcards.

Body: one JSON object, ``{"position", "previous", "event"}``; the position is
also the JetStream message ID (``Nats-Msg-Id``), so republishing a position is
deduplicated, and a header, so a subscriber can skip what it has seen without
parsing the body.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import orjson

#: The token after the root that every integration subject starts with.
EVENTS = "events"
#: The token naming what the events belong to (room events; others may follow).
ROOM = "room"

#: Header names of an integration message.
H_MSG_ID = "Nats-Msg-Id"
H_POSITION = "Tessera-Position"
H_PREVIOUS = "Tessera-Previous"

#: Characters a token keeps as they are; everything else is ``%XX`` (UTF-8 bytes).
#: Deliberately small: no ``.``, ``*``, ``>``, whitespace or ``%``, and nothing a
#: shell or a NATS tool would want quoted beyond ``!``.
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_!:@+=,;~")
_ESCAPED = re.compile(r"%([0-9A-F]{2})")
#: NATS forbids empty tokens; a lone ``%`` is no escape of anything else.
_EMPTY = "%"


def escape_token(value: str) -> str:
    """``value`` as one NATS subject token: unsafe bytes become ``%XX`` (upper hex)."""
    if not value:
        return _EMPTY
    out: list[str] = []
    for byte in value.encode("utf-8"):
        out.append(chr(byte) if byte in _SAFE else f"%{byte:02X}")
    return "".join(out)


def unescape_token(token: str) -> str:
    """The value ``escape_token`` turned into ``token``; ValueError if it is not one."""
    if token == _EMPTY:
        return ""
    raw = bytearray()
    index = 0
    while index < len(token):
        char = token[index]
        if char == "%":
            match = _ESCAPED.match(token, index)
            if match is None:
                raise ValueError(f"bad escape in subject token {token!r}")
            raw.append(int(match.group(1), 16))
            index += 3
        elif ord(char) < 128 and ord(char) in _SAFE:
            raw.append(ord(char))
            index += 1
        else:
            raise ValueError(f"unescaped {char!r} in subject token {token!r}")
    return raw.decode("utf-8")


def event_subject(root: str, room_id: str, event_type: str) -> str:
    """Where an event of ``event_type`` in ``room_id`` is published."""
    return f"{root}.{EVENTS}.{ROOM}.{escape_token(room_id)}.{escape_token(event_type)}"


def subscription(root: str, room_id: str | None = None, event_type: str | None = None) -> str:
    """The subject filter for one room and/or one type (``None``: any)."""
    room = "*" if room_id is None else escape_token(room_id)
    kind = "*" if event_type is None else escape_token(event_type)
    return f"{root}.{EVENTS}.{ROOM}.{room}.{kind}"


def parse_subject(root: str, subject: str) -> tuple[str, str]:
    """``(room_id, event_type)`` of an event subject under ``root``."""
    prefix = f"{root}.{EVENTS}.{ROOM}."
    if not subject.startswith(prefix):
        raise ValueError(f"{subject!r} is not a room event subject under {root!r}")
    tokens = subject[len(prefix) :].split(".")
    if len(tokens) != 2:
        raise ValueError(f"{subject!r}: expected <room>.<type> after {prefix!r}")
    return unescape_token(tokens[0]), unescape_token(tokens[1])


def stream_subjects(root: str) -> list[str]:
    """What the integration stream captures: everything under ``<root>.events``."""
    return [f"{root}.{EVENTS}.>"]


def default_stream(root: str) -> str:
    """The stream's name when not configured: ``tessera`` -> ``TESSERA_EVENTS``.

    Derived from the root, so servers sharing a root share the stream, and
    servers on different roots (tests, several deployments on one NATS) do not.
    """
    return re.sub(r"[^A-Za-z0-9_-]", "_", root).upper() + "_EVENTS"


@dataclasses.dataclass(frozen=True, slots=True)
class EventMessage:
    """One published room event."""

    #: The event's position in the server's log: strictly increasing in publish
    #: order, with holes (positions of records that are not room events). A
    #: subscriber remembers the last one it handled and skips anything at or
    #: below it, which makes redelivery harmless; resuming means asking for
    #: what comes after it.
    position: int
    #: The position of the event published just before this one (any room), 0
    #: for the first: a subscriber whose last position is below it missed
    #: messages (it subscribed late, a core subscription dropped some).
    previous: int
    #: The event in the Client-Server API's client format (``ClientEvent``),
    #: redacted if it was redacted when published.
    event: Mapping[str, Any]

    @property
    def room_id(self) -> str:
        return str(self.event["room_id"])

    @property
    def type(self) -> str:
        return str(self.event["type"])

    def subject(self, root: str) -> str:
        return event_subject(root, self.room_id, self.type)

    def headers(self) -> dict[str, str]:
        return {
            H_MSG_ID: str(self.position),
            H_POSITION: str(self.position),
            H_PREVIOUS: str(self.previous),
        }

    def body(self) -> bytes:
        return orjson.dumps(
            {"position": self.position, "previous": self.previous, "event": self.event}
        )

    @classmethod
    def from_body(cls, body: bytes) -> EventMessage:
        value = orjson.loads(body)
        return cls(int(value["position"]), int(value["previous"]), value["event"])
