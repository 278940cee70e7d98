"""Verification that cannot be gamed: protected tests and the regression gate, end to end."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agent.errors import NoProgress
from agent.report import report_data
from agent.status import build_status
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
    why = json.loads((project / ".autocode" / "state.json").read_text())["last_failure"]["1"]
    assert "belongs to the accepted feature 1" in why and "one.py" in why  # owned, and undone:
    assert (project / "one.py").read_text() == "def one():\n    return 1\n"
    assert (project / "two.txt").exists()  # the rest of the session's work stays
    assert [r["owners"] for r in events.named("regression")] == [[1]] * 3
    shown = "\n".join(build_status(project)["last_verdicts"][-1]["evidence"])  # status and the report
    assert "check `test -f two.txt`: ok" in shown and "gate `python3 -m pytest -q`: FAILED" in shown
    assert "regression gate FAILED" in shown and "belongs to feature 1; restored one.py" in shown
    assert "regression gate passed" in "\n".join(report_data(project)["features"][0]["evidence"])


def test_an_honest_build_with_a_narrow_verify_is_accepted(scripted: ScriptedModel, project: Path) -> None:
    features = [FEATURES[0], {**FEATURES[1], "verify": "test -f two.txt"}]
    events, stop = _build(scripted, project, feature_steps(1, "touch two.txt && "), features)
    assert stop is not None and stop.exit_code == 0, stop
    assert [v["verdict"] for v in events.named("feature_verdict")] == ["accepted", "accepted"]


WEAK_ONE = "def test_one():\n    assert True\n"
TWO_TEST = "from two import two\n\ndef test_two():\n    assert two() == 2\n"


def _two_with(*writes: dict[str, Any], extra: str = "") -> list[dict[str, Any]]:
    return [{"text": "writing", "tool_calls": [_write("two.py", "def two():\n    return 2\n"), *writes]},
            *feature_steps(1, extra)]


def test_weakening_an_accepted_test_is_refused_because_its_accepted_version_fails(
        scripted: ScriptedModel, project: Path) -> None:
    """The brief's mechanical meaning of "weakened": the accepted version must still pass."""
    cheat = _two_with(_write("one.py", "def one():\n    return 2\n"), _write("tests/test_one.py", WEAK_ONE),
                      _write("tests/test_two.py", TWO_TEST))
    events, stop = _build(scripted, project, cheat)
    assert isinstance(stop, NoProgress) and stop.exit_code == 3, stop
    assert [v["verdict"] for v in events.named("feature_verdict")] == ["accepted"] + ["rejected"] * 3
    assert any(c.get("accepted_tests") == ["tests/test_one.py"] and not c["ok"] for c in events.named("check"))
    assert _shown(project, "tests/test_one.py") == ONE_TEST
    assert (project / "tests" / "test_one.py").read_text() == ONE_TEST  # restored in the tree too
    assert _shown(project, "one.py") == "def one():\n    return 1\n"
    why = json.loads((project / ".autocode" / "state.json").read_text())["last_failure"]["1"]
    assert "weakened" in why and "tests/test_one.py" in why


def test_an_honest_edit_of_an_accepted_test_is_accepted_and_recorded(
        scripted: ScriptedModel, project: Path) -> None:
    grown = ONE_TEST + "\n\ndef test_one_is_int():\n    assert isinstance(one(), int)\n"
    events, stop = _build(scripted, project, _two_with(_write("tests/test_one.py", grown),
                                                       _write("tests/test_two.py", TWO_TEST)))
    assert stop is not None and stop.exit_code == 0, stop
    verdicts = events.named("feature_verdict")
    assert [v["verdict"] for v in verdicts] == ["accepted", "accepted"]
    assert verdicts[1]["tests_changed"] == ["tests/test_one.py"]
    assert _shown(project, "tests/test_one.py") == grown


def test_strict_tests_refuses_even_an_honest_edit(scripted: ScriptedModel, project: Path) -> None:
    grown = ONE_TEST + "\n\ndef test_again():\n    assert one() == 1\n"
    scripted.set({"scripts": [init_script(FEATURES, "python3 -m pytest -q"), _honest_one(),
                              {"name": "two", "match": "\nTwo\n", "steps": _two_with(
                                  _write("tests/test_one.py", grown), _write("tests/test_two.py", TWO_TEST))}]})
    _events, stop = run_direct(project, scripted, strict_tests=True)
    assert isinstance(stop, NoProgress), stop
    assert _shown(project, "tests/test_one.py") == ONE_TEST


