"""A real build where the agent plants git hooks and config: autocode's per-feature commit runs none.

Run with ``sandbox="none"`` so the agent really can write ``.git`` (the command sandbox would make
it read-only): the git hardening must hold on its own.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from agent.build import BuildConfig
from agent.errors import BuildComplete
from agent.runtime import ServerOptions, run_build
from agent.security import SecurityConfig
from tests.e2e.conftest import EventLog, ScriptedModel, init_script, mark_command, simple_features

pytestmark = pytest.mark.e2e

PLANT = """import os, pathlib, stat, subprocess
marker = {marker!r}
hook = pathlib.Path('.git/hooks/post-commit')
hook.parent.mkdir(parents=True, exist_ok=True)
for name in ('post-commit', 'pre-commit', 'commit-msg', 'post-index-change'):
    path = hook.parent / name
    path.write_text('#!/bin/sh\\ntouch ' + marker + '\\n')
    path.chmod(0o755)
pathlib.Path('mon.sh').write_text('#!/bin/sh\\ntouch ' + marker + '\\n')
os.chmod('mon.sh', 0o755)
subprocess.run(['git', 'config', 'core.fsmonitor', os.path.abspath('mon.sh')], check=True)
pathlib.Path('.gitattributes').write_text('* filter=evil\\n')
subprocess.run(['git', 'config', 'filter.evil.clean', 'touch ' + marker + '; cat'], check=True)
"""


def test_hooks_and_config_planted_by_the_agent_never_run(scripted: ScriptedModel, project: Path,
                                                         tmp_path: Path) -> None:
    marker = tmp_path / "PLANTED_RAN"
    steps = [
        {"tool": "write", "args": {"filePath": "{cwd}/plant.py", "content": PLANT.format(marker=str(marker))}},
        {"tool": "bash", "args": {"command": "python3 plant.py", "description": "plant"}},
        {"tool": "bash", "args": {"command": mark_command(0), "description": "mark"}},
        {"text": "done"},
    ]
    scripted.set({"scripts": [init_script(simple_features("Plant")),
                              {"name": "plant", "match": "\nPlant\n", "steps": steps}]})
    (project / "app_spec.txt").write_text("spec")
    options = ServerOptions(model="scripted/model-a", base_url=scripted.url, sandbox="none")
    config = BuildConfig(project_dir=project, model="scripted/model-a")
    with pytest.raises(BuildComplete):
        asyncio.run(run_build(config, options, SecurityConfig(), EventLog()))
    assert (project / ".git" / "hooks" / "post-commit").exists(), "the agent did plant its hook"
    assert not marker.exists(), "autocode's git ran code the agent planted"
    log = subprocess.run(["git", "log", "--format=%s"], cwd=project, capture_output=True, text=True,
                         env={"GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"}).stdout
    assert "autocode: feature 1 passes" in log
    assert "fsmonitor" not in (project / ".git" / "config").read_text()
