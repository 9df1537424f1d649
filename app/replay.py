"""``tessera replay`` and ``tessera checksum``: rebuild read models from the log, digest them.

A rebuild empties the chosen read models and their tracking, then reads the
whole log once, in batches, feeding every chosen projection; each batch commits
with its tracking position like any worker's, so an interrupted replay leaves
consistent (if incomplete) read models that a worker or another replay finishes.
The projection workers (the server, ``tessera-worker`` processes) must be
stopped first: a worker applying new records meanwhile would move the tracking
position past the part still being rebuilt. ``tessera replay`` checks: every
worker holds the read models' workers lock shared, and replay refuses unless it
can take it exclusively (a worker started during a replay waits for it).

The checksum of a read model depends only on its rows, so the digests printed
before and after a rebuild are equal when the read model was exactly what the
log implies (DESIGN invariant 1).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TextIO

from tessera.app.stores import open_stores
from tessera.projections.registry import all_projections
from tessera.projections.runner import Projection, ProjectionRunner
from tessera.schema.log import EventStore
from tessera.schema.readmodel import ReadModelDatabase


class UnknownReadModel(ValueError):
    pass


def select(projections: Sequence[Projection], names: Sequence[str]) -> list[Projection]:
    """The projections called ``names`` (all of them when none is named)."""
    if not names:
        return list(projections)
    by_name = {p.name: p for p in projections}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise UnknownReadModel(f"unknown read model {', '.join(unknown)} (known: {known})")
    return [by_name[n] for n in dict.fromkeys(names)]


class ProgressBar:
    """One line of plain text on a terminal (redrawn), a line every few seconds elsewhere."""

    def __init__(self, out: TextIO, label: str) -> None:
        self._out = out
        self._label = label
        self._tty = out.isatty()
        self._every = 0.2 if self._tty else 5.0
        self._start = time.monotonic()
        self._shown = 0.0
        self._records = 0

    def update(self, position: int, head: int, records: int, *, final: bool = False) -> None:
        self._records += records
        now = time.monotonic()
        if not final and now - self._shown < self._every:
            return
        self._shown = now
        elapsed = max(now - self._start, 1e-9)
        head = max(head, position, 1)
        eta = elapsed / position * (head - position) if position else 0.0
        line = (
            f"{self._label}: {position}/{head} ({100 * position / head:.1f}%)"
            f"  {self._records / elapsed:,.0f} records/s"
            f"  ETA {timedelta(seconds=round(eta))}"
        )
        if self._tty:
            self._out.write("\r" + line + ("\n" if final else ""))
        else:
            self._out.write(line + "\n")
        self._out.flush()


def rebuild(
    log: EventStore,
    db: ReadModelDatabase,
    projections: Sequence[Projection],
    *,
    batch: int = 1000,
    progress: TextIO | None = None,
) -> int:
    """Reset ``projections`` and re-apply the whole log; the last position applied."""
    runners = [ProjectionRunner(db, p) for p in projections]
    for runner in runners:
        runner.setup()
        runner.reset()
    label = "replay " + ",".join(r.name for r in runners)
    bar = ProgressBar(progress, label) if progress is not None else None
    head = log.head()
    position = 0
    while page := log.read(position, batch):
        for runner in runners:
            runner.process(page)
        position = page[-1].position
        if bar is not None:
            bar.update(position, head, len(page))
    if bar is not None:
        bar.update(position, head, 0, final=True)
    return position


def checksums(db: ReadModelDatabase, projections: Sequence[Projection]) -> dict[str, str]:
    """Each read model's digest, by name."""
    digests: dict[str, str] = {}
    for projection in projections:
        runner = ProjectionRunner(db, projection)
        runner.setup()
        digests[projection.name] = runner.checksum()
    return digests


def run_replay(names: Sequence[str], database: str | None, data_dir: str) -> int:
    try:
        chosen = select(all_projections(), names)
    except UnknownReadModel as e:
        print(f"tessera replay: {e}", file=sys.stderr)
        return 2
    log, db = open_stores(database, data_dir)
    try:
        lease = db.workers_lock(exclusive=True)
        if lease is None:
            print(
                "tessera replay: projection workers are running on these read models"
                " (a server with the projections role, or a worker process); stop them first",
                file=sys.stderr,
            )
            return 1
        try:
            position = rebuild(log, db, chosen, progress=sys.stderr)
        finally:
            lease.release()
    finally:
        db.close()
        log.close()
    print(f"rebuilt {len(chosen)} read model(s) up to position {position}", file=sys.stderr)
    return 0


def run_checksum(names: Sequence[str], database: str | None, data_dir: str) -> int:
    try:
        chosen = select(all_projections(), names)
    except UnknownReadModel as e:
        print(f"tessera checksum: {e}", file=sys.stderr)
        return 2
    log, db = open_stores(database, data_dir)
    try:
        for name, digest in checksums(db, chosen).items():
            print(f"{name} {digest}")
    finally:
        db.close()
        log.close()
    return 0
