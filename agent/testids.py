"""Collected test ids: what the project's test runner says its tests are, at each acceptance.

The file inventory (:mod:`agent.evidence`) catches a deleted or emptied test file; this catches a
deleted test *inside* a file that stays (a removed function, a deselecting ``conftest.py``, a
``describe.skip``-free rename). At every acceptance the ids the runner collects are recorded in
``.autocode/testids.json``; a claim whose tree collects fewer of them is refused.

Runners, chosen from the project's test command (``init.sh``'s ``# autocode-test:``):

- ``pytest``: ``pytest --collect-only -q`` → ``tests/test_x.py::test_y``;
- ``unittest``: discovery through ``unittest.defaultTestLoader`` → ``test_x.Case.test_y``;
- ``node``: ``node --test`` with a name pattern that matches nothing (every test is reported
  as skipped, none runs) and a tiny reporter → ``test/x.test.js::name`` (top-level tests);
- ``go``: ``go test -list . ./...`` → ``example.com/pkg::TestY``;
- ``files`` (everything else, jest and vitest included, whose listings name only files): the
  protected test files themselves.

Every listing runs through the build's checker (the command sandbox), never on the host. Its
output goes to a file in the project (a check keeps only its last 4,000 characters), read
without following links and removed at once; a stale one from a killed run is removed first.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shlex
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, Field

from agent.evidence import is_test_file, scan
from agent.projectfs import read_project_file
from agent.state import atomic_write
from agent.verify import CheckResult

Runner = Literal["pytest", "unittest", "node", "go", "files"]
Check = Callable[[str, Path, float], CheckResult]
IDS_FILE = "testids.json"
OUT_PREFIX = ".autocode-testids-"
MAX_LISTING = 4_000_000  # characters of a listing read back
NODE_REPORTER = ('export default async function*(s){for await(const e of s){if(e.type==="test:pass"'
                 '||e.type==="test:fail"){if(e.data.nesting===0)yield "autocode-id "+e.data.file+"::"'
                 '+e.data.name+"\\n"}}}')
NO_TEST_MATCHES = "^autocode-lists-without-running$"
UNITTEST_LIST = ("import sys, unittest\n"
                 "def walk(s):\n"
                 "    for t in s:\n"
                 "        yield from (walk(t) if isinstance(t, unittest.TestSuite) else [t.id()])\n"
                 "ids = list(walk(unittest.defaultTestLoader.discover(sys.argv[1], sys.argv[2])))\n"
                 "print('\\n'.join('autocode-id ' + i for i in ids))\n"
                 "sys.exit(1 if any(i.startswith('unittest.loader._Failed') for i in ids) else 0)\n")
PY = r"(?:\S*/)?python3?(?:\.\d+)?"
PYTEST_COUNT = re.compile(r"^(\S+\.py): (\d+)$")
GO_NAME = re.compile(r"^(Test|Benchmark|Example|Fuzz)\w*$")
GO_PKG = re.compile(r"^(?:ok|\?)\s+(\S+)")


class Listing(BaseModel):
    """The test ids collected on one tree (a multiset: a duplicated name counts twice)."""

    runner: Runner
    command: str | None = Field(default=None, description="the listing command (None: file level)")
    ids: list[str] = Field(default_factory=list)
    ok: bool = Field(default=True, description="the runner could list the tests")
    output: str = Field(default="", description="the end of a failed listing's output")
    duration_s: float = Field(default=0.0, description="seconds the listing took")

    @property
    def count(self) -> int:
        return len(self.ids)


def listing_command(test_cmd: str | None, project: Path) -> tuple[Runner, str | None]:
    """The runner the project's test command uses, and the command that lists its tests."""
    command = test_cmd or ""
    script = _npm_test_script(project) if re.search(r"\bnpm\s+(run\s+)?test\b", command) else ""
    if found := re.search(rf"((?:{PY}\s+-m\s+)?\S*pytest)\b", command):
        return "pytest", f"{found.group(1)} --collect-only -q -p no:cacheprovider"
    if found := re.search(rf"({PY})\s+-m\s+unittest\b(.*)", command):
        start = re.search(r"(?:-s|--start-directory)\s+(\S+)", found.group(2))
        pattern = re.search(r"(?:-p|--pattern)\s+(\S+)", found.group(2))
        return "unittest", shlex.join([found.group(1), "-c", UNITTEST_LIST, start.group(1) if start else ".",
                                       pattern.group(1) if pattern else "test*.py"])
    if found := re.search(r"\bnode\s+--test\b([^;&|]*)", f"{command} {script}"):
        paths = [t for t in shlex.split(found.group(1)) if not t.startswith("-")]
        return "node", shlex.join(["node", "--test", "--test-reporter=data:text/javascript,"
                                   + quote(NODE_REPORTER), f"--test-name-pattern={NO_TEST_MATCHES}", *paths])
    if re.search(r"\bgo\s+test\b", command) or (project / "go.mod").is_file():
        return "go", "go test -list . ./..."
    return "files", None


