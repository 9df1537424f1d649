"""The projection runner's contract on both profiles (DESIGN invariants 1 and 4)."""

from __future__ import annotations

import pytest

from tessera.projections.runner import ProjectionRunner
from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change, ReadModelDatabase


class Counter:
    """Counts records per stream and keeps the last payload; ignores other kinds."""

    name = "counter"
    tables = ("counts",)
    migrations = (
        "CREATE TABLE IF NOT EXISTS counts (stream TEXT PRIMARY KEY, n BIGINT, last BLOB)",
    )

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at = fail_at

    def apply(self, record: LogRecord) -> list[Change]:
        if record.position == self.fail_at:
            raise RuntimeError("worker killed mid-batch")
        if record.kind != "count":
            return []
        return [
            Change(
                "INSERT INTO counts (stream, n, last) VALUES (?, 1, ?)"
                " ON CONFLICT (stream) DO UPDATE SET n = counts.n + 1, last = excluded.last",
                (record.stream, record.payload),
            )
        ]


def log(n: int) -> list[LogRecord]:
    return [
        LogRecord(p, f"!r{p % 3}", p, "count" if p % 4 else "other", f"{p}".encode())
        for p in range(1, n + 1)
    ]


def rows(db: ReadModelDatabase) -> list[tuple[object, ...]]:
    return sorted(db.iter_rows("SELECT stream, n, last FROM counts"))


def test_applies_and_tracks(read_db: ReadModelDatabase) -> None:
    runner = ProjectionRunner(read_db, Counter())
    runner.setup()
    assert runner.position() == 0
    assert runner.process(log(12)) == 12
    assert runner.position() == 12
    assert sum(int(r[1]) for r in rows(read_db)) == 9  # 3 of 12 are "other": skipped, tracked


def test_redelivery_is_a_no_op(read_db: ReadModelDatabase) -> None:
    runner = ProjectionRunner(read_db, Counter())
    runner.setup()
    runner.process(log(8))
    before = runner.checksum()
    runner.process(log(8))  # the whole batch again
    runner.process(log(8)[3:6])
    assert runner.checksum() == before
    assert runner.position() == 8


def test_crash_mid_batch_loses_and_duplicates_nothing(read_db: ReadModelDatabase) -> None:
    crashing = ProjectionRunner(read_db, Counter(fail_at=7))
    crashing.setup()
    crashing.process(log(4))
    with pytest.raises(RuntimeError):
        crashing.process(log(10))  # records 5..10; dies at 7
    assert crashing.position() == 4  # the batch rolled back with its tracking
    restarted = ProjectionRunner(read_db, Counter())
    restarted.process(log(10))
    crashed_then_resumed = restarted.checksum()

    restarted.reset()
    assert restarted.position() == 0 and rows(read_db) == []
    restarted.process(log(10))
    assert restarted.checksum() == crashed_then_resumed  # equals a clean rebuild


def test_checksum_tells_read_models_apart(read_db: ReadModelDatabase) -> None:
    runner = ProjectionRunner(read_db, Counter())
    runner.setup()
    empty = runner.checksum()
    runner.process(log(3))
    assert runner.checksum() != empty
