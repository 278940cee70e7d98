"""Ctrl-C and SIGTERM on a real `autocode build` process: graceful first, immediate second."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ScriptedModel, build_args, feature_steps, init_script, simple_features

pytestmark = pytest.mark.e2e


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "agent", *args], stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)


def _wait_in_session(project: Path, scripted: ScriptedModel, script: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r["script"] == script for r in scripted.requests()):
            return
        time.sleep(0.05)
    raise AssertionError("the session never started")


def _hanging_scenario() -> dict[str, object]:
    return {"scripts": [init_script(simple_features("Alpha")),
                        {"name": "hang", "match": "\nAlpha\n", "steps": [{"sleep": "forever"}]}]}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_first_signal_aborts_the_session_saves_and_exits_130(
        sig: signal.Signals, scripted: ScriptedModel, project: Path, tmp_path: Path) -> None:
    scripted.set(_hanging_scenario())
    log = tmp_path / "out.log"
    proc = _start(build_args(project, scripted, spec_text="x"), log)
    _wait_in_session(project, scripted, "hang")
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == 130, log.read_text()  # the hung session did not hold it up
    assert "interrupted" in log.read_text()
    state = json.loads((project / ".autocode" / "state.json").read_text())
    assert state["stop_reason"] == "interrupted" and state["current"] is None
    # and the same command resumes to the end
    scripted.set({"scripts": [{"name": "ok", "match": "\nAlpha\n", "steps": feature_steps(0)}]})
    again = _start(build_args(project, scripted), log)
    assert again.wait(timeout=120) == 0, log.read_text()[-2000:]


def test_second_ctrl_c_exits_at_once_without_corrupting_state(
        scripted: ScriptedModel, project: Path, tmp_path: Path) -> None:
    scripted.set(_hanging_scenario())
    log = tmp_path / "out.log"
    proc = _start(build_args(project, scripted, spec_text="x"), log)
    _wait_in_session(project, scripted, "hang")
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 130
    json.loads((project / ".autocode" / "state.json").read_text())  # still parses
