"""Protocol-kernel benchmark: PDU building, auth checks, state resolution.

Run with ``make bench`` (or ``python -m bench.kernel [--only NAME]``). The process
pins itself to one CPU core so figures mean "per core". Each scenario prints one
line: name, work done, wall time, rate.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

from tessera.kernel.builder import build_pdu
from tessera.kernel.room_versions import room_version
from tessera.kernel.signing import SigningKey

Scenario = Callable[[], tuple[int, str]]
"""Runs once; returns (units of work, unit name)."""


def bench_build(n: int = 20_000) -> tuple[int, str]:
    """Build, canonicalise, hash, sign and compute the ID of ``n`` message PDUs."""
    rv = room_version("12")
    key = SigningKey.generate("bench")
    prev = "$" + "A" * 43
    auth = ["$" + "B" * 43, "$" + "C" * 43, "$" + "D" * 43]
    for i in range(n):
        build_pdu(
            rv,
            room_id="!" + "R" * 43,
            sender="@alice:bench.example",
            event_type="m.room.message",
            content={"msgtype": "m.text", "body": f"message number {i} with some text"},
            prev_events=[prev],
            auth_events=auth,
            depth=i + 10,
            origin_server_ts=1_700_000_000_000 + i,
            signing_key=key,
        )
    return n, "PDUs"


SCENARIOS: dict[str, Scenario] = {"build": bench_build}


def _pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    args = parser.parse_args(argv)
    print(f"# {platform.python_implementation()} {platform.python_version()}, {_pin_to_one_core()}")
    for name in args.only or list(SCENARIOS):
        start = time.perf_counter()
        units, unit = SCENARIOS[name]()
        elapsed = time.perf_counter() - start
        print(f"{name:12} {units:>8} {unit:10} {elapsed:8.3f} s {units / elapsed:12,.0f} {unit}/s")


if __name__ == "__main__":
    main()
