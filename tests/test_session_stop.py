"""The session runner against a fake OpenCode server: a session-level limit ends the session, a
build-level stop is raised carrying the session's result."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.cost import Ledger, Limits
from agent.errors import BudgetExceeded, ModelMismatch, StopReason
from agent.providers import parse_model
from agent.session import SessionRunner
from agent.session_types import SessionRequest, SessionResult
from tests.fakes import AllowAll, FakeClock, FakeOpenCode, RecordingReporter, Step


def run(tmp_path: Path, steps: list[Step], limits: Limits) -> tuple[FakeOpenCode, Ledger, SessionResult]:
    server = FakeOpenCode(steps)
    ledger = Ledger()
    runner = SessionRunner(server, parse_model("p/m"), ledger, limits, AllowAll(), RecordingReporter(),
                           FakeClock())
    result = asyncio.run(runner.run(SessionRequest(directory=tmp_path, title="t", prompt="work")))
    return server, ledger, result


def stopped(tmp_path: Path, steps: list[Step], limits: Limits) -> tuple[FakeOpenCode, StopReason]:
    server = FakeOpenCode(steps)
    runner = SessionRunner(server, parse_model("p/m"), Ledger(), limits, AllowAll(), RecordingReporter(),
                           FakeClock())
    with pytest.raises(StopReason) as raised:
        asyncio.run(runner.run(SessionRequest(directory=tmp_path, title="t", prompt="work")))
    return server, raised.value


def test_a_session_that_goes_idle_returns_its_result(tmp_path: Path) -> None:
    server, ledger, result = run(tmp_path, [Step(), Step(cost=0.002, reason="stop")], Limits())
    assert result.stop == "idle" and result.turns == 2 and result.session_id == "ses_1"
    assert result.cost == pytest.approx(0.003) == ledger.total
    assert server.aborted == []


def test_a_turn_limit_ends_only_the_session(tmp_path: Path) -> None:
    server, _, result = run(tmp_path, [Step(), Step(), Step(), Step(reason="stop")], Limits(max_turns=2))
    assert result.stop == "max_turns" and "max" in result.stop_message.lower()
    assert server.aborted == ["ses_1"]


def test_the_budget_stop_is_raised_with_the_session_result(tmp_path: Path) -> None:
    steps = [Step(), Step(), Step(), Step(reason="stop")]
    server, stop = stopped(tmp_path, steps, Limits(max_budget_usd=0.0015))
    assert isinstance(stop, BudgetExceeded)
    assert stop.result is not None and stop.result.stop == "budget" and stop.result.session_id == "ses_1"
    assert stop.result.cost == pytest.approx(0.002) and stop.result.turns == 2
    assert server.aborted == ["ses_1"]


def test_a_reply_from_another_model_is_raised_with_the_session_result(tmp_path: Path) -> None:
    server, stop = stopped(tmp_path, [Step(model="p/other")], Limits())
    assert isinstance(stop, ModelMismatch) and "p/other" in str(stop)
    assert stop.result is not None and stop.result.stop == "model_mismatch"
    assert stop.result.stop_message == str(stop)
    assert server.aborted == ["ses_1"]
