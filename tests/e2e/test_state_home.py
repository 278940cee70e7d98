"""After a real build, no credential and no server HOME is under the project (issue 13 item 5)."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

import pytest

from agent.state import StateStore
from tests.e2e.conftest import ScriptedModel, feature_steps, init_script, run_direct, simple_features

pytestmark = pytest.mark.e2e


def test_server_home_and_auth_copy_live_in_the_private_state_dir(
        scripted: ScriptedModel, project: Path, tmp_path: Path, private_state_home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    data_home = tmp_path / "xdg-data"
    (data_home / "opencode").mkdir(parents=True)
    (data_home / "opencode" / "auth.json").write_text(json.dumps({"p": {"type": "api", "key": canary}}))
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))  # where `opencode auth login` put it
    old = StateStore(project).old_server_dir / "home" / ".local" / "share" / "opencode"
    old.mkdir(parents=True)  # left by an older autocode
    (old / "auth.json").write_text(canary)
    scripted.set({"scripts": [init_script(simple_features("Make ok file")),
                              {"name": "work", "match": "\nMake ok file\n", "steps": feature_steps(0)}],
                  "fallback": {"text": "nothing"}})
    events, stop = run_direct(project, scripted)
    assert type(stop).__name__ == "BuildComplete", stop
    assert any("moved the server's state" in str(e) for e in events.named("warning")), events.events
    under_project = [p for p in project.rglob("*") if p.name == "auth.json" or p.name == "home"]
    assert under_project == []
    assert not any(canary in p.read_text(errors="ignore") for p in project.rglob("*") if p.is_file())
    server = StateStore(project).server_dir
    assert private_state_home in server.parents
    assert stat.S_IMODE(server.stat().st_mode) == stat.S_IMODE(server.parent.stat().st_mode) == 0o700
    copy = server / "home" / ".local" / "share" / "opencode" / "auth.json"
    assert canary in copy.read_text() and stat.S_IMODE(copy.stat().st_mode) == 0o600
