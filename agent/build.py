"""The build loop: an initializer session, then one fresh session per feature until all pass.

Every way a build ends is a :class:`~agent.errors.StopReason`; the state is saved on every stop
and after every session, so the same command resumes (``reconcile.py`` makes a resumed state
true to the project). The harness — not the agent — decides whether a feature passes
(``verdict.py``: integrity check, its own verification, then one git commit per feature).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pydantic import Field

from agent.baseline import Baseline
from agent.build_events import (
    FeatureListInvalid,
    FeatureStarted,
    Initialized,
    ProviderBackoff,
    SessionFinished,
    Stopped,
)
from agent.cost import Ledger, Limits, check_limits
from agent.errors import (
    BuildComplete,
    FeatureListError,
    Interrupted,
    IterationLimit,
    NoProgress,
    ProviderError,
    StopReason,
)
from agent.features import (
    Feature,
    FeatureListProblem,
    load_features,
    next_feature,
    stalled_message,
    with_verdicts,
)
from agent.git import Git
from agent.ports import Clock, Reporter
from agent.projectfs import read_project_file
from agent.prompts import PromptBook
from agent.reconcile import Reconciler
from agent.session_types import SessionCancelled, SessionRequest, SessionResult, worker_field
from agent.state import BuildState, Current, StateSaver, StateStore
from agent.verdict import Checker, Judge, VerdictSettings
from agent.verify import detect_test_command
from agent.workers.merge import NOTES_FILE
from agent.workers.pool import WorkerPool
from agent.workers.worktrees import Worktrees, integration_base, worktrees_base

__all__ = ["BuildConfig", "Builder", "Checker", "LoopSettings", "Sessions"]


class LoopSettings(VerdictSettings):
    """The loop's settings a user can set (flags, files, env): shared with ``config.Settings``."""

    workers: int = Field(default=1, ge=1, le=32, description="features in flight at once, each in its own "
                         "git worktree (1 = the serial loop)")
    init_retries: int = Field(default=2, ge=0, description="follow-up prompts for an invalid feature list")
    test_cmd: str | None = Field(default=None, description="project test command; default from init.sh")


class BuildConfig(LoopSettings):
    """What one build run does (the CLI and config files fill it in)."""

    project_dir: Path = Field(description="the project being built (absolute)")
    model: str = Field(description="the pinned model, provider/model")
    limits: Limits = Field(default_factory=Limits, description="budgets, turns, timeouts")
    provider_failures: int = Field(default=3, ge=1, description="failed sessions in a row before stopping")
    provider_backoff_s: float = Field(default=15.0, ge=0, description="first wait after a provider failure")
    system_prompt: str | None = Field(default=None, description="prepended to every session's system")
    sandbox: str = Field(default="none", description="the OS sandbox in force: bwrap, none, external")
    priced: bool = Field(default=True, description="the model has prices (else its cost counts as $0)")


class Sessions(Protocol):
    async def run(self, request: SessionRequest) -> SessionResult: ...

    async def drive(self, session_id: str, request: SessionRequest) -> SessionResult: ...

    async def recover(self, directory: Path, since: float, feature: int | None) -> float: ...

    async def release(self, directory: Path) -> None:
        """No session runs in ``directory`` again this build: the server may drop what it keeps
        for it (best effort)."""


