"""Where the server's time goes: a summary of a py-spy profile in collapsed form.

    python -m bench.client --only seq --py-spy /tmp/seq.txt
    python -m bench.hotspots /tmp/seq.txt [--top 25] [--thread-roots]

Each line of py-spy's ``raw`` output is ``frame;frame;…;frame COUNT``, outermost
frame first. ``self`` counts the samples where a function was the innermost frame
(where the CPU was); ``total`` counts the samples where it was anywhere on the
stack, once per sample even when recursive (what it and its callees cost).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: "function (path/to/file.py:LINE)": the line is dropped to add a function's lines up.
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")


@dataclass(frozen=True, slots=True)
class Profile:
    samples: int
    self_counts: Counter[str]
    total_counts: Counter[str]


def frame_name(frame: str) -> str:
    """``Class.method (app/x.py:12)`` → ``Class.method (app/x.py)``."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    return f"{match['func']} ({match['file']})"


def parse(lines: Iterable[str]) -> Profile:
    samples = 0
    self_counts: Counter[str] = Counter()
    total_counts: Counter[str] = Counter()
    for line in lines:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        samples += count
        self_counts[frames[-1]] += count
        for name in set(frames):
            total_counts[name] += count
    return Profile(samples, self_counts, total_counts)


def format_report(profile: Profile, top: int) -> str:
    def table(title: str, counts: Counter[str]) -> list[str]:
        rows = [f"## {title}", f"{'%':>6} {'samples':>8}  function"]
        for name, count in counts.most_common(top):
            rows.append(f"{100 * count / profile.samples:6.1f} {count:8}  {name}")
        return rows

    lines = [f"# {profile.samples} samples"]
    lines += table("self (innermost frame)", profile.self_counts)
    lines.append("")
    lines += table("total (anywhere on the stack)", profile.total_counts)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path, help="py-spy output in raw (collapsed) format")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    with args.profile.open(encoding="utf-8", errors="replace") as f:
        print(format_report(parse(f), args.top))


if __name__ == "__main__":
    main()
