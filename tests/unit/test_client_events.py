"""Rows of ``room_events`` in the client format, redacted per room version."""

from __future__ import annotations

from typing import Any

import orjson

from tessera.query.events import EventRow, Viewer, client_event


def row(pdu: dict[str, Any], version: str = "11", **extra: Any) -> EventRow:
    fields: dict[str, Any] = {
        "position": 7,
        "event_id": "$ev",
        "room_id": "!r:hs",
        "type": pdu["type"],
        "state_key": pdu.get("state_key"),
        "sender": pdu["sender"],
        "origin_server_ts": pdu["origin_server_ts"],
        "room_version": version,
        "pdu": orjson.dumps(pdu).decode(),
        "txn_device": None,
        "txn_id": None,
        "redacted_by": None,
        "redaction_pdu": None,
        "replaces": None,
        "replaced_pdu": None,
        "replaced_redacted": False,
    }
    fields.update(extra)
    return EventRow(**fields)


def pdu(event_type: str, content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": event_type, "sender": "@a:hs", "content": content, "room_id": "!r:hs",
            "origin_server_ts": 1000, "depth": 3, "hashes": {"sha256": "x"},
            "signatures": {}, "prev_events": [], "auth_events": [], **extra}  # fmt: skip


REDACTION = pdu("m.room.redaction", {"redacts": "$ev", "reason": "spam"})


def test_the_client_format_has_exactly_the_client_fields() -> None:
    event = client_event(row(pdu("m.room.message", {"body": "hi"})), now_ms=1500)
    assert event == {
        "content": {"body": "hi"}, "event_id": "$ev", "origin_server_ts": 1000,
        "room_id": "!r:hs", "sender": "@a:hs", "type": "m.room.message",
        "unsigned": {"age": 500},
    }  # fmt: skip


def test_redaction_follows_the_room_version() -> None:
    create = pdu("m.room.create", {"creator": "@a:hs", "room_version": "10", "extra": 1},
                 state_key="")  # fmt: skip
    redacted = {"redacted_by": "$red", "redaction_pdu": orjson.dumps(REDACTION).decode()}
    v10 = client_event(row(create, "10", **redacted), now_ms=2000)
    v11 = client_event(row(create, "11", **redacted), now_ms=2000)
    assert v10["content"] == {"creator": "@a:hs"}
    assert v11["content"] == {"creator": "@a:hs", "room_version": "10", "extra": 1}
    because = v11["unsigned"]["redacted_because"]
    assert because["event_id"] == "$red" and because["content"]["reason"] == "spam"
    assert because["redacts"] == "$ev"


def test_redaction_of_a_member_keeps_the_membership() -> None:
    member = pdu("m.room.member", {"membership": "join", "displayname": "A"}, state_key="@a:hs")
    event = client_event(row(member, redacted_by="$red"), now_ms=2000)
    assert event["content"] == {"membership": "join"} and event["state_key"] == "@a:hs"


def test_prev_content_is_the_replaced_events_as_clients_see_it() -> None:
    old = orjson.dumps(pdu("m.room.topic", {"topic": "old"}, state_key="")).decode()
    new = pdu("m.room.topic", {"topic": "new"}, state_key="")
    shown = client_event(row(new, replaces="$old", replaced_pdu=old), now_ms=2000)
    assert shown["unsigned"]["prev_content"] == {"topic": "old"}
    assert shown["unsigned"]["replaces_state"] == "$old"
    hidden = client_event(
        row(new, replaces="$old", replaced_pdu=old, replaced_redacted=True), now_ms=2000
    )
    assert hidden["unsigned"]["prev_content"] == {}


def test_transaction_id_and_membership_in_unsigned() -> None:
    sent = row(pdu("m.room.message", {}), txn_device="PHONE", txn_id="t1")
    mine = client_event(sent, now_ms=1000, viewer=Viewer("@a:hs", "PHONE"), membership="join")
    assert mine["unsigned"] == {"age": 0, "transaction_id": "t1", "membership": "join"}
    theirs = client_event(sent, now_ms=1000, viewer=Viewer("@b:hs", "PHONE"))
    assert "transaction_id" not in theirs["unsigned"]


def test_old_redactions_carry_redacts_at_the_top() -> None:
    old = pdu("m.room.redaction", {}, redacts="$target")
    assert client_event(row(old, "10"), now_ms=0)["redacts"] == "$target"
