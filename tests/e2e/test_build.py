"""The build loop end to end: real OpenCode, the scripted model, the real CLI entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.demo import FEATURES, demo_scenario, demo_spec
from agent.status import build_status
from tests.e2e.conftest import ScriptedModel, build_args, mark_command

pytestmark = pytest.mark.e2e


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _json_events(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def _git_subjects(project: Path) -> list[str]:
    out = subprocess.run(["git", "log", "--format=%s"], cwd=project, capture_output=True, text=True)
    return out.stdout.splitlines()


@pytest.mark.slow
def test_demo_scenario_builds_all_features_with_one_commit_each(
        scripted: ScriptedModel, project: Path) -> None:
    scripted.set(demo_scenario())
    args = build_args(project, scripted, spec_text=demo_spec(), json=True, price_in=3, price_out=15)
    proc = subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [json.loads(line) for line in proc.stdout.splitlines()]  # every stdout line is JSON
    assert all(e["schema"] == 1 and isinstance(e["time"], float) for e in events)
    verdicts = [e for e in events if e["event"] == "feature_verdict"]
    assert [v["verdict"] for v in verdicts] == ["accepted"] * 4
    accepted = {f for v in verdicts for f in v["accepted"]}
    assert len(verdicts) == len(accepted) == 4  # the stream tells the whole story
    assert events[0]["event"] == "build_started" and events[-1]["event"] == "stopped"
    assert events[-1]["reason"] == "complete" and events[-1]["exit_code"] == 0
    names = {e["event"] for e in events}
    assert {"session_started", "tool", "permission", "step", "check", "initialized"} <= names
    steps_cost = sum(e["cost"] for e in events if e["event"] == "step")
    subjects = _git_subjects(project)
    for number in range(1, len(FEATURES) + 1):
        assert sum(s.startswith(f"autocode: feature {number} passes") for s in subjects) == 1, subjects
    features = json.loads((project / "feature_list.json").read_text())
    assert [f["passes"] for f in features] == [True] * 4
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=project, capture_output=True)
    assert tests.returncode == 0, tests.stdout
    status = build_status(project)
    assert status["features_passing"] == 4 and status["features_total"] == 4
    assert status["sessions"] == 5 and status["next_feature"] is None
    assert status["stop_reason"] == "complete"
    assert status["cost_usd"] > 0 and abs(status["cost_usd"] - steps_cost) < 1e-9
    assert scripted.models() == {"model-a"}
    code, text = _cli("status", "--project-dir", str(project))
    assert code == 0 and "4/4 passing" in text
    _check_report_and_logs(project, status)


def test_the_demo_command_builds_offline_with_no_key(tmp_path: Path) -> None:
    """The README's first command: `autocode demo` starts its own scripted model, builds the
    bundled spec through the real server, and every feature lands (the variables the other
    e2e tests set for speed are left out: the demo sets what it needs itself)."""
    left_out = ("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "AUTOCODE_SANDBOX_ENV")
    env = {k: v for k, v in os.environ.items() if k not in left_out and not k.endswith("_API_KEY")}
    demo = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "agent", "demo", "-p", str(demo), "--json"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["verdict"] for e in events if e["event"] == "feature_verdict"] == ["accepted"] * 4
    assert events[-1]["event"] == "stopped" and events[-1]["reason"] == "complete"
    assert "the model is SCRIPTED" in proc.stderr and "demo complete" in proc.stderr
    assert sum(s.startswith("autocode: feature ") for s in _git_subjects(demo)) == 4


def _check_report_and_logs(project: Path, status: dict[str, Any]) -> None:
    code, out = _cli("report", "-p", str(project))
    assert code == 0
    page = Path(out.strip()).read_text()
    data = json.loads(page.split('id="report-data">', 1)[1].split("</script>", 1)[0].replace("<\\/", "</"))
    assert len(data["sessions"]) == status["sessions"] == 5
    assert [s["passing"] for s in data["sessions"]] == [0, 1, 2, 3, 4]
    assert abs(data["sessions"][-1]["cumulative_cost"] - status["cost_usd"]) < 1e-6
    assert page.count("<circle") == 2 * 5  # one dot per session on each chart
    assert [f["verdicts"] for f in data["features"]] == [["accepted"]] * 4
    table_cost = data["initializer"]["cost"] + sum(f["cost"] for f in data["features"])
    assert data["initializer"]["sessions"] == 1 and abs(table_cost - status["cost_usd"]) < 1e-6
    assert data["summary"]["model"] == status["model"] and data["summary"]["stop_reason"] == "complete"
    assert "initializer (feature list, skeleton)" in page and "last stop: complete" in page
    code, listing = _cli("logs", "-p", str(project))
    rows = [line for line in listing.splitlines() if line.startswith("ses_")]
    assert code == 0 and len(rows) == 5 and "initializer" in rows[0] and "initialized" in rows[0]
    assert all("accepted" in row for row in rows[1:]) and f"${status['cost_usd']:.4f} in all" in listing
    code, transcript = _cli("logs", "-p", str(project), "--feature", "2")
    assert code == 0 and "List all tasks with status" in transcript and "[write]" in transcript
    assert "-- autocode verdict: feature 2 accepted" in transcript and "-- autocode check" in transcript
    assert _cli("logs", "-p", str(project), "--feature", "9")[0] == 2
    assert "[bash] python3 -m pytest -q tests/test_list.py -> completed" in transcript


def _init_steps(features_json: str) -> list[dict[str, Any]]:
    return [
        {"tool_calls": [
            {"tool": "write", "args": {"filePath": "{cwd}/feature_list.json", "content": features_json}},
            {"tool": "write", "args": {"filePath": "{cwd}/init.sh",
                                       "content": "#!/bin/sh\n# autocode-test: test -f ok.txt\n"}}]},
        {"text": "initialized"},
    ]


TWO = [{"category": "functional", "description": "Make ok file", "steps": ["ok.txt exists"],
        "passes": False},
       {"category": "functional", "description": "Make readme", "steps": ["README exists"],
        "passes": False, "verify": "test -f README"}]


def test_initializer_is_re_prompted_until_the_feature_list_is_valid(
        scripted: ScriptedModel, project: Path) -> None:
    fixed = {"tool": "write", "args": {"filePath": "{cwd}/feature_list.json",
                                       "content": json.dumps(TWO)}}
    scripted.set({"scripts": [
        {"name": "init", "match": "You are the initializer",
         "steps": [*_init_steps("[{not json"), fixed, {"text": "fixed"}]},
        {"name": "f1", "match": "\nMake ok file\n", "steps": [
            {"tool": "bash", "args": {"command": mark_command(0, "touch ok.txt && "), "description": "x"}},
            {"text": "done"}]},
        {"name": "f2", "match": "\nMake readme\n", "steps": [
            {"tool": "bash", "args": {"command": mark_command(1, "touch README && "), "description": "x"}},
            {"text": "done"}]},
    ]})
    code, output = _cli(*build_args(project, scripted, spec_text="two features", json=True))
    assert code == 0, output
    events = _json_events(output)
    invalid = [e for e in events if e["event"] == "feature_list_invalid"]
    assert len(invalid) == 1 and "not valid JSON" in invalid[0]["problems"]
    fix_requests = [r for r in scripted.requests() if r["script"] == "init"]
    assert len(fix_requests) == 4  # 2 steps, then the follow-up prompt in the same session
    assert build_status(project)["features_passing"] == 2


def test_invalid_feature_list_after_retries_is_a_clear_error(
        scripted: ScriptedModel, project: Path) -> None:
    scripted.set({"scripts": [{"name": "init", "match": "You are the initializer",
                               "steps": _init_steps("[]")}],
                  "fallback": {"text": "I will not fix it"}})
    code, output = _cli(*build_args(project, scripted, spec_text="x"))
    assert code == 2
    assert "0 features" in output


def test_tampering_is_reverted_and_a_failing_mark_is_flipped_back(
        scripted: ScriptedModel, project: Path) -> None:
    tampered = json.dumps([{**TWO[0], "passes": True, "description": "Make ok file (easier)"}])
    scripted.set({"scripts": [
        {"name": "init", "match": "You are the initializer", "steps": _init_steps(json.dumps(TWO))},
        # Session 1 deletes feature 2 and edits feature 1 while marking it: reverted, not accepted.
        {"name": "tamper", "match": "\nMake ok file\n", "model": "model-a", "steps": [
            {"tool": "write", "args": {"filePath": "{cwd}/feature_list.json", "content": tampered}},
            {"text": "done"}]},
    ], "fallback": {"text": "nothing"}})
    code, output = _cli(*build_args(project, scripted, spec_text="x", json=True, max_iterations=1))
    assert code == 3, output
    features = json.loads((project / "feature_list.json").read_text())
    assert [f["description"] for f in features] == ["Make ok file", "Make readme"]
    assert [f["passes"] for f in features] == [False, False]
    violations = [e for e in _json_events(output) if e["event"] == "integrity_violation"]
    assert violations and "feature count changed from 2 to 1" in violations[0]["violations"]

    # Session 2 marks feature 1 passing without creating ok.txt: the check fails, mark flipped back.
    scripted.set({"scripts": [{"name": "liar", "match": "\nMake ok file\n", "steps": [
        {"tool": "bash", "args": {"command": mark_command(0), "description": "mark"}},
        {"text": "done (not really)"}]}], "fallback": {"text": "nothing"}})
    code, output = _cli(*build_args(project, scripted, json=True, max_iterations=1))
    assert code == 3, output
    verdicts = [e for e in _json_events(output) if e["event"] == "feature_verdict"]
    assert verdicts[-1]["verdict"] == "rejected"
    assert json.loads((project / "feature_list.json").read_text())[0]["passes"] is False
    state = json.loads((project / ".autocode" / "state.json").read_text())
    assert "test -f ok.txt" in state["last_failure"]["0"]
    # The next session's prompt carries the failing check's output.
    scripted.set({"scripts": [{"name": "honest", "match": "autocode's own check failed", "steps": [
        {"tool": "bash", "args": {"command": mark_command(0, "touch ok.txt && "), "description": "fix"}},
        {"text": "fixed"}]}], "fallback": {"text": "nothing"}})
    code, output = _cli(*build_args(project, scripted, json=True, max_iterations=1))
    assert code == 3, output
    assert build_status(project)["features_passing"] == 1


def test_a_second_build_on_the_same_project_is_refused(scripted: ScriptedModel, project: Path) -> None:
    from agent.state import StateStore

    (project / "app_spec.txt").write_text("x")
    with StateStore(project).locked():
        code, output = _cli(*build_args(project, scripted))
    assert code == 2
    assert "another autocode build is running" in output
