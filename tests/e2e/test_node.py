"""Another test ecosystem end to end: a node project tested with ``node --test`` (real server)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agent.errors import NoProgress
from tests.e2e.conftest import ScriptedModel, feature_steps, init_script, run_direct, simple_features

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")]

ADD = "module.exports = (a, b) => a + b;\n"
SUB = "module.exports = (a, b) => a - b;\n"
ADD_TESTS = ("const test = require('node:test');\nconst assert = require('node:assert');\n"
             "const add = require('../add.js');\n\n"
             "test('adds', () => { assert.strictEqual(add(1, 2), 3); });\n"
             "test('adds negatives', () => { assert.strictEqual(add(-1, -2), -3); });\n")
SUB_TESTS = ("const test = require('node:test');\nconst assert = require('node:assert');\n"
             "const sub = require('../sub.js');\n\n"
             "test('subtracts', () => { assert.strictEqual(sub(3, 1), 2); });\n")


def _write(path: str, content: str) -> dict[str, Any]:
    return {"tool": "write", "args": {"filePath": f"{{cwd}}/{path}", "content": content}}


def _session(name: str, index: int, *writes: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "match": f"\n{name}\n", "steps": [{"text": "writing", "tool_calls": list(writes)},
                                                            *feature_steps(index, "")]}


def _run(scripted: ScriptedModel, project: Path, second: dict[str, Any]) -> tuple[Any, BaseException | None]:
    scripted.set({"scripts": [init_script(simple_features("Add", "Sub"), "node --test"),
                              _session("Add", 0, _write("add.js", ADD), _write("test/add.test.js", ADD_TESTS)),
                              second]})
    return run_direct(project, scripted)


def _shown(project: Path, path: str) -> str:
    return subprocess.run(["git", "show", f"HEAD:{path}"], cwd=project, capture_output=True,
                          text=True, check=True).stdout


def test_a_node_test_runner_project_is_built_and_its_test_ids_are_recorded(
        scripted: ScriptedModel, project: Path) -> None:
    events, stop = _run(scripted, project, _session("Sub", 1, _write("sub.js", SUB),
                                                    _write("test/sub.test.js", SUB_TESTS)))
    assert stop is not None and stop.exit_code == 0, stop
    verdicts = events.named("feature_verdict")
    assert [v["verdict"] for v in verdicts] == ["accepted", "accepted"]
    assert [(v["test_runner"], v["tests_before"], v["tests_after"]) for v in verdicts] == [
        ("node", 0, 2), ("node", 2, 3)]
    assert all(v["gate"]["ok"] for v in verdicts)
    ids = json.loads((project / ".autocode" / "testids.json").read_text())["ids"]
    assert sorted(ids) == ["test/add.test.js::adds", "test/add.test.js::adds negatives",
                           "test/sub.test.js::subtracts"]
    owners = json.loads((project / ".autocode" / "owners.json").read_text())
    assert owners["1"]["ids"] == ["test/sub.test.js::subtracts"] and "sub.js" in owners["1"]["files"]
    assert not list(project.glob(".autocode-testids-*"))


def test_deleting_a_node_test_from_a_kept_file_is_refused(scripted: ScriptedModel, project: Path) -> None:
    fewer = ADD_TESTS.replace("test('adds negatives', () => { assert.strictEqual(add(-1, -2), -3); });\n", "")
    events, stop = _run(scripted, project, _session("Sub", 1, _write("sub.js", SUB), _write(
        "test/sub.test.js", SUB_TESTS), _write("test/add.test.js", fewer)))
    assert isinstance(stop, NoProgress) and stop.exit_code == 3, stop
    verdicts = events.named("feature_verdict")
    assert [v["verdict"] for v in verdicts] == ["accepted"] + ["rejected"] * 3
    assert all(v["ids_refused"] == ["test/add.test.js::adds negatives"] for v in verdicts[1:])
    why = json.loads((project / ".autocode" / "state.json").read_text())["last_failure"]["1"]
    assert "test/add.test.js::adds negatives" in why and "removed" in why
    assert (project / "test" / "add.test.js").read_text() == ADD_TESTS  # restored in the tree
    assert _shown(project, "test/add.test.js") == ADD_TESTS
    assert (project / "sub.js").read_text() == SUB  # the rest of the work stays
