"""The e2ee aggregates' decisions and projections' folds, without I/O."""

from __future__ import annotations

import pytest

from tessera.command.keys_otk import DeviceOneTimeKeys
from tessera.command.keys_validate import KeysRefused
from tessera.command.room_keys import better
from tessera.command.to_device import Outbox
from tessera.projections import to_device
from tessera.schema import keys as k
from tessera.schema import to_device as td
from tessera.schema.log import LogRecord, NewRecord

STREAM = k.otk_stream("@a:hs", "DEV|ICE")


def fold(aggregate: DeviceOneTimeKeys, records: list[NewRecord]) -> None:
    for record in records:
        aggregate.apply(record)


def test_claims_take_the_oldest_key_then_the_fallback_once_marked() -> None:
    otk = DeviceOneTimeKeys(STREAM)
    fold(otk, otk.decide_upload({"alg:B": "b", "alg:A": "a", "other:C": "c"}, {"alg:F": "f"}))
    assert otk.counts() == {"signed_curve25519": 0, "alg": 2, "other": 1}
    taken = []
    for _ in range(4):
        records, found = otk.decide_claim("alg")
        fold(otk, records)
        taken.append((found, [r.kind for r in records]))
    assert taken == [
        (("alg:A", "a"), [k.OTK_CLAIMED]),  # by key ID within one upload
        (("alg:B", "b"), [k.OTK_CLAIMED]),
        (("alg:F", "f"), [k.FALLBACK_USED]),
        (("alg:F", "f"), []),
    ]
    assert otk.unused_fallback_types() == []
    with pytest.raises(KeysRefused):
        otk.decide_upload({"other:C": "changed"}, {})
    assert otk.decide_upload({"other:C": "c"}, {"alg:F": "f"}) == []  # nothing new
    fold(otk, otk.decide_clear())
    assert otk.decide_claim("other") == ([], None)
    assert k.otk_stream_owner(STREAM) == ("@a:hs", "DEV|ICE")


@pytest.mark.parametrize(
    ("new", "old", "replaces"),
    [
        ((True, 9, 9), (False, 0, 0), True),
        ((False, 0, 0), (True, 9, 9), False),
        ((False, 1, 9), (False, 2, 0), True),
        ((False, 2, 0), (False, 1, 9), False),
        ((False, 1, 0), (False, 1, 1), True),
        ((False, 1, 1), (False, 1, 1), False),
    ],
)
def test_backup_keeps_the_better_session(
    new: tuple[bool, int, int], old: tuple[bool, int, int], replaces: bool
) -> None:
    assert better(new, old) is replaces


def test_a_retried_send_is_remembered_and_acks_delete_up_to_their_position() -> None:
    outbox = Outbox(td.outbox_stream("@b:hs", "D"))
    body = {"txn_id": "t", "type": "m.x", "sender": "@b:hs", "messages": [["@a:hs", "D1", {}]]}
    record = LogRecord(7, outbox.stream, 1, td.TO_DEVICE_SENT, k.encode(body))
    outbox.apply(record)
    assert "t" in outbox.txns
    [insert] = to_device.apply(record)
    assert insert.params[:4] == ("@a:hs", "D1", 7, 0)
    ack = LogRecord(9, td.inbox_stream("@a:hs", "D1"), 1, td.TO_DEVICE_ACKED, k.encode({"upto": 7}))
    [delete] = to_device.apply(ack)
    assert delete.params == ("@a:hs", "D1", 7)
