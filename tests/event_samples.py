"""A sample of every build event, as its emitter passes the fields (tests build events from these)."""

from __future__ import annotations

from typing import Any, TypeVar

from agent import build_events as ev

E = TypeVar("E", bound=ev.BuildEvent)

INTERVAL = {"likely": 0.7, "low": 0.5, "high": 0.9, "samples": 3}
SECONDS = {"likely": 600.0, "low": 300.0, "high": 900.0, "samples": 3}
SUMMARY = {"checks": [{"command": "pytest -q", "ok": True, "gate": True, "duration_s": 1.5}],
           "gate": {"ok": True, "duration_s": 1.5}, "tests_before": 4, "tests_after": 5,
           "test_runner": "pytest", "listing_s": 0.4, "ids_refused": [], "regression_of": [],
           "regressed_restored": []}

SAMPLES: dict[type[ev.BuildEvent], dict[str, Any]] = {
    ev.BuildStarted: {"project": "/p", "model": "m/x", "sandbox": "bwrap", "server": "supervised", "pid": 7,
                      "budget_usd": 2.0, "spent_usd": 0.0},
    ev.ServerReady: {"url": "http://127.0.0.1:4096", "version": "1.0.0", "pid": 8, "restarts": 0},
    ev.ServerRestart: {"attempt": 1, "reason": "died"},
    ev.ModelInfoEvent: {"model": "m/x", "price_in": 3.0, "price_out": 15.0, "priced": True},
    ev.WarningEvent: {"message": "careful"},
    ev.ErrorEvent: {"kind": "usage", "message": "no spec", "exit_code": 2},
    ev.Initialized: {"features": 10, "test_cmd": "pytest -q"},
    ev.FeatureListInvalid: {"problems": "feature 3 has no steps", "attempt": 1},
    ev.Resumed: {"passing": 1, "total": 3, "spent_usd": 0.5, "denied": 2, "sessions": 3, "interrupted": 1,
                 "recovered_usd": 0.01},
    ev.FeatureStarted: {"feature": 2, "total": 3, "passing": 1, "description": "Two", "attempt": 1,
                        "attempts": 3},
    ev.FeatureSkipped: {"feature": 1, "attempts": 3},
    ev.Stopped: {"reason": "budget", "message": "budget reached", "exit_code": 3, "passing": 1,
                 "cost_usd": 0.7},
    ev.CostRecovered: {"usd": 0.02, "since": 1700000000.0},
    ev.ProviderBackoff: {"seconds": 15.0, "failures": 1, "message": "503"},
    ev.SessionStarted: {"session": "s1", "title": "autocode: feature 2/3: Two", "feature": 1, "model": "m/x",
                        "prompt": "build it"},
    ev.Prompt: {"session": "s1", "prompt": "go on"},
    ev.StreamReconnect: {"session": "s1", "reason": "connection reset"},
    ev.ChildSession: {"session": "s1", "child": "c1"},
    ev.Step: {"session": "s1", "cost": 0.25, "total_usd": 0.75, "session_usd": 0.5, "turns": 2,
              "tokens": {"input": 100, "output": 20, "reasoning": 0, "cache_read": 0, "cache_write": 0}},
    ev.Tool: {"session": "s1", "tool": "bash", "status": "running", "input": {"command": "pytest -q"},
              "output": ""},
    ev.Permission: {"session": "s1", "permission": "bash", "patterns": ["curl x"], "allowed": False,
                    "reason": "network", "rule": "egress"},
    ev.ProviderRetry: {"session": "s1", "attempt": 1, "message": "overloaded"},
    ev.SessionErrorEvent: {"session": "s1", "name": "APIError", "message": "boom", "status": 500},
    ev.TextEvent: {"session": "s1", "text": "done"},
    ev.SessionFinished: {"session": "s1", "feature": 2, "stop": "max_turns",
                         "message": "--max-turns 30 reached", "turns": 30,
                         "cost_usd": 0.25, "duration_s": 61.2},
    ev.IntegrityViolation: {"session": "s1", "violations": ["feature count changed from 3 to 2"]},
    ev.CheckEvent: {"feature": 2, "command": "pytest -q", "ok": False, "output": "a\nE assert 1 == 2\n1 failed",
                    "duration_s": 1.5, "gate": True},
    ev.TestsCollected: {"feature": 2, "runner": "pytest", "command": "pytest --collect-only -q", "ok": True,
                        "count": 5, "before": 4, "duration_s": 0.4},
    ev.TestsRefused: {"feature": 2, "refused": ["tests/test_a.py"], "restored": ["tests/test_a.py"],
                      "claimed": True},
    ev.Regression: {"feature": 3, "owners": [1], "restored": ["app.py"]},
    ev.FeatureVerdict: {"session": "s1", "feature": 2, "verdict": "accepted", "accepted": [2], "passing": 2,
                        "total": 3, "violations": [], "tests_refused": [], "tests_changed": [], **SUMMARY},
    ev.Forecast: {"passing": 3, "total": 10, "spent_usd": 0.3, "budget_usd": 1.0, "remaining_usd": INTERVAL,
                  "total_usd": 1.0, "total_low_usd": 0.8, "total_high_usd": 1.2, "per_feature_usd": 0.1,
                  "prior_usd": None, "remaining_s": SECONDS, "features_left": 7},
    ev.BudgetWarning: {"forecast_usd": 2.5, "high_usd": 3.0, "budget_usd": 2.0, "spent_usd": 0.3,
                       "features_left": 7, "message": "the forecast total ~$2.5000 passes --max-budget-usd"},
    ev.MergeConflict: {"worker": 1, "feature": 3, "files": ["app.py"]},
    ev.Merged: {"worker": 2, "feature": 5, "commit": "abc123"},
    ev.ReplayDivergence: {"session": 1, "step": 2, "seq": 3, "served": True, "diff": "- a\n+ b"},
}


def sample(kind: type[E], **fields: Any) -> E:
    """The sample of ``kind`` with ``fields`` changed (only the given fields are set)."""
    return kind.model_validate({**SAMPLES[kind], **fields})
