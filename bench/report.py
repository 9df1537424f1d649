"""The benchmark's results: one row per scenario, printed as a table or as JSON."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence
from typing import Any

import orjson


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """One measured figure: ``value`` in ``unit``, with the details that explain it."""

    scenario: str
    value: float
    unit: str
    #: The issue's target for this profile, and whether higher is better.
    target: float | None = None
    higher_is_better: bool = True
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def meets_target(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target


def _verdict(result: Result) -> str:
    met = result.meets_target
    if met is None:
        return ""
    return "ok" if met else "MISSED"


def _target(result: Result) -> str:
    if result.target is None:
        return ""
    return f"{'≥' if result.higher_is_better else '≤'} {result.target:g}"


def median_of(runs: Sequence[Sequence[Result]]) -> list[Result]:
    """One result per scenario over several runs: the median value (the runs'
    values, lowest and highest go into the details). Figures on a shared virtual
    machine move by a third from one run to the next; one run proves little."""
    if not runs:
        raise ValueError("no runs")
    combined: list[Result] = []
    for first in runs[0]:
        values = [r.value for run in runs for r in run if r.scenario == first.scenario]
        details = {
            "runs": len(values),
            "min": min(values),
            "max": max(values),
            "values": [round(v, 2) for v in values],
        }
        combined.append(
            dataclasses.replace(first, value=statistics.median(values), details=details)
        )
    return combined


def format_table(profile: str, results: Sequence[Result]) -> str:
    """A fixed-width table, one line per result, with the target and a verdict."""
    lines = [
        f"# Tessera client benchmark, {profile} profile",
        f"{'scenario':<14} {'value':>12} {'unit':<8} {'target':>10}  verdict  details",
    ]
    for r in results:
        details = ", ".join(f"{k}={_fmt(v)}" for k, v in r.details.items())
        lines.append(
            f"{r.scenario:<14} {r.value:>12,.1f} {r.unit:<8} {_target(r):>10}  "
            f"{_verdict(r):<7}  {details}"
        )
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def to_json(profile: str, results: Sequence[Result], meta: dict[str, Any]) -> bytes:
    """The machine-readable report: the profile, the run's metadata and every result."""
    return orjson.dumps(
        {
            "profile": profile,
            "meta": meta,
            "results": [
                {
                    "scenario": r.scenario,
                    "value": r.value,
                    "unit": r.unit,
                    "target": r.target,
                    "higher_is_better": r.higher_is_better,
                    "meets_target": r.meets_target,
                    "details": r.details,
                }
                for r in results
            ],
        },
        option=orjson.OPT_INDENT_2,
    )
