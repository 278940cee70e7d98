"""`autocode estimate`, and the forecast every view shows: priors priced at the model's prices,
refined by the ledger as features are accepted (the math is in ``forecast.py``).

The model's prices come from, in order: ``--price-in/--price-out``; the prices the build's
preflight read from OpenCode (its catalog, or the custom endpoint's configured prices), kept in
``.autocode/model.json``; the settings (``price_in``/``price_out`` in autocode.toml, env, user
config: what the generated OpenCode config carries for ``--base-url``). Without prices the cost
forecast rests on the ledger alone (turns, tokens and time still have their priors).

:class:`ForecastWatch` sits in front of a build's reporters: after the initializer, on resume and
after every verdict it emits a ``forecast`` event, and a ``budget_warning`` when the likely total
first passes ``--max-budget-usd`` (again only after it has dropped below and crossed once more).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.build_events import (
    BudgetWarning,
    BuildEvent,
    BuildStarted,
    FeatureVerdict,
    Forecast,
    Initialized,
    ModelInfoEvent,
    Resumed,
)
from agent.cost import Ledger
from agent.errors import AutocodeError, UsageError
from agent.forecast import (
    PRIOR_INPUT,
    PRIOR_OUTPUT,
    PRIOR_SECONDS,
    PRIOR_TURNS,
    Interval,
    accepted_features,
    blend,
    describe_forecast,
    forecast,
    per_feature,
    prior_feature_cost,
    prior_weight,
    remaining,
)
from agent.ports import Reporter
from agent.state import StateStore, atomic_write, read_jsonl

MODEL_FILE = "model.json"


class Prices(BaseModel):
    """The model's prices (USD per 1M tokens) and where they came from."""

    price_in: float | None = Field(default=None, description="USD per 1M input tokens")
    price_out: float | None = Field(default=None, description="USD per 1M output tokens")
    source: str = Field(default="none", description="flags, build (OpenCode's), settings or none")

    @property
    def priced(self) -> bool:
        return self.price_in is not None and self.price_out is not None


class FeatureFigures(BaseModel):
    """What one feature takes: model steps, tokens, seconds and USD (None: unpriced)."""

    turns: float = Field(description="model steps")
    input_tokens: float = Field(description="input tokens, cached ones included")
    output_tokens: float = Field(description="output tokens, reasoning included")
    seconds: float = Field(description="session time")
    usd: float | None = Field(default=None, description="cost, USD")


class Estimate(BaseModel):
    """A build's forecast to finish (``autocode estimate --json`` prints this)."""

    project: str
    model: str | None = None
    features_total: int
    features_passing: int
    features_left: int
    prices: Prices
    prior: FeatureFigures = Field(description="per feature before any data (documented priors)")
    observed: FeatureFigures | None = Field(description="per accepted feature so far (mean)")
    observed_features: int = Field(description="accepted features the observation rests on")
    prior_weight: float = Field(description="features the prior still counts as")
    per_feature: FeatureFigures = Field(description="the blend of prior and observation")
    spent_usd: float
    elapsed_s: float
    remaining_usd: Interval | None = Field(description="cost of the features left, 90% interval")
    total_usd: float | None = Field(description="spent plus the likely remaining cost")
    total_high_usd: float | None = Field(description="spent plus the interval's upper end")
    remaining_s: Interval | None = Field(description="session time of the features left")
    remaining_turns: float = Field(description="likely model steps for the features left")


def resolve_prices(project_dir: Path, price_in: float | None = None,
                   price_out: float | None = None) -> Prices:
    if price_in is not None or price_out is not None:
        return Prices(price_in=price_in or 0.0, price_out=price_out or 0.0, source="flags")
    saved = _saved_model(project_dir)
    if saved.get("price_in") is not None and saved.get("price_out") is not None:
        return Prices(price_in=saved["price_in"], price_out=saved["price_out"], source="build")
    from agent.config import load_settings

    try:
        settings, _ = load_settings(project_dir, {})
    except AutocodeError:
        return Prices()
    if settings.price_in is not None or settings.price_out is not None:
        return Prices(price_in=settings.price_in or 0.0, price_out=settings.price_out or 0.0,
                      source="settings")
    return Prices()


