"""The test guard of a verdict: collected test ids kept, and a regression owned and undone.

Three duties, each called from the verdict with one line:

- :meth:`Guard.kept`: a claim whose tree collects fewer of the protected test ids than the
  last acceptance (:mod:`agent.testids`) is refused; the session's changed protected files that
  held the removed ids are restored, and the next prompt lists the ids.
- :meth:`Guard.accept`: at an acceptance, the listing becomes the protected one, and the
  feature's *ownership* is recorded in ``.autocode/owners.json``: the test ids and test files new
  (or changed) in its session and every file its session changed.
- :meth:`Guard.regression`: when the regression gate fails, the failure is attributed to the
  accepted features it belongs to: the one whose own ``verify`` failed (``--regression features``),
  else every accepted feature one of whose owned test ids or test files is named on a failing
  line of the output (``FAILED``, ``not ok``, ``--- FAIL``, ``✖``, an error). **The rule for
  regressed files**: the session's changes to files that an attributed feature's session
  wrote are undone (restored from the last accepted commit); the rest of the session's work
  stays in the tree for the next attempt. A cause elsewhere is named, never guessed at. Files
  every session writes (the feature list, the progress notes, ``.gitignore``) are owned by none.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from agent.build_events import Regression, TestsCollected, TestsRefused
from agent.evidence import Evidence, Tampering, is_test_config, is_test_file
from agent.features import FEATURE_FILE, Feature
from agent.git import Git
from agent.ports import Reporter
from agent.state import atomic_write
from agent.testids import Check, IdStore, Listing, collect, files_of, refusal, removed
from agent.verify import CheckResult

OWNERS_FILE = "owners.json"
SHARED_FILES = {FEATURE_FILE, "autocode-progress.md", ".gitignore"}  # every session's: never owned
FAILING_LINE = re.compile(r"FAIL|not ok|✖|✗|[Ee]rror|ERROR|Traceback")


class Guard:
    """One per build; :meth:`begin` at each verdict forgets the previous verdict's tree."""

    def __init__(self, project: Path, state_dir: Path, check: Check, timeout: float, git: Git,
                 evidence: Evidence, reporter: Reporter) -> None:
        self.project, self.check, self.timeout = project, check, timeout
        self.git, self.evidence, self.reporter = git, evidence, reporter
        self.store = IdStore(state_dir)
        self.owners_path = state_dir / OWNERS_FILE
        self.before: Listing | None = None
        self.now: Listing | None = None
        self._session_files: list[str] | None = None
        self.checks: list[dict[str, Any]] = []
        self.test_cmd: str | None = None
        self.owned_by: list[int] = []  # the accepted features a failed gate belongs to
        self.restored: list[str] = []  # regressed files put back
        self.ids_refused: list[str] = []

    def begin(self) -> None:
        self.before, self.now, self._session_files = self.store.load(), None, None
        self.checks, self.owned_by, self.restored, self.ids_refused = [], [], [], []

    def session_files(self) -> list[str]:
        """The files this session changed (against the last accepted commit)."""
        if self._session_files is None:
            self._session_files = self.git.changed()
        return self._session_files

    def note(self, check: CheckResult, gate: bool) -> None:
        """One check the verdict ran (its own check, or the regression gate's)."""
        self.checks.append({"command": check.command, "ok": check.ok, "gate": gate,
                            "duration_s": check.duration_s})

    def summary(self) -> dict[str, Any]:
        """The verdict's evidence: the checks and their results, the regression gate's result and
        time, and the test counts at the last acceptance and in this session's tree."""
        listing = self.now or self.before
        gate = [c for c in self.checks if c["gate"]]
        return {"checks": self.checks,
                "gate": {"ok": all(c["ok"] for c in gate),
                         "duration_s": round(sum(c["duration_s"] for c in gate), 3)} if gate else None,
                "tests_before": None if self.before is None else self.before.count,
                "tests_after": None if self.now is None or not self.now.ok else self.now.count,
                "test_runner": None if listing is None else listing.runner,
                "listing_s": None if self.now is None else self.now.duration_s,
                "ids_refused": self.ids_refused, "regression_of": [i + 1 for i in self.owned_by],
                "regressed_restored": self.restored}

    def baseline(self, test_cmd: str | None) -> None:
        """At initialization: the initializer's tests are protected from the first session on."""
        self.begin()
        self.store.save(collect(self.check, self.project, test_cmd, self.timeout))

    # ---- collected ids --------------------------------------------------------------------------

    def kept(self, index: int, test_cmd: str | None, tampering: Tampering,
             failures: dict[int, str]) -> bool:
        """List the tests now; refuse (and restore) if a protected id is gone."""
        self.session_files()  # before anything is restored
        self.test_cmd = test_cmd
        self.now = now = collect(self.check, self.project, test_cmd, self.timeout)
        self.reporter.emit(TestsCollected(feature=index + 1, runner=now.runner, command=now.command,
                                          ok=now.ok, count=now.count, before=None if self.before is None
                                          else self.before.count, duration_s=now.duration_s))
        before = self.before
        gone = removed(before, now)
        if before is None or (not gone and (now.ok or not before.ids)):
            return True
        candidates = tampering.changed + [p for p in tampering.added if is_test_config(p)]
        restored = self.evidence.restore(files_of(gone, candidates), remove_new=True)
        failures[index] = refusal(before, now, gone, restored)
        self.ids_refused = gone or [f"(the listing failed: {now.command})"]
        self.reporter.emit(TestsRefused(feature=index + 1, refused=gone, restored=restored,
                                        claimed=True, ids=True))
        return False

    # ---- ownership ------------------------------------------------------------------------------

    def owners(self) -> dict[int, dict[str, list[str]]]:
        if not self.owners_path.is_file():
            return {}
        return {int(k): v for k, v in json.loads(self.owners_path.read_text(encoding="utf-8")).items()}

    def accept(self, accepted: list[int], tampering: Tampering) -> None:
        """Record the accepted tree's listing and what the accepted features' session brought."""
        if not accepted:
            return
        before = Counter(self.before.ids if self.before else [])
        new_ids = sorted((Counter(self.now.ids) - before).elements()) if self.now else []
        tests = sorted(p for p in tampering.added + tampering.changed if is_test_file(p))
        owners = self.owners()
        for index in accepted:  # one session: its features share what it brought
            owners[index] = {"ids": new_ids, "tests": tests,
                             "files": [p for p in self.session_files() if p not in SHARED_FILES]}
        atomic_write(self.owners_path, json.dumps({str(k): v for k, v in sorted(owners.items())}, indent=1))
        if self.restored:  # a regressed file was put back after the listing: list the committed tree
            self.now = collect(self.check, self.project, self.test_cmd, self.timeout)
        if self.now is not None:
            self.store.save(self.now)

    # ---- regressions ----------------------------------------------------------------------------

    def attribute(self, output: str, passing: list[int], verify_of: int | None = None) -> list[int]:
        """The accepted features a failing gate's ``output`` belongs to (see the module doc)."""
        if verify_of is not None:
            return [verify_of]
        failing = "\n".join(line for line in output.splitlines() if FAILING_LINE.search(line))
        found = []
        for index, owned in sorted(self.owners().items()):
            if index not in passing:
                continue
            names = {i.rsplit("::", 1)[-1].rsplit(".", 1)[-1] for i in owned.get("ids", [])}
            if any(re.search(rf"(?<![\w.]){re.escape(n)}(?![\w])", failing) for n in names if n) or any(
                    path in failing for path in owned.get("tests", [])):
                found.append(index)
        return found

    def regression(self, index: int, output: str, passing: list[int], features: list[Feature],
                   command: str) -> str:
        """Name the feature(s) the failed gate ``command`` belongs to and undo the session's changes to
        their files; the text for the next prompt ("" when no accepted feature can be named)."""
        verify_of = next((j for j in passing if features[j].verify == command), None)
        owners_of = self.attribute(output, passing, verify_of)
        if not owners_of:
            return ""
        owned = {p for i in owners_of for p in self.owners().get(i, {}).get("files", [])}
        restored = self.evidence.restore([p for p in self.session_files() if p in owned], remove_new=True)
        self.owned_by, self.restored = owners_of, restored
        names = ", ".join(f"feature {i + 1}" for i in owners_of)
        self.reporter.emit(Regression(feature=index + 1, owners=[i + 1 for i in owners_of],
                                      restored=restored))
        back = (f" Your changes to {', '.join(restored)} (written by {names}) were undone: they are "
                "restored from the last accepted commit; the rest of your work is kept.") if restored else ""
        return f"The failure belongs to the accepted {names}: you broke it.{back}\n"


