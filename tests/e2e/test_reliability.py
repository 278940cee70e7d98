"""Faults injected end to end (real OpenCode + scripted model): each ends in a clean stop or resume."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from agent.errors import AuthError, NoProgress, ProviderError
from agent.state import StateStore, read_jsonl
from agent.status import build_status
from tests.e2e.conftest import ScriptedModel, feature_steps, init_script, run_direct, simple_features

pytestmark = pytest.mark.e2e


def test_a_burst_of_provider_errors_is_ridden_out(scripted: ScriptedModel, project: Path) -> None:
    steps = feature_steps(0)
    steps[0] = {**steps[0], "error": 500, "type": "server_error", "fail_first": 2}
    scripted.set({"scripts": [init_script(simple_features("Alpha")),
                              {"name": "f", "match": "\nAlpha\n", "steps": steps}]})
    events, stop = run_direct(project, scripted)
    assert stop is not None and stop.kind == "complete", stop
    errors = [r for r in scripted.requests() if r["reply"].get("error")]
    assert len(errors) == 2
    assert len(events.named("provider_retry")) >= 2
    assert build_status(project)["features_passing"] == 1


def test_a_persistent_outage_stops_cleanly_and_resumably(scripted: ScriptedModel, project: Path) -> None:
    scripted.set({"scripts": [init_script(simple_features("Alpha")),
                              {"name": "f", "match": "\nAlpha\n", "steps": [
                                  {"error": 503, "type": "server_error", "message": "down"}]}]})
    events, stop = run_direct(project, scripted, limits={"max_provider_retries": 1},
                              provider_failures=2, provider_backoff_s=0.2)
    assert isinstance(stop, ProviderError) and not isinstance(stop, AuthError), stop
    assert "failed 2 sessions in a row" in str(stop)
    backoffs = events.named("provider_backoff")
    assert [b["seconds"] for b in backoffs] == [0.2]  # the configured first wait, between the 2 sessions
    state = json.loads((project / ".autocode" / "state.json").read_text())
    assert state["stop_reason"] == "provider" and state["current"] is None and state["initialized"]


def test_an_auth_error_stops_at_once_naming_the_provider(scripted: ScriptedModel, project: Path) -> None:
    scripted.set({"scripts": [{"name": "init", "match": "You are the initializer", "steps": [
        {"error": 401, "type": "invalid_request_error", "message": "Invalid API key"}]}]})
    events, stop = run_direct(project, scripted)
    assert isinstance(stop, AuthError), stop
    assert "check your API key for scripted" in str(stop)
    assert not events.named("provider_backoff") and not events.named("provider_retry")  # no waiting
    assert len(scripted.requests()) == 1  # never retried


def test_a_hung_session_is_aborted_by_the_idle_timeout_and_the_build_goes_on(
        scripted: ScriptedModel, project: Path) -> None:
    scripted.set({"scripts": [
        init_script(simple_features("Hangs", "Works")),
        {"name": "hang", "match": "\nHangs\n", "steps": [{"sleep": "forever"}]},
        {"name": "ok", "match": "\nWorks\n", "steps": feature_steps(1)}]})
    events, stop = run_direct(project, scripted, limits={"idle_timeout": 3}, no_progress_limit=1)
    assert isinstance(stop, NoProgress), stop
    sessions = [r for r in read_jsonl(project / ".autocode" / "progress.jsonl") if r["kind"] == "session"]
    assert [s["stop"] for s in sessions] == ["idle", "idle_timeout", "idle"]
    assert [e["verdict"] for e in events.named("feature_verdict")] == ["not_done", "accepted"]


def test_a_hung_bash_command_is_cut_by_the_session_timeout(scripted: ScriptedModel, project: Path) -> None:
    scripted.set({"scripts": [
        init_script(simple_features("Sleepy")),
        {"name": "sleepy", "match": "\nSleepy\n", "steps": [
            {"tool": "bash", "args": {"command": "sleep 600", "description": "hang"}}]}]})
    _, stop = run_direct(project, scripted, limits={"session_timeout": 4, "max_iterations": 1})
    assert stop is not None and stop.kind == "max_iterations", stop
    sessions = [r for r in read_jsonl(project / ".autocode" / "progress.jsonl") if r["kind"] == "session"]
    assert sessions[-1]["stop"] == "session_timeout"
    assert sessions[-1]["duration_s"] < 600  # cut by the timeout, not ended by the sleep


def test_the_server_killed_mid_session_is_restarted_and_the_feature_finished(
        scripted: ScriptedModel, project: Path) -> None:
    steps = feature_steps(0)
    steps[0] = {**steps[0], "latency_s": 1.5}
    scripted.set({"scripts": [init_script(simple_features("Alpha")),
                              {"name": "f", "match": "\nAlpha\n", "steps": steps}]})

    def killer() -> None:  # kill the OpenCode server once the feature's first request arrives
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(r["script"] == "f" for r in scripted.requests()):
                pid = int(next(line for line in _server_pids(project)))
                os.killpg(pid, signal.SIGKILL)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    events, stop = run_direct(project, scripted)
    thread.join(5)
    assert stop is not None and stop.kind == "complete", stop
    assert len(events.named("server_restart")) == 1
    ready = events.named("server_ready")
    assert len(ready) == 2 and ready[0]["pid"] != ready[1]["pid"]
    assert build_status(project)["features_passing"] == 1


def _server_pids(project: Path) -> list[str]:
    log = StateStore(project).server_dir / "server.pid"
    return [log.read_text().strip()] if log.exists() else []
