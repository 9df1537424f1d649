from __future__ import annotations

import json

import pytest

from tessera.kernel.b64 import decode_base64, encode_base64, encode_base64_urlsafe
from tessera.kernel.hashing import add_content_hash
from tessera.kernel.room_versions import room_version
from tessera.kernel.signing import (
    SigningKey,
    is_valid_key_id,
    sign_event,
    sign_json,
    verify_event_signature,
    verify_json,
)
from tests.spec_vectors import pairs, section

# The appendix's "Cryptographic Test Vectors" use this seed, server name and key ID.
SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"
SERVER = "domain"
KEY = SigningKey.from_seed("ed25519:1", decode_base64(SEED))


def test_vectors_use_the_seed_we_think() -> None:
    assert SEED in section("Signing Key")


@pytest.mark.parametrize(("given", "expected"), pairs("JSON Signing"))
def test_json_signing_vectors(given: str, expected: str) -> None:
    signed = sign_json(json.loads(given), SERVER, KEY)
    assert signed == json.loads(expected)
    assert verify_json(signed, SERVER, KEY.key_id, KEY.public_key)


@pytest.mark.parametrize(("given", "expected"), pairs("Event Signing"))
def test_event_signing_vectors(given: str, expected: str) -> None:
    # The appendix signs with the v1 redaction rules (it keeps `origin`).
    rv = room_version("1")
    signed = sign_event(rv, add_content_hash(json.loads(given)), SERVER, KEY)
    assert signed == json.loads(expected)
    assert verify_event_signature(rv, signed, SERVER, KEY.key_id, KEY.public_key)


def test_signature_survives_redactable_changes_but_not_others() -> None:
    rv = room_version("11")
    event = add_content_hash(
        {"type": "m.room.message", "sender": "@a:domain", "content": {"body": "hi"}}
    )
    signed = sign_event(rv, event, SERVER, KEY)
    edited = {**signed, "content": {"body": "changed"}}  # content is redacted away
    assert verify_event_signature(rv, edited, SERVER, KEY.key_id, KEY.public_key)
    moved = {**signed, "sender": "@b:domain"}
    assert not verify_event_signature(rv, moved, SERVER, KEY.key_id, KEY.public_key)
    other = SigningKey.generate()
    assert not verify_event_signature(rv, signed, SERVER, KEY.key_id, other.public_key)


def test_json_signature_rejects_tampering_and_garbage() -> None:
    signed = sign_json({"a": 1, "unsigned": {"age": 5}}, SERVER, KEY)
    assert verify_json({**signed, "unsigned": {"age": 9}}, SERVER, KEY.key_id, KEY.public_key)
    assert not verify_json({**signed, "a": 2}, SERVER, KEY.key_id, KEY.public_key)
    broken = {**signed, "signatures": {SERVER: {KEY.key_id: "!!not base64!!"}}}
    assert not verify_json(broken, SERVER, KEY.key_id, KEY.public_key)
    assert not verify_json(signed, "elsewhere", KEY.key_id, KEY.public_key)
    assert not verify_json(signed, SERVER, KEY.key_id, b"short")


def test_base64_is_unpadded_and_alphabet_specific() -> None:
    data = bytes([0xFB, 0xFF, 0xFE])
    assert encode_base64(data) == "+//+"
    assert encode_base64_urlsafe(data) == "-__-"
    assert encode_base64(b"a") == "YQ"
    for text in ("+//+", "-__-", "YQ", "YQ=="):
        assert encode_base64(decode_base64(text)) in ("+//+", "YQ")
    with pytest.raises(ValueError):
        decode_base64("Y")


@pytest.mark.parametrize(
    ("key_id", "ok"),
    [("ed25519:1", True), ("ed25519:a_Ab9", True), ("ed25519:", False), ("curve:1", False)],
)
def test_key_ids(key_id: str, ok: bool) -> None:
    assert is_valid_key_id(key_id) is ok
