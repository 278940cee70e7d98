"""OpenCode's own `anthropic` provider against the scripted model's Anthropic Messages mode."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.cost import Ledger, Limits
from agent.opencode.client import OpenCodeClient
from agent.ports import SystemClock
from agent.providers import parse_model
from agent.session import SessionRunner
from agent.session_types import SessionRequest, SessionResult
from tests.e2e.conftest import EventLog, ScriptedModel, ServerFactory
from tests.e2e.test_foundation import RecordingGate

pytestmark = pytest.mark.e2e

MODEL = "anthropic/claude-scripted"
PRICES = {"price_in": 3.0, "price_out": 15.0, "price_cache_read": 0.3, "price_cache_write": 3.75}
USAGES = [  # every step with prompt caching: fresh input, output, cache reads and writes differ
    {"prompt_tokens": 1200, "completion_tokens": 80, "cache_read_tokens": 0, "cache_write_tokens": 9000},
    {"prompt_tokens": 300, "completion_tokens": 40, "cache_read_tokens": 9000, "cache_write_tokens": 700},
    {"prompt_tokens": 150, "completion_tokens": 25, "cache_read_tokens": 9700, "cache_write_tokens": 0},
]
SCENARIO = {"scripts": [{"name": "cached", "match": "cache me", "steps": [
    {"tool": "write", "args": {"filePath": "{cwd}/hello.txt", "content": "hi"}, "usage": USAGES[0]},
    {"tool": "bash", "args": {"command": "cat hello.txt", "description": "show"}, "usage": USAGES[1]},
    {"text": "all done", "usage": USAGES[2]}]}]}


async def _session(server_url: str, password: str, project: Path, ledger: Ledger) -> SessionResult:
    async with OpenCodeClient(server_url, password) as client:
        runner = SessionRunner(client, parse_model(MODEL), ledger, Limits(), RecordingGate(), EventLog(),
                               SystemClock())
        return await runner.run(SessionRequest(directory=project, title="t", prompt="cache me"))


def _price(usage: dict[str, int]) -> float:
    return (usage["prompt_tokens"] * PRICES["price_in"] + usage["completion_tokens"] * PRICES["price_out"]
            + usage["cache_read_tokens"] * PRICES["price_cache_read"]
            + usage["cache_write_tokens"] * PRICES["price_cache_write"]) / 1e6


def test_anthropic_provider_tool_use_and_cache_cost_match_the_price_table(
        scripted: ScriptedModel, opencode: ServerFactory, project: Path) -> None:
    scripted.set(SCENARIO)
    server = opencode(MODEL, env={"ANTHROPIC_API_KEY": "sk-ant-scripted"}, price_in=PRICES["price_in"],
                      price_out=PRICES["price_out"],
                      prices={k: v for k, v in PRICES.items() if k.startswith("price_cache")})
    ledger = Ledger()
    result = asyncio.run(_session(server.url, server.password, project, ledger))
    assert result.stop == "idle" and result.text.strip() == "all done"
    assert (project / "hello.txt").read_text() == "hi"  # tool_use blocks ran as tools
    requests = scripted.requests()
    assert [r["step"] for r in requests] == [0, 1, 2] and scripted.models() == {"claude-scripted"}
    assert ledger.tokens["cache_read"] == sum(u["cache_read_tokens"] for u in USAGES)
    assert ledger.tokens["cache_write"] == sum(u["cache_write_tokens"] for u in USAGES)
    assert ledger.tokens["input"] == sum(u["prompt_tokens"] for u in USAGES)
    expected = sum(_price(u) for u in USAGES)
    assert ledger.total == pytest.approx(expected, rel=1e-9)
    assert result.cost == pytest.approx(expected, rel=1e-9)
