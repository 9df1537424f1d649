"""The OpenAPI checker accepts what the spec allows and rejects what it does not."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.openapi import (
    SpecMismatch,
    assert_matches_spec,
    find_operation,
    operations,
    response_examples,
)

SEND = "/_matrix/client/v3/rooms/!r:hs/send/m.room.message/txn1"
SYNC = "/_matrix/client/v3/sync"
MESSAGES = "/_matrix/client/v3/rooms/!r:hs/messages"


def _example(method: str, path: str, status: int = 200) -> Any:
    examples = response_examples(method, path, status)
    assert examples, f"the spec has no example for {method} {path} {status}"
    return copy.deepcopy(next(iter(examples.values())))


def test_every_example_in_the_spec_matches_its_own_schema() -> None:
    checked, failures = 0, []
    for op in operations():
        for status in (int(s) for s in op.spec.get("responses", {}) if s.isdigit()):
            for name, body in response_examples(op.method, op.path, status).items():
                checked += 1
                try:
                    assert_matches_spec(op.method, op.path, status, body)
                except SpecMismatch as e:
                    failures.append(f"{name}: {e}")
    assert checked > 200, "the examples were not found"
    assert failures == []


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("PUT", SEND, "/_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}"),
        ("get", SYNC + "?since=s1&timeout=30000", SYNC),
        ("GET", "/_matrix/client/versions", "/_matrix/client/versions"),
        ("GET", "/.well-known/matrix/client", "/.well-known/matrix/client"),
        ("GET", "/_matrix/client/v3/rooms/!r:hs/state", "/_matrix/client/v3/rooms/{roomId}/state"),
        (
            "GET",
            "/_matrix/client/v3/rooms/!r:hs/state/m.room.name/",  # empty state key
            "/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}",
        ),
        (
            "GET",
            "/_matrix/client/v1/rooms/!r:hs/relations/$e",
            "/_matrix/client/v1/rooms/{roomId}/relations/{eventId}",
        ),
        ("POST", "/_matrix/client/v3/createRoom", "/_matrix/client/v3/createRoom"),
        ("GET", "/_matrix/client/v3/register/available", "/_matrix/client/v3/register/available"),
    ],
)
def test_a_concrete_path_finds_its_operation(method: str, path: str, template: str) -> None:
    assert find_operation(method, path).path == template


def test_an_unknown_path_or_method_is_a_mismatch() -> None:
    with pytest.raises(SpecMismatch, match="no operation"):
        find_operation("GET", "/_matrix/client/v3/no/such/thing")
    with pytest.raises(SpecMismatch, match="no operation"):
        find_operation("DELETE", SYNC)


def test_the_send_response_needs_an_event_id_string() -> None:
    assert_matches_spec("PUT", SEND, 200, {"event_id": "$abc"})
    with pytest.raises(SpecMismatch, match="'event_id' is a required property"):
        assert_matches_spec("PUT", SEND, 200, {})
    with pytest.raises(SpecMismatch, match="is not of type 'string'"):
        assert_matches_spec("PUT", SEND, 200, {"event_id": 12})


def test_sync_rejects_a_missing_next_batch() -> None:
    body = _example("GET", SYNC)
    assert_matches_spec("GET", SYNC, 200, body)
    del body["next_batch"]
    with pytest.raises(SpecMismatch, match="'next_batch' is a required property"):
        assert_matches_spec("GET", SYNC, 200, body)


def test_a_timeline_event_is_checked_through_refs_into_the_event_schemas() -> None:
    body = _example("GET", SYNC)
    room = next(iter(body["rooms"]["join"].values()))
    event = room["timeline"]["events"][0]
    del event["sender"]  # required by ClientEvent, reached through several $refs
    event["origin_server_ts"] = "yesterday"
    with pytest.raises(SpecMismatch) as caught:
        assert_matches_spec("GET", SYNC, 200, body)
    assert "'sender' is a required property" in str(caught.value)
    assert "'yesterday' is not of type 'integer'" in str(caught.value)


def test_messages_chunk_entries_must_be_objects_through_allof() -> None:
    body = _example("GET", MESSAGES)
    assert_matches_spec("GET", MESSAGES, 200, body)
    body["chunk"].append("not an event")
    with pytest.raises(SpecMismatch, match="is not of type 'object'"):
        assert_matches_spec("GET", MESSAGES, 200, body)


def test_oneof_rejects_a_body_that_matches_no_branch() -> None:
    path = "/_matrix/client/v3/rooms/!r:hs/state/m.room.name/"
    assert_matches_spec("GET", path, 200, {"name": "A room"})
    with pytest.raises(SpecMismatch):
        assert_matches_spec("GET", path, 200, ["a", "list"])


def test_an_undocumented_error_status_is_checked_as_the_standard_error() -> None:
    assert_matches_spec("GET", SYNC, 401, {"errcode": "M_MISSING_TOKEN", "error": "No token"})
    with pytest.raises(SpecMismatch, match="'errcode' is a required property"):
        assert_matches_spec("GET", SYNC, 401, {"error": "No token"})
    # A 403 that the operation describes in prose only is still the standard error.
    with pytest.raises(SpecMismatch, match="'errcode' is a required property"):
        assert_matches_spec("GET", "/_matrix/client/v3/rooms/!r:hs/state/m.room.name/", 403, {})


def test_rate_limit_errors_carry_an_integer_retry_after() -> None:
    assert_matches_spec(
        "PUT", SEND, 429, {"errcode": "M_LIMIT_EXCEEDED", "error": "slow", "retry_after_ms": 10}
    )
    with pytest.raises(SpecMismatch, match="is not of type 'integer'"):
        assert_matches_spec(
            "PUT", SEND, 429, {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": "10"}
        )


def test_an_undocumented_success_status_is_a_mismatch() -> None:
    with pytest.raises(SpecMismatch, match="documents no 201 response"):
        assert_matches_spec("PUT", SEND, 201, {"event_id": "$abc"})
