"""Foundation end to end: supervisor + client + session runner + scripted model, all real."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.build_events import BuildEvent
from agent.cost import Ledger, Limits
from agent.opencode.client import OpenCodeClient
from agent.opencode.events import PermissionAsked
from agent.ports import SystemClock
from agent.providers import parse_model
from agent.session import SessionRunner
from agent.session_types import SessionRequest, SessionResult
from tests.e2e.conftest import ScriptedModel, ServerFactory

pytestmark = pytest.mark.e2e

WRITE_AND_RUN = {
    "scripts": [{
        "name": "hello",
        "match": "make hello",
        "steps": [
            {"tool": "write", "args": {"filePath": "{cwd}/hello.py",
                                       "content": "print('hello from scripted model')\n"}},
            {"tool": "bash", "args": {"command": "python3 hello.py > out.txt",
                                      "description": "run hello"}},
            {"text": "Done: hello.py written and run."},
        ],
    }],
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    rule: str


class RecordingGate:
    def __init__(self, allow: bool = True) -> None:
        self.asks: list[PermissionAsked] = []
        self.allow = allow

    def judge(self, ask: PermissionAsked, directory: Path) -> Decision:
        self.asks.append(ask)
        return Decision(allowed=self.allow, reason="test gate", rule="test")


class ListReporter:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, event: BuildEvent) -> None:
        self.events.append((event.event, event.fields()))


async def _run_session(url: str, password: str, project: Path, prompt: str, model: str,
                       gate: RecordingGate, limits: Limits | None = None) -> SessionResult:
    async with OpenCodeClient(url, password) as client:
        runner = SessionRunner(client, parse_model(model), Ledger(), limits or Limits(), gate,
                               ListReporter(), SystemClock())
        return await runner.run(SessionRequest(directory=project, title="autocode test",
                                               prompt=prompt))


def test_pinned_session_writes_runs_and_calls_only_the_pinned_model(
        scripted: ScriptedModel, opencode: ServerFactory, project: Path) -> None:
    scripted.set(WRITE_AND_RUN)
    server = opencode("scripted/model-a")
    gate = RecordingGate()
    result = asyncio.run(_run_session(server.url, server.password, project, "please make hello",
                                      "scripted/model-a", gate))
    assert result.stop == "idle", result
    assert (project / "hello.py").read_text() == "print('hello from scripted model')\n"
    assert (project / "out.txt").read_text().strip() == "hello from scripted model"
    assert result.text == "Done: hello.py written and run."
    assert result.turns == 3
    assert [a.permission for a in gate.asks] == ["edit", "bash"]  # every tool call asks autocode
    assert gate.asks[1].patterns == ["python3 hello.py > out.txt"]
    requests = scripted.requests()
    assert {r["model"] for r in requests} == {"model-a"}
    assert all(r["tools"] for r in requests), "a request without tools = a title/summary call"
    assert len(requests) == 3


def test_user_config_and_project_opencode_json_cannot_change_the_model(
        scripted: ScriptedModel, opencode: ServerFactory, project: Path, tmp_path: Path) -> None:
    scripted.set(WRITE_AND_RUN)
    # The user's own OpenCode setup: another provider and default model, via env and a file.
    user_cfg = tmp_path / "user-opencode.json"
    other = {"model": "evil/other-model", "small_model": "evil/cheap",
             "provider": {"evil": {"npm": "@ai-sdk/openai-compatible",
                                   "options": {"baseURL": scripted.url, "apiKey": "x"},
                                   "models": {"other-model": {}, "cheap": {}}}}}
    user_cfg.write_text(json.dumps(other))
    (project / "opencode.json").write_text(json.dumps(other))
    (project / ".opencode").mkdir()
    (project / ".opencode" / "opencode.json").write_text(json.dumps(other))
    saved = {k: os.environ.get(k) for k in ("OPENCODE_CONFIG", "OPENCODE_CONFIG_CONTENT")}
    os.environ["OPENCODE_CONFIG"] = str(user_cfg)
    os.environ["OPENCODE_CONFIG_CONTENT"] = json.dumps(other)
    try:
        server = opencode("scripted/model-a")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    result = asyncio.run(_run_session(server.url, server.password, project, "please make hello",
                                      "scripted/model-a", RecordingGate()))
    assert result.stop == "idle"
    assert result.models == ["scripted/model-a"]
    assert scripted.models() == {"model-a"}


def test_supervisor_stops_the_whole_process_group(opencode: ServerFactory) -> None:
    server = opencode()
    pid = server.pid
    assert pid is not None and server.alive()
    server.stop()
    assert not server.alive()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, signal.SIG_DFL or 0)
