"""What a build finds when it starts again, and what it leaves when it stops.

``state.passing`` has one source of truth: the harness' verdicts, each followed by one commit
``autocode: feature N passes``. :func:`add_passing` is the one routine that adds to it (the serial
verdict, the workers' merge queue, and a resume reading the commits). A resume also puts back
the agent's tests a killed check left swapped, counts the sessions a kill cut off (the serial
one and every worker's) with the spend recovered from the server, and writes the verdict record
a kill between a commit and its record left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from agent.baseline import Baseline
from agent.build_events import Resumed, WarningEvent
from agent.cost import Ledger
from agent.errors import SpecError
from agent.evidence import Evidence
from agent.git import Git
from agent.ports import Reporter
from agent.session_types import worker_field
from agent.state import BuildState, Current, StateSaver, StateStore

COMMIT_RE = re.compile(r"^autocode: feature (\d+) passes")


class Recoverer(Protocol):
    async def recover(self, directory: Path, since: float, feature: int | None) -> float: ...


def add_passing(state: BuildState, indices: Iterable[int]) -> list[int]:
    """Add features to ``state.passing`` (kept sorted, without repeats); returns the new ones."""
    before = set(state.passing)
    state.passing = sorted(before | set(indices))
    return sorted(set(state.passing) - before)


class Reconciler:
    def __init__(self, project: Path, sessions: Recoverer, store: StateStore, ledger: Ledger,
                 reporter: Reporter, evidence: Evidence, git: Git, baseline: Baseline,
                 saver: StateSaver) -> None:
        self.project, self.sessions, self.store, self.ledger = project, sessions, store, ledger
        self.reporter, self.evidence, self.git = reporter, evidence, git
        self.baseline, self.saver = baseline, saver

    async def resume(self, state: BuildState) -> BuildState:
        """The saved state made true to the project again (after a clean stop or a kill)."""
        for warning in state.warnings:
            self.reporter.emit(WarningEvent(message=warning))
        state.warnings = []
        for path in self.evidence.swap_back():  # killed while the accepted tests were in place
            self.reporter.emit(WarningEvent(message=f"put back the agent's {path} after an interrupted check"))
        spec = self.project / "app_spec.txt"
        if not spec.exists():
            raise SpecError(f"{spec} is missing: pass --spec FILE")
        state.skipped = []  # a new run gives skipped features another chance
        recovered = 0.0
        for worker, current in self._cut_off(state):  # the previous run died mid-session
            directory = self.project if worker is None else Path(current.directory)
            recovered += await self.sessions.recover(directory, current.started, current.feature)
            self._interrupted(worker, current)
        self._passing(state)
        state.stop_reason = None
        self.saver.save(state)
        if state.sessions or state.initialized:
            self.reporter.emit(Resumed(passing=len(state.passing), total=len(self.baseline.features())
                               if state.initialized else 0, spent_usd=round(self.ledger.total, 6),
                               denied=len(self.store.denied()), sessions=state.sessions,
                               interrupted=state.interrupted_sessions, recovered_usd=round(recovered, 6)))
        return state

    def stopped(self, state: BuildState) -> None:
        """The build stops: sessions cut off before they were recorded count as interrupted."""
        for worker, current in self._cut_off(state):
            self._interrupted(worker, current)

    def _passing(self, state: BuildState) -> None:
        """Passing = the verdicts saved + the verdict commits; a commit without its verdict record
        (killed in between) gets the record now."""
        add_passing(state, {int(m.group(1)) - 1 for line in self.git.log(10_000)
                            if (m := COMMIT_RE.match(line.split(" ", 1)[-1]))})
        recorded = {int(i) for r in self.store.progress() if r.get("kind") == "verdict"
                    for i in r.get("accepted") or []}
        missing = sorted(set(state.passing) - recorded)
        if missing:
            self._protect_committed_tests()
        for index in missing:
            self.store.record_progress({"kind": "verdict", "session": None, "feature": index,
                                        "verdict": "accepted", "accepted": [index], "violations": [],
                                        "recovered": True})

    def _protect_committed_tests(self) -> None:
        """The kill between a verdict commit and its record also lost the accepted tests'
        inventory (what later sessions may not delete or weaken): list it again, from the tree
        as committed. No session has run since (this is the first resume after the kill), so a
        clean tree is the commit; a tree that differs from it is not listed, and said so."""
        if self.git.dirty():
            self.reporter.emit(WarningEvent(message="a verdict commit was found without its record and the "
                                                    "tree differs from it: its tests were not added to the "
                                                    "protected inventory"))
            return
        self.evidence.record()

    def _cut_off(self, state: BuildState) -> list[tuple[int | None, Current]]:
        """The sessions in flight (the serial one, then the workers'), cleared and counted interrupted."""
        cut: list[tuple[int | None, Current]] = [] if state.current is None else [(None, state.current)]
        cut += sorted(state.in_flight.items())
        state.current, state.in_flight = None, {}
        state.interrupted_sessions += len(cut)
        return cut

    def _interrupted(self, worker: int | None, current: Current) -> None:
        self.store.record_progress({"kind": "interrupted", "feature": current.feature, **worker_field(worker)})
