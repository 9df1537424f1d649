"""Client-Server benchmark: the issue's scenarios against a real Tessera server.

    python -m bench.client --profile embedded|scale [--only seq --only fanout] [--json] [--repeat 5]
    make bench-client            make bench-client-scale

The benchmark starts ``tessera serve`` itself, as a subprocess on fresh storage
(a temporary data directory; for the scale profile also a fresh PostgreSQL
database and the NATS server), drives it over HTTP, and reads the server's
resident memory from ``/proc`` at the end. ``--py-spy FILE`` records a profile
of the server process while the scenarios run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from typing import Any

from bench.report import Result, format_table, median_of, to_json
from bench.scenarios import SCENARIOS, TARGETS
from bench.server import ServerProcess, running_server


def _rss_result(server: ServerProcess, target: float) -> Result:
    per_process = server.rss_mib()
    return Result(
        "rss",
        max(per_process.values()),
        "MiB",
        target,
        higher_is_better=False,
        details={"processes": len(per_process), "total_mib": sum(per_process.values())},
    )


def _start_py_spy(pid: int, output: str, extra: list[str]) -> subprocess.Popen[bytes]:
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    fmt = (
        "speedscope"
        if output.endswith(".json")
        else "raw"
        if output.endswith(".txt")
        else "flamegraph"
    )
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--rate",
            "250",
            "--format",
            fmt,
            "--output",
            output,
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def run(
    profile: str,
    only: list[str],
    py_spy: str | None,
    py_spy_args: list[str],
    overrides: dict[str, object] | None = None,
) -> tuple[list[Result], dict[str, Any]]:
    targets = TARGETS[profile]
    results: list[Result] = []
    async with running_server(profile, overrides=overrides) as server:
        load_before = os.getloadavg()[0]
        spy = _start_py_spy(server.pid, py_spy, py_spy_args) if py_spy else None
        started = time.perf_counter()
        for name in only:
            result = await SCENARIOS[name](server.base_url, targets)
            print(f"# {name}: {result.value:,.1f} {result.unit}", file=sys.stderr, flush=True)
            results.append(result)
        results.append(_rss_result(server, targets.rss_mib))
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        meta = {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "seconds": time.perf_counter() - started,
            "server_pid": server.pid,
            # Other work on the machine skews the figures: record how busy it was.
            "load_average_1m_before": load_before,
        }
    return results, meta


def _spy_args(args: argparse.Namespace) -> list[str]:
    if args.py_spy_gil:
        return ["--gil"]
    if args.py_spy_idle:
        return ["--idle", "--threads"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.client",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", choices=sorted(TARGETS), default="embedded")
    parser.add_argument(
        "--only",
        choices=list(SCENARIOS),
        action="append",
        help="run only this scenario (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--py-spy",
        metavar="FILE",
        help="profile the server with py-spy (.svg flamegraph, .json speedscope, .txt raw)",
    )
    spy_mode = parser.add_mutually_exclusive_group()
    spy_mode.add_argument(
        "--py-spy-gil",
        action="store_true",
        help="sample only the thread holding the GIL (where the CPU goes, not the waits)",
    )
    spy_mode.add_argument(
        "--py-spy-idle",
        action="store_true",
        help="sample idle threads too, one root frame per thread (where the wall time goes)",
    )
    parser.add_argument(
        "--no-push-evaluation",
        action="store_true",
        help="run the server with push_evaluation: false (the baseline of conc32)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run the scenarios N times, each on a fresh server; report the medians",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or (args.repeat > 1 and args.py_spy):
        parser.error("--repeat needs N >= 1, and cannot be combined with --py-spy")
    only = args.only or list(SCENARIOS)
    overrides: dict[str, object] = {"push_evaluation": False} if args.no_push_evaluation else {}
    runs: list[list[Result]] = []
    loads: list[float] = []
    for _ in range(args.repeat):
        results, meta = asyncio.run(
            run(args.profile, only, args.py_spy, _spy_args(args), overrides)
        )
        runs.append(results)
        loads.append(meta["load_average_1m_before"])
    if args.repeat > 1:
        results = median_of(runs)
        meta["load_average_1m_before"] = loads
    meta["push_evaluation"] = not args.no_push_evaluation
    if args.json:
        sys.stdout.buffer.write(to_json(args.profile, results, meta) + b"\n")
    else:
        print(format_table(args.profile, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
