from __future__ import annotations

import json
from typing import Any

import pytest

from tessera.kernel.builder import build_pdu
from tessera.kernel.events import Event
from tessera.kernel.hashing import content_hash_matches
from tessera.kernel.room_versions import KNOWN_ROOM_VERSIONS, room_version
from tessera.kernel.signing import SigningKey, verify_event_signature
from tessera.kernel.validation import MAX_PDU_BYTES, InvalidPdu, validate_pdu
from tests.conftest import PDU_CORPUS

KEY = SigningKey.generate("t1")
ALICE = "@alice:example.org"


def _message(version: str, **over: Any) -> dict[str, Any]:
    rv = room_version(version)
    _, pdu = build_pdu(
        rv,
        room_id="!room:example.org",
        sender=ALICE,
        event_type="m.room.message",
        content={"msgtype": "m.text", "body": "hello"},
        prev_events=["$prev:example.org" if not rv.event_ids_are_hashes else "$prev"],
        auth_events=[],
        depth=3,
        origin_server_ts=1_700_000_000_000,
        signing_key=KEY,
    )
    pdu.update(over)
    return pdu


@pytest.mark.parametrize("version", sorted(KNOWN_ROOM_VERSIONS, key=int))
def test_built_events_are_valid_hashed_and_signed(version: str) -> None:
    rv = room_version(version)
    pdu = _message(version)
    validate_pdu(rv, pdu)
    assert content_hash_matches(pdu)
    assert verify_event_signature(rv, pdu, "example.org", KEY.key_id, KEY.public_key)
    event_id = Event(pdu, rv).event_id
    if rv.event_ids_are_hashes:
        assert "event_id" not in pdu and ":" not in event_id
        urlsafe = not any(c in event_id for c in "+/")
        assert urlsafe or version == "3"
    else:
        assert event_id == pdu["event_id"] and event_id.endswith(":example.org")


def test_v12_create_event_names_the_room() -> None:
    rv = room_version("12")
    event_id, pdu = build_pdu(
        rv,
        room_id=None,
        sender=ALICE,
        event_type="m.room.create",
        state_key="",
        content={"room_version": "12"},
        prev_events=[],
        auth_events=[],
        depth=1,
        origin_server_ts=1,
        signing_key=KEY,
    )
    validate_pdu(rv, pdu)
    event = Event(pdu, rv)
    assert event.room_id == "!" + event_id[1:]
    with pytest.raises(InvalidPdu, match="has no room_id"):
        validate_pdu(rv, {**pdu, "room_id": event.room_id})


def test_redacts_moves_into_content_in_v11() -> None:
    for version, top_level in (("10", True), ("11", False)):
        rv = room_version(version)
        _, pdu = build_pdu(
            rv,
            room_id="!r:example.org",
            sender=ALICE,
            event_type="m.room.redaction",
            content={},
            redacts="$target",
            prev_events=[],
            auth_events=[],
            depth=2,
            origin_server_ts=1,
            signing_key=KEY,
        )
        assert ("redacts" in pdu) is top_level
        assert Event(pdu, rv).redacts == "$target"


@pytest.mark.parametrize(
    ("version", "change", "message"),
    [
        ("10", {"type": 5}, "field 'type' must be a string"),
        ("10", {"sender": "alice"}, "not a valid user ID"),
        ("10", {"room_id": "room"}, "not a valid room ID"),
        ("10", {"depth": -1}, "depth is out of range"),
        ("10", {"depth": True}, "field 'depth' must be an integer"),
        ("10", {"origin_server_ts": "now"}, "must be an integer"),
        ("10", {"state_key": "x" * 256}, "state_key is longer than 255 bytes"),
        ("10", {"type": "t" * 256}, "type is longer than 255 bytes"),
        ("10", {"prev_events": "$a"}, "field 'prev_events' must be a list"),
        ("10", {"prev_events": [["$a", {}]]}, "prev_events must list event IDs"),
        ("1", {"prev_events": ["$a:x"]}, "must list [event_id, hashes] pairs"),
        ("1", {"event_id": None}, "missing field 'event_id'"),
        ("1", {"event_id": 7}, "field 'event_id' must be a string"),
        ("10", {"hashes": {}}, "hashes.sha256 must be a string"),
        ("10", {"signatures": {"x": "y"}}, "must map key IDs to strings"),
        ("10", {"content": []}, "field 'content' must be an object"),
        ("10", {"content": {"n": 1.5}}, "not canonical JSON"),
        ("10", {"content": {"n": 2**60}}, "not canonical JSON"),
        ("10", {"unsigned": 3}, "unsigned must be an object"),
        ("10", {"content": {"body": "x" * MAX_PDU_BYTES}}, "over the limit of 65536"),
    ],
)
def test_invalid_pdus_say_what_is_wrong(version: str, change: dict[str, Any], message: str) -> None:
    pdu = {k: v for k, v in _message(version, **change).items() if v is not None}
    with pytest.raises(InvalidPdu, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate_pdu(room_version(version), pdu)


def test_missing_fields_are_named() -> None:
    for field in ("type", "sender", "content", "depth", "hashes", "signatures", "auth_events"):
        pdu = _message("11")
        del pdu[field]
        with pytest.raises(InvalidPdu, match=f"missing field '{field}'"):
            validate_pdu(room_version("11"), pdu)


def test_floats_are_tolerated_before_v6_only() -> None:
    validate_pdu(room_version("5"), _message("5", content={"n": 1.5}))
    with pytest.raises(InvalidPdu):
        validate_pdu(room_version("6"), _message("6", content={"n": 1.5}))


def test_every_real_corpus_pdu_is_valid() -> None:
    for path in sorted(PDU_CORPUS.glob("*_real.json")):
        case = json.loads(path.read_text())
        validate_pdu(room_version(case["room_version"]), case["pdu"])
