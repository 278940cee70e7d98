"""Collected test ids (real runners in temp dirs) and the guard's ownership of a regression."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from agent.evidence import Evidence, Tampering
from agent.features import Feature
from agent.git import Git
from agent.guard import Guard, evidence_lines
from agent.ports import NullReporter
from agent.testids import Listing, collect, files_of, listing_command, parse, refusal, removed
from agent.verify import CheckResult, run_check

PY_TESTS = "def test_a():\n    assert 1\n\n\ndef test_b():\n    assert 1\n"
NODE_TESTS = ("const test = require('node:test');\n"
              "test('adds', () => { throw new Error('must not run while listing'); });\n"
              "test('group', async (t) => { await t.test('inner', () => {}); });\n")


def _check(command: str, cwd: Path, timeout: float) -> CheckResult:
    return run_check(command, cwd, timeout)


def test_the_runner_follows_the_test_command(tmp_path: Path) -> None:
    assert listing_command("python3 -m pytest -q", tmp_path)[0] == "pytest"
    assert listing_command("pip install -e . && pytest tests", tmp_path) == (
        "pytest", "pytest --collect-only -q -p no:cacheprovider")
    assert listing_command("python3 -m unittest discover -s tests", tmp_path)[0] == "unittest"
    assert listing_command("node --test test/", tmp_path)[0] == "node"
    assert listing_command("go test ./...", tmp_path)[0] == "go"
    assert listing_command("npx jest", tmp_path) == ("files", None)
    (tmp_path / "package.json").write_text('{"scripts": {"test": "node --test"}}')
    assert listing_command("npm test --silent", tmp_path)[0] == "node"


def test_pytest_ids_are_listed_through_the_checker(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(PY_TESTS)
    seen: list[str] = []

    def check(command: str, cwd: Path, timeout: float) -> CheckResult:
        seen.append(command)
        return run_check(command, cwd, timeout)

    listing = collect(check, tmp_path, "python3 -m pytest -q", 60)
    assert listing.ok and listing.ids == ["tests/test_x.py::test_a", "tests/test_x.py::test_b"]
    assert len(seen) == 1 and "--collect-only" in seen[0]
    assert not list(tmp_path.glob(".autocode-testids-*"))  # the output file is gone


def test_an_empty_pytest_project_lists_nothing_but_a_broken_one_fails(tmp_path: Path) -> None:
    assert collect(_check, tmp_path, "python3 -m pytest", 60).ok
    (tmp_path / "test_bad.py").write_text("def test_(:\n")
    broken = collect(_check, tmp_path, "python3 -m pytest", 60)
    assert not broken.ok and "test_bad.py" in broken.output


def test_unittest_discovery_lists_ids(tmp_path: Path) -> None:
    (tmp_path / "test_u.py").write_text("import unittest\n\nclass T(unittest.TestCase):\n"
                                        "    def test_one(self):\n        pass\n")
    listing = collect(_check, tmp_path, "python3 -m unittest", 60)
    assert listing.ok and listing.ids == ["test_u.T.test_one"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_lists_top_level_tests_without_running_them(tmp_path: Path) -> None:
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "a.test.js").write_text(NODE_TESTS)
    listing = collect(_check, tmp_path, "node --test", 60)
    assert listing.ok, listing.output
    assert listing.ids == ["test/a.test.js::adds", "test/a.test.js::group"]


def test_go_listing_is_parsed_per_package(tmp_path: Path) -> None:
    text = "TestAdd\nTestSub\nok  \texample.com/calc\t0.002s\n?   \texample.com/cmd\t[no test files]\n"
    assert parse("go", text, tmp_path) == ["example.com/calc::TestAdd", "example.com/calc::TestSub"]


def test_file_level_fallback_lists_the_test_files(tmp_path: Path) -> None:
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "a.spec.js").write_text("it('x', () => {})\n")
    listing = collect(_check, tmp_path, "npx jest", 60)
    assert listing.runner == "files" and listing.ids == ["spec/a.spec.js"]


def test_removed_counts_every_lost_id_and_a_lost_duplicate() -> None:
    before = Listing(runner="node", ids=["a::x", "a::x", "a::y"])
    assert removed(before, Listing(runner="node", ids=["a::x", "a::y", "a::z"])) == ["a::x"]
    assert removed(before, Listing(runner="node", ids=["a::x", "a::x", "a::y", "b::q"])) == []
    assert removed(None, Listing(runner="node")) == []
    message = refusal(before, Listing(runner="node", ids=["a::y"]), ["a::x", "a::x"], ["a"])
    assert "a::x" in message and "collected 3" in message and "1 now" in message


def test_files_of_maps_ids_to_files_or_falls_back_to_all() -> None:
    assert files_of(["tests/t.py::test_a"], ["tests/t.py", "tests/u.py"]) == ["tests/t.py"]
    assert files_of(["pkg.T.test_a"], ["tests/t.py", "conftest.py"]) == ["tests/t.py", "conftest.py"]


def _repo(tmp_path: Path) -> tuple[Path, Git, Guard]:
    project, state = tmp_path / "p", tmp_path / "state"
    (project / "tests").mkdir(parents=True)
    state.mkdir()
    git = Git(project)
    git.init()
    for args in (["config", "user.email", "t@t"], ["config", "user.name", "t"]):
        subprocess.run(["git", *args], cwd=project, check=True)
    guard = Guard(project, state, _check, 60, git, Evidence(project, state, git.show), NullReporter())
    return project, git, guard


def test_a_removed_test_function_is_refused_and_its_file_restored(tmp_path: Path) -> None:
    project, git, guard = _repo(tmp_path)
    (project / "tests" / "test_x.py").write_text(PY_TESTS)
    git.commit_all("accepted")
    guard.begin()
    assert guard.kept(0, "python3 -m pytest", Tampering(), {})
    guard.accept([0], Tampering(added=["tests/test_x.py"]))
    (project / "tests" / "test_x.py").write_text("def test_a():\n    assert 1\n")
    (project / "app.py").write_text("work = 1\n")
    failures: dict[int, str] = {}
    guard.begin()
    assert not guard.kept(1, "python3 -m pytest", Tampering(changed=["tests/test_x.py"]), failures)
    assert "tests/test_x.py::test_b" in failures[1] and "restored" in failures[1]
    assert (project / "tests" / "test_x.py").read_text() == PY_TESTS
    assert (project / "app.py").read_text() == "work = 1\n"  # the rest of the work stays
    assert {k: guard.summary()[k] for k in ("tests_before", "tests_after", "test_runner")} == {
        "tests_before": 2, "tests_after": 1, "test_runner": "pytest"}


def test_a_regression_is_owned_by_the_feature_that_added_the_test_and_its_files_restored(
        tmp_path: Path) -> None:
    project, git, guard = _repo(tmp_path)
    (project / "one.py").write_text("def one():\n    return 1\n")
    (project / "tests" / "test_one.py").write_text("from one import one\n\ndef test_one():\n"
                                                   "    assert one() == 1\n")
    guard.begin()
    assert guard.kept(0, "python3 -m pytest", Tampering(), {})
    guard.accept([0], Tampering(added=["tests/test_one.py"]))
    git.commit_all("feature 1")
    assert guard.owners()[0]["ids"] == ["tests/test_one.py::test_one"]
    assert set(guard.owners()[0]["files"]) == {"one.py", "tests/test_one.py"}
    (project / "one.py").write_text("def one():\n    return 2\n")
    (project / "two.py").write_text("def two():\n    return 2\n")
    guard.begin()
    failed = run_check("python3 -m pytest -q -p no:cacheprovider", project, 60)
    assert not failed.ok
    features = [Feature(category="f", description=d, steps=["s"]) for d in ("One", "Two")]
    why = guard.regression(1, failed.output, [0], features, "python3 -m pytest -q")
    assert "feature 1" in why and "one.py" in why
    assert (project / "one.py").read_text() == "def one():\n    return 1\n"
    assert (project / "two.py").exists()  # not the owner's file: kept
    assert guard.regression(1, "all good", [0], features, "python3 -m pytest -q") == ""


def test_a_failing_verify_of_an_accepted_feature_names_that_feature(tmp_path: Path) -> None:
    _project, _git, guard = _repo(tmp_path)
    features = [Feature(category="f", description="One", steps=["s"], verify="test -f one"),
                Feature(category="f", description="Two", steps=["s"])]
    assert guard.attribute("", [0], verify_of=0) == [0]
    guard.begin()
    assert "feature 1" in guard.regression(1, "", [0], features, "test -f one")


def test_evidence_lines_show_checks_gate_counts_and_protected_tests() -> None:
    record = {"checks": [{"command": "test -f x", "ok": True, "gate": False, "duration_s": 0.1},
                         {"command": "pytest", "ok": False, "gate": True, "duration_s": 2.0}],
              "gate": {"ok": False, "duration_s": 2.0}, "regression_of": [1], "regressed_restored": ["one.py"],
              "tests_before": 3, "tests_after": 2, "test_runner": "pytest",
              "tests_refused": [], "ids_refused": ["t.py::test_b"], "tests_changed": ["t.py"]}
    assert evidence_lines(record) == [
        "check `test -f x`: ok (0.1s)", "gate `pytest`: FAILED (2.0s)",
        "regression gate FAILED in 2.0s: belongs to feature 1; restored one.py", "tests 3 -> 2 (pytest)",
        "protected tests refused (restored): t.py::test_b", "protected tests changed: t.py"]
    assert evidence_lines({"verdict": "not_done"}) == []


def test_pytest_per_file_counts_are_ids_too(tmp_path: Path) -> None:
    """A project whose addopts add ``-q`` makes the listing ``-qq``: per-file counts."""
    assert parse("pytest", "tests/test_x.py: 2\n\n2 tests collected\n", tmp_path) == [
        "tests/test_x.py::<test 1 of 2>", "tests/test_x.py::<test 2 of 2>"]
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -q\n")
    (tmp_path / "test_x.py").write_text(PY_TESTS)
    assert collect(_check, tmp_path, "pytest", 60).count == 2


def test_a_directory_named_like_the_listing_file_does_not_break_the_listing(tmp_path: Path) -> None:
    (tmp_path / ".autocode-testids-planted").mkdir()
    (tmp_path / "test_x.py").write_text(PY_TESTS)
    assert collect(_check, tmp_path, "pytest", 60).count == 2


def test_the_initializers_tests_are_protected_from_the_first_session(tmp_path: Path) -> None:
    project, git, guard = _repo(tmp_path)
    (project / "tests" / "test_x.py").write_text(PY_TESTS)
    git.commit_all("initializer")
    guard.baseline("python3 -m pytest")
    (project / "tests" / "test_x.py").write_text("def test_a():\n    assert 1\n")
    failures: dict[int, str] = {}
    guard.begin()
    assert not guard.kept(0, "python3 -m pytest", Tampering(changed=["tests/test_x.py"]), failures)
    assert "tests/test_x.py::test_b" in failures[0]