@pytest.mark.parametrize("cheat", [
    _two_with(),  # no test at all
    _two_with(_write("tests/test_two.py", "def test_two():\n    assert False\n"),
              extra="rm tests/test_two.py && "),  # a failing new test, deleted before the mark
])
def test_a_feature_without_a_test_is_refused(scripted: ScriptedModel, project: Path,
                                             cheat: list[dict[str, Any]]) -> None:
    events, stop = _build(scripted, project, cheat)
    assert isinstance(stop, NoProgress) and stop.exit_code == 3, stop
    assert [v["verdict"] for v in events.named("feature_verdict")] == ["accepted"] + ["rejected"] * 3
    why = json.loads((project / ".autocode" / "state.json").read_text())["last_failure"]["1"]
    assert "no test for this feature" in why
    subjects = subprocess.run(["git", "log", "--format=%s"], cwd=project, capture_output=True, text=True).stdout
    assert "feature 2 passes" not in subjects


SKIP_ALL = ("import pytest\n\n\ndef pytest_collection_modifyitems(items):\n"
            "    for item in items:\n        item.add_marker(pytest.mark.skip)\n")


def test_a_new_conftest_that_skips_everything_is_refused(scripted: ScriptedModel, project: Path) -> None:
    cheat = _two_with(_write("one.py", "def one():\n    return 2\n"), _write("conftest.py", SKIP_ALL),
                      _write("tests/test_two.py", TWO_TEST))
    events, stop = _build(scripted, project, cheat)
    assert isinstance(stop, NoProgress) and stop.exit_code == 3, stop
    assert [v["verdict"] for v in events.named("feature_verdict")] == ["accepted"] + ["rejected"] * 3
    assert not (project / "conftest.py").exists()  # removed: its accepted version is "absent"
    assert _shown(project, "one.py") == "def one():\n    return 1\n"


def test_removing_a_test_function_from_a_kept_file_is_refused_by_its_id(
        scripted: ScriptedModel, project: Path) -> None:
    """The file stays (no file-level refusal); its collected id is gone, and the count drops."""
    two_tests = ONE_TEST + "\n\ndef test_one_again():\n    assert one() == 1\n"
    honest = {"name": "one", "match": "\nOne\n", "steps": [
        {"text": "writing", "tool_calls": [_write("one.py", "def one():\n    return 1\n"),
                                           _write("tests/test_one.py", two_tests)]},
        *feature_steps(0, "")]}
    cheat = _two_with(_write("tests/test_one.py", ONE_TEST), _write("tests/test_two.py", TWO_TEST))
    scripted.set({"scripts": [init_script(FEATURES, "python3 -m pytest -q"), honest,
                              {"name": "two", "match": "\nTwo\n", "steps": cheat}]})
    events, stop = run_direct(project, scripted)
    assert isinstance(stop, NoProgress) and stop.exit_code == 3, stop
    verdicts = events.named("feature_verdict")
    assert [v["verdict"] for v in verdicts] == ["accepted"] + ["rejected"] * 3
    assert verdicts[0]["tests_after"] == 2 and verdicts[1]["tests_before"] == 2
    assert verdicts[1]["tests_after"] == 2  # the session's tree: test_two added, test_one_again gone
    assert all(r["refused"] == ["tests/test_one.py::test_one_again"] for r in events.named("tests_refused"))
    why = json.loads((project / ".autocode" / "state.json").read_text())["last_failure"]["1"]
    assert "tests/test_one.py::test_one_again" in why and "removed" in why
    assert (project / "tests" / "test_one.py").read_text() == two_tests  # restored in the tree
    assert (project / "tests" / "test_two.py").read_text() == TWO_TEST  # the new work stays
    assert _shown(project, "tests/test_one.py") == two_tests


def test_nothing_the_agent_left_running_survives_into_its_verdict(
        scripted: ScriptedModel, project: Path) -> None:
    """A background job could rewrite the tree while autocode checks it, or between the checks and
    the commit. The feature's check passes only if the agent's job was already gone."""
    job = "sleep 600 > /dev/null 2>&1 & echo $! > job.pid && "
    verify = 'test -s job.pid && ! kill -0 "$(cat job.pid)"'
    features = [{"category": "functional", "description": "Job", "steps": ["works"], "passes": False,
                 "verify": verify}]
    scripted.set({"scripts": [init_script(features), {"name": "job", "match": "\nJob\n",
                                                      "steps": feature_steps(0, job)}]})
    events, stop = run_direct(project, scripted)
    assert stop is not None and stop.kind == "complete", stop
    assert (project / "job.pid").read_text().strip()  # the job was started...
    checks = [c for c in events.named("check") if c["command"] == verify]
    assert checks and all(c["ok"] for c in checks)  # ...and was stopped before the check ran
