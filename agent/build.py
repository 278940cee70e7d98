"""The build loop: an initializer session, then one fresh session per feature until all pass.

Every way a build ends is a :class:`~agent.errors.StopReason`; the state is saved on every stop
and after every session, so the same command resumes. The harness — not the agent — decides
whether a feature passes: integrity check, its own verification, then one git commit per feature.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from agent.build_events import (
    CheckEvent,
    FeatureListInvalid,
    FeatureSkipped,
    FeatureStarted,
    FeatureVerdict,
    Initialized,
    IntegrityViolation,
    Outcome,
    ProviderBackoff,
    Resumed,
    SessionFinished,
    Stopped,
    TestsRefused,
    WarningEvent,
)
from agent.cost import Ledger, Limits, check_limits
from agent.errors import (
    BuildComplete,
    FeatureListError,
    Interrupted,
    IterationLimit,
    NoProgress,
    ProviderError,
    SpecError,
    StopReason,
)
from agent.evidence import Evidence, Tampering, is_test_config, is_test_file
from agent.features import (
    FEATURE_FILE,
    Feature,
    FeatureListProblem,
    check_integrity,
    load_features,
    next_feature,
    stalled_message,
    with_verdicts,
)
from agent.git import Git
from agent.guard import Guard
from agent.ports import Clock, Reporter
from agent.projectfs import read_project_file
from agent.prompts import PromptBook
from agent.session_types import SessionCancelled, SessionRequest, SessionResult, worker_field
from agent.state import BuildState, Current, StateStore, atomic_write
from agent.verify import CheckResult, detect_test_command
from agent.workers.merge import NOTES_FILE
from agent.workers.pool import WorkerPool
from agent.workers.worktrees import Worktrees, integration_base, worktrees_base

COMMIT_RE = re.compile(r"^autocode: feature (\d+) passes")


class LoopSettings(BaseModel):
    """The loop's settings a user can set (flags, files, env): shared with ``config.Settings``."""

    no_progress_limit: int = Field(default=3, ge=1, description="sessions per feature before skipping it")
    workers: int = Field(default=1, ge=1, le=32, description="features in flight at once, each in its own "
                         "git worktree (1 = the serial loop)")
    init_retries: int = Field(default=2, ge=0, description="follow-up prompts for an invalid feature list")
    test_cmd: str | None = Field(default=None, description="project test command; default from init.sh")
    check_timeout: float = Field(default=600.0, gt=0, description="seconds per verification command")
    regression: Literal["suite", "features", "none"] = Field(
        default="suite", description="regression gate: the full test command after a feature's own "
        "verify (suite), also every accepted feature's verify (features), or only the own check (none)")
    strict_tests: bool = Field(default=False, description="refuse any change to a protected test, "
                               "even one whose accepted version still passes")


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


