"""The forecast to finish: remaining cost and time, with an interval, from the features so far.

Each accepted feature is one sample: what its sessions cost and took, failed attempts included.
The remaining ``left`` features are forecast as ``left`` more draws from the same distribution;
the interval is a t-based prediction interval for their sum (the spread of each draw plus the
uncertainty of the mean): ``left*mean ± t(level, n-1) * s * sqrt(left + left**2 / n)``.

Before data (or with one sample) a prior stands in: ``PRIOR_STEPS`` model steps per feature of
``PRIOR_INPUT`` input and ``PRIOR_OUTPUT`` output tokens at the model's prices, worth
``PRIOR_WEIGHT`` features, with a ±``PRIOR_SPREAD`` interval; data outweighs it as it comes in.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

PRIOR_STEPS = 12
PRIOR_INPUT = 20_000
PRIOR_OUTPUT = 800
PRIOR_SECONDS = 180.0
PRIOR_WEIGHT = 2.0
PRIOR_SPREAD = 0.5
_T90 = (6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771,
        1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725)  # one-sided 95% = two-sided 90%, df 1..20


class Interval(BaseModel):
    """A forecast of what the remaining features add (USD or seconds)."""

    likely: float = Field(description="expected remaining amount")
    low: float = Field(description="lower end of the 90% interval")
    high: float = Field(description="upper end of the 90% interval")
    samples: int = Field(description="accepted features it rests on (0 = prior only)")


def t90(df: int) -> float:
    return _T90[df - 1] if 1 <= df <= len(_T90) else 1.645


def prior_feature_cost(price_in: float, price_out: float) -> float:
    """USD per feature before any data (documented constants above; prices per 1M tokens)."""
    return PRIOR_STEPS * (PRIOR_INPUT * price_in + PRIOR_OUTPUT * price_out) / 1e6


def remaining(samples: Sequence[float], left: int, prior: float | None = None) -> Interval | None:
    """The forecast for ``left`` more features from per-feature ``samples`` (None: nothing to go on)."""
    n = len(samples)
    if left <= 0:
        return Interval(likely=0.0, low=0.0, high=0.0, samples=n)
    if n == 0 and prior is None:
        return None
    mean = statistics.fmean(samples) if n else 0.0
    if prior is not None and n < 5:
        mean = (PRIOR_WEIGHT * prior + n * mean) / (PRIOR_WEIGHT + n)
    if n < 2:
        likely = left * mean
        return Interval(likely=likely, low=likely * (1 - PRIOR_SPREAD), high=likely * (1 + PRIOR_SPREAD),
                        samples=n)
    sd = statistics.stdev(samples)
    half = t90(n - 1) * sd * math.sqrt(left + left * left / n)
    likely = left * mean
    return Interval(likely=likely, low=max(0.0, likely - half), high=likely + half, samples=n)


def per_feature(progress: list[dict[str, Any]], field: str) -> list[float]:
    """``field`` (cost or duration_s) summed over every session of each accepted feature."""
    accepted = {int(i) for r in progress if r.get("kind") == "verdict" for i in r.get("accepted") or []}
    totals: dict[int, float] = {}
    for record in progress:
        feature = record.get("feature")
        if record.get("kind") == "session" and feature is not None and int(feature) in accepted:
            totals[int(feature)] = totals.get(int(feature), 0.0) + float(record.get(field) or 0.0)
    return [totals.get(i, 0.0) for i in sorted(accepted)]


def forecast(progress: list[dict[str, Any]], total: int, passing: int, spent: float,
             prior: float | None = None) -> dict[str, Any] | None:
    """Remaining and total cost, remaining time, with intervals (for status, live view, report)."""
    left = max(total - passing, 0)
    cost = remaining(per_feature(progress, "cost"), left, prior)
    if cost is None:
        return None
    time = remaining(per_feature(progress, "duration_s"), left, PRIOR_SECONDS)
    return {"remaining_usd": cost.model_dump(), "total_usd": round(spent + cost.likely, 6),
            "total_high_usd": round(spent + cost.high, 6),
            "remaining_s": time.model_dump() if time else None, "features_left": left}