class Builder:
    def __init__(self, config: BuildConfig, sessions: Sessions, store: StateStore, ledger: Ledger,
                 reporter: Reporter, clock: Clock, checker: Checker, prompts: PromptBook,
                 merge_checker: Checker | None = None, protect_main: Callable[[], None] | None = None) -> None:
        self.config, self.sessions, self.store, self.ledger = config, sessions, store, ledger
        self.reporter, self.clock, self.checker, self.prompts = reporter, clock, checker, prompts
        self.merge_checker = merge_checker or checker  # --workers: checks on the integration tree
        self.protect_main = protect_main  # --workers: the project read-only to agent commands
        self.project = config.project_dir
        self.git = Git(self.project, store.root)
        self.baseline = Baseline(store)
        self.saver = StateSaver(store, clock)
        self.judge = Judge.rooted(config, self.project, checker, self.git, store, reporter, ledger,
                                  self.baseline)
        self.reconciler = Reconciler(self.project, sessions, store, ledger, reporter, self.judge.evidence,
                                     self.git, self.baseline, self.saver)
        self.iterations = 0
        self.failures_in_row = 0

    async def run(self) -> BuildState:
        """Build until a stop reason; raises it (``BuildComplete`` included) after saving."""
        self.saver.start()
        state = self.store.load()
        state.model, state.sandbox, state.priced = self.config.model, self.config.sandbox, self.config.priced
        state = await self.reconciler.resume(state)
        try:
            if not state.initialized:
                await self._initialize(state)
            if self.config.workers > 1:
                await self._parallel(state)
            while True:
                index = self._next(state)
                self.check_limits()
                await self._code(index, state)
        except StopReason as stop:
            self._stop(state, stop)
            raise
        except asyncio.CancelledError:
            interrupted = Interrupted("interrupted (Ctrl-C or SIGTERM): the state is saved; run the "
                                      "same command to resume")
            self._stop(state, interrupted)
            raise interrupted from None

    # ---- the steps ------------------------------------------------------------------------------

    async def _parallel(self, state: BuildState) -> None:
        """``--workers N``: the worker pool until its stop reason (the trees go when complete)."""
        trees = Worktrees(self.project, worktrees_base(self.project), self.git,
                          integration_base(self.project))
        if self.protect_main is not None:
            await asyncio.to_thread(self.protect_main)
        # the sessions run in the trees from now on; the project's own instance (the initializer's)
        # would only follow main's checkout with its file watcher and index at every landing
        await self.sessions.release(self.project)
        try:
            await WorkerPool(self, self.config.workers, trees, self._integration_judge).run(state)
        except BuildComplete:
            trees.remove_all()
            raise

    async def _initialize(self, state: BuildState) -> None:
        spec = (self.project / "app_spec.txt").read_text(encoding="utf-8", errors="replace")
        prompt = self.prompts.render("initializer", spec=spec, project_dir=str(self.project))
        result = await self._session(state, None, "autocode: initializer", prompt)
        features = await self._valid_features(state, result)
        self.git.init()
        self.git.ignore(".autocode/")
        self.baseline.save(with_verdicts(features, set()), self.project)
        self.git.commit_all("autocode: initial project skeleton and feature list")
        self.judge.evidence.record()
        state.initialized = True
        state.test_cmd = self.config.test_cmd or detect_test_command(self.project)
        self.judge.guard.baseline(state.test_cmd)
        self.saver.save(state)
        self.reporter.emit(Initialized(features=len(features), test_cmd=state.test_cmd))

    async def _valid_features(self, state: BuildState, result: SessionResult) -> list[Feature]:
        attempts = self.config.init_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return load_features(self.project)
            except FeatureListProblem as problem:
                if attempt == attempts:
                    raise FeatureListError(f"{str(problem).splitlines()[0]} (after {attempts} "
                                           "attempts); fix it by hand or re-run") from None
                self.reporter.emit(FeatureListInvalid(problems=str(problem), attempt=attempt))
                prompt = self.prompts.render("initializer_fix", problems=str(problem), attempt=attempt,
                                             max_attempts=attempts - 1, project_dir=str(self.project))
                result = await self._session(state, None, "autocode: initializer", prompt,
                                             session_id=result.session_id)
        raise AssertionError("unreachable")

    def _next(self, state: BuildState) -> int:
        baseline = self.baseline.features()
        index = next_feature(baseline, set(state.passing), set(state.skipped))
        if index is not None:
            return index
        if len(state.passing) == len(baseline):
            raise BuildComplete(f"all {len(baseline)} features pass")
        raise NoProgress(stalled_message(baseline, set(state.passing), set(state.skipped),
                                         self.config.no_progress_limit))

    def check_limits(self) -> None:
        """The build's limits (``--max-iterations`` counts sessions, the budgets the ledger)."""
        limit = self.config.limits.max_iterations
        if 0 < limit <= self.iterations:
            raise IterationLimit(f"--max-iterations {limit} reached; run again to continue")
        check_limits(self.config.limits, self.ledger)

    async def _code(self, index: int, state: BuildState) -> None:
        self.iterations += 1
        result = await self.feature_session(index, state, self.project, None, self.git.log(3))
        self.judge.judge(index, state, result, count_attempt=result.error is None)

    async def feature_session(self, index: int, state: BuildState, directory: Path, worker: int | None,
                               recent_commits: list[str]) -> SessionResult:
        """One coding session on feature ``index`` in ``directory`` (a worker's worktree, or the project)."""
        baseline = self.baseline.features()
        feature = baseline[index]
        prompt = self.prompts.render(
            "coding", project_dir=str(directory), passing=len(state.passing), total=len(baseline),
            recent_commits=recent_commits, notes=self._notes_tail(directory), dirty=worker is None
            and state.interrupted_sessions > 0 and self.git.dirty(), number=index + 1, feature=feature,
            last_failure=state.last_failure.get(index, ""), test_cmd=state.test_cmd or "")
        title = f"autocode: feature {index + 1}/{len(baseline)}: {feature.description[:60]}"
        self.reporter.emit(FeatureStarted(feature=index + 1, total=len(baseline), passing=len(state.passing),
                                          description=feature.description,
                                          attempt=state.attempts.get(index, 0) + 1,
                                          attempts=self.config.no_progress_limit, worker=worker))
        return await self._session(state, index, title, prompt, directory=directory, worker=worker)

    async def _session(self, state: BuildState, feature: int | None, title: str, prompt: str,
                       session_id: str | None = None, directory: Path | None = None,
                       worker: int | None = None) -> SessionResult:
        directory = directory or self.project
        current = Current(feature=feature, started=self.clock.wall(), directory=str(directory))
        if worker is None:
            state.current = current
        else:
            state.in_flight[worker] = current
        self.saver.save(state)
        request = SessionRequest(directory=directory, title=title, prompt=prompt,
                                 system=self.config.system_prompt, feature=feature, worker=worker)
        try:
            if session_id is None:
                result = await self.sessions.run(request)
            else:
                result = await self.sessions.drive(session_id, request)
        except (StopReason, SessionCancelled) as stop:  # the build ends: record the session it cut short
            if stop.result is not None:
                self._record(state, feature, stop.result, worker,
                             interrupted=isinstance(stop, SessionCancelled))
            raise
        self._record(state, feature, result, worker)
        await self._provider_health(result)
        return result

    def _record(self, state: BuildState, feature: int | None, result: SessionResult,
                worker: int | None = None, interrupted: bool = False) -> None:
        state.sessions += 1
        state.interrupted_sessions += interrupted
        if worker is None:
            state.current = None
        else:
            state.in_flight.pop(worker, None)
        self.store.record_progress({"kind": "session", "session": result.session_id, "feature": feature,
                                    "stop": result.stop, "cost": round(result.cost, 6),
                                    "turns": result.turns, "duration_s": result.duration_s,
                                    "denied": result.denied, **worker_field(worker),
                                    **({} if worker is None else {"end": self.clock.wall()})})
        self.saver.save(state)
        self.reporter.emit(SessionFinished(session=result.session_id, feature=None if feature is None
                           else feature + 1, stop=result.stop, message=result.stop_message[:300],
                           turns=result.turns, cost_usd=round(result.cost, 6), duration_s=result.duration_s,
                           worker=worker))

    async def _provider_health(self, result: SessionResult) -> None:
        """Back off after a failed session (honouring retry-after); stop after too many in a row."""
        if result.error is None:
            self.failures_in_row = 0
            return
        self.failures_in_row += 1
        if self.failures_in_row >= self.config.provider_failures:
            raise ProviderError(f"the model provider failed {self.failures_in_row} sessions in a row: "
                                f"{result.error.message[:200]}; check the provider, then re-run")
        backoff = min(self.config.provider_backoff_s * 2 ** (self.failures_in_row - 1), 600.0)
        delay = max(backoff, result.error.retry_after or 0.0)
        self.reporter.emit(ProviderBackoff(seconds=round(delay, 2), failures=self.failures_in_row,
                           message=result.error.message[:200]))
        await self.clock.sleep(delay)

    # ---- stop ----------------------------------------------------------------------------------

    def _stop(self, state: BuildState, stop: StopReason) -> None:
        self.reconciler.stopped(state)  # sessions cut off before they could be recorded
        state.stop_reason = stop.kind
        state.stop_message = str(stop)
        self.saver.save(state)
        self.reporter.emit(Stopped(reason=stop.kind, message=str(stop), exit_code=int(stop.exit_code),
                           passing=len(state.passing), cost_usd=round(self.ledger.total, 6)))

    def _integration_judge(self, tree: Git, directory: Path) -> Judge:
        """(``--workers``) The build's verdict rooted at the integration tree, with its checker."""
        return Judge.rooted(self.config, directory, self.merge_checker, tree, self.store, self.reporter,
                            self.ledger, self.baseline)

    def _notes_tail(self, directory: Path, lines: int = 12) -> str:
        notes = read_project_file(directory, NOTES_FILE) or ""  # never through the agent's symlinks
        return "\n".join(notes.strip().splitlines()[-lines:])
