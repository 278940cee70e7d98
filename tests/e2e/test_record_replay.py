"""Record a real build through the proxy, replay it offline in a fresh directory (both wire formats)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.demo import demo_scenario, demo_spec
from agent.recording import read_recording
from agent.scripted_model import Scenario, ScriptedModelServer, read_log
from tests.e2e.conftest import LEAN_PYTEST, ScriptedModel, build_args

pytestmark = pytest.mark.e2e

CANARY = "sk-canary-0b9f3e1d7c5a"
WIRES = {  # model, extra build flags, env with the canary key
    "openai": ("scripted/model-a", {"api_key_env": "SCRIPTED_KEY"}, {"SCRIPTED_KEY": CANARY}),
    "anthropic": ("anthropic/claude-scripted", {}, {"ANTHROPIC_API_KEY": CANARY}),
}


def _autocode(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def _events(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def _files(root: Path) -> dict[str, bytes]:
    skip = (".git", ".autocode", "__pycache__", ".pytest_cache")
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part in skip for part in p.relative_to(root).parts)}


def _accepted(events: list[dict[str, Any]]) -> list[int]:
    return [f for e in events if e["event"] == "feature_verdict" for f in e["accepted"]]


@dataclass
class Recorded:
    """One recorded build (its scripted model already stopped: a replay cannot reach it)."""

    root: Path  # the project, the per-user state and the model's log all live under it
    project: Path
    recording: Path
    events: list[dict[str, Any]]
    model_log: Path

    def asked(self) -> int:
        return len(read_log(self.model_log))

    def replay(self, target: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return _autocode(["replay", str(self.recording), "-p", str(target), "--json", *args], self.env())

    def env(self) -> dict[str, str]:
        return {"AUTOCODE_STATE_HOME": str(self.root / "state-home"), LEAN_PYTEST: "1",
                "AUTOCODE_SANDBOX_ENV": LEAN_PYTEST}


def _record(root: Path, wire: str) -> Recorded:
    """A demo build through the recording proxy against the scripted model, which then stops."""
    model, flags, env = WIRES[wire]
    project = root / "project"
    project.mkdir()
    log = root / "model-requests.jsonl"
    with ScriptedModelServer(Scenario.model_validate(demo_scenario()), log) as server:
        scripted = ScriptedModel(server, log)
        args = build_args(project, scripted, model=model, spec_text=demo_spec(), json=True, record=True,
                          price_in=3, price_out=15, **flags)
        made = Recorded(root=root, project=project, recording=project, events=[], model_log=log)
        proc = _autocode(args, {**made.env(), **env})
    assert proc.returncode == 0, proc.stderr[-3000:]
    recordings = sorted((project / ".autocode" / "recordings").glob("*.jsonl"))
    assert len(recordings) == 1
    made.recording, made.events = recordings[0], _events(proc.stdout)
    return made


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Recorded]:
    """The recorded build of a wire, made once per module (per test worker): a recorded demo build
    is the slow part, and the tests only read it and replay it into dirs of their own."""
    made: dict[str, Recorded] = {}

    def get(wire: str) -> Recorded:
        if wire not in made:
            made[wire] = _record(tmp_path_factory.mktemp(f"recorded-{wire}"), wire)
        return made[wire]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_recorded_build_replays_offline_to_the_same_result(
        recorded: Callable[[str], Recorded], tmp_path: Path, wire: str) -> None:
    build = recorded(wire)
    head, exchanges = read_recording(build.recording)
    assert head["model"] == WIRES[wire][0] and head["project"] == str(build.project)
    assert {e["wire"] for e in exchanges} == {wire}
    assert len(exchanges) == build.asked()  # every model request went through the proxy
    assert {e["session"] for e in exchanges} == set(range(1, 6))  # initializer + 4 features
    assert [e["step"] for e in exchanges if e["session"] == 2] == list(range(
        sum(e["session"] == 2 for e in exchanges)))
    assert all(e["response"]["stream"] and e["response"]["chunks"] for e in exchanges)
    # nothing secret anywhere: project, per-user state dirs, logs
    leaks = [p for p in build.root.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]
    assert leaks == []
    assert "[redacted]" in build.recording.read_text()
    before = build.asked()
    fresh = tmp_path / "fresh"
    proc = build.replay(fresh)  # the original endpoint is gone: replay must not need it
    assert proc.returncode == 0, proc.stderr[-3000:]
    replayed = _events(proc.stdout)
    assert not [e for e in replayed if e["event"] == "replay_divergence"]
    assert _accepted(replayed) == _accepted(build.events) == [1, 2, 3, 4]
    assert _files(fresh) == _files(build.project)
    assert build.asked() == before
    assert json.loads((fresh / ".autocode" / "state.json").read_text())["stop_reason"] == "complete"
    cost = [e["cost_usd"] for e in build.events if e["event"] == "stopped"]
    assert cost == [e["cost_usd"] for e in replayed if e["event"] == "stopped"] and cost[0] > 0


@pytest.mark.slow
def test_replay_after_an_edited_coding_prompt_reports_the_first_divergent_step(
        recorded: Callable[[str], Recorded], tmp_path: Path) -> None:
    build = recorded("openai")
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    builtin = Path(__file__).resolve().parents[2] / "prompts" / "coding.md"
    (prompts / "coding.md").write_text(builtin.read_text() + "\nAlways write docstrings.\n")
    stop = build.replay(tmp_path / "a", "--prompts-dir", str(prompts))
    assert stop.returncode == 7, stop.stderr[-2000:]
    diverged = [e for e in _events(stop.stdout) if e["event"] == "replay_divergence"]
    assert [(d["session"], d["step"], d["served"]) for d in diverged] == [(2, 0, False)]
    assert "+[1] user: Always write docstrings." in diverged[0]["diff"]
    assert "session 2, step 0" in stop.stderr
    assert _events(stop.stdout)[-1]["reason"] == "replay_diverged"
    go_on = build.replay(tmp_path / "b", "--prompts-dir", str(prompts), "--on-divergence", "continue")
    assert go_on.returncode == 0, go_on.stderr[-2000:]
    logged = [e for e in _events(go_on.stdout) if e["event"] == "replay_divergence"]
    assert (logged[0]["session"], logged[0]["step"]) == (2, 0)  # later steps carry the changed prompt
    assert {d["session"] for d in logged} == {2, 3, 4, 5} and all(d["served"] for d in logged)
    assert _accepted(_events(go_on.stdout)) == [1, 2, 3, 4]
