"""``--workers N`` end to end: real OpenCode, the scripted model, the real CLI entry point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.demo import parallel_scenario
from agent.sandbox import bwrap_works
from agent.workers.worktrees import integration_base, worktrees_base
from tests.e2e.conftest import ScriptedModel, build_args

pytestmark = pytest.mark.e2e


def _build(project: Path, scripted: ScriptedModel, workers: int, timeout: float = 420) -> list[dict[str, Any]]:
    args = build_args(project, scripted, spec_text="parallel spec", json=True, price_in=3, price_out=15,
                      workers=workers)
    proc = subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]


def _build_killed(project: Path, scripted: ScriptedModel, workers: int,
                  until: Callable[[list[str]], bool]) -> None:
    """Start the build, then ``kill -9`` it once ``until`` holds of the events it emitted so far."""
    args = build_args(project, scripted, spec_text="parallel spec", json=True, price_in=3, price_out=15,
                      workers=workers)
    proc = subprocess.Popen([sys.executable, "-m", "agent", *args], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(json.loads(line)["event"])
        if until(seen):
            break
    os.killpg(proc.pid, signal.SIGKILL)  # autocode, its server and its sandbox, all at once
    proc.wait()
    time.sleep(0.5)


def _subjects(project: Path) -> list[str]:
    out = subprocess.run(["git", "log", "--format=%s", "main"], cwd=project, capture_output=True, text=True)
    return out.stdout.splitlines()


def _committed_once(project: Path, count: int) -> None:
    subjects = _subjects(project)
    for number in range(1, count + 1):
        assert sum(s.startswith(f"autocode: feature {number} passes") for s in subjects) == 1, subjects
    assert len(subjects) == count + 1  # the skeleton, then one commit per feature: nothing else


def _asked(scripted: ScriptedModel) -> set[tuple[str, int]]:
    return {(r["script"], r["step"]) for r in scripted.requests() if r["script"]}


@pytest.mark.slow
def test_four_workers_build_every_feature_once_with_the_same_requests(
        scripted: ScriptedModel, tmp_path: Path) -> None:
    scripted.set(parallel_scenario(8))
    serial = tmp_path / "serial"
    serial.mkdir()
    _build(serial, scripted, 1)
    serial_requests = _asked(scripted)
    scripted.log.unlink()
    project = tmp_path / "parallel"
    project.mkdir()
    events = _build(project, scripted, 4)
    _committed_once(project, 8)
    verdicts = [e for e in events if e["event"] == "feature_verdict"]
    assert sorted(f for v in verdicts for f in v["accepted"]) == list(range(1, 9))
    assert {v["worker"] for v in verdicts} == {1, 2, 3, 4}  # the work was spread
    assert _asked(scripted) == serial_requests
    notes = (project / "autocode-progress.md").read_text()
    for number in range(1, 9):
        assert f"- feature {number}: wrote feat_{number}.py" in notes
        assert (project / f"feat_{number}.py").read_text() == f"F{number} = {number}\n"
    features = json.loads((project / "feature_list.json").read_text())
    assert [f["passes"] for f in features] == [True] * 8
    assert not worktrees_base(project).exists()  # complete: the trees are gone
    branches = subprocess.run(["git", "branch"], cwd=project, capture_output=True, text=True).stdout
    assert branches.split() == ["*", "main"]


def test_conflicting_features_both_land_and_main_passes_after_each_commit(
        scripted: ScriptedModel, project: Path) -> None:
    scripted.set(parallel_scenario(2, shared=True))
    events = _build(project, scripted, 2)
    _committed_once(project, 2)
    conflicts = [e for e in events if e["event"] == "merge_conflict"]
    assert len(conflicts) == 1 and conflicts[0]["files"] == ["shared.py"]
    number = conflicts[0]["feature"]
    prompts = [e["prompt"] for e in events if e["event"] == "session_started"
               and e["title"].startswith(f"autocode: feature {number}/")]
    assert len(prompts) == 2 and "merge conflict" not in prompts[0]
    assert "merge conflict" in prompts[1] and f"F{3 - number} = {3 - number}" in prompts[1]  # the hunks
    shared = (project / "shared.py").read_text()
    assert "F1 = 1" in shared and "F2 = 2" in shared
    log = subprocess.run(["git", "log", "--reverse", "--format=%H %s", "main"], cwd=project,
                         capture_output=True, text=True).stdout.splitlines()
    for line in log[1:]:  # each feature's commit: every feature accepted so far still passes
        commit, subject = line.split(" ", 1)
        text = subprocess.run(["git", "show", f"{commit}:shared.py"], cwd=project, capture_output=True,
                              text=True).stdout
        accepted = [n for n in (1, 2) if any(s.startswith(f"autocode: feature {n} passes") for s in
                                             [ln.split(" ", 1)[1] for ln in log[1:log.index(line) + 1]])]
        assert all(f"F{n} = {n}" in text for n in accepted), (subject, text)


@pytest.mark.slow
def test_kill_9_mid_build_then_the_same_command_commits_every_feature_once(
        scripted: ScriptedModel, project: Path) -> None:
    scripted.set(parallel_scenario(8, latency_s=0.3))
    _build_killed(project, scripted, 4, lambda seen: seen.count("merged") == 2)
    assert 0 < sum(s.startswith("autocode: feature") for s in _subjects(project)) < 8
    events = _build(project, scripted, 4)
    assert any(e["event"] == "resumed" for e in events)
    _committed_once(project, 8)
    notes = (project / "autocode-progress.md").read_text()
    assert all(f"- feature {n}: wrote feat_{n}.py" in notes for n in range(1, 9))


def test_kill_9_during_the_initializer_then_the_same_command_commits_every_feature_once(
        scripted: ScriptedModel, project: Path) -> None:
    scripted.set(parallel_scenario(2, latency_s=1.0))
    # in the initializer's session, while the worker dirs' warm-up prompts may still be under way
    _build_killed(project, scripted, 2, lambda seen: "session_started" in seen)
    assert _subjects(project) == []
    events = _build(project, scripted, 2)
    assert [e for e in events if e["event"] == "initialized"]
    _committed_once(project, 2)


WALL = """
import os
base, main, integration = {base!r}, {main!r}, {integration!r}
sibling = [os.path.join(base, w) for w in ("w1", "w2") if os.path.join(base, w) != os.getcwd()][0]
def attempt(name, fn):
    try:
        fn()
        result = "done"
    except OSError as exc:
        result = "refused " + type(exc).__name__
    open("wall-{number}.txt", "a").write(name + "=" + result + "\\n")
