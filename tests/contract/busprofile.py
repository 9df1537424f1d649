"""The two profiles the bus, relay and worker contracts run on.

embedded: SQLite log and read models, the in-process bus (one per "process").
scale: PostgreSQL (a fresh schema), NATS JetStream with a stream and subject
root unique to the test, deleted afterwards; each ``bus()`` is a new
connection, as separate processes would have.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from tessera.app.bus.inprocess import InProcessBus
from tessera.app.bus.nats import NatsBus
from tessera.app.stores import open_stores
from tessera.projections.runner import ProjectionRunner
from tessera.schema.bus import Bus
from tessera.schema.log import EventStore, LogRecord, NewRecord
from tessera.schema.readmodel import Change, ReadModelDatabase
from tests.services import NATS_URL, POSTGRES_URL, postgres_schema, require

PROFILES = ["embedded", "scale"]


@dataclasses.dataclass
class Profile:
    name: str
    log: EventStore
    db: ReadModelDatabase
    #: A bus as one process sees it (embedded: the same one every time).
    bus: Callable[[], Awaitable[Bus]]
    #: What ``open_stores`` takes to reach the same stores.
    database_url: str | None
    data_dir: Path
    nats_root: str = ""
    nats_stream: str = ""


@contextlib.asynccontextmanager
async def open_profile(name: str, tmp_path: Path) -> AsyncIterator[Profile]:
    if name == "embedded":
        log, db = open_stores(None, tmp_path)
        shared = InProcessBus(capacity=64)

        async def same_bus() -> Bus:
            return shared

        try:
            yield Profile(name, log, db, same_bus, None, tmp_path)
        finally:
            await shared.close()
            db.close()
            log.close()
        return
    require("NATS", "127.0.0.1", 4222)
    with postgres_schema() as schema:
        url = f"{POSTGRES_URL}?schema={schema}"
        log, db = open_stores(url, tmp_path)
        tag = uuid.uuid4().hex[:10]
        root, stream = f"t{tag}", f"T{tag}"
        buses: list[NatsBus] = []

        async def new_bus() -> Bus:
            bus = await NatsBus.connect(NATS_URL, root=root, stream=stream)
            buses.append(bus)
            return bus

        try:
            yield Profile(name, log, db, new_bus, url, tmp_path, root, stream)
        finally:
            cleaner = await NatsBus.connect(NATS_URL, root=root, stream=stream)
            with contextlib.suppress(Exception):
                await cleaner.js.delete_stream(stream)
            await cleaner.close()
            for bus in buses:
                await bus.close()
            db.close()
            log.close()


class Trail:
    """Order- and duplicate-sensitive: keeps, per stream, the positions applied, in order.

    A record applied twice, skipped or applied out of order changes the trail,
    so equal checksums mean "exactly once, in order"."""

    name = "trail"
    tables = ("trails",)
    migrations = (
        "CREATE TABLE IF NOT EXISTS trails (stream TEXT PRIMARY KEY, n BIGINT, trail TEXT)",
    )

    def __init__(self, fail_at: int | None = None) -> None:
        #: Raise while applying this position, once: a worker dying mid-batch.
        self.fail_at = fail_at

    def apply(self, record: LogRecord) -> list[Change]:
        if record.position == self.fail_at:
            self.fail_at = None
            raise RuntimeError("worker killed mid-batch")
        if record.kind != "count":
            return []
        return [
            Change(
                "INSERT INTO trails (stream, n, trail) VALUES (?, 1, ?)"
                " ON CONFLICT (stream) DO UPDATE SET n = trails.n + 1,"
                " trail = trails.trail || ',' || excluded.trail",
                (record.stream, str(record.position)),
            )
        ]


def make_trail() -> Trail:
    """The factory the worker subprocess loads (``tests.contract.busprofile:make_trail``)."""
    return Trail()


def records(first_version: int, count: int, streams: int = 3) -> list[NewRecord]:
    """``count`` new records per stream, versions from ``first_version``."""
    return [
        NewRecord(f"!s{s}:test", v, "count" if v % 5 else "other", f"{s}/{v}".encode())
        for v in range(first_version, first_version + count)
        for s in range(streams)
    ]


def clean_rebuild_checksum(profile: Profile, tmp_path: Path) -> str:
    """The checksum of a trail built from scratch from the whole log, in a separate store."""
    from tessera.app.readdb import SQLiteReadModels

    scratch = SQLiteReadModels(str(tmp_path / f"scratch-{uuid.uuid4().hex[:6]}.db"))
    try:
        runner = ProjectionRunner(scratch, Trail())
        runner.setup()
        position = 0
        while page := profile.log.read(position, 1000):
            runner.process(page)
            position = page[-1].position
        return runner.checksum()
    finally:
        scratch.close()
