"""The forecast's interval logic, pinned."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from agent.forecast import (
    PRIOR_FADE,
    PRIOR_SPREAD,
    PRIOR_WEIGHT,
    blend,
    forecast,
    prior_feature_cost,
    prior_weight,
    remaining,
    t90,
)


def test_t_based_prediction_interval_for_the_sum_of_the_remaining_features() -> None:
    samples = [1.0, 2.0, 3.0, 4.0, 5.0]  # mean 3, sd sqrt(2.5)
    got = remaining(samples, left=10)
    assert got is not None and got.likely == pytest.approx(30.0)
    half = 2.132 * math.sqrt(2.5) * math.sqrt(10 + 100 / 5)
    assert got.high == pytest.approx(30.0 + half) and got.low == pytest.approx(30.0 - half)
    wider = remaining(samples[:3], left=10)
    assert (wider is not None and wider.high - wider.likely > got.high - got.likely - 1e-9) or t90(2) > t90(4)


def test_prior_before_data_and_shrinking_towards_data() -> None:
    prior = prior_feature_cost(3.0, 15.0)
    assert prior == pytest.approx(12 * (20_000 * 3 + 800 * 15) / 1e6)
    first = remaining([], left=4, prior=prior)
    assert first is not None and first.likely == pytest.approx(4 * prior)
    assert first.high == pytest.approx(4 * prior * (1 + PRIOR_SPREAD))
    none_left = remaining([1.0], left=0)
    assert remaining([], left=4) is None and none_left is not None and none_left.high == 0.0


def test_forecast_after_5_of_20_uneven_features_is_within_20_percent_of_the_final_cost() -> None:
    rng = random.Random(17)
    sessions = [round(rng.uniform(0.02, 0.10), 4) for _ in range(20)]  # uneven: up to 5x apart
    failed = [s / 3 if i % 3 == 1 else 0.0 for i, s in enumerate(sessions)]  # a failed attempt first
    costs = [s + f for s, f in zip(sessions, failed, strict=True)]
    progress = []
    for i in range(5):
        if failed[i]:  # its cost counts for the feature
            progress.append({"kind": "session", "feature": i, "cost": failed[i], "duration_s": 5})
        progress.append({"kind": "session", "feature": i, "cost": sessions[i], "duration_s": 10})
        progress.append({"kind": "verdict", "feature": i, "accepted": [i]})
    init = 0.05
    spent = init + sum(costs[:5])
    result = forecast(progress, total=20, passing=5, spent=spent)
    final = init + sum(costs)
    assert result is not None and abs(result["total_usd"] - final) <= 0.2 * final
    low, high = result["remaining_usd"]["low"], result["remaining_usd"]["high"]
    assert low <= final - spent <= high


def test_the_prior_fades_linearly_and_is_gone_after_prior_fade_features() -> None:
    weights = [prior_weight(n) for n in range(PRIOR_FADE + 2)]
    assert weights[0] == PRIOR_WEIGHT and weights[PRIOR_FADE] == weights[PRIOR_FADE + 1] == 0
    assert all(a > b for a, b in itertools.pairwise(weights[:PRIOR_FADE + 1]))
    assert blend([1.0, 3.0], prior=10.0) == pytest.approx((prior_weight(2) * 10 + 4) / (prior_weight(2) + 2))
    assert blend([1.0] * PRIOR_FADE, prior=100.0) == pytest.approx(1.0)
    assert blend([], None) is None and blend([2.0], None) == 2.0
