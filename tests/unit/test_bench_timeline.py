"""bench/timeline.py's summary: medians between consecutive stages of complete records."""

from __future__ import annotations

import pytest

from bench.timeline import STAGES, summarize


def _record(start: float, *gaps_ms: float) -> dict[str, float]:
    times = {"write_start": start}
    at = start
    for stage, gap in zip(STAGES[1:], gaps_ms, strict=True):
        at += gap / 1000
        times[stage] = at
    return times


def test_medians_skip_the_warm_up_quarter_and_incomplete_records() -> None:
    records = {str(p): _record(p, *([1.0] * 9)) for p in range(1, 9)}
    records["1"] = _record(1, *([50.0] * 9))  # warm-up: left out
    records["9"] = {"write_start": 9.0, "commit_start": 9.5}  # never became visible
    rows = {name: (median, count) for name, median, count in summarize(records)}
    assert rows["write_start -> commit_start"] == (pytest.approx(1.0), 6)
    assert rows["heard -> visible"] == (pytest.approx(1.0), 6)
    assert rows["write_start -> visible (total)"] == (pytest.approx(9.0), 6)
