"""The verdict (``agent/verdict.py``) on a session's claim, with a fake checker and git in a temp dir."""

from __future__ import annotations

import json
from pathlib import Path

from agent.cost import Ledger
from agent.features import FEATURE_FILE
from agent.session_types import SessionResult
from agent.state import BuildState
from agent.verdict import Judge, VerdictSettings
from tests.fakes import FakeChecker, Project, RecordingReporter, features

ACCEPTED_TEST = "from app import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"


class Case(Project):
    """A project after its initializer: two features, one accepted test file, a Judge on it."""

    def __init__(self, root: Path, verify: dict[int, str] | None = None, failing: tuple[str, ...] = (),
                 code_broken: bool = False, **settings: object) -> None:
        """``failing``: commands that fail; ``code_broken``: the accepted test fails against the code."""
        super().__init__(root / "project", features("Add", "Subtract", verify=verify))
        (self.project / "tests").mkdir()
        (self.project / "tests" / "test_app.py").write_text(ACCEPTED_TEST)
        self.git.commit_all("autocode: initial project skeleton and feature list")
        def rule(command: str, cwd: Path) -> bool:
            accepted = (cwd / "tests" / "test_app.py").read_text() == ACCEPTED_TEST
            return command not in failing and not (code_broken and command == "run-tests" and accepted)

        self.checker = FakeChecker(rule)
        self.reporter = RecordingReporter()
        self.judge = Judge.rooted(VerdictSettings(**settings), self.project, self.checker,  # type: ignore[arg-type]
                                  self.git, self.store, self.reporter, Ledger(), self.baseline)
        self.judge.evidence.record()
        self.state = BuildState(initialized=True, test_cmd="run-tests")

    def claim(self, *indices: int, files: dict[str, str | None] | None = None) -> None:
        """What an agent leaves: files written (None: deleted), features marked passing."""
        for name, text in (files or {}).items():
            if text is None:
                (self.project / name).unlink()
            else:
                (self.project / name).write_text(text)
        path = self.project / FEATURE_FILE
        listed = json.loads(path.read_text())
        for index in indices:
            listed[index]["passes"] = True
        path.write_text(json.dumps(listed))

    def verdict(self, index: int = 0, count_attempt: bool = True) -> dict[str, object]:
        self.judge.judge(index, self.state, SessionResult(session_id="ses_9"), count_attempt)
        return self.reporter.named("feature_verdict")[-1]

    def subjects(self) -> list[str]:
        return [line.split(" ", 1)[1] for line in self.git.log(10)]

    def listed(self) -> list[bool]:
        return [f["passes"] for f in json.loads((self.project / FEATURE_FILE).read_text())]


NEW_TEST = {"tests/test_add.py": "def test_more():\n    assert True\n"}


def test_a_verified_claim_is_accepted_committed_and_recorded(tmp_path: Path) -> None:
    case = Case(tmp_path)
    case.claim(0, files=NEW_TEST)
    verdict = case.verdict()
    assert verdict["verdict"] == "accepted" and verdict["accepted"] == [1] and verdict["passing"] == 1
    assert case.state.passing == [0] and case.state.attempts == {}
    assert case.subjects()[0] == "autocode: feature 1 passes: Add"
    assert case.checker.calls == ["run-tests"]  # no own check: the regression gate decides
    record = [r for r in case.store.progress() if r["kind"] == "verdict"][-1]
    assert record["verdict"] == "accepted" and record["accepted"] == [0] and record["session"] == "ses_9"
    assert case.listed() == [True, False] and case.store.load_baseline() is not None
    assert "tests/test_add.py" in case.judge.evidence.accepted().files  # now protected too


def test_a_claim_whose_own_check_fails_is_rejected_and_counted(tmp_path: Path) -> None:
    case = Case(tmp_path, verify={0: "check-add"}, failing=("check-add",))
    case.claim(0)
    verdict = case.verdict()
    assert verdict["verdict"] == "rejected" and verdict["accepted"] == []
    assert case.state.passing == [] and case.state.attempts == {0: 1}
    assert case.state.last_failure[0].startswith("$ check-add\ncheck-add: FAILED")
    assert case.subjects() == ["autocode: initial project skeleton and feature list"]
    assert case.listed() == [False, False]  # the agent's mark is replaced by the verdict


