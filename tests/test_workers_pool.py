"""The worker pool with fake sessions (real git in a temp dir): parallelism, the shared budget,
``--max-iterations``, cancellation, and a resume with worktrees left behind."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest

from agent.build import BuildConfig, Builder
from agent.build_events import (
    BuildEvent,
    ChildSession,
    FeatureStarted,
    MergeConflict,
    Merged,
    SessionStarted,
    Step,
    Tool,
)
from agent.cost import Ledger, Limits
from agent.errors import BudgetExceeded, BuildComplete, Interrupted, IterationLimit, NoProgress
from agent.features import FEATURE_FILE, Feature, dump_features
from agent.git import Git
from agent.ports import NullReporter, SystemClock
from agent.prompts import PromptBook
from agent.report import render_report, report_data
from agent.session_types import SessionCancelled, SessionRequest, SessionResult
from agent.state import BuildState, StateStore
from agent.status import build_status, render_status
from agent.verify import CheckResult
from agent.workers.worktrees import worktrees_base
from tests.event_samples import sample


class FakeSessions:
    """Marks the requested feature passing in the session's directory after ``delay`` seconds;
    charges ``cost`` to the shared ledger; ``hold`` keeps sessions running until cancelled;
    ``together`` makes the first sessions wait (up to 30 s) until that many run at once, so a test
    of parallelism does not depend on how fast a loaded machine starts them."""

    def __init__(self, ledger: Ledger, cost: float = 0.01, delay: float = 0.01, hold: bool = False,
                 tamper: bool = False, together: int = 0) -> None:
        self.ledger, self.cost, self.delay, self.hold, self.tamper = ledger, cost, delay, hold, tamper
        self.together = together
        self.met = False
        self.running = 0
        self.most = 0
        self.requests: list[SessionRequest] = []
        self.released: list[tuple[Path, int]] = []  # (directory, sessions run before)
        self.started = asyncio.Event()

    async def run(self, request: SessionRequest) -> SessionResult:
        self.requests.append(request)
        sid = f"ses_{len(self.requests)}"
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            self.ledger.observe(message_id=f"msg_{sid}", session_id=sid, root_session_id=sid, cost=self.cost,
                                tokens={}, model="m", feature=request.feature, now=0.0)
            if self.running >= 2:
                self.started.set()
            self.met = self.met or self.running >= self.together
            for _ in range(3000):  # up to 30 s
                if self.met:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(self.delay)
            if self.hold:
                await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise SessionCancelled(SessionResult(session_id=sid, stop="interrupted")) from None
        finally:
            self.running -= 1
        assert request.feature is not None
        (request.directory / f"f{request.feature}.txt").write_text("done\n")
        with (request.directory / "autocode-progress.md").open("a") as notes:
            notes.write(f"- did {request.feature}\n")
        path = request.directory / FEATURE_FILE
        features = json.loads(path.read_text())
        features[request.feature]["passes"] = True
        if self.tamper:  # a cheating agent: rewrites another feature, marks it passing too
            other = (request.feature + 1) % len(features)
            features[other]["description"] = "anything"
            features[other]["passes"] = True
        path.write_text(json.dumps(features))
        return SessionResult(session_id=sid, cost=self.cost, turns=1)

    async def drive(self, session_id: str, request: SessionRequest) -> SessionResult:
        raise AssertionError("not used")

    async def recover(self, directory: Path, since: float, feature: int | None) -> float:
        return 0.0

    async def release(self, directory: Path) -> None:
        self.released.append((directory, len(self.requests)))


def ok(command: str, cwd: Path, timeout: float) -> CheckResult:
    return CheckResult(command=command, ok=True, exit_code=0, output="", duration_s=0.0)


def setup_project(project: Path, count: int) -> StateStore:
    project.mkdir()
    (project / "app_spec.txt").write_text("spec\n")
    store = StateStore(project)
    store.ensure()
    git = Git(project, store.root)
    git.init()
    git.ignore(".autocode/")
    features = [Feature(category="functional", description=f"feature {i + 1}", steps=["s"])
                for i in range(count)]
    (project / FEATURE_FILE).write_text(dump_features(features))
    store.save_baseline(features)
    git.commit_all("autocode: initial project skeleton and feature list")
    store.save(BuildState(initialized=True, test_cmd="true"))
    return store


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def emit(self, event: BuildEvent) -> None:
        self.seen.append((event.event, event.fields()))


def builder(store: StateStore, sessions: FakeSessions, ledger: Ledger, workers: int = 3,
            reporter: Events | None = None, **limits: float) -> Builder:
    config = BuildConfig(project_dir=store.project_dir, model="p/m", workers=workers, limits=Limits(**limits))
    return Builder(config, sessions, store, ledger, reporter or NullReporter(), SystemClock(), ok, PromptBook())


def subjects(project: Path) -> list[str]:
    return Git(project).log(100)


def test_workers_run_features_at_once_and_commit_each_once(tmp_path: Path) -> None:
    store = setup_project(tmp_path / "p", 6)
    ledger = Ledger(store.cost_path)
    sessions = FakeSessions(ledger, delay=0.05, together=3)
    with pytest.raises(BuildComplete):
        asyncio.run(builder(store, sessions, ledger).run())
    assert sessions.most == 3
    assert {r.directory.parent for r in sessions.requests} == {worktrees_base(store.project_dir)}
    assert sessions.released == [(store.project_dir, 0)]  # the project's instance, before any session
    for number in range(1, 7):
        assert sum(s.split(" ", 1)[1].startswith(f"autocode: feature {number} passes")
                   for s in subjects(store.project_dir)) == 1
    notes = (store.project_dir / "autocode-progress.md").read_text()
    assert all(f"- did {i}" in notes for i in range(6))
    assert store.load().passing == list(range(6))
    status = build_status(store.project_dir)
    assert {v["worker"] for v in status["last_verdicts"]} <= {1, 2, 3} and status["workers"] == {}
    assert "(w" in render_status(status)
    page = render_report(report_data(store.project_dir))
    assert "Workers over time" in page and page.count('class="ok"') == 6  # one bar per session


def test_one_budget_for_all_workers_overshoots_by_at_most_one_session_each(tmp_path: Path) -> None:
    store = setup_project(tmp_path / "p", 10)
    ledger = Ledger(store.cost_path)
    sessions = FakeSessions(ledger, cost=0.01)
    with pytest.raises(BudgetExceeded):
        asyncio.run(builder(store, sessions, ledger, max_budget_usd=0.035).run())
    assert 4 <= len(sessions.requests) <= 4 + 3 - 1  # checked before every claim, N workers in flight
    assert ledger.total <= 0.035 + 3 * 0.01


def test_max_iterations_counts_sessions_across_workers(tmp_path: Path) -> None:
    store = setup_project(tmp_path / "p", 10)
    ledger = Ledger(store.cost_path)
    sessions = FakeSessions(ledger)
    with pytest.raises(IterationLimit):
        asyncio.run(builder(store, sessions, ledger, max_iterations=5).run())
    assert len(sessions.requests) == 5


def test_cancel_aborts_every_session_records_them_and_a_resume_reuses_the_trees(tmp_path: Path) -> None:
    store = setup_project(tmp_path / "p", 4)
    ledger = Ledger(store.cost_path)
    held = FakeSessions(ledger, hold=True)

    async def cancel_mid_build() -> None:
        task = asyncio.create_task(builder(store, held, ledger, workers=2).run())
        await held.started.wait()
        task.cancel()
        await task

    with pytest.raises(Interrupted):
        asyncio.run(cancel_mid_build())
    state = store.load()
    assert state.sessions == 2 and state.in_flight == {} and state.stop_reason == "interrupted"
    trees = worktrees_base(store.project_dir)
    assert (trees / "w1").is_dir()  # left behind for the resume
    (trees / "w1" / "junk.txt").write_text("half done")
    sessions = FakeSessions(ledger)
    with pytest.raises(BuildComplete):
        asyncio.run(builder(store, sessions, ledger, workers=2).run())
    assert store.load().passing == [0, 1, 2, 3]
    assert not (store.project_dir / "junk.txt").exists()
    assert sum("passes" in s for s in subjects(store.project_dir)) == 4
    assert not trees.exists()


def test_a_claim_that_fails_on_the_integrated_tree_is_rejected_there_and_never_reaches_main(
        tmp_path: Path) -> None:
    store = setup_project(tmp_path / "p", 2)
    ledger = Ledger(store.cost_path)
    events = Events()
    checked: list[Path] = []

    def merge_check(command: str, cwd: Path, timeout: float) -> CheckResult:
        checked.append(cwd)
        good = not (cwd / "f1.txt").exists()  # feature 2's work breaks the suite
        return CheckResult(command=command, ok=good, exit_code=0 if good else 1, output="boom", duration_s=0.0)

    config = BuildConfig(project_dir=store.project_dir, model="p/m", workers=2, no_progress_limit=2)
    build = Builder(config, FakeSessions(ledger), store, ledger, events, SystemClock(), ok, PromptBook(),
                    merge_checker=merge_check)
    with pytest.raises(NoProgress):
        asyncio.run(build.run())
    state = store.load()
    assert state.passing == [0] and state.skipped == [1] and "$ true\nboom" in state.last_failure[1]
    assert checked and store.project_dir not in checked  # judged on the integration tree only
    assert not (store.project_dir / "f1.txt").exists() and (store.project_dir / "f0.txt").exists()
    assert sum("passes" in s for s in subjects(store.project_dir)) == 1
    rejected = [r for r in store.progress() if r.get("kind") == "verdict" and r["feature"] == 1]
    assert [r["verdict"] for r in rejected] == ["rejected", "rejected"] and all("worker" in r for r in rejected)
    assert [d["feature"] for n, d in events.seen if n == "merged"] == [1]


def test_the_live_view_shows_one_line_per_worker_with_its_feature_turns_cost_and_tool() -> None:
    from rich.console import Console

    from agent.ui.live import LiveView

    view = LiveView(Console(file=io.StringIO(), force_terminal=True, width=160))
    events: list[BuildEvent] = [
        sample(FeatureStarted, feature=1, total=2, passing=0, description="Login", worker=1),
        sample(SessionStarted, session="s1", title="t", feature=0, worker=1),
        sample(FeatureStarted, feature=2, total=2, passing=0, description="Search", worker=2),
        sample(SessionStarted, session="s2", title="t", feature=1, worker=2),
        ChildSession(session="s2", child="c2"),
        sample(Step, session="s1", cost=0.25, total_usd=0.25),
        sample(Step, session="c2", cost=0.5, total_usd=0.75),
        sample(Step, session="s2", cost=0.5, total_usd=1.25),
        sample(Tool, session="s2", tool="bash", status="running", input={"command": "pytest -q"}),
    ]
    for event in events:
        view.emit(event)
    out = io.StringIO()
    Console(file=out, width=160).print(view.render())
    lines = out.getvalue().splitlines()
    one = next(line for line in lines if "worker 1" in line)
    two = next(line for line in lines if "worker 2" in line)
    assert "#1 Login" in one and "1 turn," in one and "$0.2500" in one
    assert "#2 Search" in two and "2 turns" in two and "$1.0000" in two and "pytest -q" in two
    assert view.cost == 1.25
    view.close()


def test_a_worker_that_rewrites_the_feature_list_is_judged_on_its_own_feature_only(tmp_path: Path) -> None:
    store = setup_project(tmp_path / "p", 3)
    ledger = Ledger(store.cost_path)
    events = Events()
    with pytest.raises(BuildComplete):
        asyncio.run(builder(store, FakeSessions(ledger, tamper=True), ledger, workers=2, reporter=events).run())
    violations = [d for e, d in events.seen if e == "integrity_violation"]
    assert len(violations) == 3 and all("worker" in v for v in violations)
    features = json.loads((store.project_dir / FEATURE_FILE).read_text())
    assert [f["description"] for f in features] == ["feature 1", "feature 2", "feature 3"]
    verdicts = [d for e, d in events.seen if e == "feature_verdict"]
    assert sorted(a for v in verdicts for a in v["accepted"]) == [1, 2, 3]  # each by its own worker
    assert all(v["accepted"] == [v["feature"]] for v in verdicts)


def test_merges_and_conflicts_read_as_sentences_naming_the_worker() -> None:
    from agent.ui.reporters import describe

    merged = describe(Merged(worker=2, feature=5, commit="abc123"))
    conflict = describe(MergeConflict(worker=1, feature=3, files=["app.py"]))
    started = describe(sample(FeatureStarted, worker=4, feature=1, total=8, description="Login", attempt=1))
    assert merged == "worker 2: feature 5 merged into main (abc123)"
    assert conflict is not None and conflict.startswith("worker 1: feature 3 conflicts with main in app.py")
    assert started == "worker 4: feature 1/8: Login"
    serial = describe(sample(FeatureStarted, feature=1, total=8, description="Login", attempt=1))
    assert serial == "feature 1/8: Login"


def test_an_unexpected_error_in_one_worker_surfaces_as_itself_and_stops_the_others(tmp_path: Path) -> None:
    store = setup_project(tmp_path / "p", 4)
    ledger = Ledger(store.cost_path)

    class Broken(FakeSessions):
        async def run(self, request: SessionRequest) -> SessionResult:
            if request.feature == 1:
                await asyncio.sleep(0.05)
                raise RuntimeError("the server answered nonsense")
            return await super().run(request)

    sessions = Broken(ledger, hold=True)
    with pytest.raises(RuntimeError, match="nonsense"):
        asyncio.run(builder(store, sessions, ledger, workers=2).run())
    state = store.load()
    assert [c.feature for c in state.in_flight.values()] == [1]  # cut off, as after a crash: the
    assert state.sessions == 1  # other worker's session was aborted and recorded
    with pytest.raises(BuildComplete):
        asyncio.run(builder(store, FakeSessions(ledger), ledger, workers=2).run())
    state = store.load()
    assert state.in_flight == {} and state.interrupted_sessions >= 1 and state.passing == [0, 1, 2, 3]
