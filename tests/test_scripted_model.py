"""The scripted OpenAI-compatible model server, over real HTTP on loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.scripted_model import Scenario, ScriptedModelServer, load_scenario, read_log

REPO = Path(__file__).resolve().parents[1]
TOOLS = [{"type": "function", "function": {"name": "write", "parameters": {"type": "object"}}}]
SYSTEM = "You are opencode.\n<env>\n  Working directory: /tmp/proj dir\n  Platform: linux\n</env>"

SCENARIO: dict[str, Any] = {
    "latency_s": 0.0,
    "usage": {"prompt_tokens": 1000, "completion_tokens": 50},
    "models": ["scripted-a", "scripted-b"],
    "scripts": [
        {"name": "special-model", "match": "alpha", "model": "^special/", "steps": [
            {"text": "special alpha"}]},
        {"name": "alpha", "match": "build .*alpha", "steps": [
            {"text": "alpha step 0"},
            {"text": "Writing files.", "tool": "write",
             "args": {"filePath": "{cwd}/app.py", "content": "# {model}", "n": [1, "{cwd}"]}},
            {"tool_calls": [{"tool": "read", "args": {"filePath": "{cwd}/a"}},
                            {"tool": "bash", "args": {"command": "ls"}}],
             "usage": {"prompt_tokens": 7, "completion_tokens": 3}},
        ]},
        {"name": "errors", "match": "errors", "steps": [
            {"error": 503, "type": "overloaded_error", "message": "busy", "retry_after": 2},
        ]},
        {"name": "burst", "match": "burst", "steps": [
            {"error": 500, "fail_first": 2, "text": "recovered"},
        ]},
        {"name": "slow", "match": "slow", "steps": [
            {"sleep": 0.2}, {"sleep": "forever"},
        ]},
    ],
    "fallback": {"text": "fallback reply"},
}


def conversation(first_user: Any, n_assistant: int = 0, system: Any = SYSTEM) -> list[Any]:
    messages: list[Any] = [{"role": "system", "content": system},
                           {"role": "user", "content": first_user}]
    for i in range(n_assistant):
        messages += [{"role": "assistant", "content": f"turn {i}"},
                     {"role": "user", "content": "continue"}]
    return messages


def chat(url: str, messages: list[Any], *, model: str = "scripted/m", tools: bool = True,
         stream: bool = False, timeout: float = 5.0) -> httpx.Response:
    body: dict[str, Any] = {"model": model, "messages": messages, "stream": stream}
    if tools:
        body["tools"] = TOOLS
    if stream:
        body["stream_options"] = {"include_usage": True}
    return httpx.post(f"{url}/chat/completions", json=body, timeout=timeout)


def content(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()["choices"][0]["message"]["content"]


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "model.jsonl"


@pytest.fixture
def server(log_path: Path) -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(Scenario.model_validate(SCENARIO), log_path) as srv:
        yield srv


def test_script_selected_by_first_user_message(server: ScriptedModelServer) -> None:
    assert content(chat(server.url, conversation("please build the alpha app"))) == "alpha step 0"
    parts = [{"type": "text", "text": "please build "}, {"type": "text", "text": "alpha"}]
    assert content(chat(server.url, conversation(parts))) == "alpha step 0"
    # Only the FIRST user message counts.
    later = [*conversation("hello", 0), {"role": "user", "content": "build alpha"}]
    assert content(chat(server.url, later)) == "fallback reply"


def test_script_selected_by_model_regex(server: ScriptedModelServer) -> None:
    msgs = conversation("build alpha")
    assert content(chat(server.url, msgs, model="special/x")) == "special alpha"
    assert content(chat(server.url, msgs, model="other/special/x")) == "alpha step 0"


def test_step_index_and_fallback(server: ScriptedModelServer) -> None:
    resp = chat(server.url, conversation("build alpha", 1))
    assert resp.json()["choices"][0]["message"]["content"] == "Writing files."
    assert content(chat(server.url, conversation("build alpha", 3))) == "fallback reply"
    assert content(chat(server.url, conversation("nothing matches"))) == "fallback reply"
    steps = [(r["script"], r["step"], r["fallback"]) for r in read_log(server.log_path or "")]
    assert steps == [("alpha", 1, False), ("alpha", None, True), (None, None, True)]


def test_tool_calls_shape_and_cwd_substitution(server: ScriptedModelServer) -> None:
    system = [{"type": "text", "text": "header"}, {"type": "text", "text": SYSTEM}]
    resp = chat(server.url, conversation("build alpha", 1, system=system), model="x/y")
    choice = resp.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_") and call["type"] == "function"
    assert call["function"]["name"] == "write"
    args = json.loads(call["function"]["arguments"])
    assert args == {"filePath": "/tmp/proj dir/app.py", "content": "# x/y",
                    "n": [1, "/tmp/proj dir"]}

    resp = chat(server.url, conversation("build alpha", 2))
    body = resp.json()
    calls = body["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["read", "bash"]
    assert len({c["id"] for c in calls}) == 2
    assert body["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


def parse_sse(resp: httpx.Response) -> list[Any]:
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = [line[len("data: "):] for line in resp.text.split("\n\n") if line.strip()]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def test_streaming_text_and_tool_calls(server: ScriptedModelServer) -> None:
    chunks = parse_sse(chat(server.url, conversation("build alpha"), stream=True))
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[0]["object"] == "chat.completion.chunk"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "alpha step 0"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    usage = {"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050}
    assert chunks[-1]["usage"] == usage

    chunks = parse_sse(chat(server.url, conversation("build alpha", 1), stream=True))
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    (call,) = [tc for d in deltas for tc in d.get("tool_calls", [])]
    assert call["index"] == 0 and call["id"].startswith("call_") and call["type"] == "function"
    assert json.loads(call["function"]["arguments"])["filePath"] == "/tmp/proj dir/app.py"
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    logged = read_log(server.log_path or "")
    assert [r["usage"] for r in logged] == [usage, usage]
    assert all(r["stream"] for r in logged)


def test_error_step(server: ScriptedModelServer) -> None:
    resp = chat(server.url, conversation("errors"), stream=True)
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "2"
    assert resp.json() == {"error": {"message": "busy", "type": "overloaded_error", "code": 503}}
    (record,) = read_log(server.log_path or "")
    assert record["reply"]["error"]["status"] == 503 and record["usage"] is None


def test_fail_first_burst_then_recovery(server: ScriptedModelServer) -> None:
    codes = [chat(server.url, conversation("burst")).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    assert content(chat(server.url, conversation("burst"))) == "recovered"
    assert "retry-after" not in chat(server.url, conversation("burst")).headers


def test_request_without_tools_gets_title(server: ScriptedModelServer) -> None:
    resp = chat(server.url, conversation("build alpha"), tools=False)
    assert content(resp) == "Scripted title"
    (record,) = read_log(server.log_path or "")
    assert record["tools"] is False and record["script"] is None and record["step"] is None


def test_log_lines(server: ScriptedModelServer, log_path: Path) -> None:
    chat(server.url, conversation("build alpha " + "x" * 300), model="m/1")
    chat(server.url, conversation("build alpha", 2), stream=True)
    lines = log_path.read_text().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    keys = {"time", "model", "tools", "stream", "script", "step", "reply", "usage",
            "first_user", "n_messages"}
    assert keys <= first.keys()
    assert first["model"] == "m/1" and first["tools"] is True and first["stream"] is False
    assert len(first["first_user"]) == 200 and first["n_messages"] == 2
    assert first["reply"]["text"] == "alpha step 0" and first["reply"]["tool_calls"] == []
    assert second["reply"]["tool_calls"][0]["arguments"] == {"filePath": "/tmp/proj dir/a"}
    assert second["usage"]["total_tokens"] == 10 and second["step"] == 2


def test_models_404_and_scenario_swap(server: ScriptedModelServer) -> None:
    models = httpx.get(f"{server.url}/models").json()
    assert [m["id"] for m in models["data"]] == ["scripted-a", "scripted-b"]
    resp = httpx.get(f"{server.url}/nope")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == 404
    assert httpx.post(f"{server.url}/chat/completions", content=b"{oops").status_code == 400
    server.scenario = Scenario.model_validate({"fallback": {"text": "swapped"}})
    assert content(chat(server.url, conversation("build alpha"))) == "swapped"
    assert httpx.get(f"{server.url}/models").json()["data"][0]["id"] == "scripted"


def test_sleep_step_and_forever_does_not_block_stop(server: ScriptedModelServer) -> None:
    started = time.monotonic()
    assert content(chat(server.url, conversation("slow"))) == "ok"
    assert time.monotonic() - started >= 0.2
    errors: list[BaseException] = []

    def hang() -> None:
        try:
            chat(server.url, conversation("slow", 1), timeout=10)
        except httpx.HTTPError as exc:
            errors.append(exc)

    client = threading.Thread(target=hang)
    client.start()
    deadline = time.monotonic() + 3
    while len(read_log(server.log_path or "")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert read_log(server.log_path or "")[-1]["reply"]["hang"] is True
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join(timeout=30)
    assert not stopper.is_alive()  # a request sleeping forever does not hold stop() up
    client.join(timeout=3)
    assert not client.is_alive() and errors


def test_load_scenario_rejects_typos(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SCENARIO))
    assert load_scenario(path).scripts[1].steps[1].tool == "write"
    path.write_text(json.dumps({"scripts": [{"name": "x", "steps": [{"txt": "typo"}]}]}))
    with pytest.raises(ValueError):
        load_scenario(path)


def test_cli_subprocess(tmp_path: Path) -> None:
    scenario, log = tmp_path / "s.json", tmp_path / "log.jsonl"
    scenario.write_text(json.dumps(SCENARIO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.scripted_model", "--port", "0",
         "--scenario", str(scenario), "--log", str(log)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        prefix = "scripted model listening on http://127.0.0.1:"
        assert line.startswith(prefix) and line[len(prefix):].isdigit(), line
        url = line.removeprefix("scripted model listening on ") + "/v1"
        assert content(chat(url, conversation("build alpha"))) == "alpha step 0"
        assert read_log(log)[0]["script"] == "alpha"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
