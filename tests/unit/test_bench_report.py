"""The client benchmark's arithmetic and report, without a server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from bench.report import Result, format_table, to_json
from bench.server import _descendants, read_rss_mib, write_config
from bench.stats import percentile, rate


def test_percentiles_interpolate_between_ranks() -> None:
    samples = [4.0, 1.0, 3.0, 2.0]  # unsorted on purpose
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 4.0
    assert percentile(samples, 50) == 2.5  # the mean of the middle two
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert percentile([7.0], 95) == 7.0


def test_percentile_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_rate_is_units_per_second() -> None:
    assert rate(300, 0.5) == 600
    with pytest.raises(ValueError):
        rate(300, 0)


def test_targets_are_met_in_the_right_direction() -> None:
    assert Result("seq", 450, "msg/s", 400).meets_target is True
    assert Result("seq", 350, "msg/s", 400).meets_target is False
    assert Result("fanout p50", 7, "ms", 8, higher_is_better=False).meets_target is True
    assert Result("fanout p50", 9, "ms", 8, higher_is_better=False).meets_target is False
    assert Result("x", 1, "ms").meets_target is None


def test_the_table_shows_each_figure_its_target_and_verdict() -> None:
    table = format_table(
        "embedded",
        [
            Result("seq", 1234.5, "msg/s", 400, details={"sends": 300}),
            Result("initsync", 120.0, "ms", 100, higher_is_better=False),
        ],
    )
    lines = table.splitlines()
    assert "embedded" in lines[0]
    seq_line = next(line for line in lines if line.startswith("seq"))
    assert "1,234.5" in seq_line and "≥ 400" in seq_line and "ok" in seq_line
    assert "sends=300" in seq_line
    initsync_line = next(line for line in lines if line.startswith("initsync"))
    assert "≤ 100" in initsync_line and "MISSED" in initsync_line


def test_the_json_report_round_trips() -> None:
    raw = to_json("scale", [Result("conc", 900.0, "msg/s", 800)], {"cpus": 2})
    report = orjson.loads(raw)
    assert report["profile"] == "scale"
    assert report["meta"] == {"cpus": 2}
    assert report["results"][0] == {
        "scenario": "conc",
        "value": 900.0,
        "unit": "msg/s",
        "target": 800,
        "higher_is_better": True,
        "meets_target": True,
        "details": {},
    }


def test_rss_is_read_for_a_process_and_its_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in _descendants(os.getpid())
        rss = read_rss_mib(child.pid)
        assert rss is not None and 1 < rss < 500
    finally:
        child.kill()
        child.wait()
    assert read_rss_mib(child.pid) is None


def test_the_scale_config_names_the_database_and_nats(tmp_path: Path) -> None:
    from tessera.app.config import load_config

    path = write_config(tmp_path, "scale", "postgresql://postgres@127.0.0.1:5432/x")
    config = load_config(path)
    assert config.profile == "scale"
    assert config.nats == "nats://127.0.0.1:4222"
    assert config.rc_message.per_second >= 10_000  # the limiter is not what is measured
    assert load_config(write_config(tmp_path, "embedded", None)).profile == "embedded"


def test_hotspots_count_self_and_total_samples_per_function() -> None:
    from bench.hotspots import parse

    profile = parse(
        [
            "main (app/cli.py:10);handle (app/x.py:5);commit (db.py:7) 3\n",
            "main (app/cli.py:10);handle (app/x.py:6) 2\n",
            "main (app/cli.py:10);handle (app/x.py:5);handle (app/x.py:9) 1\n",  # recursion
            "garbage line without a count\n",
        ]
    )
    assert profile.samples == 6
    assert profile.self_counts["commit (db.py)"] == 3
    assert profile.self_counts["handle (app/x.py)"] == 3  # lines 6 and 9 add up
    assert profile.total_counts["handle (app/x.py)"] == 6  # once per sample, not per frame
    assert profile.total_counts["main (app/cli.py)"] == 6


def test_the_median_of_several_runs_keeps_each_scenarios_target_and_spread() -> None:
    from bench.report import median_of

    def run(seq: float, fanout: float) -> list[Result]:
        return [
            Result("seq", seq, "msg/s", 250, details={"sends": 300}),
            Result("fanout p50", fanout, "ms", 15, higher_is_better=False),
        ]

    combined = median_of([run(200, 9), run(260, 12), run(180, 8)])
    assert [(r.scenario, r.value) for r in combined] == [("seq", 200), ("fanout p50", 9)]
    assert combined[0].meets_target is False and combined[1].meets_target is True
    assert combined[0].details == {"runs": 3, "min": 180, "max": 260, "values": [200, 260, 180]}
    with pytest.raises(ValueError):
        median_of([])
