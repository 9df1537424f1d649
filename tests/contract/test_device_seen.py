"""The accounts projection's last-seen table on both read-model profiles: the newest
sighting wins, sightings of unknown devices are dropped, deletion clears it."""

from __future__ import annotations

from tessera.projections import accounts
from tessera.projections.runner import ProjectionRunner
from tessera.query.accounts import list_devices
from tessera.schema import accounts as rec
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import ReadModelDatabase

ALICE = "@alice:hs"


def test_last_seen_fold(read_db: ReadModelDatabase) -> None:
    runner = ProjectionRunner(read_db, accounts)
    runner.setup()
    runner.setup()  # migrations run at every start: idempotent on an existing database
    events: list[rec.AccountRecord] = [
        rec.Registered(None, False, 1),
        rec.DeviceAdded("DEV1", "phone", 2),
        rec.DeviceAdded("DEV2", None, 2),
        rec.DeviceSeen("DEV1", 50, "10.0.0.1"),
        rec.DeviceSeen("DEV1", 40, "10.0.0.9"),  # another process's older sighting
        rec.DeviceSeen("GONE", 60, "10.0.0.2"),
    ]
    log = [LogRecord(i + 1, ALICE, i + 1, e.KIND, rec.encode(e)) for i, e in enumerate(events)]
    runner.process(log)
    seen = {d.device_id: (d.last_seen_ts, d.last_seen_ip) for d in list_devices(read_db, ALICE)}
    assert seen == {"DEV1": (50, "10.0.0.1"), "DEV2": (None, None)}

    more: list[rec.AccountRecord] = [
        rec.DeviceSeen("DEV1", 70, "::1"),
        rec.DeviceDeleted("DEV2"),
        rec.DeviceAdded("DEV2", None, 80),
    ]
    n = len(log)
    log = [
        LogRecord(n + i + 1, ALICE, n + i + 1, e.KIND, rec.encode(e)) for i, e in enumerate(more)
    ]
    runner.process(log)
    seen = {d.device_id: (d.last_seen_ts, d.last_seen_ip) for d in list_devices(read_db, ALICE)}
    assert seen == {"DEV1": (70, "::1"), "DEV2": (None, None)}
    runner.process(
        [
            LogRecord(
                n + 4, ALICE, n + 4, rec.DeviceDeleted.KIND, rec.encode(rec.DeviceDeleted("DEV1"))
            )
        ]
    )
    [(rows,)] = read_db.iter_rows("SELECT COUNT(*) FROM accounts_devices_seen")
    assert rows == 0
