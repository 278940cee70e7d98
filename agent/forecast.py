"""The forecast to finish: remaining cost and time, with an interval, from the features so far.

Each accepted feature is one sample: what its sessions cost and took, failed attempts included.
The remaining ``left`` features are forecast as ``left`` more draws from the same distribution;
the interval is a t-based prediction interval for their sum (the spread of each draw plus the
uncertainty of the mean): ``left*mean ± t(level, n-1) * s * sqrt(left + left**2 / n)``.

The prior (before data): ``PRIOR_TURNS`` model steps per feature of ``PRIOR_INPUT`` input and
``PRIOR_OUTPUT`` output tokens each at the model's prices, and ``PRIOR_SECONDS`` per feature. It
is blended with the observed mean as if it were ``prior_weight(n)`` more features: worth
``PRIOR_WEIGHT`` features before any data, fading linearly to nothing at ``PRIOR_FADE`` accepted
features (from then on the forecast rests on the data alone). With fewer than two samples the
interval is ±``PRIOR_SPREAD`` of the likely value.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

PRIOR_TURNS = 12
PRIOR_INPUT = 20_000
PRIOR_OUTPUT = 800
PRIOR_SECONDS = 180.0
PRIOR_WEIGHT = 2.0
PRIOR_FADE = 5
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
    return PRIOR_TURNS * (PRIOR_INPUT * price_in + PRIOR_OUTPUT * price_out) / 1e6


def prior_weight(samples: int) -> float:
    """How many features the prior counts as after ``samples`` accepted ones (0 from PRIOR_FADE)."""
    return PRIOR_WEIGHT * max(0.0, 1.0 - samples / PRIOR_FADE)


def blend(samples: Sequence[float], prior: float | None) -> float | None:
    """The per-feature figure: the observed mean shrunk towards the prior (None: nothing to go on)."""
    n = len(samples)
    mean = statistics.fmean(samples) if n else 0.0
    weight = prior_weight(n) if prior is not None else 0.0
    if n == 0 and not weight:
        return None
    return (weight * (prior or 0.0) + n * mean) / (weight + n)


def remaining(samples: Sequence[float], left: int, prior: float | None = None) -> Interval | None:
    """The forecast for ``left`` more features from per-feature ``samples`` (None: nothing to go on)."""
    n = len(samples)
    if left <= 0:
        return Interval(likely=0.0, low=0.0, high=0.0, samples=n)
    mean = blend(samples, prior)
    if mean is None:
        return None
    likely = left * mean
    if n < 2:
        return Interval(likely=likely, low=likely * (1 - PRIOR_SPREAD), high=likely * (1 + PRIOR_SPREAD),
                        samples=n)
    half = t90(n - 1) * statistics.stdev(samples) * math.sqrt(left + left * left / n)
    return Interval(likely=likely, low=max(0.0, likely - half), high=likely + half, samples=n)


def accepted_features(progress: list[dict[str, Any]]) -> list[int]:
    """Every feature a verdict accepted (0-based, sorted)."""
    return sorted({int(i) for r in progress if r.get("kind") == "verdict" for i in r.get("accepted") or []})


def per_feature(progress: list[dict[str, Any]], field: str) -> list[float]:
    """``field`` (cost, turns or duration_s) summed over every session of each accepted feature."""
    accepted = accepted_features(progress)
    wanted = set(accepted)
    totals: dict[int, float] = {}
    for record in progress:
        feature = record.get("feature")
        if record.get("kind") == "session" and feature is not None and int(feature) in wanted:
            totals[int(feature)] = totals.get(int(feature), 0.0) + float(record.get(field) or 0.0)
    return [totals.get(i, 0.0) for i in accepted]


def forecast(progress: list[dict[str, Any]], total: int, passing: int, spent: float,
             prior: float | None = None) -> dict[str, Any] | None:
    """Remaining and total cost, remaining time, with intervals (for status, live view, report)."""
    left = max(total - passing, 0)
    costs = per_feature(progress, "cost")
    cost = remaining(costs, left, prior)
    if cost is None:
        return None
    time = remaining(per_feature(progress, "duration_s"), left, PRIOR_SECONDS)
    return {"remaining_usd": cost.model_dump(), "total_usd": round(spent + cost.likely, 6),
            "total_low_usd": round(spent + cost.low, 6), "total_high_usd": round(spent + cost.high, 6),
            "per_feature_usd": round(blend(costs, prior) or 0.0, 6),
            "prior_usd": None if prior is None else round(prior, 6),
            "remaining_s": time.model_dump() if time else None, "features_left": left}


def describe_forecast(fc: dict[str, Any]) -> str:
    """One line for people: remaining cost with its interval, the total, the time left."""
    left = fc["remaining_usd"]
    line = (f"${left['likely']:.4f} more for {fc['features_left']} features "
            f"(90%: ${left['low']:.4f}-${left['high']:.4f}), total ~${fc['total_usd']:.4f}")
    seconds = fc.get("remaining_s")
    if seconds and fc["features_left"]:
        low, high = _duration(seconds["low"]), _duration(seconds["high"])
        line += f", ~{_duration(seconds['likely'])} left ({low}-{high})"
    basis = int(left.get("samples", 0))
    weighted = fc.get("prior_usd") is not None and basis < PRIOR_FADE
    return line + (f" [prior + {basis} features]" if weighted else f" [from {basis} features]")


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
