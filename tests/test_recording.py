"""Recording redaction, SSE fragment merging and request normalisation (pure parts)."""

from __future__ import annotations

import json

from agent.recording import REDACTED, Redactor, step_of, wire_of
from agent.replay import normalise
from agent.sse import coalesce, join_events, split_events


def test_secret_headers_and_params_are_redacted_and_their_values_scrubbed_everywhere() -> None:
    redactor = Redactor()
    headers = redactor.headers([("Authorization", "Bearer sk-live-123456"), ("x-api-key", "ant-key-987654"),
                                ("Cookie", "sid=abcdef123"), ("anthropic-version", "2023-06-01"),
                                ("X-Custom-Token", "tok-555555"), ("x-session-id", "ses_1")])
    assert headers["authorization"] == headers["x-api-key"] == headers["cookie"] == REDACTED
    assert headers["x-custom-token"] == REDACTED and headers["anthropic-version"] == "2023-06-01"
    assert headers["x-session-id"] == "ses_1"
    assert redactor.path("/v1/chat?key=qk-111111&x=1") == "/v1/chat?key=%5Bredacted%5D&x=1"
    echoed = "error: invalid key sk-live-123456 / ant-key-987654 / qk-111111 / tok-555555"
    assert all(s not in redactor.scrub(echoed) for s in ("sk-live", "ant-key", "qk-1", "tok-5"))


def test_wire_and_step_come_from_the_request() -> None:
    assert wire_of("/v1/messages?beta=true") == "anthropic" and wire_of("/v1/chat/completions") == "openai"
    body = {"messages": [{"role": "user"}, {"role": "assistant"}, {"role": "tool"}, {"role": "assistant"}]}
    assert step_of(body) == 2 and step_of(None) == 0


def test_fragments_of_a_tool_call_are_merged_so_a_split_path_can_be_moved() -> None:
    anthropic = [("content_block_delta", json.dumps({"type": "content_block_delta", "index": 1, "delta": {
        "type": "input_json_delta", "partial_json": piece}}))
        for piece in ('{"filePath": "/tmp/ol', 'd/a.py"}')]
    merged = coalesce(split_events(join_events(anthropic)))
    assert len(merged) == 1 and "/tmp/old/a.py" in json.loads(merged[0][1])["delta"]["partial_json"]
    def chunk(call: dict[str, object]) -> tuple[None, str]:
        delta = {"tool_calls": [call]}
        return None, json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    openai = [chunk({"index": 0, "id": "c1", "function": {"name": "write", "arguments": '{"p": "/tmp/o'}}),
              chunk({"index": 0, "function": {"arguments": 'ld/a"}'}}), (None, "[DONE]")]
    merged = coalesce(openai)
    assert len(merged) == 2 and merged[1] == (None, "[DONE]")
    call = json.loads(merged[0][1])["choices"][0]["delta"]["tool_calls"][0]
    assert call["function"]["arguments"] == '{"p": "/tmp/old/a"}' and call["id"] == "c1"


def test_normalisation_hides_the_project_path_dates_and_hashes_but_not_the_prompt() -> None:
    def body(project: str, date: str, commit: str, prompt: str) -> dict[str, object]:
        return {"messages": [{"role": "system", "content": f"Working directory: {project}\\nToday: {date}"},
                             {"role": "user", "content": f"{prompt}\\nlast commit {commit}"}]}
    a = normalise(body("/tmp/a/proj", "Sat Nov 28 2026", "3f2a9c1d", "build it"), ["/tmp/a/proj"])
    b = normalise(body("/srv/b", "Mon Dec 01 2026", "77aa00bc", "build it"), ["/srv/b"])
    c = normalise(body("/srv/b", "Mon Dec 01 2026", "77aa00bc", "build it twice"), ["/srv/b"])
    assert a == b and a != c
