"""Devices' last-seen records: the account fold ignores them, ``decide_seen``
skips deleted devices (the projection: tests/contract/test_device_seen.py)."""

from __future__ import annotations

from tessera.command.accounts import Account
from tessera.schema import accounts as rec

ALICE = "@alice:hs"


def account_with(*devices: str) -> Account:
    account = Account(ALICE)
    events: list[rec.AccountRecord] = [rec.Registered(None, False, 1)]
    events += [rec.DeviceAdded(d, None, 1) for d in devices]
    for record in account.records(*events):
        account.apply(record)
    return account


def test_decide_seen_records_live_devices_only() -> None:
    account = account_with("DEV1", "DEV2")
    decided = account.decide_seen({"DEV2": (7, "::1"), "GONE": (8, "10.0.0.1"), "DEV1": (5, "x")})
    assert decided == [rec.DeviceSeen("DEV1", 5, "x"), rec.DeviceSeen("DEV2", 7, "::1")]


def test_the_account_fold_ignores_sightings_but_counts_their_versions() -> None:
    account = account_with("DEV1")
    before = (dict(account.devices), dict(account.tokens), account.exists, account.deactivated)
    [record] = account.records(rec.DeviceSeen("DEV1", 9, "1.2.3.4"))
    assert rec.decode(record.kind, record.payload) == rec.DeviceSeen("DEV1", 9, "1.2.3.4")
    account.apply(record)
    assert account.stream_version == record.version == 3
    after = (dict(account.devices), dict(account.tokens), account.exists, account.deactivated)
    assert after == before
    assert account.decide_rename_device("DEV1", "new") == [rec.DeviceRenamed("DEV1", "new")]
