"""`autocode estimate`, the prices it uses, and the forecast/budget_warning events of a build."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.build_events import BuildEvent, BuildStarted, FeatureVerdict, Initialized, ModelInfoEvent
from agent.cli import app
from agent.cost import Ledger
from agent.errors import UsageError
from agent.estimate import ForecastWatch, estimate_project, resolve_prices
from agent.features import Feature
from agent.forecast import PRIOR_FADE, PRIOR_SECONDS, PRIOR_WEIGHT, prior_feature_cost, prior_weight
from agent.state import BuildState, StateStore
from tests.event_samples import sample


def _project(root: Path, total: int = 10) -> StateStore:
    store = StateStore(root)
    store.root.mkdir(parents=True)
    store.save_baseline([Feature(category="functional", description=f"feature {i}", steps=["works"])
                         for i in range(total)])
    store.save(BuildState(initialized=True, model="scripted/model-a"))
    return store


def _accept(store: StateStore, ledger: Ledger, feature: int, cost: float, turns: int = 3,
            seconds: float = 20.0, tokens: tuple[int, int] = (3000, 150)) -> None:
    """One session for ``feature`` that costs ``cost`` and is accepted."""
    session = f"ses_{feature}_{len(store.progress())}"
    ledger.observe(message_id=f"msg_{session}", session_id=session, root_session_id=session, cost=cost,
                   tokens={"input": tokens[0], "output": tokens[1]}, model="m", feature=feature, now=0.0)
    store.record_progress({"kind": "session", "session": session, "feature": feature, "stop": "idle",
                           "cost": cost, "turns": turns, "duration_s": seconds})
    store.record_progress({"kind": "verdict", "session": session, "feature": feature,
                           "verdict": "accepted", "accepted": [feature]})
    state = store.load()
    state.passing = sorted({*state.passing, feature})
    store.save(state)


def test_no_feature_list_is_a_one_line_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no feature list yet"):
        estimate_project(tmp_path)
    result = CliRunner().invoke(app, ["estimate", "-p", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "run `autocode build` first" in result.output


def test_after_the_initializer_the_forecast_is_the_prior_at_the_models_prices(tmp_path: Path) -> None:
    store = _project(tmp_path, total=10)
    Ledger(store.cost_path).observe(message_id="init", session_id="s0", root_session_id="s0", cost=0.25,
                                    tokens={"input": 5000}, model="m", feature=None, now=0.0)
    (store.root / "model.json").write_text(json.dumps({"model": "x/y", "price_in": 3.0, "price_out": 15.0}))
    est = estimate_project(tmp_path)
    prior = prior_feature_cost(3.0, 15.0)
    assert est.prices.source == "build" and est.observed is None and est.prior_weight == PRIOR_WEIGHT
    assert est.remaining_usd is not None and est.remaining_usd.likely == pytest.approx(10 * prior)
    assert est.total_usd == pytest.approx(0.25 + 10 * prior)
    assert est.remaining_s is not None and est.remaining_s.likely == pytest.approx(10 * PRIOR_SECONDS)
    assert est.remaining_turns == pytest.approx(10 * est.prior.turns)
    flags = estimate_project(tmp_path, price_in=1.0, price_out=5.0)
    assert flags.prices.source == "flags" and flags.prior.usd == pytest.approx(prior_feature_cost(1.0, 5.0))
    result = CliRunner().invoke(app, ["estimate", "-p", str(tmp_path), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["features_left"] == 10
    text = CliRunner().invoke(app, ["estimate", "-p", str(tmp_path)]).output
    assert "prior + 0 features" in text and "(from build)" in text


def test_prices_come_from_flags_then_the_build_then_the_settings(tmp_path: Path) -> None:
    _project(tmp_path)
    assert not resolve_prices(tmp_path).priced
    (tmp_path / "autocode.toml").write_text("price_in = 2.0\nprice_out = 8.0\n")
    assert resolve_prices(tmp_path).model_dump() == {"price_in": 2.0, "price_out": 8.0, "source": "settings"}
    (tmp_path / ".autocode" / "model.json").write_text(json.dumps({"price_in": 0.5, "price_out": 1.0}))
    assert resolve_prices(tmp_path).source == "build"
    assert resolve_prices(tmp_path, 4.0, None).model_dump() == {"price_in": 4.0, "price_out": 0.0,
                                                               "source": "flags"}


def test_observed_features_outweigh_the_prior_until_it_is_gone(tmp_path: Path) -> None:
    store = _project(tmp_path, total=20)
    ledger = Ledger(store.cost_path)
    (store.root / "model.json").write_text(json.dumps({"price_in": 3.0, "price_out": 15.0}))
    prior = prior_feature_cost(3.0, 15.0)
    _accept(store, ledger, 0, 0.10, turns=4, tokens=(4000, 200))
    one = estimate_project(tmp_path)
    weight = prior_weight(1)
    assert one.per_feature.usd == pytest.approx((weight * prior + 0.10) / (weight + 1))
    assert one.per_feature.turns == pytest.approx((weight * 12 + 4) / (weight + 1))
    assert one.observed is not None and one.observed.input_tokens == 4000 and one.observed.output_tokens == 200
    for feature in range(1, PRIOR_FADE):
        _accept(store, ledger, feature, 0.10)
    five = estimate_project(tmp_path)
    assert five.prior_weight == 0 and five.per_feature.usd == pytest.approx(0.10)
    assert five.total_usd == pytest.approx(0.5 + 15 * 0.10)
    assert "from 5 features" in CliRunner().invoke(app, ["estimate", "-p", str(tmp_path)]).output


class _Events:
    def __init__(self) -> None:
        self.events: list[BuildEvent] = []

    def emit(self, event: BuildEvent) -> None:
        self.events.append(event)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e.fields() for e in self.events if e.event == name]


def _verdict(feature: int, total: int = 10) -> FeatureVerdict:
    return sample(FeatureVerdict, feature=feature, passing=feature, total=total)


def test_budget_warning_once_per_crossing_not_every_session(tmp_path: Path) -> None:
    store = _project(tmp_path, total=10)
    ledger = Ledger(store.cost_path)
    inner = _Events()
    watch = ForecastWatch(inner, store)
    watch.emit(sample(BuildStarted, budget_usd=1.0))
    watch.emit(ModelInfoEvent(model="x/y", price_in=None, price_out=None, priced=False))
    watch.emit(sample(Initialized, features=10))
    assert inner.named("forecast") == []  # unpriced and no data: nothing to forecast yet
    costs = [0.05, 0.06, 0.30, 0.30, 0.01, 0.01, 0.01, 0.01, 0.01]
    for feature, cost in enumerate(costs):
        _accept(store, ledger, feature, cost)
        watch.emit(_verdict(feature + 1))
    forecasts = inner.named("forecast")
    assert len(forecasts) == len(costs)
    over = [f["total_usd"] > 1.0 for f in forecasts]
    assert over == [False, False, True, True, True, True, True, False, False]
    warnings = inner.named("budget_warning")
    assert len(warnings) == 1 and warnings[0]["budget_usd"] == 1.0
    assert warnings[0]["forecast_usd"] == forecasts[2]["total_usd"]
    assert "--max-budget-usd" in warnings[0]["message"]
    _accept(store, ledger, 9, 2.0)  # crosses again: a second warning would come only now, but
    watch.emit(_verdict(10))  # nothing is left to warn about
    assert len(inner.named("budget_warning")) == 1


def test_a_second_crossing_warns_again_and_the_prices_are_kept_for_estimate(tmp_path: Path) -> None:
    store = _project(tmp_path, total=10)
    ledger = Ledger(store.cost_path)
    inner = _Events()
    watch = ForecastWatch(inner, store)
    watch.emit(sample(BuildStarted, budget_usd=0.5))
    watch.emit(ModelInfoEvent(model="x/y", price_in=0.0, price_out=0.0, priced=True))
    assert resolve_prices(tmp_path).source == "build"
    for feature, cost in enumerate([0.2, 0.001, 0.001, 0.001, 0.001, 0.001, 0.3]):
        _accept(store, ledger, feature, cost)
        watch.emit(_verdict(feature + 1))
    over = [f["total_usd"] > 0.5 for f in inner.named("forecast")]
    assert over[0] and not all(over) and over[-1]
    assert len(inner.named("budget_warning")) == 2