def _npm_test_script(project: Path) -> str:
    try:
        data = json.loads(read_project_file(project, "package.json") or "{}")
        return str(data.get("scripts", {}).get("test", ""))
    except (ValueError, AttributeError):
        return ""


def parse(runner: Runner, text: str, project: Path) -> list[str]:
    """The ids in a listing's output."""
    lines = text.splitlines()
    if runner == "pytest":  # ids; per-file counts when the project's addopts make it ``-qq``
        counts = [(m.group(1), int(m.group(2))) for line in lines if (m := PYTEST_COUNT.match(line))]
        return [line.strip() for line in lines if "::" in line and not line[:1].isspace()
                and not line.startswith(("ERROR", "FAILED", "=", "_"))] + [
                    f"{path}::<test {n} of {total}>" for path, total in counts for n in range(1, total + 1)]
    if runner == "go":
        return _parse_go(lines)
    ids = [line.removeprefix("autocode-id ") for line in lines if line.startswith("autocode-id ")]
    if runner == "node":
        root = f"{project.resolve().as_posix()}/"
        ids = [i.removeprefix("file://").removeprefix(root) for i in ids]
    return ids


def _parse_go(lines: list[str]) -> list[str]:
    """``go test -list`` prints a package's names, then ``ok <package> <time>``."""
    ids: list[str] = []
    pending: list[str] = []
    for line in lines:
        if GO_NAME.match(line.strip()):
            pending.append(line.strip())
        elif found := GO_PKG.match(line):
            ids += [f"{found.group(1)}::{name}" for name in pending]
            pending = []
    return ids


def collect(check: Check, project: Path, test_cmd: str | None, timeout: float) -> Listing:
    """List the tests of ``project`` now (through ``check``: the command sandbox)."""
    runner, command = listing_command(test_cmd, project)
    if command is None:
        return Listing(runner="files", ids=sorted(p for p in scan(project).files if is_test_file(p)))
    for stale in project.glob(OUT_PREFIX + "*"):
        with contextlib.suppress(OSError):  # a directory of that name is left alone
            stale.unlink()
    out = f"{OUT_PREFIX}{secrets.token_hex(8)}.txt"
    started = time.monotonic()
    try:
        result = check(f"{{ {command} ; }} > {out} 2>&1", project, timeout)
        text = (read_project_file(project, out) or "")[:MAX_LISTING]
    finally:
        (project / out).unlink(missing_ok=True)
    ok = result.ok or (runner == "pytest" and result.exit_code == 5)  # 5: no tests collected
    return Listing(runner=runner, command=command, ids=parse(runner, text, project), ok=ok,
                   output="" if ok else (text or result.output)[-1500:],
                   duration_s=round(time.monotonic() - started, 3))


def removed(before: Listing | None, now: Listing) -> list[str]:
    """The protected ids ``now`` lacks (a duplicate lost counts); [] if nothing was recorded."""
    if before is None or before.runner != now.runner:
        return []
    return sorted((Counter(before.ids) - Counter(now.ids)).elements())


def refusal(before: Listing, now: Listing, gone: list[str], restored: list[str]) -> str:
    """The next prompt's explanation of a refused listing."""
    if not now.ok:
        return (f"refused: the test runner could not list the tests any more (`{now.command}` failed; "
                f"{before.count} tests were collected at the last acceptance). Fix the collection; "
                f"never disable tests:\n{now.output}")
    shown = ", ".join(gone[:20]) + (f" and {len(gone) - 20} more" if len(gone) > 20 else "")
    back = f" {', '.join(restored)} restored from the last accepted commit." if restored else ""
    return (f"refused: protected tests of accepted features were removed: {shown} (collected "
            f"{before.count} at the last acceptance, {now.count} now). Tests are the evidence that "
            f"accepted features still work: removing, renaming or deselecting one is not allowed.{back} "
            "Keep every test and make the code pass it; add new tests beside the old ones.")


def files_of(gone: list[str], candidates: list[str]) -> list[str]:
    """The files among ``candidates`` (the session's changed protected files) that held ``gone``
    ids; all candidates when the ids do not name files (unittest, go)."""
    named = {i.split("::", 1)[0] for i in gone if "::" in i}
    held = [c for c in candidates if c in named]
    return held if held else list(candidates)


class IdStore:
    """The listing at the last acceptance, in ``.autocode/testids.json``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / IDS_FILE

    def load(self) -> Listing | None:
        if not self.path.is_file():
            return None
        return Listing.model_validate_json(self.path.read_text(encoding="utf-8"))

    def save(self, listing: Listing) -> None:
        if listing.ok:
            atomic_write(self.path, listing.model_dump_json(indent=1))
