"""Cost control end to end: the pinned model under attack, and budgets to the cent."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from agent.cost import Ledger, Limits
from agent.opencode.client import OpenCodeClient
from agent.ports import SystemClock
from agent.providers import parse_model
from agent.session import SessionRunner
from agent.session_types import SessionRequest, SessionResult
from tests.e2e.conftest import EventLog, ScriptedModel, ServerFactory
from tests.e2e.test_foundation import WRITE_AND_RUN, RecordingGate

pytestmark = pytest.mark.e2e

OTHER = {"model": "evil/other-model", "small_model": "evil/cheap",
         "provider": {"evil": {"npm": "@ai-sdk/openai-compatible",
                               "options": {"baseURL": "http://127.0.0.1:9/v1", "apiKey": "x"},
                               "models": {"other-model": {}, "cheap": {}}}}}


async def _session(url: str, password: str, project: Path, prompt: str,
                   limits: Limits | None = None, ledger: Ledger | None = None,
                   reporter: EventLog | None = None) -> SessionResult:
    async with OpenCodeClient(url, password) as client:
        runner = SessionRunner(client, parse_model("scripted/model-a"), ledger or Ledger(),
                               limits or Limits(), RecordingGate(), reporter or EventLog(), SystemClock())
        return await runner.run(SessionRequest(directory=project, title="t", prompt=prompt))


def test_a_global_user_config_with_other_providers_is_not_seen(
        scripted: ScriptedModel, opencode: ServerFactory, project: Path, tmp_path: Path) -> None:
    xdg = tmp_path / "user-xdg"
    (xdg / "opencode").mkdir(parents=True)
    (xdg / "opencode" / "opencode.json").write_text(json.dumps(OTHER))
    old = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(xdg)
    try:
        server = opencode()
    finally:
        if old is None:
            os.environ.pop("XDG_CONFIG_HOME")
        else:
            os.environ["XDG_CONFIG_HOME"] = old
    scripted.set(WRITE_AND_RUN)
    result = asyncio.run(_session(server.url, server.password, project, "please make hello"))
    assert result.stop == "idle" and result.models == ["scripted/model-a"]
    assert scripted.models() == {"model-a"}


def test_compaction_uses_the_pinned_model(scripted: ScriptedModel, opencode: ServerFactory,
                                          project: Path) -> None:
    # A tiny context window and big prompts: OpenCode compacts the session (a summary call).
    tiny = {"provider": {"scripted": {
        "npm": "@ai-sdk/openai-compatible", "options": {"baseURL": scripted.url, "apiKey": "x"},
        "models": {"model-a": {"name": "model-a", "tool_call": True,
                               "limit": {"context": 6000, "output": 1000}}}}}}
    server = opencode(extra_config=tiny)
    steps: list[dict[str, Any]] = [
        {"tool": "bash", "args": {"command": f"echo step {i}", "description": "s"},
         "usage": {"prompt_tokens": 5800, "completion_tokens": 100}} for i in range(4)]
    scripted.set({"scripts": [{"name": "long", "match": "long task", "steps": [*steps, {"text": "done"}]}],
                  "fallback": {"text": "summary of the conversation so far"}})
    events = EventLog()
    asyncio.run(_session(server.url, server.password, project, "a long task",
                         limits=Limits(idle_timeout=60), reporter=events))
    requests = scripted.requests()
    assert any(not r["tools"] and "conversation" in r["first_user"] for r in requests), "no compaction"
    assert scripted.models() == {"model-a"}


def test_the_task_tool_cannot_start_a_subagent_on_another_model(
        scripted: ScriptedModel, opencode: ServerFactory, project: Path) -> None:
    server = opencode()
    scripted.set({"scripts": [{"name": "sub", "match": "delegate", "steps": [
        {"tool": "task", "args": {"description": "explore", "prompt": "look around",
                                  "subagent_type": "general"}},
        {"text": "done without subagents"}]}]})
    result = asyncio.run(_session(server.url, server.password, project, "delegate this"))
    assert result.stop == "idle"
    assert scripted.models() == {"model-a"}
    assert all(r["script"] == "sub" for r in scripted.requests()), "a subagent conversation started"


def _expected_cost(requests: list[dict[str, Any]], price_in: float, price_out: float) -> float:
    return sum((r["usage"]["prompt_tokens"] * price_in + r["usage"]["completion_tokens"] * price_out)
               / 1e6 for r in requests if r.get("usage"))


def test_budget_stops_the_build_within_one_step_and_matches_the_model_log(
        scripted: ScriptedModel, project: Path) -> None:
    from typer.testing import CliRunner

    from agent.cli import app
    from agent.status import build_status
    from tests.e2e.conftest import build_args

    features = [{"category": "f", "description": "Endless work", "steps": ["s"], "passes": False}]
    init = [{"tool": "write", "args": {"filePath": "{cwd}/feature_list.json",
                                       "content": json.dumps(features)}}, {"text": "ok"}]
    work = [{"tool": "bash", "args": {"command": f"echo {i}", "description": "w"}} for i in range(40)]
    scripted.set({"usage": {"prompt_tokens": 1000, "completion_tokens": 100}, "scripts": [
        {"name": "init", "match": "You are the initializer", "steps": init},
        {"name": "work", "match": "\nEndless work\n", "steps": work}]})
    price_in, price_out, budget = 2.0, 10.0, 0.02  # $0.003 per step
    args = build_args(project, scripted, spec_text="x", price_in=price_in, price_out=price_out,
                      max_budget_usd=budget)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output
    assert "budget reached" in result.output
    spent = build_status(project)["cost_usd"]
    expected = _expected_cost(scripted.requests(), price_in, price_out)
    assert round(spent, 2) == round(expected, 2) and abs(spent - expected) < 1e-6
    assert budget <= spent < budget + 0.003 + 1e-9  # overshoot at most one step

    # Resume with a higher budget: the earlier spend stays in the totals.
    args[args.index("--max-budget-usd") + 1] = "0.05"
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output
    total = build_status(project)["cost_usd"]
    assert 0.05 <= total < 0.053 + 1e-9
    assert abs(total - _expected_cost(scripted.requests(), price_in, price_out)) < 1e-6


def test_a_reply_from_another_model_aborts_the_session_at_once(
        scripted: ScriptedModel, opencode: ServerFactory, project: Path) -> None:
    from agent.errors import ExitCode, ModelMismatch

    # The server can serve model-a and model-b; autocode pins model-a but (as a buggy client
    # would) the prompt reaches the server as model-b: the guard must stop it on the first step.
    both = {"provider": {"scripted": {
        "npm": "@ai-sdk/openai-compatible", "options": {"baseURL": scripted.url, "apiKey": "x"},
        "models": {"model-a": {"name": "a", "tool_call": True}, "model-b": {"name": "b", "tool_call": True}}}}}
    server = opencode(extra_config=both)
    loop = [{"tool": "bash", "args": {"command": f"echo {i}", "description": "x"}} for i in range(10)]
    scripted.set({"scripts": [{"name": "s", "match": "work", "steps": loop}]})

    async def go() -> SessionResult:
        async with OpenCodeClient(server.url, server.password) as client:
            runner = SessionRunner(client, parse_model("scripted/model-b"), Ledger(), Limits(), RecordingGate(),
                                   EventLog(), SystemClock(), allowed_models=frozenset({"scripted/model-a"}))
            return await runner.run(SessionRequest(directory=project, title="t", prompt="work"))

    with pytest.raises(ModelMismatch) as raised:  # ends the build, carrying the session's result
        asyncio.run(go())
    halt = raised.value
    assert halt.exit_code == ExitCode.MODEL_MISMATCH == 4
    assert "asked for scripted/model-b" in str(halt)  # names what was asked and what answered
    assert "the server used scripted/model-b" in str(halt) or "model-b" in str(halt)
    assert halt.result is not None and halt.result.stop == "model_mismatch"
    assert len(scripted.requests()) <= 1  # stopped on the first step
    assert not (project / "0").exists()


def test_free_only_refuses_priced_and_unpriced_models_and_runs_free_ones(
        scripted: ScriptedModel, project: Path) -> None:
    from agent.errors import UsageError
    from tests.e2e.conftest import feature_steps, init_script, run_direct, simple_features

    scripted.set({"scripts": [init_script(simple_features("Free")),
                              {"name": "f", "match": "\nFree\n", "steps": feature_steps(0)}]})
    _, stop = run_direct(project, scripted, limits={"free_only": True}, price_in=1.0, price_out=2.0)
    assert isinstance(stop, UsageError) and "not free" in str(stop)
    _, stop = run_direct(project, scripted, limits={"free_only": True})
    assert isinstance(stop, UsageError) and "unpriced" in str(stop)
    assert scripted.requests() == []  # refused before any model call
    _, stop = run_direct(project, scripted, limits={"free_only": True}, price_in=0.0, price_out=0.0)
    assert stop is not None and stop.kind == "complete", stop