def _saved_model(project_dir: Path) -> dict[str, Any]:
    path = StateStore(project_dir).root / MODEL_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def prior_figures(prices: Prices) -> FeatureFigures:
    usd = prior_feature_cost(prices.price_in or 0.0, prices.price_out or 0.0) if prices.priced else None
    return FeatureFigures(turns=PRIOR_TURNS, input_tokens=PRIOR_TURNS * PRIOR_INPUT,
                          output_tokens=PRIOR_TURNS * PRIOR_OUTPUT, seconds=PRIOR_SECONDS, usd=usd)


def prior_for(project_dir: Path) -> float | None:
    """The prior USD per feature at the model's prices (None: the prices are unknown)."""
    return prior_figures(resolve_prices(project_dir)).usd


def _token_samples(progress: list[dict[str, Any]], cost_path: Path) -> tuple[list[float], list[float]]:
    """Input and output tokens per accepted feature, from the ledger's step records."""
    accepted = accepted_features(progress)
    tokens_in = dict.fromkeys(accepted, 0.0)
    tokens_out = dict.fromkeys(accepted, 0.0)
    for record in read_jsonl(cost_path):
        feature = record.get("feature")
        if feature in tokens_in:
            tokens_in[feature] += sum(int(record.get(k) or 0) for k in ("input", "cache_read", "cache_write"))
            tokens_out[feature] += sum(int(record.get(k) or 0) for k in ("output", "reasoning"))
    return [tokens_in[i] for i in accepted], [tokens_out[i] for i in accepted]


def estimate_project(project_dir: Path, price_in: float | None = None,
                     price_out: float | None = None) -> Estimate:
    """The forecast for a project with a feature list (a UsageError without one)."""
    store = StateStore(project_dir)
    baseline = store.load_baseline()
    if not baseline:
        raise UsageError(f"{project_dir} has no feature list yet (.autocode/features.json or "
                         "feature_list.json): run `autocode build` first, its initializer writes it")
    state = store.load() if store.state_path.exists() else None
    passing = len(state.passing) if state else sum(1 for f in baseline if f.passes)
    progress = store.progress()
    prices = resolve_prices(project_dir, price_in, price_out)
    prior = prior_figures(prices)
    samples = {"turns": per_feature(progress, "turns"), "seconds": per_feature(progress, "duration_s"),
               "usd": per_feature(progress, "cost")}
    samples["input_tokens"], samples["output_tokens"] = _token_samples(progress, store.cost_path)
    n = len(samples["usd"])
    observed = FeatureFigures(**{k: statistics.fmean(v) for k, v in samples.items()}) if n else None
    priors = prior.model_dump()
    blended = FeatureFigures(**{k: blend(v, priors[k]) or 0.0 for k, v in samples.items()})
    if prior.usd is None and not n:
        blended.usd = None
    spent = Ledger(store.cost_path).total
    left = max(len(baseline) - passing, 0)
    cost = remaining(samples["usd"], left, prior.usd)
    return Estimate(project=str(project_dir), model=state.model if state else _saved_model(project_dir).get(
        "model"), features_total=len(baseline), features_passing=passing, features_left=left,
        prices=prices, prior=prior, observed=observed, observed_features=n, prior_weight=prior_weight(n),
        per_feature=blended, spent_usd=round(spent, 6), elapsed_s=state.elapsed_s if state else 0.0,
        remaining_usd=cost, total_usd=None if cost is None else round(spent + cost.likely, 6),
        total_high_usd=None if cost is None else round(spent + cost.high, 6),
        remaining_s=remaining(samples["seconds"], left, PRIOR_SECONDS),
        remaining_turns=round(left * blended.turns, 1))


