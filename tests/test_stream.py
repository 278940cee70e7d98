"""The event stream (and the runner on it) against a scripted OpenCode API, in virtual time."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from agent.build_events import BuildEvent
from agent.cost import Ledger, Limits
from agent.errors import IdleTimeout, ServerFailure, SessionTimeout
from agent.opencode.events import (
    Event,
    MessageUpdated,
    PermissionAsked,
    SessionIdle,
    StepFinished,
    TextUpdated,
)
from agent.providers import parse_model
from agent.session import SessionRunner
from agent.session_types import SessionRequest, SessionResult
from agent.stream import CaughtUp, EventStream, StreamDropped, StreamSettings
from tests.fake_opencode import (
    CONNECTED,
    HEARTBEAT,
    Drop,
    FakeOpenCode,
    Hang,
    LoopClock,
    Pause,
    asked,
    assistant,
    created,
    idle,
    part,
    run,
    status,
    step_finish,
    text,
    user,
)

ROOT = "ses_root"
DIRECTORY = Path("/work/project")


def _names(events: list[Event]) -> list[str]:
    return [f"{type(event).__name__}:{event.session_id}" for event in events]


async def _follow(api: FakeOpenCode, count: int | None = None,
                  **settings: Any) -> tuple[list[Event], list[float], BaseException | None]:
    """Open a stream on ROOT and take ``count`` events (or until it raises): the events, the
    virtual time each came at (the last entry: when it raised), and what it raised."""
    clock = LoopClock()
    stream = EventStream(api, clock, StreamSettings(**settings))
    events: list[Event] = []
    times: list[float] = []
    try:
        await stream.open(DIRECTORY, ROOT)
        while count is None or len(events) < count:
            events.append(await stream.next())
            times.append(clock.monotonic())
    except (IdleTimeout, SessionTimeout, ServerFailure) as exc:
        times.append(clock.monotonic())
        return events, times, exc
    finally:
        stream.close()
    return events, times, None


def test_only_the_session_and_the_children_it_starts_are_followed() -> None:
    delta = {"type": "message.part.delta", "properties": {"sessionID": ROOT, "delta": "x"}}
    api = FakeOpenCode([CONNECTED, HEARTBEAT, status("ses_other"), status(ROOT), created(ROOT, None),
                        created("ses_child", ROOT), created("ses_stranger", "ses_other"),
                        part(step_finish("ses_child", "msg_c", 0.01)),
                        part(step_finish("ses_stranger", "msg_s", 0.01)), delta, idle(ROOT), Hang()])
    events, _, error = run(_follow(api, 4))
    assert error is None
    assert _names(events) == ["SessionStatus:ses_root", "SessionCreated:ses_child",
                              "StepFinished:ses_child", "SessionIdle:ses_root"]


def test_a_dropped_stream_is_subscribed_again_after_a_pause_and_caught_up() -> None:
    stored = {ROOT: [user(ROOT, "msg_0", "go"),
                     assistant(ROOT, "msg_1", 0.003, "tool-calls", step_finish(ROOT, "msg_1", 0.003)),
                     assistant(ROOT, "msg_2", 0.003, "stop", text(ROOT, "msg_2", "done"),
                               step_finish(ROOT, "msg_2", 0.003, "stop"))]}
    api = FakeOpenCode([CONNECTED, status(ROOT), part(step_finish(ROOT, "msg_1", 0.003)), Drop()],
                       [CONNECTED, idle(ROOT), Hang()], stored=stored,
                       pending=[asked(ROOT, "per_1"), asked("ses_other", "per_2")])
    events, times, error = run(_follow(api, 11))
    assert error is None
    assert [type(event) for event in events] == [
        type(events[0]), StepFinished, StreamDropped,  # live, then the drop
        MessageUpdated, StepFinished, MessageUpdated, TextUpdated, StepFinished,  # the stored steps
        PermissionAsked, CaughtUp,  # the pending request of this session only, then the end
        SessionIdle]  # live again
    dropped, ask, caught = events[2], events[8], events[9]
    assert isinstance(dropped, StreamDropped) and dropped.attempt == 1 and "broke" in dropped.reason
    assert isinstance(ask, PermissionAsked) and ask.id == "per_1"
    assert isinstance(caught, CaughtUp) and caught.finished
    assert api.subscriptions == 2
    assert times[2] == 0.0 and times[3] == pytest.approx(0.2)  # the pause before subscribing again


@pytest.mark.parametrize(("finish", "finished"), [("stop", True), ("length", True),
                                                  ("tool-calls", False), (None, False)])
def test_the_catch_up_tells_whether_the_session_already_ended(finish: str | None, finished: bool) -> None:
    api = FakeOpenCode([CONNECTED, Drop()], [CONNECTED, Hang()],
                       stored={ROOT: [assistant(ROOT, "msg_1", 0.0, finish)]})
    events, _, _ = run(_follow(api, 3))
    assert isinstance(events[-1], CaughtUp) and events[-1].finished is finished


def test_more_drops_than_allowed_end_in_a_server_failure_after_growing_pauses() -> None:
    api = FakeOpenCode(*([CONNECTED, Drop()] for _ in range(5)))
    events, times, error = run(_follow(api, max_reconnects=2))
    assert isinstance(error, ServerFailure) and "lost 3 times" in str(error)
    assert [e.attempt for e in events if isinstance(e, StreamDropped)] == [1, 2]
    assert api.subscriptions == 3
    assert times[-1] == pytest.approx(0.2 + 0.4)


def test_a_stream_that_never_connects_is_a_server_failure() -> None:
    events, times, error = run(_follow(FakeOpenCode([Hang()])))
    assert isinstance(error, ServerFailure) and "did not connect within 15 s" in str(error)
    assert events == [] and times == [15.0]


def test_the_idle_timeout_counts_from_the_sessions_last_event() -> None:
    api = FakeOpenCode([CONNECTED, status(ROOT), Pause(20), part(step_finish(ROOT, "msg_1", 0.0)),
                        Pause(25), HEARTBEAT, status("ses_other"),  # not events of this session
                        Pause(10), part(step_finish(ROOT, "msg_2", 0.0)), Hang()])
    events, times, error = run(_follow(api, idle_timeout=30))
    assert isinstance(error, IdleTimeout) and "no session event for 30s" in str(error)
    assert _names(events) == ["SessionStatus:ses_root", "StepFinished:ses_root"]
    assert times == [0.0, 20.0, 50.0]


def test_the_time_spent_acting_on_an_event_is_not_idleness() -> None:
    async def slow_consumer() -> tuple[float, BaseException]:
        clock = LoopClock()
        stream = EventStream(FakeOpenCode([CONNECTED, status(ROOT), Hang()]), clock,
                             StreamSettings(idle_timeout=30))
        await stream.open(DIRECTORY, ROOT)
        await stream.next()
        await asyncio.sleep(25)  # e.g. judging a permission request
        try:
            await stream.next()
        except IdleTimeout as exc:
            return clock.monotonic(), exc
        finally:
            stream.close()
        raise AssertionError("the stream did not time out")

    raised_at, _ = run(slow_consumer())
    assert raised_at == 25.0 + 30.0


def test_the_session_timeout_ends_a_session_that_keeps_working() -> None:
    steps: list[Any] = []
    for i in range(10):
        steps += [part(step_finish(ROOT, f"msg_{i}", 0.0)), Pause(15)]
    events, times, error = run(_follow(FakeOpenCode([CONNECTED, *steps]), idle_timeout=30,
                                       session_timeout=100))
    assert isinstance(error, SessionTimeout) and "session ran 100s" in str(error)
    assert len(events) == 7 and times[-1] == 100.0  # the steps at 0, 15, ..., 90


# ---- the runner on the stream -------------------------------------------------------------------

class _Reporter:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, event: BuildEvent) -> None:
        self.events.append((event.event, event.fields()))


class _NoGate:
    def judge(self, ask: PermissionAsked, directory: Path) -> Any:
        raise AssertionError("no permission is asked in these scripts")


def _drive(api: FakeOpenCode, limits: Limits) -> tuple[SessionResult, Ledger, _Reporter]:
    ledger, reporter = Ledger(), _Reporter()
    runner = SessionRunner(api, parse_model("scripted/model-a"), ledger, limits, _NoGate(), reporter,
                           LoopClock())
    result = run(runner.drive(ROOT, SessionRequest(directory=DIRECTORY, title="t", prompt="go")))
    return result, ledger, reporter


def _updated(raw: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message.updated", "properties": {"info": raw["info"]}}


def test_the_runner_counts_a_replayed_step_once_and_ends_when_caught_up() -> None:
    first = assistant(ROOT, "msg_1", 0.003, "tool-calls", step_finish(ROOT, "msg_1", 0.003))
    second = assistant(ROOT, "msg_2", 0.002, "stop", text(ROOT, "msg_2", "done"),
                       step_finish(ROOT, "msg_2", 0.002, "stop"))
    api = FakeOpenCode([CONNECTED, status(ROOT), _updated(first), part(step_finish(ROOT, "msg_1", 0.003)),
                        Drop()], [CONNECTED, Hang()], stored={ROOT: [user(ROOT, "msg_0", "go"), first, second]})
    result, ledger, reporter = _drive(api, Limits(idle_timeout=300))
    assert (result.stop, result.text, result.turns) == ("idle", "done", 2)
    assert ledger.total == pytest.approx(0.005)
    assert [data["reason"] for name, data in reporter.events if name == "stream_reconnect"] == [
        "event stream broke"]
    assert api.prompts == ["go"] and api.aborted == []


def test_the_runner_aborts_a_silent_session_at_the_idle_timeout() -> None:
    api = FakeOpenCode([CONNECTED, status(ROOT), Hang()])
    result, _, _ = _drive(api, Limits(idle_timeout=30))
    assert result.stop == "idle_timeout" and "30s" in result.stop_message
    assert api.aborted == [ROOT]
    assert result.duration_s == 30.0
