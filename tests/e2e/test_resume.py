"""Resume after the harness is killed with SIGKILL mid-session (subprocess, real everything)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.demo import demo_scenario, demo_spec
from agent.state import StateStore, read_jsonl
from agent.status import build_status
from tests.e2e.conftest import ScriptedModel, build_args

pytestmark = pytest.mark.e2e


def _autocode(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "agent", *args], stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def _in_session_for(project: Path, feature: int) -> bool:
    try:
        state = json.loads((project / ".autocode" / "state.json").read_text())
    except (OSError, ValueError):
        return False
    return bool(state.get("current")) and state["current"]["feature"] == feature


@pytest.mark.slow
def test_sigkill_mid_session_then_resume_completes(scripted: ScriptedModel, project: Path,
                                                   tmp_path: Path) -> None:
    scenario = demo_scenario()
    # Feature 2's session: its first model reply is slow, so the kill lands mid-session.
    scenario["scripts"][2]["steps"][0]["latency_s"] = 2.0
    scripted.set(scenario)
    args = build_args(project, scripted, spec_text=demo_spec())
    log = tmp_path / "autocode.log"
    first = _autocode(args, log)
    _wait_for(lambda: _in_session_for(project, 1), timeout=120)
    time.sleep(0.5)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    server_log = StateStore(project).server_dir / "opencode-server.log"
    assert server_log.exists()
    before = build_status(project)
    assert before["features_passing"] == 1
    state = json.loads((project / ".autocode" / "state.json").read_text())
    assert state["current"]["feature"] == 1  # the interrupted session is not counted as done

    second = _autocode(args, log)
    assert second.wait(timeout=240) == 0, log.read_text()[-3000:]
    after = build_status(project)
    assert after["features_passing"] == 4 and after["interrupted_sessions"] == 1
    progress = read_jsonl(project / ".autocode" / "progress.jsonl")
    verdicts = [(r["feature"], r["verdict"]) for r in progress if r["kind"] == "verdict"]
    assert sorted(v for v in verdicts if v[1] == "accepted") == [(0, "accepted"), (1, "accepted"),
                                                                 (2, "accepted"), (3, "accepted")]
    assert [r for r in progress if r["kind"] == "interrupted"] == [
        {"kind": "interrupted", "feature": 1, "time": progress[[r["kind"] for r in progress].index(
            "interrupted")]["time"]}]
    assert after["cost_usd"] >= before["cost_usd"]
