"""The forecast on a real 20-feature build (real OpenCode, scripted model) with uneven feature costs.

Feature ``i`` takes ``STEPS[i % 3]`` model steps of ``TOKENS[i % 7]`` input tokens (and a 20th of
that in output) each, so features cost from $0.00375 to $0.06 (16x apart) in an order that
does not repeat within the first five. After 5 accepted features the forecast total (from the
build's own ``forecast`` event) is within ±20% of what the whole build finally cost, and the final
cost lies inside the 90% interval it gave. The budget is set so that only the prior-based forecast
after the initializer passes it: one ``budget_warning``, not one per session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.errors import BuildComplete
from agent.estimate import estimate_project
from tests.e2e.conftest import ScriptedModel, feature_steps, init_script, run_direct, simple_features

pytestmark = pytest.mark.e2e

STEPS = (2, 4, 3)  # model steps per feature: the marking step and the closing text, plus echoes
TOKENS = (500, 2000, 1000, 4000, 1500, 3000, 700)  # input tokens per step
PRICE_IN, PRICE_OUT = 3.0, 15.0
INIT_USAGE = {"prompt_tokens": 1000, "completion_tokens": 50}
N = 20


def _usage(i: int) -> dict[str, int]:
    tokens = TOKENS[i % len(TOKENS)]
    return {"prompt_tokens": tokens, "completion_tokens": tokens // 20}


def _step_cost(usage: dict[str, int]) -> float:
    return (usage["prompt_tokens"] * PRICE_IN + usage["completion_tokens"] * PRICE_OUT) / 1e6


def _feature_script(i: int) -> dict[str, Any]:
    echoes = [{"tool": "bash", "args": {"command": f"echo {i}-{k} >> work.log", "description": "work"}}
              for k in range(STEPS[i % len(STEPS)] - 2)]
    steps = [*echoes, *feature_steps(i, extra="")]
    return {"name": f"f{i}", "match": f"\nFeature item {i:02d}\n",
            "steps": [step | {"usage": _usage(i)} for step in steps]}


def test_forecast_after_5_of_20_uneven_features_is_within_20_percent(
        scripted: ScriptedModel, project: Path) -> None:
    features = simple_features(*(f"Feature item {i:02d}" for i in range(N)))
    costs = [STEPS[i % len(STEPS)] * _step_cost(_usage(i)) for i in range(N)]
    init_cost = 2 * _step_cost(INIT_USAGE)
    expected = init_cost + sum(costs)
    assert max(costs) / min(costs) >= 10  # uneven
    scripted.set({"usage": INIT_USAGE, "scripts": [init_script(features), *map(_feature_script, range(N))]})
    events, stop = run_direct(project, scripted, spec_text="twenty small features",
                              limits={"max_budget_usd": round(1.5 * expected, 4)},
                              price_in=PRICE_IN, price_out=PRICE_OUT)
    assert isinstance(stop, BuildComplete), stop
    final = events.named("stopped")[0]["cost_usd"]
    assert final == pytest.approx(expected, rel=1e-6)  # the ledger charged the scripted usage
    assert [v["verdict"] for v in events.named("feature_verdict")] == ["accepted"] * N
    forecasts = {f["passing"]: f for f in events.named("forecast")}
    assert set(forecasts) == set(range(N + 1))  # after the initializer, then after every verdict
    after5 = forecasts[5]
    assert after5["remaining_usd"]["samples"] == 5 and after5["features_left"] == N - 5
    assert abs(after5["total_usd"] - final) <= 0.2 * final
    assert after5["total_low_usd"] <= final <= after5["total_high_usd"]
    assert forecasts[N]["total_usd"] == pytest.approx(final)
    names = [name for name, _ in events.events]
    warnings = events.named("budget_warning")
    assert len(warnings) == 1 and names.index("budget_warning") < names.index("feature_verdict")
    assert warnings[0]["forecast_usd"] == forecasts[0]["total_usd"] > warnings[0]["budget_usd"]
    done = estimate_project(project)  # the prices the build's preflight saw are kept for estimate
    assert done.prices.model_dump() == {"price_in": PRICE_IN, "price_out": PRICE_OUT, "source": "build"}
    assert done.features_left == 0 and done.observed_features == N and done.spent_usd == pytest.approx(final)