def evidence_lines(record: dict[str, Any]) -> list[str]:
    """A verdict record's evidence for people (``status``, ``logs``, the report)."""
    lines = [f"{'gate' if c.get('gate') else 'check'} `{c['command']}`: {'ok' if c['ok'] else 'FAILED'} "
             f"({c.get('duration_s') or 0:.1f}s)" for c in record.get("checks") or []]
    gate = record.get("gate")
    if gate:
        lines.append(f"regression gate {'passed' if gate['ok'] else 'FAILED'} in {gate['duration_s']:.1f}s"
                     + (f": belongs to feature {', '.join(map(str, record['regression_of']))}"
                        if record.get("regression_of") else "")
                     + (f"; restored {', '.join(record['regressed_restored'])}"
                        if record.get("regressed_restored") else ""))
    if record.get("tests_before") is not None or record.get("tests_after") is not None:
        def shown(n: Any) -> str:
            return "?" if n is None else str(n)
        lines.append(f"tests {shown(record.get('tests_before'))} -> {shown(record.get('tests_after'))}"
                     f" ({record.get('test_runner') or 'files'})")
    refused = [*(record.get("tests_refused") or []), *(record.get("ids_refused") or [])]
    if refused:
        lines.append(f"protected tests refused (restored): {', '.join(refused[:8])}")
    if record.get("tests_changed"):
        lines.append(f"protected tests changed: {', '.join(record['tests_changed'][:8])}")
    return lines
