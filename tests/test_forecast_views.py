"""The forecast where people read it: the live view (with the budget warning) and the HTML report."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from rich.console import Console

from agent.build_events import BudgetWarning, BuildEvent, BuildStarted, Forecast
from agent.cost import Ledger
from agent.report import render_report, report_data
from agent.status import build_status, render_status
from agent.ui.live import LiveView
from tests.event_samples import sample
from tests.test_estimate import _accept, _project

FORECAST = {"passing": 3, "total": 10, "spent_usd": 0.3, "budget_usd": 1.0, "features_left": 7,
            "remaining_usd": {"likely": 0.7, "low": 0.5, "high": 0.9, "samples": 3},
            "total_usd": 1.0, "total_low_usd": 0.8, "total_high_usd": 1.2, "per_feature_usd": 0.1,
            "prior_usd": None, "remaining_s": {"likely": 600.0, "low": 300.0, "high": 900.0, "samples": 3}}


def _live(events: list[BuildEvent]) -> tuple[LiveView, str]:
    buffer = io.StringIO()
    view = LiveView(Console(file=buffer, force_terminal=True, width=200))
    for event in events:
        view.emit(event)
    return view, buffer.getvalue()


def _text(view: LiveView) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200).print(view.render())
    return buffer.getvalue()


def test_live_view_shows_the_forecast_with_its_interval_and_the_budget_warning() -> None:
    start = sample(BuildStarted, project="p", model="m/x", budget_usd=2.0, spent_usd=0.0)
    view, _ = _live([start, Forecast(**FORECAST)])
    panel = _text(view)
    assert "forecast" in panel and "$0.7000 more for 7 features (90%: $0.5000-$0.9000)" in panel
    assert "total ~$1.0000" in panel and "~10m left (5m-15m)" in panel and "OVER BUDGET" not in panel
    over = FORECAST | {"total_usd": 2.5}
    warning = {"forecast_usd": 2.5, "high_usd": 3.0, "budget_usd": 2.0, "spent_usd": 0.3,
               "features_left": 7, "message": "the forecast total ~$2.5000 passes --max-budget-usd $2.0000"}
    view, scrolled = _live([start, Forecast(**over), BudgetWarning(**warning)])
    assert "OVER BUDGET" in _text(view)
    assert scrolled.count("BUDGET WARNING: the forecast total ~$2.5000") == 1
    done, _ = _live([start, Forecast(**FORECAST | {"features_left": 0})])
    assert "forecast" not in _text(done)  # nothing left to forecast


def test_report_and_status_show_the_forecast_to_finish(tmp_path: Path) -> None:
    store = _project(tmp_path, total=10)
    ledger = Ledger(store.cost_path)
    for feature, cost in enumerate([0.1, 0.2, 0.3]):
        _accept(store, ledger, feature, cost, seconds=60.0)
    data = report_data(tmp_path)
    fc = data["forecast"]
    assert fc["features_left"] == 7 and abs(fc["total_usd"] - (0.6 + 7 * 0.2)) < 1e-9
    page = render_report(data)
    assert "<h2>Forecast to finish</h2>" in page and "$1.4000 more for 7 features" in page
    low, high = fc["remaining_usd"]["low"], fc["remaining_usd"]["high"]
    minutes = fc["remaining_s"]["likely"] / 60  # 60 s each, blended with the 180 s prior
    assert f"${low:.4f} to ${high:.4f}" in page and f"{minutes:.1f} min" in page and 7 < minutes < 21
    embedded = re.search(r'id="report-data">(.*?)</script>', page, re.S)
    assert embedded is not None and json.loads(embedded.group(1))["forecast"] == fc
    status = build_status(tmp_path)
    assert status["forecast"] == fc and "forecast  $1.4000 more for 7 features" in render_status(status)
