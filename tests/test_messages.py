"""Typed session messages: the shapes OpenCode 1.18.33 stored (recorded against the scripted model),
fields a later version may add, fields an older one may lack, and what the client hands back."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.cost import Ledger
from agent.opencode.client import OpenCodeClient
from agent.opencode.events import AssistantInfo, StepFinished, TextUpdated, ToolUpdated, UserInfo
from agent.opencode.messages import parse_message, parse_messages
from agent.recovery import cut_off, recover_costs
from tests.fake_opencode import FakeOpenCode, run

RECORDED: dict[str, list[dict[str, Any]]] = json.loads(
    (Path(__file__).parent / "data" / "opencode-1.18.33-messages.json").read_text())


def _step(raw: dict[str, Any]) -> AssistantInfo:
    message = parse_message(raw)
    assert message is not None and message.assistant is not None
    return message.assistant


def test_a_session_with_a_tool_call_and_an_answer() -> None:
    user, tool_step, answer = parse_messages(RECORDED["ok"])
    assert isinstance(user.info, UserInfo) and user.assistant is None
    assert user.info.created_ms == 1795926814366 and user.info.role == "user"
    step = tool_step.assistant
    assert step is not None and step.role == "assistant"
    assert (step.provider_id, step.model_id, step.finish, step.completed) == ("scripted", "model-a",
                                                                              "tool-calls", True)
    assert step.cost == 0.003 and (step.tokens.input, step.tokens.output) == (1000, 100)
    assert (step.created_ms, step.completed_ms) == (1795926819964, 1795926825777)
    tool, finish = tool_step.parts  # step-start is not read
    assert isinstance(tool, ToolUpdated) and (tool.tool, tool.status) == ("bash", "completed")
    assert tool.input["command"] == "echo hi > out.txt" and tool.output == "(no output)"
    assert (tool.started_ms, tool.ended_ms) == (1795926824789, 1795926825746)
    assert isinstance(finish, StepFinished) and (finish.reason, finish.cost) == ("tool-calls", 0.003)
    assert [type(p) for p in answer.parts] == [TextUpdated, StepFinished]
    assert isinstance(answer.parts[0], TextUpdated) and answer.parts[0].text == "Done."
    assert not cut_off(step)


def test_a_provider_error_and_an_abort_are_read_from_the_step() -> None:
    failed = _step(RECORDED["error"][1])
    assert failed.error is not None and (failed.error.name, failed.error.status_code) == ("APIError", 400)
    assert failed.error.message == "bad request" and not failed.error.retryable
    assert failed.finish is None and not cut_off(failed)  # it ended: nothing was spent
    aborted = _step(RECORDED["aborted"][1])
    assert aborted.error is not None and aborted.error.is_abort
    assert cut_off(aborted)  # aborted before it reported usage: charged as an estimate


def test_fields_a_newer_server_adds_are_ignored() -> None:
    raw = copy.deepcopy(RECORDED["ok"][1])
    raw["info"] |= {"variant": "high", "structured": {"x": 1}, "tokens": {
        **raw["info"]["tokens"], "cache": {"read": 7, "write": 3, "ttl": "5m"}}}
    raw["parts"] += [{"id": "prt_r", "sessionID": "s", "messageID": "m", "type": "reasoning", "text": "hm"},
                     {"id": "prt_p", "sessionID": "s", "messageID": "m", "type": "patch", "files": []}]
    raw["parts"][1]["state"]["attachments"] = []
    raw["later"] = True
    message = parse_message(raw)
    assert message is not None and message.assistant is not None
    assert (message.assistant.tokens.cache_read, message.assistant.tokens.cache_write) == (7, 3)
    assert [type(p) for p in message.parts] == [ToolUpdated, StepFinished]


def test_missing_optional_fields_get_defaults() -> None:
    step = _step({"info": {"id": "msg_1", "sessionID": "ses_1", "role": "assistant"}})
    assert (step.cost, step.tokens.input, step.tokens.output, step.tokens.cache_read) == (0.0, 0, 0, 0)
    assert (step.provider_id, step.model_id, step.finish, step.error) == (None, None, None, None)
    assert not step.completed and step.created_ms == 0 and step.completed_ms is None
    assert cut_off(step)  # never completed and never reported usage
    pending = {"id": "prt_1", "sessionID": "ses_1", "messageID": "msg_1", "type": "tool", "callID": "c",
               "tool": "bash", "state": {"status": "pending"}}
    message = parse_message({"info": {"id": "msg_1", "sessionID": "ses_1", "role": "assistant"},
                             "parts": [pending]})
    assert message is not None and isinstance(tool := message.parts[0], ToolUpdated)
    assert (tool.status, tool.input, tool.started_ms) == ("pending", {}, None)


def test_what_cannot_be_read_is_left_out_and_the_rest_kept() -> None:
    good = RECORDED["ok"][2]
    broken_part = {"id": "prt_x", "type": "tool", "sessionID": "s"}  # no messageID, callID, tool
    items = [good, "text", {"parts": []}, {"info": {"role": "assistant", "sessionID": "s"}},
             {"info": {"id": "m", "sessionID": "s", "role": "system"}},
             {"info": {"id": "m", "sessionID": "s", "role": "assistant", "time": 5}},
             {**good, "parts": [broken_part, *good["parts"], 3]}]
    messages = parse_messages(items)
    assert [m.info.id for m in messages] == [good["info"]["id"]] * 2
    assert messages[0].parts == messages[1].parts
    assert parse_messages({"name": "NotFound"}) == [] and parse_messages(None) == []


def test_the_client_returns_typed_messages_and_pending_permissions() -> None:
    seen: list[str] = []
    pending = [{"id": "per_1", "sessionID": "ses_1", "permission": "bash", "patterns": ["ls"],
                "metadata": {"command": "ls"}, "tool": {"messageID": "m", "callID": "call_1"}},
               {"id": "per_2"}]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.path}?{request.url.params['directory']}")
        if request.url.path == "/permission":
            return httpx.Response(200, json=pending)
        return httpx.Response(200, json=RECORDED["ok"])

    async def go() -> tuple[Any, Any]:
        async with OpenCodeClient("http://opencode.test", transport=httpx.MockTransport(handler)) as client:
            return (await client.messages("ses_1", Path("/p")), await client.pending_permissions(Path("/p")))

    messages, asks = asyncio.run(go())
    assert seen == ["/session/ses_1/message?/p", "/permission?/p"]
    assert messages == parse_messages(RECORDED["ok"])
    assert [(a.id, a.session_id, a.patterns, a.call_id) for a in asks] == [("per_1", "ses_1", ["ls"], "call_1")]


@pytest.mark.parametrize("since_s", [0.0, 2e9])
def test_recovery_counts_the_stored_steps_of_sessions_started_since(since_s: float) -> None:
    from agent.opencode.events import SessionInfo

    class Stored(FakeOpenCode):
        async def sessions(self, directory: Path) -> list[SessionInfo]:
            return [SessionInfo.from_raw({"id": "ses_1", "time": {"created": 1795926814366}})]

    api = Stored(stored={"ses_1": [*RECORDED["ok"], RECORDED["aborted"][1]]})
    ledger = Ledger()
    added = run(recover_costs(api, ledger, Path("/p"), since_s, 3, 1.0))
    if since_s:  # the session started before `since`: not this run's
        assert added == 0.0 and ledger.total == 0.0
    else:  # two steps at 0.003, and the aborted one charged as the worst step seen
        assert added == pytest.approx(0.009) and ledger.by_feature == {3: pytest.approx(0.009)}
