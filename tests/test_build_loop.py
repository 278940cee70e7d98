"""The build loop with fake sessions, a fake clock and a fake checker (git in a temp dir): the
initializer, one session per feature, and every way the loop stops."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agent.build import BuildConfig, Builder
from agent.cost import Ledger, Limits
from agent.errors import (
    BudgetExceeded,
    BuildComplete,
    ExitCode,
    FeatureListError,
    Interrupted,
    IterationLimit,
    NoProgress,
    ProviderError,
    ServerFailure,
    StopReason,
)
from agent.git import Git
from agent.opencode.events import ErrorInfo
from agent.prompts import PromptBook
from agent.state import StateStore
from tests.fakes import FakeChecker, FakeClock, FakeSessions, RecordingReporter, Turn, features


class Build:
    """One project and the fakes a build of it runs with."""

    def __init__(self, root: Path, turns: list[Turn], **config: object) -> None:
        self.project = root / "project"
        self.project.mkdir()
        (self.project / "app_spec.txt").write_text("a small app\n")
        self.store = StateStore(self.project)
        self.store.ensure()
        self.ledger = Ledger(self.store.cost_path)
        self.sessions = FakeSessions(self.ledger, turns)
        self.reporter = RecordingReporter()
        self.clock = FakeClock()
        self.checker = FakeChecker()
        self.config = BuildConfig(project_dir=self.project, model="p/m", **config)  # type: ignore[arg-type]

    def builder(self) -> Builder:
        return Builder(self.config, self.sessions, self.store, self.ledger, self.reporter, self.clock,
                       self.checker, PromptBook())

    def run(self) -> StopReason:
        with pytest.raises(StopReason) as stopped:
            asyncio.run(self.builder().run())
        return stopped.value

    def records(self, kind: str) -> list[dict[str, object]]:
        return [r for r in self.store.progress() if r.get("kind") == kind]

    def subjects(self) -> list[str]:
        return [line.split(" ", 1)[1] for line in Git(self.project).log(100)]


def init(*names: str, test_cmd: str = "run-tests") -> Turn:
    return Turn(features=features(*names), test_cmd=test_cmd)


def test_the_initializer_then_one_fresh_session_per_feature_until_all_pass(tmp_path: Path) -> None:
    build = Build(tmp_path, [init("Alpha", "Beta", "Gamma")])
    stop = build.run()
    assert isinstance(stop, BuildComplete) and stop.exit_code == ExitCode.OK
    requests = build.sessions.requests
    assert [r.feature for r in requests] == [None, 0, 1, 2] and build.sessions.drives == []
    assert requests[1].title.startswith("autocode: feature 1/3: Alpha")
    state = build.store.load()
    assert state.initialized and state.test_cmd == "run-tests" and state.passing == [0, 1, 2]
    assert state.sessions == 4 and state.stop_reason == "complete" and state.current is None
    assert build.subjects() == ["autocode: feature 3 passes: Gamma", "autocode: feature 2 passes: Beta",
                                "autocode: feature 1 passes: Alpha",
                                "autocode: initial project skeleton and feature list"]
    assert [r["verdict"] for r in build.records("verdict")] == ["accepted"] * 3
    assert len(build.records("session")) == 4
    assert build.reporter.named("initialized") == [{"features": 3, "test_cmd": "run-tests"}]
    assert [v["passing"] for v in build.reporter.named("feature_verdict")] == [1, 2, 3]
    assert build.reporter.named("stopped")[-1]["reason"] == "complete"
    listed = json.loads((build.project / "feature_list.json").read_text())
    assert [f["passes"] for f in listed] == [True, True, True]
    assert build.checker.calls.count("run-tests") >= 3  # the regression gate on every acceptance
    assert build.sessions.released == []  # serial: every session runs in the project dir


def test_an_invalid_feature_list_is_sent_back_to_the_same_session_then_fails(tmp_path: Path) -> None:
    bad = Turn(features=[], test_cmd="run-tests")
    build = Build(tmp_path, [bad, bad, bad], init_retries=2)
    with pytest.raises(FeatureListError):
        asyncio.run(build.builder().run())
    assert build.sessions.drives == ["ses_1", "ses_1"]  # the follow-ups go to the initializer's session
    assert [e["attempt"] for e in build.reporter.named("feature_list_invalid")] == [1, 2]


def test_max_iterations_stops_after_that_many_coding_sessions(tmp_path: Path) -> None:
    build = Build(tmp_path, [init("A", "B", "C")], limits=Limits(max_iterations=2))
    stop = build.run()
    assert isinstance(stop, IterationLimit) and stop.exit_code == ExitCode.LIMIT
    assert len(build.sessions.requests) == 3
    assert build.store.load().passing == [0, 1] and build.store.load().stop_reason == "max_iterations"


def test_features_without_progress_are_skipped_then_the_build_stops(tmp_path: Path) -> None:
    idle = Turn(mark=False)
    build = Build(tmp_path, [init("A", "B"), idle, idle, idle, idle], no_progress_limit=2)
    stop = build.run()
    assert isinstance(stop, NoProgress)
    assert [r.feature for r in build.sessions.requests[1:]] == [0, 0, 1, 1]
    assert [e["feature"] for e in build.reporter.named("feature_skipped")] == [1, 2]
    assert [r["verdict"] for r in build.records("verdict")] == ["not_done"] * 4
    state = build.store.load()
    assert state.skipped == [0, 1] and state.attempts == {0: 2, 1: 2}


def test_a_session_level_limit_ends_only_its_session(tmp_path: Path) -> None:
    build = Build(tmp_path, [init("A"), Turn(mark=False, stop="max_turns"), Turn()])
    stop = build.run()
    assert isinstance(stop, BuildComplete)
    assert [r["stop"] for r in build.records("session")] == ["idle", "max_turns", "idle"]
    assert build.store.load().attempts == {}  # accepted on the second try: the count starts over


def test_provider_failures_back_off_on_the_clock_then_stop_the_build(tmp_path: Path) -> None:
    def failed(retry_after: float | None = None) -> Turn:
        return Turn(mark=False, stop="error", error=ErrorInfo(name="APIError", message="overloaded",
                                                              retry_after=retry_after))

    build = Build(tmp_path, [init("A", "B"), failed(), Turn(), failed(), failed(retry_after=100.0), failed()],
                  provider_failures=3, provider_backoff_s=15.0)
    stop = build.run()
    assert isinstance(stop, ProviderError) and stop.exit_code == ExitCode.PROVIDER
    assert "failed 3 sessions in a row" in str(stop)
    assert build.clock.slept == [15.0, 15.0, 100.0]  # a success resets; retry-after wins when longer
    assert [e["failures"] for e in build.reporter.named("provider_backoff")] == [1, 1, 2]
    state = build.store.load()
    assert state.passing == [0] and state.attempts == {}  # a provider failure is no failed attempt


def test_a_budget_stop_carries_its_session_which_is_recorded_before_the_build_stops(tmp_path: Path) -> None:
    over = Turn(cost=0.5, raises=BudgetExceeded("--max-budget-usd 0.10 reached"))
    build = Build(tmp_path, [init("A", "B"), over])
    stop = build.run()
    assert isinstance(stop, BudgetExceeded) and stop.exit_code == ExitCode.LIMIT
    assert stop.result is not None and stop.result.session_id == "ses_2"
    sessions = build.records("session")
    assert (sessions[-1]["session"], sessions[-1]["stop"], sessions[-1]["cost"]) == ("ses_2", "budget", 0.5)
    assert build.records("interrupted") == [] and build.records("verdict") == []
    state = build.store.load()
    assert state.sessions == 2 and state.current is None and state.interrupted_sessions == 0
    assert state.stop_reason == "budget" and state.passing == []
    finished = build.reporter.named("session_finished")[-1]
    assert finished["stop"] == "budget" and finished["feature"] == 1
    assert build.reporter.names()[-1] == "stopped"


def test_a_stop_without_a_session_result_counts_the_session_as_interrupted(tmp_path: Path) -> None:
    build = Build(tmp_path, [init("A"), Turn(fails=ServerFailure("the server is gone"))])
    stop = build.run()
    assert isinstance(stop, ServerFailure) and stop.result is None
    state = build.store.load()
    assert state.sessions == 1 and state.interrupted_sessions == 1 and state.current is None
    assert [(r["kind"], r["feature"]) for r in build.records("interrupted")] == [("interrupted", 0)]


def test_ctrl_c_aborts_the_session_records_it_and_stops_as_interrupted(tmp_path: Path) -> None:
    build = Build(tmp_path, [init("A"), Turn(hold=True)])

    async def cancel_mid_session() -> None:
        task = asyncio.create_task(build.builder().run())
        while len(build.sessions.requests) < 2 and not task.done():
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        await task

    with pytest.raises(Interrupted) as stopped:
        asyncio.run(cancel_mid_session())
    assert stopped.value.exit_code == ExitCode.INTERRUPTED
    state = build.store.load()
    assert state.sessions == 2 and state.interrupted_sessions == 1 and state.current is None
    assert state.stop_reason == "interrupted"
    assert build.records("session")[-1]["stop"] == "interrupted"
    assert build.records("interrupted") == []  # recorded as a session, not as cut off
    assert build.reporter.named("stopped")[-1]["exit_code"] == 130


def test_a_resumed_build_goes_on_where_it_stopped(tmp_path: Path) -> None:
    build = Build(tmp_path, [init("A", "B", "C")], limits=Limits(max_iterations=1))
    assert isinstance(build.run(), IterationLimit)
    build.config = build.config.model_copy(update={"limits": Limits()})
    assert isinstance(build.run(), BuildComplete)
    assert [r.feature for r in build.sessions.requests] == [None, 0, 1, 2]
    resumed = build.reporter.named("resumed")
    assert resumed[-1]["passing"] == 1 and resumed[-1]["total"] == 3
    assert build.store.load().passing == [0, 1, 2]
