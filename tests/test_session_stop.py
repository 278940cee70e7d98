"""The session runner on a scripted OpenCode API (virtual time): a session-level limit ends the
session, a build-level stop is raised carrying the session's result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.cost import Ledger, Limits
from agent.errors import BudgetExceeded, ModelMismatch, StopReason
from agent.opencode.events import PermissionAsked
from agent.providers import parse_model
from agent.session import SessionRunner
from agent.session_types import SessionRequest, SessionResult
from tests.fake_opencode import (
    CONNECTED,
    FakeOpenCode,
    LoopClock,
    assistant,
    idle,
    part,
    run,
    status,
    step_finish,
)
from tests.fakes import RecordingReporter

ROOT = "ses_root"
DIRECTORY = Path("/work/project")


class _NoGate:
    def judge(self, ask: PermissionAsked, directory: Path) -> Any:
        raise AssertionError("no permission is asked in these scripts")


def _steps(count: int, cost: float, model: str = "model-a") -> list[dict[str, Any]]:
    """``count`` model steps of ``cost`` each (the message, then its step-finish), then idle."""
    events: list[dict[str, Any]] = [CONNECTED, status(ROOT)]
    for i in range(count):
        info = assistant(ROOT, f"msg_{i}", 0.0, None, model=model)["info"]
        events += [{"type": "message.updated", "properties": {"info": info}},
                   part(step_finish(ROOT, f"msg_{i}", cost))]
    return [*events, idle(ROOT)]


def _runner(api: FakeOpenCode, limits: Limits) -> SessionRunner:
    return SessionRunner(api, parse_model("scripted/model-a"), Ledger(), limits, _NoGate(), RecordingReporter(),
                         LoopClock())


def _drive(api: FakeOpenCode, limits: Limits) -> SessionResult:
    return run(_runner(api, limits).drive(ROOT, SessionRequest(directory=DIRECTORY, title="t", prompt="go")))


def _stopped(api: FakeOpenCode, limits: Limits) -> StopReason:
    with pytest.raises(StopReason) as raised:
        _drive(api, limits)
    return raised.value


def test_a_turn_limit_ends_only_the_session() -> None:
    api = FakeOpenCode(_steps(4, 0.001))
    result = _drive(api, Limits(max_turns=2))
    assert result.stop == "max_turns" and result.turns == 2
    assert api.aborted == [ROOT]


def test_the_budget_stop_is_raised_with_the_session_result() -> None:
    api = FakeOpenCode(_steps(4, 0.001))
    stop = _stopped(api, Limits(max_budget_usd=0.0015))
    assert isinstance(stop, BudgetExceeded)
    assert stop.result is not None and (stop.result.stop, stop.result.session_id) == ("budget", ROOT)
    assert stop.result.cost == pytest.approx(0.002) and stop.result.turns == 2
    assert api.aborted == [ROOT]


def test_a_reply_from_another_model_is_raised_with_the_session_result() -> None:
    api = FakeOpenCode(_steps(1, 0.001, model="model-b"))
    stop = _stopped(api, Limits())
    assert isinstance(stop, ModelMismatch) and "model-b" in str(stop)
    assert stop.result is not None and stop.result.stop == "model_mismatch"
    assert stop.result.stop_message == str(stop)
    assert api.aborted == [ROOT]
