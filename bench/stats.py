"""Small statistics for the benchmark: percentiles and rates."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0–100) of ``samples``, interpolating linearly between
    the two nearest ranks (numpy's default method), so p50 of an even count is the
    mean of the middle two."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is not within 0..100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rate(units: int, seconds: float) -> float:
    """Units per second; a zero-length interval is an error, not infinity."""
    if seconds <= 0:
        raise ValueError("a rate needs a positive duration")
    return units / seconds
