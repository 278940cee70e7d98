"""A tournament of three scripted "models" of different quality, through the real server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import app
from tests.e2e.conftest import ScriptedModel

pytestmark = pytest.mark.e2e

SCORE = "python3 -m pytest -q tests"
TEST = ("from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
        "def test_neg():\n    assert add(-1, 1) == 0\n")


def _candidate(model: str, code: str, extra_steps: int = 0) -> dict[str, Any]:
    steps = [{"tool": "bash", "args": {"command": "ls", "description": "look"}}] * extra_steps
    steps += [{"tool": "write", "args": {"filePath": "{cwd}/calc.py", "content": code}}, {"text": "done"}]
    return {"name": model, "match": "Implement add", "model": f"^{model}$", "steps": steps}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
def test_best_scoring_model_wins_within_its_share_and_worktrees_are_cleaned(
        scripted: ScriptedModel, project: Path, tmp_path: Path) -> None:
    _git(project, "init", "-q", "-b", "main")
    (project / "tests").mkdir()
    (project / "tests" / "test_calc.py").write_text(TEST)
    _git(project, "add", "-A")
    _git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    scripted.set({"usage": {"prompt_tokens": 1000, "completion_tokens": 100}, "scripts": [
        _candidate("good", "def add(a, b):\n    return a + b\n"),
        _candidate("half", "def add(a, b):\n    return abs(a) + abs(b)\n"),
        _candidate("bad", "def add(a, b):\n    return 0\n", extra_steps=30)]})
    task = tmp_path / "task.txt"
    task.write_text("Implement add(a, b) in calc.py")
    budget = 0.03  # $0.01 each, about 3 steps at $0.003
    result = CliRunner().invoke(app, [
        "tournament", "-p", str(project), "--models", "scripted/bad,scripted/half,scripted/good",
        "--task", str(task), "--max-budget-usd", str(budget), "--score-cmd", SCORE,
        "--base-url", scripted.url, "--price-in", "2", "--price-out", "10", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    by_model = {c["model"]: c for c in data["candidates"]}
    assert data["winner"]["model"] == "scripted/good"
    assert by_model["scripted/good"]["score"] == 2 and by_model["scripted/good"]["score_ok"]
    assert by_model["scripted/half"]["score"] == 1 and not by_model["scripted/half"]["score_ok"]
    assert by_model["scripted/bad"]["stop_reason"] == "budget"
    for candidate in data["candidates"]:
        assert candidate["cost"] < data["share_usd"] + 0.003 + 1e-9
    assert _git(project, "worktree", "list").count("\n") == 1  # only the main worktree
    branches = _git(project, "branch", "--list", "autocode/tournament/*").split()
    assert branches == [data["winner"]["branch"]]
    assert "return a + b" in _git(project, "show", f"{data['winner']['branch']}:calc.py")
    assert not (project / "calc.py").exists()  # not applied
    assert {r["model"] for r in scripted.requests()} == {"bad", "half", "good"}
