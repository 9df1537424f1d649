"""The user-data projections as pure folds: receipts and account data."""

from __future__ import annotations

import sqlite3

import orjson

from tessera.projections import account_data, receipts
from tessera.schema.log import LogRecord
from tessera.schema.userdata import (
    ACCOUNT_DATA_SET,
    FILTER_CREATED,
    PUSH_RULES_SET,
    RECEIPT_SENT,
    AccountDataSet,
    FilterCreated,
    PushRulesSet,
    ReceiptSent,
    receipts_stream,
    userdata_stream,
)

ALICE = "@alice:hs"


def fold(module: object, records: list[LogRecord]) -> sqlite3.Connection:
    """Apply the fold's changes to an in-memory database, as the runner would."""
    db = sqlite3.connect(":memory:")
    for statement in module.migrations:  # type: ignore[attr-defined]
        db.execute(statement)
    for record in records:
        for change in module.apply(record):  # type: ignore[attr-defined]
            db.execute(change.statement, tuple(change.params))
    return db


def receipt(
    position: int, event_id: str, rtype: str = "m.read", thread: str | None = None
) -> LogRecord:
    payload = ReceiptSent("!r:hs", event_id, rtype, thread, 1000 + position).encode()
    return LogRecord(position, receipts_stream(ALICE), position, RECEIPT_SENT, payload)


def test_a_later_receipt_replaces_the_earlier_one_per_type_and_thread() -> None:
    db = fold(
        receipts,
        [
            receipt(1, "$a"),
            receipt(2, "$b"),
            receipt(3, "$p", "m.read.private"),
            receipt(4, "$t", thread="$root"),
        ],
    )
    rows = sorted(db.execute("SELECT receipt_type, thread_id, event_id, position FROM receipts"))
    assert rows == [
        ("m.read", "", "$b", 2),
        ("m.read", "$root", "$t", 4),
        ("m.read.private", "", "$p", 3),
    ]


def test_receipts_ignore_other_kinds_and_streams() -> None:
    other = LogRecord(1, "!room:hs", 1, "m.pdu", b"{}")
    stray = LogRecord(2, "someone-else", 1, RECEIPT_SENT, receipt(2, "$x").payload)
    assert receipts.apply(other) == []
    assert receipts.apply(stray) == []


def test_account_data_global_and_room_keep_the_latest_with_its_position() -> None:
    stream = userdata_stream(ALICE)
    records = [
        LogRecord(
            5, stream, 1, ACCOUNT_DATA_SET, AccountDataSet(None, "m.direct", {"a": 1}).encode()
        ),
        LogRecord(
            7, stream, 2, ACCOUNT_DATA_SET, AccountDataSet("!r:hs", "m.tag", {"tags": {}}).encode()
        ),
        LogRecord(
            9, stream, 3, ACCOUNT_DATA_SET, AccountDataSet(None, "m.direct", {"a": 2}).encode()
        ),
    ]
    db = fold(account_data, records)
    rows = sorted(db.execute("SELECT user_id, room_id, type, content, position FROM account_data"))
    assert rows == [
        (ALICE, "", "m.direct", '{"a":2}', 9),
        (ALICE, "!r:hs", "m.tag", '{"tags":{}}', 7),
    ]


def test_filters_and_push_rules_fold() -> None:
    stream = userdata_stream(ALICE)
    doc = {"override": [], "content": [], "room": [], "sender": [], "underride": [], "defaults": {}}
    records = [
        LogRecord(1, stream, 1, FILTER_CREATED, FilterCreated("0", {"room": {}}).encode()),
        LogRecord(2, stream, 2, PUSH_RULES_SET, PushRulesSet(doc).encode()),
        LogRecord(3, stream, 3, FILTER_CREATED, FilterCreated("1", {"presence": {}}).encode()),
        LogRecord(
            4,
            stream,
            4,
            PUSH_RULES_SET,
            PushRulesSet({**doc, "defaults": {".m.rule.master": {"enabled": True}}}).encode(),
        ),
    ]
    db = fold(account_data, records)
    assert sorted(db.execute("SELECT filter_id, filter FROM user_filters")) == [
        ("0", '{"room":{}}'),
        ("1", '{"presence":{}}'),
    ]
    ((rules, position),) = db.execute("SELECT rules, position FROM user_push_rules")
    assert position == 4
    assert orjson.loads(rules)["defaults"] == {".m.rule.master": {"enabled": True}}
