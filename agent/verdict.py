"""The verdict on a session's claim: the harness, not the agent, decides whether a feature passes.

Integrity of the feature list, protected tests (deleted or emptied refused and restored, weakened
ones caught with their accepted versions), evidence for a feature without its own check, the
feature's check and the regression gate, the guard (test ids kept, regressions attributed), then
one git commit per accepted feature, the attempt counting, the verdict record and its events.
A :class:`Judge` is rooted at one tree: the project, or the workers' integration tree.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from agent.baseline import Baseline
from agent.build_events import (
    CheckEvent,
    FeatureSkipped,
    FeatureVerdict,
    IntegrityViolation,
    Outcome,
    TestsRefused,
)
from agent.cost import Ledger
from agent.evidence import Evidence, Tampering, is_test_config, is_test_file
from agent.features import FEATURE_FILE, Feature, check_integrity, with_verdicts
from agent.git import Git
from agent.guard import Guard
from agent.ports import Reporter
from agent.projectfs import read_project_file
from agent.reconcile import add_passing
from agent.session_types import SessionResult, worker_field
from agent.state import BuildState, StateStore
from agent.verify import CheckResult

Checker = Callable[[str, Path, float], CheckResult]


class VerdictSettings(BaseModel):
    """How strict the verdict is (shared with the loop's settings)."""

    no_progress_limit: int = Field(default=3, ge=1, description="sessions per feature before skipping it")
    check_timeout: float = Field(default=600.0, gt=0, description="seconds per verification command")
    regression: Literal["suite", "features", "none"] = Field(
        default="suite", description="regression gate: the full test command after a feature's own "
        "verify (suite), also every accepted feature's verify (features), or only the own check (none)")
    strict_tests: bool = Field(default=False, description="refuse any change to a protected test, "
                               "even one whose accepted version still passes")


class Judge:
    def __init__(self, settings: VerdictSettings, project: Path, checker: Checker, git: Git,
                 evidence: Evidence, guard: Guard, store: StateStore, reporter: Reporter, ledger: Ledger,
                 baseline: Baseline) -> None:
        self.settings, self.project, self.checker, self.git = settings, project, checker, git
        self.evidence, self.guard, self.store, self.reporter = evidence, guard, store, reporter
        self.ledger, self.baseline = ledger, baseline

    @classmethod
    def rooted(cls, settings: VerdictSettings, project: Path, checker: Checker, git: Git, store: StateStore,
               reporter: Reporter, ledger: Ledger, baseline: Baseline) -> Judge:
        """The verdict on the tree at ``project`` (its git, its protected tests, its guard)."""
        evidence = Evidence(project, store.root, git.show)
        guard = Guard(project, store.root, checker, settings.check_timeout, git, evidence, reporter)
        return cls(settings, project, checker, git, evidence, guard, store, reporter, ledger, baseline)

    def judge(self, index: int, state: BuildState, result: SessionResult, count_attempt: bool,
              worker: int | None = None) -> None:
        """Judge the session's claims on feature ``index``: accepted ones join ``state.passing``."""
        baseline = self.baseline.features()
        integrity = check_integrity(with_verdicts(baseline, set(state.passing)),
                                    read_project_file(self.project, FEATURE_FILE))
        if integrity.violations:
            self.reporter.emit(IntegrityViolation(session=result.session_id,
                               violations=integrity.violations))
        self.guard.begin()
        tampering = self._protect(index, state, bool(integrity.claims))
        refused = bool(tampering.refused) or (bool(integrity.claims) and not self.guard.kept(
            index, state.test_cmd, tampering, state.last_failure))
        accepted = [] if refused else [
            i for i in integrity.claims if self._has_evidence(i, baseline[i], tampering, state)
            and self._verified(i, baseline[i], state) and self._not_weakened(i, tampering, state)]
        add_passing(state, accepted)
        self.baseline.save(with_verdicts(baseline, set(state.passing)), self.project)
        for i in accepted:
            self.git.commit_all(f"autocode: feature {i + 1} passes: {baseline[i].description[:60]}",
                                allow_empty=True)
        if accepted:
            self.evidence.record()
            self.guard.accept(accepted, tampering)
        verdict: Outcome = "accepted" if index in accepted else (
            "rejected" if index in integrity.claims else "not_done")
        if count_attempt or verdict == "accepted":
            self.count_attempt(index, state, verdict == "accepted")
        self.store.record_progress({"kind": "verdict", "session": result.session_id, "feature": index,
                                    "verdict": verdict, "accepted": accepted,
                                    "violations": integrity.violations,
                                    "tests_refused": tampering.refused,
                                    "tests_changed": tampering.changed, **self.guard.summary(),
                                    "cost": round(self.ledger.by_feature.get(index, 0.0), 6),
                                    **worker_field(worker)})
        self.store.save(state)
        self.reporter.emit(FeatureVerdict(session=result.session_id, feature=index + 1,
                           verdict=verdict, accepted=[i + 1 for i in accepted],
                           passing=len(state.passing), total=len(baseline),
                           violations=integrity.violations, tests_refused=tampering.refused,
                           tests_changed=tampering.changed, **self.guard.summary(), worker=worker))

    def not_done(self, index: int, state: BuildState, result: SessionResult, worker: int) -> None:
        """(``--workers``) The session ended without marking its feature passing: nothing to merge."""
        if result.error is None:
            self.count_attempt(index, state, False)
        self.store.record_progress({"kind": "verdict", "session": result.session_id, "feature": index,
                                    "verdict": "not_done", "accepted": [], "worker": worker})
        self.store.save(state)
        self.reporter.emit(FeatureVerdict(session=result.session_id, feature=index + 1,
                           verdict="not_done", accepted=[], passing=len(state.passing),
                           total=len(self.baseline.features()), violations=[], tests_refused=[],
                           tests_changed=[], worker=worker))

    def count_attempt(self, index: int, state: BuildState, accepted: bool) -> None:
        """An accepted feature starts over; ``no_progress_limit`` failed sessions skip it this run."""
        if accepted:
            state.attempts.pop(index, None)
            return
        state.attempts[index] = state.attempts.get(index, 0) + 1
        if state.attempts[index] >= self.settings.no_progress_limit:
            state.skipped = sorted(set(state.skipped) | {index})
            self.reporter.emit(FeatureSkipped(feature=index + 1, attempts=state.attempts[index]))

    # ---- the steps of a verdict ---------------------------------------------------------------

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
        if self.settings.strict_tests:
            return self._refuse_weakened(index, changed, state, "--strict-tests: they may not change")
        if not state.test_cmd or self.settings.regression == "none":
            return True
        self.evidence.swap_in_accepted(changed)
        try:
            check = self.checker(state.test_cmd, self.project, self.settings.check_timeout)
        finally:
            self.evidence.swap_back()
        self.guard.note(check, gate=True)
        self.reporter.emit(CheckEvent(feature=index + 1, command=state.test_cmd, ok=check.ok, gate=True,
                           output=check.output[-1000:], duration_s=check.duration_s, accepted_tests=changed))
        if check.ok:
            return True
        return self._refuse_weakened(index, changed, state,
                                     f"the accepted versions of {', '.join(changed)} fail against your code "
                                     f"(they pass only because the tests changed):\n{check.output[-1500:]}")

    def _refuse_weakened(self, index: int, changed: list[str], state: BuildState, why: str) -> bool:
        restored = self.evidence.restore(changed, remove_new=True)
        state.last_failure[index] = (f"rejected: weakened protected tests, {why}. They were restored "
                                     "from the last accepted commit; make the code pass them.")
        self.reporter.emit(TestsRefused(feature=index + 1, refused=changed, restored=restored,
                           claimed=True))
        return False

    def _verified(self, index: int, feature: Feature, state: BuildState) -> bool:
        commands = [c for c in dict.fromkeys(self._gate(feature, state)) if c]
        return all(self._check(index, command, state, gate=command != feature.verify)
                   for command in commands) if commands else self._check(index, None, state)

    def _gate(self, feature: Feature, state: BuildState) -> list[str | None]:
        """The commands a claim must pass: its own check, then the regression gate's."""
        if self.settings.regression == "none":
            return [feature.verify or state.test_cmd]
        older = [f.verify for i, f in enumerate(self.baseline.features()) if i in state.passing] \
            if self.settings.regression == "features" else []
        return [feature.verify, state.test_cmd, *older]

    def _check(self, index: int, command: str | None, state: BuildState, gate: bool = False) -> bool:
        """One check; the feature's own ``verify`` and then the full suite (the regression gate)."""
        if not command:
            self.reporter.emit(CheckEvent(feature=index + 1, command=None, ok=True,
                               output="no check configured: the agent's mark is accepted"))
            return True
        check = self.checker(command, self.project, self.settings.check_timeout)
        self.guard.note(check, gate)
        self.reporter.emit(CheckEvent(feature=index + 1, command=command, ok=check.ok,
                           output=check.output[-1000:], duration_s=check.duration_s, gate=gate))
        if check.ok:
            state.last_failure.pop(index, None)
        else:
            why = ("the regression gate (the whole test suite, or an accepted feature's check) failed: "
                   "an earlier feature is broken; fix it, never its tests\n" + self.guard.regression(
                       index, check.output, state.passing, self.baseline.features(), command)) if gate else ""
            state.last_failure[index] = f"{why}$ {command}\n{check.output[-2500:]}"
        return check.ok