def test_a_failing_regression_gate_rejects_a_claim_whose_own_check_passes(tmp_path: Path) -> None:
    case = Case(tmp_path, verify={0: "check-add"}, failing=("run-tests",))
    case.claim(0)
    assert case.verdict()["verdict"] == "rejected"
    assert case.checker.calls == ["check-add", "run-tests"]
    assert case.state.last_failure[0].startswith("the regression gate")
    gate = case.reporter.named("check")[-1]
    assert gate["gate"] is True and gate["ok"] is False and gate["command"] == "run-tests"


def test_an_edited_feature_list_is_a_violation_and_only_real_claims_count(tmp_path: Path) -> None:
    case = Case(tmp_path)
    case.claim(0, files=NEW_TEST)
    path = case.project / FEATURE_FILE
    listed = json.loads(path.read_text())
    listed[1]["description"] = "anything"
    listed[1]["passes"] = True
    path.write_text(json.dumps(listed))
    verdict = case.verdict()
    assert case.reporter.named("integrity_violation")[0]["violations"] == ["feature 2 was edited or reordered"]
    assert verdict["accepted"] == [1] and verdict["violations"] == ["feature 2 was edited or reordered"]
    restored = json.loads(path.read_text())
    assert restored[1]["description"] == "Subtract" and restored[1]["passes"] is False


def test_a_deleted_protected_test_is_refused_and_restored(tmp_path: Path) -> None:
    case = Case(tmp_path)
    case.claim(0, files={"tests/test_app.py": None, **NEW_TEST})
    verdict = case.verdict()
    assert verdict["verdict"] == "rejected" and verdict["tests_refused"] == ["tests/test_app.py"]
    assert (case.project / "tests" / "test_app.py").read_text() == ACCEPTED_TEST
    refused = case.reporter.named("tests_refused")[0]
    assert refused["restored"] == ["tests/test_app.py"] and refused["claimed"] is True
    assert "deleted: tests/test_app.py" in case.state.last_failure[0]
    assert case.state.passing == []


def test_a_weakened_protected_test_is_refused_when_its_accepted_version_fails(tmp_path: Path) -> None:
    case = Case(tmp_path, code_broken=True)
    case.claim(0, files={"tests/test_app.py": "def test_add():\n    assert True\n"})
    verdict = case.verdict()
    assert verdict["verdict"] == "rejected" and verdict["tests_changed"] == ["tests/test_app.py"]
    assert case.checker.calls == ["run-tests", "run-tests"]  # the agent's tests, then the accepted ones
    assert case.reporter.named("check")[-1]["accepted_tests"] == ["tests/test_app.py"]
    assert "weakened protected tests" in case.state.last_failure[0]
    assert (case.project / "tests" / "test_app.py").read_text() == ACCEPTED_TEST


def test_a_changed_test_whose_accepted_version_still_passes_is_accepted_unless_strict(tmp_path: Path) -> None:
    changed = {"tests/test_app.py": ACCEPTED_TEST + "\ndef test_add_more():\n    assert add(2, 2) == 4\n"}
    lenient = Case(tmp_path / "lenient")
    lenient.claim(0, files=changed)
    assert lenient.verdict()["verdict"] == "accepted"
    strict = Case(tmp_path / "strict", strict_tests=True)
    strict.claim(0, files=changed)
    assert strict.verdict()["verdict"] == "rejected"
    assert "--strict-tests" in strict.state.last_failure[0]


def test_a_feature_without_its_own_check_needs_a_new_test(tmp_path: Path) -> None:
    case = Case(tmp_path)
    case.claim(0)
    assert case.verdict()["verdict"] == "rejected"
    assert case.state.last_failure[0].startswith("rejected: no test for this feature")
    assert case.checker.calls == []


def test_an_attempt_is_counted_only_when_asked_and_the_limit_skips_the_feature(tmp_path: Path) -> None:
    case = Case(tmp_path, verify={0: "check-add"}, failing=("check-add",), no_progress_limit=2)
    case.claim(0)
    case.verdict(count_attempt=False)  # a provider failure: no attempt
    assert case.state.attempts == {}
    for _ in range(2):
        case.claim(0)
        case.verdict()
    assert case.state.attempts == {0: 2} and case.state.skipped == [0]
    assert case.reporter.named("feature_skipped") == [{"feature": 1, "attempts": 2}]
