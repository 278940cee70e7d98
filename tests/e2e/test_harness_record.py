"""Harness(record=True): the Python API records through the same proxy as `build --record`."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import UsageError
from agent.harness import Harness, run
from agent.recording import read_recording
from tests.e2e.conftest import ScriptedModel

pytestmark = pytest.mark.e2e

CANARY = "sk-canary-harness-5e7a91c3"


def test_record_true_captures_every_exchange_without_the_key(
        scripted: ScriptedModel, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIPTED_KEY", CANARY)
    scripted.set({"api_key": CANARY, "usage": {"prompt_tokens": 900, "completion_tokens": 60},
                  "scripts": [{"name": "hello", "match": "^write hello", "steps": [
                      {"tool": "bash", "args": {"command": "echo hi > hello.txt", "description": "x"}},
                      {"text": "done"}]}]})
    result = run("write hello", model="scripted/model-a", cwd=project, base_url=scripted.url,
                 api_key_env="SCRIPTED_KEY", price_in=3.0, price_out=15.0, record=True)
    assert result.stop_reason == "completed" and (project / "hello.txt").read_text() == "hi\n"
    assert result.turns == 2  # the scripted model accepted the forwarded key (it answers 401 otherwise)
    recordings = list((project / ".autocode" / "recordings").glob("*.jsonl"))
    assert len(recordings) == 1
    head, exchanges = read_recording(recordings[0])
    assert head["model"] == "scripted/model-a" and head["project"] == str(project)
    chats = [e for e in exchanges if e["wire"] == "openai"]
    assert len(chats) == len([r for r in scripted.requests() if r["tools"]]) == 2
    assert [e["step"] for e in chats] == [0, 1] and {e["session"] for e in chats} == {1}
    assert all(e["response"]["status"] == 200 and e["response"]["chunks"] for e in chats)
    assert chats[0]["request"]["headers"]["authorization"] == "[redacted]"
    text = recordings[0].read_text()
    assert "[redacted]" in text
    assert any('"content":"done"' in c.replace(" ", "") for c in chats[1]["response"]["chunks"])
    for where in (project, tmp_path):  # nothing secret on disk: recording, runs, logs, state
        leaks = [p for p in where.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]
        assert leaks == []


def test_without_record_nothing_is_recorded_and_an_attached_server_is_refused(
        scripted: ScriptedModel, project: Path) -> None:
    scripted.set({"scripts": [{"name": "plain", "match": "^plain", "steps": [{"text": "ok"}]}]})
    result = run("plain", model="scripted/model-a", cwd=project, base_url=scripted.url)
    assert result.stop_reason == "completed" and not (project / ".autocode" / "recordings").exists()
    with pytest.raises(UsageError, match="record=True needs autocode's own server"):
        Harness("scripted/model-a", server_url="http://127.0.0.1:9", record=True)