Checker = Callable[[str, Path, float], CheckResult]


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
        self.evidence = Evidence(self.project, store.root, self.git.show)
        self.guard = Guard(self.project, store.root, checker, config.check_timeout, self.git,
                               self.evidence, reporter)
        self.iterations = 0
        self.failures_in_row = 0
        self._mark = 0.0  # clock.monotonic() when the elapsed time was last saved
        self._features: list[Feature] | None = None  # the baseline, parsed once

    async def run(self) -> BuildState:
        """Build until a stop reason; raises it (``BuildComplete`` included) after saving."""
        self._mark = self.clock.monotonic()
        state = await self._resume(self.store.load())
        try:
            if not state.initialized:
                await self._initialize(state)
            if self.config.workers > 1:
                await self._parallel(state)
            while True:
                index = self._next(state)
                self._check_limits()
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
        try:
            await WorkerPool(self, self.config.workers, trees).run(state)
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
        self._save_features(with_verdicts(features, set()))
        self.git.commit_all("autocode: initial project skeleton and feature list")
        self.evidence.record()
        state.initialized = True
        state.test_cmd = self.config.test_cmd or detect_test_command(self.project)
        self.guard.baseline(state.test_cmd)
        self._save(state)
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
        baseline = self._baseline()
        index = next_feature(baseline, set(state.passing), set(state.skipped))
        if index is not None:
            return index
        if len(state.passing) == len(baseline):
            raise BuildComplete(f"all {len(baseline)} features pass")
        raise NoProgress(stalled_message(baseline, set(state.passing), set(state.skipped),
                                         self.config.no_progress_limit))

    def _check_limits(self) -> None:
        limit = self.config.limits.max_iterations
        if 0 < limit <= self.iterations:
            raise IterationLimit(f"--max-iterations {limit} reached; run again to continue")
        check_limits(self.config.limits, self.ledger)

    async def _code(self, index: int, state: BuildState) -> None:
        self.iterations += 1
        result = await self._feature_session(index, state, self.project, None, self.git.log(3))
        self._judge(index, state, result, count_attempt=result.error is None)

    async def _feature_session(self, index: int, state: BuildState, directory: Path, worker: int | None,
                               recent_commits: list[str]) -> SessionResult:
        """One coding session on feature ``index`` in ``directory`` (a worker's worktree, or the project)."""
        baseline = self._baseline()
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
        self._save(state)
        request = SessionRequest(directory=directory, title=title, prompt=prompt,
                                 system=self.config.system_prompt, feature=feature, worker=worker)
        try:
            if session_id is None:
                result = await self.sessions.run(request)
            else:
                result = await self.sessions.drive(session_id, request)
        except SessionCancelled as cancelled:  # Ctrl-C: record the aborted session, then stop
            self._record(state, feature, cancelled.result, worker)
            raise
        self._record(state, feature, result, worker)
        if result.halt is not None:
            raise result.halt
        await self._provider_health(result)
        return result

    def _record(self, state: BuildState, feature: int | None, result: SessionResult,
                worker: int | None = None) -> None:
        state.sessions += 1
        state.interrupted_sessions += isinstance(result.halt, Interrupted)
        if worker is None:
            state.current = None
        else:
            state.in_flight.pop(worker, None)
        self.store.record_progress({"kind": "session", "session": result.session_id, "feature": feature,
                                    "stop": result.stop, "cost": round(result.cost, 6),
                                    "turns": result.turns, "duration_s": result.duration_s,
                                    "denied": result.denied, **worker_field(worker),
                                    **({} if worker is None else {"end": self.clock.wall()})})
        self._save(state)
        self.reporter.emit(SessionFinished(session=result.session_id, feature=None if feature is None
                                           else feature + 1, stop=result.stop,
                                           message=result.stop_message[:300], turns=result.turns,
                                           cost_usd=round(result.cost, 6), duration_s=result.duration_s,
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
        await asyncio.sleep(delay)

    # ---- the verdict ------------------------------------------------------------------------

    def _judge(self, index: int, state: BuildState, result: SessionResult, count_attempt: bool,
               worker: int | None = None) -> None:
        baseline = self._baseline()
        integrity = check_integrity(with_verdicts(baseline, set(state.passing)),
                                    read_project_file(self.project, FEATURE_FILE))
        if integrity.violations:
            self.reporter.emit(IntegrityViolation(session=result.session_id, violations=integrity.violations))
        self.guard.begin()
        tampering = self._protect(index, state, bool(integrity.claims))
        refused = bool(tampering.refused) or (bool(integrity.claims) and not self.guard.kept(
            index, state.test_cmd, tampering, state.last_failure))
        accepted = [] if refused else [
            i for i in integrity.claims if self._has_evidence(i, baseline[i], tampering, state)
            and self._verified(i, baseline[i], state) and self._not_weakened(i, tampering, state)]
        state.passing = sorted(set(state.passing) | set(accepted))
        self._save_features(with_verdicts(baseline, set(state.passing)))
        for i in accepted:
            self.git.commit_all(f"autocode: feature {i + 1} passes: {baseline[i].description[:60]}",
                                allow_empty=True)
        if accepted:
            self.evidence.record()
            self.guard.accept(accepted, tampering)
        verdict: Outcome = "accepted" if index in accepted else (
            "rejected" if index in integrity.claims else "not_done")
        if count_attempt or verdict == "accepted":
            self._count_attempt(index, state, verdict == "accepted")
        self.store.record_progress({"kind": "verdict", "session": result.session_id, "feature": index,
                                    "verdict": verdict, "accepted": accepted,
                                    "violations": integrity.violations,
                                    "tests_refused": tampering.refused,
                                    "tests_changed": tampering.changed, **self.guard.summary(),
                                    "cost": round(self.ledger.by_feature.get(index, 0.0), 6),
                                    **worker_field(worker)})
        self.store.save(state)
        self.reporter.emit(FeatureVerdict(session=result.session_id, feature=index + 1, verdict=verdict,
                                          accepted=[i + 1 for i in accepted], passing=len(state.passing),
                                          total=len(baseline), violations=integrity.violations,
                                          tests_refused=tampering.refused, tests_changed=tampering.changed,
                                          **self.guard.summary(), worker=worker))

    def _protect(self, index: int, state: BuildState, claimed: bool) -> Tampering:
        """Refuse deleted or emptied protected tests: restore them, tell the next session why."""
        tampering = self.evidence.inspect()
        if tampering.refused:
            restored = self.evidence.restore(tampering.refused)
            state.last_failure[index] = tampering.message()
            self.reporter.emit(TestsRefused(feature=index + 1, refused=tampering.refused,
                                            restored=restored, claimed=claimed))
        return tampering

    def _has_evidence(self, index: int, feature: Feature, tampering: Tampering, state: BuildState) -> bool:
        """A feature without its own ``verify`` must come with a new or changed test file (once the
        project has tests at all: the initializer sets the test up)."""
        if feature.verify or not any(is_test_file(p) for p in self.evidence.accepted().files):
            return True
        if any(is_test_file(p) for p in tampering.added + tampering.changed):
            return True
        state.last_failure[index] = ("rejected: no test for this feature. A feature without its own "
                                     "`verify` is accepted only with a new or changed test that shows "
                                     "it works; write one, then mark it passing.")
        self.reporter.emit(CheckEvent(feature=index + 1, command=None, ok=False,
                                      output="no test for this feature"))
        return False

    def _not_weakened(self, index: int, tampering: Tampering, state: BuildState) -> bool:
        """A changed protected test passes only if its ACCEPTED version still passes against the new
        code (otherwise it passes only because the test changed); ``--strict-tests`` refuses any change."""
        changed = tampering.changed + [p for p in tampering.added if is_test_config(p)]  # a new conftest.py
        if not changed:
            return True
        if self.config.strict_tests:
            return self._refuse_weakened(index, changed, state, "--strict-tests: they may not change")
        if not state.test_cmd or self.config.regression == "none":
            return True
        self.evidence.swap_in_accepted(changed)
        try:
            check = self.checker(state.test_cmd, self.project, self.config.check_timeout)
        finally:
            self.evidence.swap_back()
        self.guard.note(check, gate=True)
        self.reporter.emit(CheckEvent(feature=index + 1, command=state.test_cmd, ok=check.ok, gate=True,
                                      output=check.output[-1000:], duration_s=check.duration_s,
                                      accepted_tests=changed))
        if check.ok:
            return True
        return self._refuse_weakened(index, changed, state,
                                     f"the accepted versions of {', '.join(changed)} fail against your code "
                                     f"(they pass only because the tests changed):\n{check.output[-1500:]}")

    def _refuse_weakened(self, index: int, changed: list[str], state: BuildState, why: str) -> bool:
        restored = self.evidence.restore(changed, remove_new=True)
        state.last_failure[index] = (f"rejected: weakened protected tests, {why}. They were restored "
                                     "from the last accepted commit; make the code pass them.")
        self.reporter.emit(TestsRefused(feature=index + 1, refused=changed, restored=restored, claimed=True))
        return False

    def _verified(self, index: int, feature: Feature, state: BuildState) -> bool:
        commands = [c for c in dict.fromkeys(self._gate(feature, state)) if c]
        return all(self._check(index, command, state, gate=command != feature.verify)
                   for command in commands) if commands else self._check(index, None, state)

    def _gate(self, feature: Feature, state: BuildState) -> list[str | None]:
        """The commands a claim must pass: its own check, then the regression gate's."""
        if self.config.regression == "none":
            return [feature.verify or state.test_cmd]
        older = [f.verify for i, f in enumerate(self._baseline()) if i in state.passing] \
            if self.config.regression == "features" else []
        return [feature.verify, state.test_cmd, *older]

    def _check(self, index: int, command: str | None, state: BuildState, gate: bool = False) -> bool:
        """One check; the feature's own ``verify`` and then the full suite (the regression gate)."""
        if not command:
            self.reporter.emit(CheckEvent(feature=index + 1, command=None, ok=True,
                                          output="no check configured: the agent's mark is accepted"))
            return True
        check = self.checker(command, self.project, self.config.check_timeout)
        self.guard.note(check, gate)
        self.reporter.emit(CheckEvent(feature=index + 1, command=command, ok=check.ok,
                                      output=check.output[-1000:], duration_s=check.duration_s, gate=gate))
        if check.ok:
            state.last_failure.pop(index, None)
        else:
            why = ("the regression gate (the whole test suite, or an accepted feature's check) failed: "
                   "an earlier feature is broken; fix it, never its tests\n" + self.guard.regression(
                       index, check.output, state.passing, self._baseline(), command)) if gate else ""
            state.last_failure[index] = f"{why}$ {command}\n{check.output[-2500:]}"
        return check.ok

    def _count_attempt(self, index: int, state: BuildState, accepted: bool) -> None:
        if accepted:
            state.attempts.pop(index, None)
            return
        state.attempts[index] = state.attempts.get(index, 0) + 1
        if state.attempts[index] >= self.config.no_progress_limit:
            state.skipped = sorted(set(state.skipped) | {index})
            self.reporter.emit(FeatureSkipped(feature=index + 1, attempts=state.attempts[index]))

    # ---- resume and stop ------------------------------------------------------------------------

    async def _resume(self, state: BuildState) -> BuildState:
        for warning in state.warnings:
            self.reporter.emit(WarningEvent(message=warning))
        state.warnings = []
        for path in self.evidence.swap_back():  # killed while the accepted tests were in place
            self.reporter.emit(WarningEvent(message=f"put back the agent's {path} after an interrupted check"))
        spec = self.project / "app_spec.txt"
        if not spec.exists():
            raise SpecError(f"{spec} is missing: pass --spec FILE")
        state.model = self.config.model
        state.sandbox = self.config.sandbox
        state.priced = self.config.priced
        state.skipped = []  # a new run gives skipped features another chance
        recovered = 0.0
        if state.current is not None:  # the previous run died mid-session
            state.interrupted_sessions += 1
            recovered = await self.sessions.recover(self.project, state.current.started,
                                                    state.current.feature)
            self.store.record_progress({"kind": "interrupted", "feature": state.current.feature})
            state.current = None
        for worker, current in sorted(state.in_flight.items()):  # workers killed mid-session
            state.interrupted_sessions += 1
            recovered += await self.sessions.recover(Path(current.directory), current.started, current.feature)
            self.store.record_progress({"kind": "interrupted", "feature": current.feature, "worker": worker})
        state.in_flight = {}
        committed = {int(m.group(1)) - 1 for line in self.git.log(10_000) if (m := COMMIT_RE.match(
            line.split(" ", 1)[-1]))}
        state.passing = sorted(set(state.passing) | committed)
        recorded = {int(i) for r in self.store.progress() if r.get("kind") == "verdict"
                    for i in r.get("accepted") or []}
        for index in sorted(set(state.passing) - recorded):  # committed, then killed before the record
            self.store.record_progress({"kind": "verdict", "session": None, "feature": index,
                                        "verdict": "accepted", "accepted": [index], "violations": [],
                                        "recovered": True})
        state.stop_reason = None
        self._save(state)
        if state.sessions or state.initialized:
            self.reporter.emit(Resumed(passing=len(state.passing), total=len(self._baseline())
                                       if state.initialized else 0, spent_usd=round(self.ledger.total, 6),
                                       denied=len(self.store.denied()), sessions=state.sessions,
                                       interrupted=state.interrupted_sessions,
                                       recovered_usd=round(recovered, 6)))
        return state

    def _stop(self, state: BuildState, stop: StopReason) -> None:
        if state.current is not None:  # cut off before its session could be recorded
            state.interrupted_sessions += 1
            self.store.record_progress({"kind": "interrupted", "feature": state.current.feature})
            state.current = None
        for worker, current in sorted(state.in_flight.items()):
            state.interrupted_sessions += 1
            self.store.record_progress({"kind": "interrupted", "feature": current.feature, "worker": worker})
        state.in_flight = {}
        state.stop_reason = stop.kind
        state.stop_message = str(stop)
        self._save(state)
        self.reporter.emit(Stopped(reason=stop.kind, message=str(stop), exit_code=int(stop.exit_code),
                                   passing=len(state.passing), cost_usd=round(self.ledger.total, 6)))

    def _save(self, state: BuildState) -> None:
        """Save the state with the time spent so far (a killed run keeps all but the last stretch)."""
        now = self.clock.monotonic()
        state.elapsed_s = round(state.elapsed_s + now - self._mark, 3)
        self._mark = now
        self.store.save(state)

    def _save_features(self, features: list[Feature]) -> None:
        """Write the list with the harness' verdicts to the project and the baseline (one dump)."""
        atomic_write(self.project / FEATURE_FILE, self.store.save_baseline(features))
        self._features = features

    def _baseline(self) -> list[Feature]:
        if self._features is not None:
            return self._features
        baseline = self.store.load_baseline()
        self._features = baseline
        if baseline is None:
            raise FeatureListError("the feature list is missing from .autocode/; re-run the initializer "
                                   "by removing .autocode/state.json")
        return baseline

    def _notes_tail(self, directory: Path, lines: int = 12) -> str:
        notes = read_project_file(directory, NOTES_FILE) or ""  # never through the agent's symlinks
        return "\n".join(notes.strip().splitlines()[-lines:])
