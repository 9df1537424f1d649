"""The projection runner: folds log records into a read model, exactly once in effect.

A projection is a pure ``apply(record) -> list[Change]`` plus the tables it owns.
The runner writes a batch's changes *and* the projection's tracking position in
one transaction (DESIGN invariant 4), so a crash at any point leaves either the
whole batch or none of it, and a redelivered record (position at or below the
tracked one) is skipped. Records a projection does not handle still advance its
position.

On PostgreSQL the tracking row is locked (``FOR UPDATE``) at the start of the
transaction, so two copies of the same worker serialize instead of both applying
a batch.

A projection that must read its own tables to decide (push rule evaluation
needs the room's members and each user's rules as of the record) defines
``apply_with(tx, record)`` instead of relying on ``apply``: the runner calls it
inside the batch's transaction, after executing the changes of every earlier
record, so it reads exactly the state the log implies up to the previous
position. It must read only its own tables; then a replay (or another copy of
the worker) computes the same changes in the same order. Such a projection may
also define ``finish_batch(tx) -> list[Change]``: writes it held back because
nothing in the batch reads them (push evaluation's result rows, so a batch of
N messages costs a few multi-row statements instead of N round trips); the
runner executes them after the batch's last record, in the same transaction.
A pure projection (``apply`` only) reads nothing, so its changes for the
whole batch are executed after its last record, in order, each run of one
statement as one ``executemany`` (a batch of N messages: one call for N
``room_events`` rows instead of N).
And ``start_batch(tracked)``: told, before the batch's first record, the
position the transaction found tracked (a projection that caches what it read
trusts its cache only if that is where it left off: another copy of the worker
may have applied records since).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from tessera.schema.log import LogRecord
from tessera.schema.readmodel import Change, Params, ReadModelDatabase, Transaction

TRACKING_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_tracking ("
    " name TEXT PRIMARY KEY,"
    " position BIGINT NOT NULL)"
)


class Projection(Protocol):
    #: The read model's name: its tracking key and its name on the command line.
    name: str
    #: Tables the projection owns: emptied on replay, covered by the checksum.
    tables: tuple[str, ...]
    #: ``CREATE TABLE IF NOT EXISTS``/``CREATE INDEX IF NOT EXISTS`` statements.
    migrations: tuple[str, ...]

    def apply(self, record: LogRecord) -> list[Change]:
        """The writes this record causes; pure, no I/O."""
        ...


class ReadingProjection(Projection, Protocol):
    def apply_with(self, tx: Transaction, record: LogRecord) -> list[Change]:
        """The writes this record causes, reading only the projection's own
        tables through ``tx`` (deterministic: the log fixes what they hold)."""
        ...


def fold(
    tx: Transaction, projection: Projection, records: Sequence[LogRecord], tracked: int
) -> tuple[int, bool]:
    """Execute, inside ``tx``, the changes of the records after ``tracked``.

    Returns the last position applied and whether any change was written (a
    record the projection ignores still advances the position)."""
    apply_with = getattr(projection, "apply_with", None)
    start = getattr(projection, "start_batch", None)
    last = tracked
    wrote = False
    held: list[Change] = []
    for record in records:
        if record.position <= last:
            continue  # redelivered: already in the read model
        if start is not None:
            start(tracked)
            start = None
        if apply_with is not None:  # it reads its tables: earlier changes first
            for change in apply_with(tx, record):
                tx.execute(change.statement, change.params)
                wrote = True
        else:
            held.extend(projection.apply(record))
        last = record.position
    if held:  # a pure projection reads nothing: its writes go out together
        _execute_grouped(tx, held)
        wrote = True
    finish = getattr(projection, "finish_batch", None)
    if finish is not None and last != tracked:
        for change in finish(tx):
            tx.execute(change.statement, change.params)
            wrote = True
    return last, wrote


def _execute_grouped(tx: Transaction, changes: list[Change]) -> None:
    """In order, a run of changes with the same statement as one ``executemany``."""
    run: list[Params] = []
    for i, change in enumerate(changes):
        run.append(change.params)
        if i + 1 == len(changes) or changes[i + 1].statement != change.statement:
            if len(run) == 1:
                tx.execute(change.statement, run[0])
            else:
                tx.executemany(change.statement, run)
            run = []


class ProjectionRunner:
    def __init__(self, db: ReadModelDatabase, projection: Projection) -> None:
        self.db = db
        self.projection = projection
        self._lock = " FOR UPDATE" if db.dialect == "postgresql" else ""

    @property
    def name(self) -> str:
        return self.projection.name

    def setup(self) -> None:
        with self.db.migration() as tx:
            tx.execute(TRACKING_DDL)
            for statement in self.projection.migrations:
                tx.execute(statement)
            tx.execute(
                "INSERT INTO projection_tracking (name, position) VALUES (?, 0)"
                " ON CONFLICT (name) DO NOTHING",
                (self.name,),
            )

    def position(self) -> int:
        for (position,) in self.db.iter_rows(
            "SELECT position FROM projection_tracking WHERE name = ?", (self.name,)
        ):
            return int(position)
        return 0

    def process(self, records: Sequence[LogRecord]) -> int:
        """Apply the records not yet applied; the new tracked position."""
        with self.db.transaction() as tx:
            row = tx.fetchone(
                f"SELECT position FROM projection_tracking WHERE name = ?{self._lock}",
                (self.name,),
            )
            tracked = int(row[0]) if row else 0
            last, _ = fold(tx, self.projection, records, tracked)
            if last != tracked:
                tx.execute(
                    "UPDATE projection_tracking SET position = ? WHERE name = ?",
                    (last, self.name),
                )
        return last

    def reset(self) -> None:
        """Empty the read model and its tracking, ready for a rebuild from the log."""
        with self.db.transaction() as tx:
            for table in self.projection.tables:
                tx.execute(f"DELETE FROM {table}")
            tx.execute("UPDATE projection_tracking SET position = 0 WHERE name = ?", (self.name,))

    def checksum(self) -> str:
        """A digest of the read model's rows, independent of row order and dialect."""
        digest = hashlib.sha256()
        for table in sorted(self.projection.tables):
            rows = sorted(repr(row) for row in self.db.iter_rows(f"SELECT * FROM {table}"))
            digest.update(f"{table}:{len(rows)}\n".encode())
            for row in rows:
                digest.update(row.encode())
                digest.update(b"\n")
        return digest.hexdigest()
