"""What a new user meets in a live build: Ctrl-C then resume, a closed pipe, a bad endpoint."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ScriptedModel, build_args, feature_steps, init_script, simple_features

pytestmark = pytest.mark.e2e
PRICED = {"price_in": 3.0, "price_out": 15.0}


def _autocode(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True,
                          timeout=120)


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "agent", *args], stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)


def _wait_for(scripted: ScriptedModel, script: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r["script"] == script for r in scripted.requests()):
            return
        time.sleep(0.05)
    raise AssertionError(f"script {script} never started")


def _hang_after_init(scripted: ScriptedModel) -> None:
    scripted.set({"scripts": [init_script(simple_features("Alpha")),
                              {"name": "hang", "match": "\nAlpha\n", "steps": [{"sleep": "forever"}]}]})


def test_ctrl_c_session_is_counted_listed_costed_and_resume_starts_from_the_record(
        scripted: ScriptedModel, project: Path, tmp_path: Path) -> None:
    _hang_after_init(scripted)
    log = tmp_path / "out.log"
    proc = _start(build_args(project, scripted, spec_text="x", **PRICED), log)
    _wait_for(scripted, "hang")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130, log.read_text()
    status = json.loads(_autocode("status", "-p", str(project), "--json").stdout)
    assert status["sessions"] == 2 and status["interrupted_sessions"] == 1
    assert status["cost_usd"] > 0 and status["elapsed_s"] > 0
    listing = _autocode("logs", "-p", str(project)).stdout.splitlines()
    rows = [line for line in listing if line.startswith("ses_")]
    assert len(rows) == 2 and "initializer" in rows[0] and "interrupted" in rows[1], listing
    assert f"${status['cost_usd']:.4f} in all" in listing[-1]
    text = _autocode("status", "-p", str(project)).stdout
    assert "(1 interrupted)" in text and "interrupted: interrupted" not in text
    scripted.set({"scripts": [{"name": "ok", "match": "\nAlpha\n", "steps": feature_steps(0)}]})
    again = _autocode(*build_args(project, scripted, **PRICED))
    assert again.returncode == 0, again.stderr
    first = [line.split(" ", 1)[1] for line in again.stdout.splitlines()]  # after the time stamp
    resumed = [line for line in first if line.startswith("resuming:")]
    assert resumed == [f"resuming: 0/1 passing, ${status['cost_usd']:.4f} spent, 2 sessions so far "
                       "(1 interrupted), 0 denied"]


def test_a_killed_run_keeps_its_elapsed_time_and_its_cost_shows_in_logs(
        scripted: ScriptedModel, project: Path, tmp_path: Path) -> None:
    _hang_after_init(scripted)
    proc = _start(build_args(project, scripted, spec_text="x", **PRICED), tmp_path / "out.log")
    _wait_for(scripted, "hang")
    proc.kill()
    proc.wait(timeout=30)
    state = json.loads((project / ".autocode" / "state.json").read_text())
    assert state["elapsed_s"] > 0 and state["current"] is not None
    scripted.set({"scripts": [{"name": "ok", "match": "\nAlpha\n", "steps": feature_steps(0)}]})
    again = _autocode(*build_args(project, scripted, **PRICED))
    assert again.returncode == 0, again.stderr
    assert any(line.split(" ", 1)[1].startswith("resuming: 0/1 passing") for line in again.stdout.splitlines())
    status = json.loads(_autocode("status", "-p", str(project), "--json").stdout)
    listing = _autocode("logs", "-p", str(project)).stdout.splitlines()
    assert f"${status['cost_usd']:.4f} in all" in listing[-1], listing


def test_a_closed_stdout_does_not_stop_the_build(scripted: ScriptedModel, project: Path) -> None:
    scripted.set({"scripts": [init_script(simple_features("Alpha", "Beta")),
                              {"name": "a", "match": "\nAlpha\n", "steps": feature_steps(0)},
                              {"name": "b", "match": "\nBeta\n", "steps": feature_steps(1, "touch b && ")}]})
    proc = subprocess.Popen([sys.executable, "-m", "agent", *build_args(project, scripted, spec_text="x")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()  # `| head -1`: read one line, then go away
    proc.stdout.close()
    assert proc.wait(timeout=180) == 0
    err = proc.stderr.read().decode()
    assert "Broken pipe" not in err and "Traceback" not in err, err
    state = json.loads((project / ".autocode" / "state.json").read_text())
    assert state["passing"] == [0, 1] and state["stop_reason"] == "complete"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_endpoint_fails_at_once_naming_the_url(project: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    (project / "app_spec.txt").write_text("x")
    result = _autocode("build", "-p", str(project), "--model", "custom/m", "--base-url", url)
    assert result.returncode == 5, result.stderr
    assert url in result.stderr and "provider_retry" not in result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    doctor = _autocode("doctor", "-p", str(project), "--model", "custom/m", "--base-url", url)
    assert doctor.returncode != 0 and url in doctor.stdout


def test_a_rejected_key_fails_at_once_naming_the_variable(
        scripted: ScriptedModel, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scripted.set({"api_key": "right", "scripts": []})
    monkeypatch.setenv("MY_KEY", "wrong")
    (project / "app_spec.txt").write_text("x")
    result = _autocode("build", "-p", str(project), "--model", "custom/m", "--base-url", scripted.url,
                       "--api-key-env", "MY_KEY")
    assert result.returncode == 5 and "MY_KEY" in result.stderr, result.stderr


def test_a_failing_feature_explains_itself_in_the_output_status_and_report(
        scripted: ScriptedModel, project: Path) -> None:
    features = [{"category": "functional", "description": "Alpha", "steps": ["works"], "passes": False,
                 "id": "alpha", "verify": "echo 'E   assert greet() == hello' && false"},
                {"category": "functional", "description": "Beta", "steps": ["works"], "passes": False,
                 "depends_on": ["alpha"]}]
    scripted.set({"scripts": [init_script(features),
                              {"name": "a", "match": "\nAlpha\n", "steps": feature_steps(0)}]})
    (project / "autocode.toml").write_text("no_progress_limit = 1\n")
    result = _autocode(*build_args(project, scripted, spec_text="x"))
    assert result.returncode == 3, result.stderr
    assert "2 features left: #1 not finished in 1 session; #2 wait for #1" in result.stderr
    out = result.stdout
    assert "check echo" in out and "FAILED" in out and "| E   assert greet() == hello" in out
    assert "session done: " in out
    assert "feature 1: rejected: marked done, but autocode's check failed (0/2 passing)" in out
    status = _autocode("status", "-p", str(project)).stdout
    assert "blocked   #2 waits for #1" in status and "last failing check of #1:" in status
    assert "  | E   assert greet() == hello" in status
    page = Path(_autocode("report", "-p", str(project)).stdout.strip()).read_text()
    assert "waits for #1" in page and "assert greet() == hello" in page


def test_a_tournament_marks_an_unpriced_model(scripted: ScriptedModel, project: Path, tmp_path: Path) -> None:
    from tests.e2e.test_tournament import _candidate, _git

    _git(project, "init", "-q", "-b", "main")
    (project / "README").write_text("x")
    _git(project, "add", "-A")
    _git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    scripted.set({"scripts": [_candidate("solo", "def add(a, b):\n    return a + b\n")]})
    task = tmp_path / "task.txt"
    task.write_text("Implement add(a, b) in calc.py")
    args = ["tournament", "-p", str(project), "--models", "scripted/solo", "--task", str(task),
            "--max-budget-usd", "1", "--base-url", scripted.url]
    table = _autocode(*args)
    assert table.returncode == 0 and "UNPRICED" in table.stdout, table.stdout + table.stderr
    _git(project, "branch", "-D", *_git(project, "branch", "--list", "autocode/tournament/*").split())
    data = json.loads(_autocode(*args, "--json").stdout)
    assert data["candidates"][0]["priced"] is False
