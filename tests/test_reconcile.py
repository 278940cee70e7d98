"""The resume reconciliation (``agent/reconcile.py``): sessions a kill cut off (serial and workers'),
their spend recovered, passing from the verdict commits, records a kill left out."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.cost import Ledger
from agent.errors import SpecError
from agent.evidence import Evidence
from agent.reconcile import Reconciler, add_passing
from agent.state import BuildState, Current, StateSaver
from tests.fakes import FakeClock, FakeSessions, Project, RecordingReporter, features

TEST = "def test_one():\n    assert 1 == 1\n"


class Killed(Project):
    """A project with three features, feature 1 accepted, as a killed build leaves it."""

    def __init__(self, root: Path) -> None:
        super().__init__(root / "project", features("A", "B", "C"))
        (self.project / "test_one.py").write_text(TEST)
        self.git.commit_all("autocode: initial project skeleton and feature list")
        self.git.commit_all("autocode: feature 1 passes: A", allow_empty=True)
        self.store.record_progress({"kind": "verdict", "session": "ses_1", "feature": 0, "verdict": "accepted",
                                    "accepted": [0], "violations": []})
        self.evidence = Evidence(self.project, self.store.root, self.git.show)
        self.evidence.record()
        self.sessions = FakeSessions(Ledger(), recovered=0.25)
        self.reporter = RecordingReporter()
        self.clock = FakeClock()
        self.reconciler = Reconciler(self.project, self.sessions, self.store, Ledger(), self.reporter,
                                     self.evidence, self.git, self.baseline, StateSaver(self.store, self.clock))
        self.state = BuildState(initialized=True, passing=[0], sessions=3, test_cmd="true")

    def resume(self) -> BuildState:
        self.store.save(self.state)
        return asyncio.run(self.reconciler.resume(self.store.load()))

    def records(self, kind: str) -> list[dict[str, object]]:
        return [{k: v for k, v in r.items() if k != "time"} for r in self.store.progress() if r["kind"] == kind]


def test_a_kill_mid_session_counts_it_interrupted_and_recovers_its_spend(tmp_path: Path) -> None:
    killed = Killed(tmp_path)
    killed.state.current = Current(feature=1, started=123.0, directory=str(killed.project))
    state = killed.resume()
    assert killed.sessions.recovers == [(killed.project, 123.0, 1)]
    assert state.current is None and state.interrupted_sessions == 1
    assert killed.records("interrupted") == [{"kind": "interrupted", "feature": 1}]
    resumed = killed.reporter.named("resumed")[0]
    assert resumed["recovered_usd"] == 0.25 and resumed["interrupted"] == 1 and resumed["passing"] == 1
    assert resumed["total"] == 3
    assert killed.store.load().current is None  # saved


def test_workers_killed_mid_session_are_each_recovered_in_their_worktree(tmp_path: Path) -> None:
    killed = Killed(tmp_path)
    w1, w2 = tmp_path / "trees" / "w1", tmp_path / "trees" / "w2"
    killed.state.in_flight = {2: Current(feature=2, started=5.0, directory=str(w2)),
                              1: Current(feature=1, started=4.0, directory=str(w1))}
    state = killed.resume()
    assert killed.sessions.recovers == [(w1, 4.0, 1), (w2, 5.0, 2)]
    assert state.in_flight == {} and state.interrupted_sessions == 2
    assert killed.records("interrupted") == [{"kind": "interrupted", "feature": 1, "worker": 1},
                                             {"kind": "interrupted", "feature": 2, "worker": 2}]
    assert killed.reporter.named("resumed")[0]["recovered_usd"] == 0.5


def test_a_verdict_commit_without_its_record_passes_and_gets_the_record_once(tmp_path: Path) -> None:
    killed = Killed(tmp_path)
    killed.git.commit_all("autocode: feature 3 passes: C", allow_empty=True)  # killed before the record
    state = killed.resume()
    assert state.passing == [0, 2]
    recovered = [r for r in killed.records("verdict") if r.get("recovered")]
    assert recovered == [{"kind": "verdict", "session": None, "feature": 2, "verdict": "accepted",
                          "accepted": [2], "violations": [], "recovered": True}]
    killed.state = state
    killed.resume()
    assert len([r for r in killed.records("verdict") if r.get("recovered")]) == 1


def test_a_verdict_commit_without_its_record_gets_its_tests_protected(tmp_path: Path) -> None:
    """Killed after `feature 3 passes` was committed, before the inventory was written: the resume
    lists the committed tests, so a later session deleting them is caught."""
    killed = Killed(tmp_path)
    (killed.project / "test_three.py").write_text(TEST.replace("one", "three"))
    killed.git.commit_all("autocode: feature 3 passes: C")
    assert "test_three.py" not in killed.evidence.accepted().files
    killed.resume()
    assert {"test_one.py", "test_three.py"} <= set(killed.evidence.accepted().files)
    (killed.project / "test_three.py").unlink()
    assert killed.evidence.inspect().deleted == ["test_three.py"]


def test_a_tree_that_differs_from_the_unrecorded_commit_is_not_listed(tmp_path: Path) -> None:
    killed = Killed(tmp_path)
    (killed.project / "test_three.py").write_text(TEST.replace("one", "three"))
    killed.git.commit_all("autocode: feature 3 passes: C")
    (killed.project / "test_four.py").write_text(TEST.replace("one", "four"))  # not the commit
    killed.resume()
    assert "test_four.py" not in killed.evidence.accepted().files
    assert any("not added to the protected inventory" in w["message"] for w in killed.reporter.named("warning"))


def test_passing_grows_through_one_routine_sorted_and_without_repeats() -> None:
    state = BuildState(passing=[3, 1])
    assert add_passing(state, [2, 3, 2]) == [2]
    assert state.passing == [1, 2, 3]
    assert add_passing(state, []) == [] and state.passing == [1, 2, 3]


def test_a_resume_gives_skipped_features_another_chance_and_shows_the_warnings(tmp_path: Path) -> None:
    killed = Killed(tmp_path)
    killed.state.skipped, killed.state.stop_reason = [1], "no_progress"
    killed.state.warnings = ["state.json was corrupt"]
    state = killed.resume()
    assert state.skipped == [] and state.stop_reason is None and state.warnings == []
    assert killed.reporter.named("warning") == [{"message": "state.json was corrupt"}]


def test_tests_left_swapped_by_a_killed_check_are_put_back(tmp_path: Path) -> None:
    killed = Killed(tmp_path)
    agents = "def test_one():\n    assert 2 == 2\n"
    (killed.project / "test_one.py").write_text(agents)
    killed.evidence.swap_in_accepted(["test_one.py"])  # the check was killed with these in place
    assert (killed.project / "test_one.py").read_text() == TEST
    killed.resume()
    assert (killed.project / "test_one.py").read_text() == agents
    assert any("test_one.py" in w["message"] for w in killed.reporter.named("warning"))


def test_a_missing_spec_stops_the_resume(tmp_path: Path) -> None:
    killed = Killed(tmp_path)
    (killed.project / "app_spec.txt").unlink()
    with pytest.raises(SpecError):
        killed.resume()


def test_a_stop_counts_the_sessions_it_cut_off_without_recovering(tmp_path: Path) -> None:
    killed = Killed(tmp_path)
    killed.state.current = Current(feature=0)
    killed.state.in_flight = {3: Current(feature=2)}
    killed.reconciler.stopped(killed.state)
    assert killed.state.current is None and killed.state.in_flight == {}
    assert killed.state.interrupted_sessions == 2 and killed.sessions.recovers == []
    assert killed.records("interrupted") == [{"kind": "interrupted", "feature": 0},
                                             {"kind": "interrupted", "feature": 2, "worker": 3}]
