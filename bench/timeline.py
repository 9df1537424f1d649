"""Where a write's latency goes: a per-record timeline of the write path.

    python -m bench.timeline --profile scale [--scenario seq]

starts ``tessera serve`` (as ``bench.client`` does, on fresh storage) with its
write path instrumented, runs the scenario, and prints the median time between
consecutive stages of each record: the handler's call into the stream
repository, the log commit (group committer), the bus publish, delivery to the
projection worker, the group's read-model transaction, and the applied signal
heard by the API side (from then on a read of it passes the read barrier). Two
totals: the handler's own time until the record is acknowledged (a send answers
then), and until it is heard as applied. The first quarter of the records
(warm-up) is left out.

The instrumentation wraps a few methods in the server process (run as
``python -m bench.timeline --serve <tessera serve arguments>``) and writes the
stage times to ``$TESSERA_TIMELINE_OUT`` when the server stops; it measures
wall time, so run it on a quiet machine and compare runs, not single figures.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import itertools
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import server as bench_server
from bench.client import TARGETS
from bench.scenarios import SCENARIOS
from tessera.app import applied as applied_mod
from tessera.app.bus import inprocess, nats
from tessera.app.cli import main as cli_main
from tessera.command import group_commit, streams
from tessera.projections import group as group_mod
from tessera.projections import worker as worker_mod

STAGES = (
    "write_start",
    "commit_start",
    "commit_end",
    "publish_start",
    "publish_end",
    "delivered",
    "apply_start",
    "apply_end",
    "heard",
)


def instrument(out: str) -> None:
    """Wrap the write path's stages in this process; dump them to ``out`` at exit."""

    times: dict[int, dict[str, float]] = defaultdict(dict)
    now = time.perf_counter

    def mark(positions: Any, stage: str, at: float) -> None:
        for p in positions:
            times[int(p)].setdefault(stage, at)

    write = streams.StreamRepository.write

    async def timed_write(self: Any, stream: str, decide: Callable[..., Any]) -> Any:
        start = now()
        result = await write(self, stream, decide)
        mark(result[0], "write_start", start)
        mark(result[0], "acknowledged", now())
        return result

    commit = group_commit.GroupCommitter._write

    async def timed_commit(self: Any, batch: Any) -> None:
        start = now()
        await commit(self, batch)
        end = now()
        for _, future in batch:
            if future.done() and future.exception() is None:
                mark(future.result(), "commit_start", start)
                mark(future.result(), "commit_end", end)

    bus_publish: list[tuple[Any, Callable[..., Any]]] = []

    for cls in (nats.NatsBus, inprocess.InProcessBus):
        bus_publish.append((cls, cls.publish))

    def timed_publish(original: Callable[..., Any]) -> Callable[..., Any]:
        async def publish(self: Any, records: Any) -> None:
            start = now()
            await original(self, records)
            positions = [r.position for r in records]
            mark(positions, "publish_start", start)
            mark(positions, "publish_end", now())

        return publish

    apply = worker_mod.ProjectionWorker._apply

    async def timed_apply(self: Any, delivered: Any) -> None:
        mark([r.position for r in delivered], "delivered", now())
        await apply(self, delivered)

    process = group_mod.ProjectionGroup.process

    def timed_process(self: Any, records: Any) -> Any:
        start = now()
        result = process(self, records)
        positions = [r.position for r in records]
        mark(positions, "apply_start", start)
        mark(positions, "apply_end", now())
        return result

    on_applied = applied_mod.AppliedPositions._on_applied

    def timed_on_applied(self: Any, topic: str, body: bytes) -> None:
        on_applied(self, topic, body)
        times[self.current()].setdefault("heard", now())

    streams.StreamRepository.write = timed_write  # type: ignore[method-assign]
    group_commit.GroupCommitter._write = timed_commit  # type: ignore[method-assign]
    for cls, original in bus_publish:
        cls.publish = timed_publish(original)  # type: ignore[method-assign]
    worker_mod.ProjectionWorker._apply = timed_apply  # type: ignore[method-assign]
    group_mod.ProjectionGroup.process = timed_process  # type: ignore[method-assign]
    applied_mod.AppliedPositions._on_applied = timed_on_applied  # type: ignore[method-assign]

    def dump() -> None:
        Path(out).write_text(json.dumps({str(k): v for k, v in times.items()}))

    atexit.register(dump)
    # The server stops on SIGTERM through its own loop handler and returns from
    # main(), so atexit runs; this covers a SIGTERM before the loop is up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def summarize(times: dict[str, dict[str, float]]) -> list[tuple[str, float, int]]:
    """Median milliseconds between consecutive stages over the complete records."""
    complete = [
        stages
        for _, stages in sorted(times.items(), key=lambda item: int(item[0]))
        if {"write_start", "acknowledged", "delivered", "heard"} <= stages.keys()
    ]
    complete = complete[len(complete) // 4 :]
    rows: list[tuple[str, float, int]] = []
    for a, b in itertools.pairwise(STAGES):
        gaps = [(s[b] - s[a]) * 1000 for s in complete if a in s and b in s]
        if gaps:
            rows.append((f"{a} -> {b}", statistics.median(gaps), len(gaps)))
    for end in ("acknowledged", "heard"):
        totals = [(s[end] - s["write_start"]) * 1000 for s in complete]
        if totals:
            rows.append((f"write_start -> {end} (total)", statistics.median(totals), len(totals)))
    return rows


async def _drive(profile: str, scenario: str, out: str) -> float:

    serve = bench_server.serve_command

    def instrumented(config_path: Path, port: int, data_dir: Path) -> list[str]:
        command = serve(config_path, port, data_dir)
        return [command[0], "-m", "bench.timeline", "--serve", *command[4:]]

    bench_server.serve_command = instrumented  # type: ignore[assignment]
    os.environ["TESSERA_TIMELINE_OUT"] = out
    async with bench_server.running_server(profile) as running:
        result = await SCENARIOS[scenario](running.base_url, TARGETS[profile])
    return result.value


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--serve"]:
        instrument(os.environ["TESSERA_TIMELINE_OUT"])
        return cli_main(["serve", *args[1:]])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=["embedded", "scale"], default="embedded")
    parser.add_argument("--scenario", choices=["seq", "fanout", "conc"], default="seq")
    options = parser.parse_args(args)
    with tempfile.TemporaryDirectory(prefix="tessera-timeline-") as tmp:
        out = os.path.join(tmp, "timeline.json")
        value = asyncio.run(_drive(options.profile, options.scenario, out))
        times = json.loads(Path(out).read_text())
    print(f"# {options.profile} {options.scenario}: {value:,.1f}")
    for name, median, count in summarize(times):
        print(f"{name:34s} {median:7.3f} ms  (n={count})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
