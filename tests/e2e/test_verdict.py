"""Verification that cannot be gamed: protected tests and the regression gate, end to end."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agent.errors import NoProgress
from tests.e2e.conftest import ScriptedModel, feature_steps, init_script, run_direct

pytestmark = pytest.mark.e2e

ONE_TEST = "from one import one\n\ndef test_one():\n    assert one() == 1\n"
FEATURES = [{"category": "functional", "description": name, "steps": ["works"], "passes": False}
            for name in ("One", "Two")]


def _write(path: str, content: str) -> dict[str, Any]:
    return {"tool": "write", "args": {"filePath": f"{{cwd}}/{path}", "content": content}}


def _honest_one() -> dict[str, Any]:
    return {"name": "one", "match": "\nOne\n", "steps": [
        {"text": "writing", "tool_calls": [_write("one.py", "def one():\n    return 1\n"),
                                           _write("tests/test_one.py", ONE_TEST)]},
        *feature_steps(0, "")]}


def _shown(project: Path, path: str) -> str:
    return subprocess.run(["git", "show", f"HEAD:{path}"], cwd=project, capture_output=True,
                          text=True, check=True).stdout


def _build(scripted: ScriptedModel, project: Path, cheat: list[dict[str, Any]],
           features: list[dict[str, Any]] = FEATURES) -> tuple[Any, BaseException | None]:
    scripted.set({"scripts": [init_script(features, "python3 -m pytest -q"), _honest_one(),
                              {"name": "two", "match": "\nTwo\n", "steps": cheat}]})
    return run_direct(project, scripted)


@pytest.mark.parametrize("tamper", ["rm tests/test_one.py && ", ": > tests/test_one.py && "])
def test_deleting_or_emptying_an_accepted_test_is_refused_and_restored(
        scripted: ScriptedModel, project: Path, tamper: str) -> None:
    events, stop = _build(scripted, project, feature_steps(1, tamper))
    assert isinstance(stop, NoProgress) and stop.exit_code == 3, stop
    verdicts = events.named("feature_verdict")
    assert [v["verdict"] for v in verdicts] == ["accepted", "rejected", "rejected", "rejected"]
    assert all(v["tests_refused"] == ["tests/test_one.py"] for v in verdicts[1:])
    assert (project / "tests" / "test_one.py").read_text() == ONE_TEST  # restored in the tree
    assert _shown(project, "tests/test_one.py") == ONE_TEST
    state = json.loads((project / ".autocode" / "state.json").read_text())
    why = state["last_failure"]["1"]  # the next prompt's `last_failure`
    assert ("deleted: tests/test_one.py" in why or "emptied: tests/test_one.py" in why) and "restored" in why


def test_breaking_an_accepted_feature_behind_a_narrow_verify_is_refused(
        scripted: ScriptedModel, project: Path) -> None:
    features = [FEATURES[0], {**FEATURES[1], "verify": "test -f two.txt"}]
    cheat = feature_steps(1, "touch two.txt && echo 'def one():\n    return 2' > one.py && ")
    events, stop = _build(scripted, project, cheat, features)
    assert isinstance(stop, NoProgress) and stop.exit_code == 3, stop
    assert [v["verdict"] for v in events.named("feature_verdict")] == ["accepted"] + ["rejected"] * 3
    checks = [c for c in events.named("check") if c["feature"] == 2]
    assert {c["command"] for c in checks} == {"test -f two.txt", "python3 -m pytest -q"}
    assert not any(c["ok"] for c in checks if c["command"] == "python3 -m pytest -q")
    assert _shown(project, "one.py") == "def one():\n    return 1\n"
    subjects = subprocess.run(["git", "log", "--format=%s"], cwd=project, capture_output=True,
                              text=True).stdout
    assert "feature 2 passes" not in subjects


def test_an_honest_build_with_a_narrow_verify_is_accepted(scripted: ScriptedModel, project: Path) -> None:
    features = [FEATURES[0], {**FEATURES[1], "verify": "test -f two.txt"}]
    events, stop = _build(scripted, project, feature_steps(1, "touch two.txt && "), features)
    assert stop is not None and stop.exit_code == 0, stop
    assert [v["verdict"] for v in events.named("feature_verdict")] == ["accepted", "accepted"]
