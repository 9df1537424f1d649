"""The relay and the projection workers as background tasks, and as a process of their own.

A ``Pipeline`` is a relay and one worker for a group of projections (one
transaction per batch for the whole group, ``projections.group``). Scale
profile: ``python -m tessera.app.pipeline [PROJECTION…] [--group NAME]`` runs
the group of the projections named (all by default; and the relay with
``--relay``) against PostgreSQL and NATS, as many copies as wanted: they share
the group's durable consumer, and the tracking rows' lock keeps copies from
applying a batch twice. Naming one projection runs it alone (a group of one,
its consumer named after it); several but not all need ``--group``, the name
of their consumer, which no other group may share.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import signal
import sys
from collections.abc import Sequence

from tessera.app.bus.nats import NatsBus
from tessera.app.stores import open_stores
from tessera.projections.group import ALL, ProjectionGroup
from tessera.projections.registry import all_projections
from tessera.projections.relay import Relay
from tessera.projections.runner import Projection
from tessera.projections.worker import ProjectionWorker
from tessera.schema.bus import Bus
from tessera.schema.log import EventStore
from tessera.schema.readmodel import ReadModelDatabase


class Pipeline:
    def __init__(
        self,
        log: EventStore,
        db: ReadModelDatabase,
        bus: Bus,
        projections: Sequence[Projection],
        *,
        relay: bool = True,
        batch: int = 500,
        group: str | None = None,
    ) -> None:
        self.relay = Relay(log, bus, batch=batch) if relay else None
        self.worker = ProjectionWorker(
            ProjectionGroup(db, projections, name=group), bus, log, batch=batch
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start the tasks; returns once the worker has caught up with the log."""
        worker = self.worker
        self._tasks.append(asyncio.create_task(worker.run(), name=f"projections {worker.name}"))
        if self.relay is not None:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="relay"))
        await worker.caught_up.wait()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()


def load_projection(spec: str) -> Projection:
    """A registry name, or ``module:factory`` (a callable returning a projection)."""
    if ":" in spec:
        module, _, attribute = spec.partition(":")
        factory = getattr(importlib.import_module(module), attribute)
        projection: Projection = factory()
        return projection
    for projection in all_projections():
        if projection.name == spec:
            return projection
    raise SystemExit(f"unknown projection {spec!r}")


def group_name(projections: Sequence[Projection], every: bool, given: str | None) -> str:
    """The group's name (its durable consumer's): given, the one projection's, or ``ALL``."""
    if given:
        return given
    if every:
        return ALL
    if len(projections) == 1:
        return projections[0].name
    raise SystemExit("several projections but not all: name their group with --group")


async def _serve(args: argparse.Namespace) -> None:
    projections = [load_projection(s) for s in args.projections] or all_projections()
    group = group_name(projections, not args.projections, args.group)
    log, db = open_stores(args.database, args.data_dir)
    bus = await NatsBus.connect(args.nats, root=args.nats_root, stream=args.nats_stream)
    pipeline = Pipeline(log, db, bus, projections, relay=args.relay, batch=args.batch, group=group)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await pipeline.start()
        await stopping.wait()
    finally:
        await pipeline.stop()
        await bus.close()
        db.close()
        log.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tessera.app.pipeline")
    parser.add_argument("projections", nargs="*", metavar="PROJECTION")
    parser.add_argument("--database", required=True, metavar="URL")
    parser.add_argument("--nats", required=True, metavar="URL")
    parser.add_argument("--nats-root", default="tessera")
    parser.add_argument("--nats-stream", default="TESSERA_LOG")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--group", metavar="NAME", help="the group's (durable consumer's) name")
    parser.add_argument("--relay", action="store_true", help="run the relay too")
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