def write(path):
    open(path, "w").write("escaped")
attempt("write_sibling", lambda: write(os.path.join(sibling, "ESCAPED")))
attempt("write_base", lambda: write(os.path.join(base, "ESCAPED")))
attempt("list_sibling", lambda: os.listdir(sibling))
attempt("write_main", lambda: write(os.path.join(main, "ESCAPED")))
attempt("read_main", lambda: open(os.path.join(main, "feature_list.json")).read())
attempt("write_integration", lambda: write(os.path.join(integration, "ESCAPED")))
attempt("write_own", lambda: write("OWN-{number}"))
"""


@pytest.mark.skipif(not bwrap_works(), reason="bubblewrap unavailable")
def test_a_workers_commands_cannot_reach_a_sibling_tree_or_main(scripted: ScriptedModel, project: Path) -> None:
    scenario = parallel_scenario(2)
    for number, script in enumerate(scenario["scripts"][1:], start=1):
        probe = WALL.format(base=str(worktrees_base(project)), main=str(project.resolve()),
                            integration=str(integration_base(project)), number=number)
        script["steps"][:0] = [
            {"tool": "write", "args": {"filePath": "{cwd}/wall.py", "content": probe}},
            {"tool": "bash", "args": {"command": "python3 wall.py", "description": "escape"}}]
    scripted.set(scenario)
    _build(project, scripted, 2)
    _committed_once(project, 2)  # the ordinary work in each tree landed
    for number in (1, 2):
        found = dict(line.split("=", 1) for line in (project / f"wall-{number}.txt").read_text().splitlines())
        assert found.pop("write_own") == "done" and (project / f"OWN-{number}").read_text() == "escaped"
        assert len(found) == 6 and all(r.startswith("refused") for r in found.values()), (number, found)
    assert not (project / "ESCAPED").exists()
    names = subprocess.run(["git", "log", "--all", "--name-only", "--format="], cwd=project,
                           capture_output=True, text=True).stdout.split()
    assert "ESCAPED" not in " ".join(names) and "OWN-1" in names and "OWN-2" in names