def _figures(f: FeatureFigures) -> str:
    usd = "unpriced" if f.usd is None else f"${f.usd:.4f}"
    return (f"{f.turns:.1f} turns, {f.input_tokens / 1000:.1f}k in / {f.output_tokens / 1000:.1f}k out "
            f"tokens, {f.seconds:.0f}s, {usd}")


def render_estimate(est: Estimate) -> str:
    prices = (f"${est.prices.price_in:g} in / ${est.prices.price_out:g} out per 1M tokens "
              f"(from {est.prices.source})" if est.prices.priced else "unknown (pass --price-in/--price-out)")
    lines = [f"project   {est.project}", f"model     {est.model or '?'}", f"prices    {prices}",
             f"features  {est.features_passing}/{est.features_total} passing, {est.features_left} left",
             f"prior     per feature: {_figures(est.prior)}"]
    if est.observed is not None:
        lines.append(f"observed  per feature ({est.observed_features} accepted): {_figures(est.observed)}")
    lines.append(f"blend     per feature: {_figures(est.per_feature)} (prior counts as "
                 f"{est.prior_weight:g} features)")
    lines.append(f"spent     ${est.spent_usd:.4f}, {est.elapsed_s:.0f}s")
    if est.remaining_usd is None or est.total_usd is None:
        lines.append("forecast  cost unknown: the model is unpriced and no feature is accepted yet")
    else:
        fc = {"remaining_usd": est.remaining_usd.model_dump(), "total_usd": est.total_usd,
              "features_left": est.features_left, "prior_usd": est.prior.usd,
              "remaining_s": est.remaining_s.model_dump() if est.remaining_s else None}
        lines.append(f"forecast  {describe_forecast(fc)}, ~{est.remaining_turns:.0f} turns")
    return "\n".join(lines)


class ForecastWatch:
    """A reporter in front of ``inner`` that adds ``forecast`` and ``budget_warning`` events."""

    def __init__(self, inner: Reporter, store: StateStore) -> None:
        self.inner = inner
        self.store = store
        self.budget = 0.0
        self.prior: float | None = None
        self.above = False  # the likely total is over the budget (warned once per crossing)

    def emit(self, event: BuildEvent) -> None:
        self.inner.emit(event)
        match event:
            case BuildStarted():
                self.budget = event.budget_usd
            case ModelInfoEvent():
                self._prices(event)
            case Initialized():
                self._update(event.features, 0)
            case Resumed() | FeatureVerdict():
                self._update(event.total, event.passing)

    def _prices(self, info: ModelInfoEvent) -> None:
        priced = info.price_in is not None and info.price_out is not None
        self.prior = prior_feature_cost(info.price_in or 0.0, info.price_out or 0.0) if priced else None
        atomic_write(self.store.root / MODEL_FILE, json.dumps(
            {"model": info.model, "price_in": info.price_in, "price_out": info.price_out}) + "\n")

    def _update(self, total: int, passing: int) -> None:
        if not total:
            return
        spent = Ledger(self.store.cost_path).total
        fc = forecast(self.store.progress(), total, passing, spent, self.prior)
        if fc is None:
            return
        self.inner.emit(Forecast(passing=passing, total=total, spent_usd=round(spent, 6),
                                 budget_usd=self.budget, **fc))
        above = 0 < self.budget < fc["total_usd"] and fc["features_left"] > 0
        if above and not self.above:
            self.inner.emit(BudgetWarning(forecast_usd=fc["total_usd"], high_usd=fc["total_high_usd"],
                                          budget_usd=self.budget, spent_usd=round(spent, 6),
                                          features_left=fc["features_left"],
                                          message=budget_message(fc, spent, self.budget)))
        self.above = above


def budget_message(fc: dict[str, Any], spent: float, budget: float) -> str:
    return (f"the forecast total ~${fc['total_usd']:.4f} (90% up to ${fc['total_high_usd']:.4f}) passes "
            f"--max-budget-usd ${budget:.4f}: ${spent:.4f} spent, {fc['features_left']} features left; "
            "raise the budget now, or the build stops when it runs out")
