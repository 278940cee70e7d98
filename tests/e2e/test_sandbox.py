"""The OS sandbox: commands the policy allows but that misbehave are contained by bubblewrap."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.sandbox import bwrap_works
from agent.state import read_jsonl
from tests.e2e.conftest import ScriptedModel, feature_steps, init_script, run_direct, simple_features

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not bwrap_works(), reason="bubblewrap unavailable")]


def test_allowed_interpreters_cannot_escape_the_project(scripted: ScriptedModel, project: Path,
                                                        tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    canary = Path.home() / ".autocode-sandbox-canary"
    canary.write_text("alive")
    evil = (f"import os\nopen('{outside}/from-script.txt', 'w').write('x')\n")
    bad = [
        f"python3 -c \"open('{outside}/from-python.txt', 'w').write('x')\"",
        "python3 -c \"import os; os.remove(os.path.expanduser('~/.autocode-sandbox-canary'))\"",
        f"node -e \"require('fs').writeFileSync('{outside}/from-node.txt', 'x')\"",
        "node -e \"require('fs').rmSync(require('os').homedir() + '/.autocode-sandbox-canary')\"",
        "python3 evil.py",
    ]
    steps = [{"tool": "write", "args": {"filePath": "{cwd}/evil.py", "content": evil}}]
    steps += [{"tool": "bash", "args": {"command": c, "description": "misbehave"}} for c in bad]
    steps += feature_steps(0)
    scripted.set({"scripts": [init_script(simple_features("Escape")),
                              {"name": "escape", "match": "\nEscape\n", "steps": steps}]})
    try:
        events, stop = run_direct(project, scripted)
        assert canary.read_text() == "alive"
    finally:
        canary.unlink(missing_ok=True)
    assert stop is not None and stop.kind == "complete", stop  # the build goes on and finishes
    assert list(outside.iterdir()) == []
    assert read_jsonl(project / ".autocode" / "denied.jsonl") == []  # the policy allowed all of them
    results = [e for e in events.named("tool") if e["tool"] == "bash" and e["status"] == "completed"]
    failures = [e["output"] for e in results if "misbehave" in str(e["input"].get("description"))]
    assert len(failures) == len(bad)
    assert all(("Read-only file system" in out or "No such file" in out or "ENOENT" in out
                or "EROFS" in out) for out in failures), failures
    assert (project / "done.txt").exists()
    assert events.named("build_started")[0]["sandbox"] == "bwrap"
