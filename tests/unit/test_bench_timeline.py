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
        if stage == "commit_end":
            times["acknowledged"] = at
    return times


def test_medians_skip_the_warm_up_quarter_and_incomplete_records() -> None:
    records = {str(p): _record(p, *([1.0] * 8)) for p in range(1, 9)}
    records["1"] = _record(1, *([50.0] * 8))  # warm-up: left out
    records["9"] = {"write_start": 9.0, "commit_start": 9.5}  # never applied
    rows = {name: (median, count) for name, median, count in summarize(records)}
    assert rows["write_start -> commit_start"] == (pytest.approx(1.0), 6)
    assert rows["apply_end -> heard"] == (pytest.approx(1.0), 6)
    assert rows["write_start -> acknowledged (total)"] == (pytest.approx(2.0), 6)
    assert rows["write_start -> heard (total)"] == (pytest.approx(8.0), 6)
