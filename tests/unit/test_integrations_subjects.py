"""The integration subjects: escaping room IDs and event types into NATS tokens."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tessera.schema.integrations import (
    EventMessage,
    default_stream,
    escape_token,
    event_subject,
    parse_subject,
    subscription,
    unescape_token,
)

AWKWARD = [
    "!room:example.org",
    "!r:[2001:db8::1]:8448",
    "m.room.message",
    "com.example.*.>",
    "with space\tand\nnewlines",
    "100%",
    "%",
    "%25",
    "",
    "ünïcødé.🎉",
    "a..b",
    "$SYS",
]


@pytest.mark.parametrize("value", AWKWARD)
def test_a_token_round_trips_and_is_one_legal_nats_token(value: str) -> None:
    token = escape_token(value)
    assert unescape_token(token) == value
    assert token, "NATS has no empty tokens"
    assert not set(token) & {".", "*", ">", " ", "\t", "\r", "\n"}
    assert token.isascii()


def test_tokens_of_different_values_differ() -> None:
    assert len({escape_token(v) for v in AWKWARD}) == len(AWKWARD)


def test_the_documented_examples() -> None:
    assert escape_token("!abc:example.org") == "!abc:example%2Eorg"
    assert escape_token("m.room.message") == "m%2Eroom%2Emessage"
    assert event_subject("tessera", "!abc:example.org", "m.room.message") == (
        "tessera.events.room.!abc:example%2Eorg.m%2Eroom%2Emessage"
    )
    assert subscription("tessera", event_type="m.reaction") == "tessera.events.room.*.m%2Ereaction"
    assert subscription("tessera", "!abc:example.org") == "tessera.events.room.!abc:example%2Eorg.*"
    assert default_stream("tessera") == "TESSERA_EVENTS"
    assert default_stream("acme.chat") == "ACME_CHAT_EVENTS"


@pytest.mark.parametrize("room_id", AWKWARD)
@pytest.mark.parametrize("event_type", ["m.room.member", "x.*.>", ""])
def test_a_subject_parses_back(room_id: str, event_type: str) -> None:
    subject = event_subject("acme.chat", room_id, event_type)
    assert parse_subject("acme.chat", subject) == (room_id, event_type)
    assert subject.count(".") == 5


@pytest.mark.parametrize("token", ["a%2", "a%2e", "a%ZZ", "a.b", "a b", "é", "a*"])
def test_what_no_escaping_produces_is_refused(token: str) -> None:
    with pytest.raises(ValueError):
        unescape_token(token)


def test_a_message_carries_its_position_in_headers_and_body() -> None:
    event = {"event_id": "$e", "room_id": "!r:x.y", "type": "m.room.message", "content": {}}
    message = EventMessage(42, 40, event)
    assert message.headers() == {
        "Nats-Msg-Id": "42",
        "Tessera-Position": "42",
        "Tessera-Previous": "40",
    }
    assert EventMessage.from_body(message.body()) == message
    assert message.subject("tessera") == "tessera.events.room.!r:x%2Ey.m%2Eroom%2Emessage"


def test_the_contract_page_escapes_as_the_code_does() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"
    rows = re.findall(r"^\| (`[^`]*`|\(empty\)) \| `([^`]+)` \|$", page.read_text(), re.M)
    assert len(rows) >= 6
    for value, token in rows:
        plain = "" if value == "(empty)" else value.strip("`")
        assert escape_token(plain) == token
