"""Running the harness' own checks: a command with a timeout, in its own process group.

The check decides whether a feature the agent marked passing really passes. On timeout the whole
process group is killed (a test runner's children included), and the result says so.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from pydantic import BaseModel

from agent.projectfs import read_project_file

TEST_CMD_MARK = re.compile(r"^#\s*autocode-test:\s*(.+?)\s*$", re.MULTILINE)


class CheckResult(BaseModel):
    command: str
    ok: bool
    exit_code: int | None
    output: str
    duration_s: float
    timed_out: bool = False


def run_check(command: str, cwd: Path, timeout: float = 300.0,
              env: dict[str, str] | None = None) -> CheckResult:
    """Run ``command`` with bash in ``cwd``; the output keeps its last 4,000 characters."""
    started = time.monotonic()
    proc = subprocess.Popen(["bash", "-c", command], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=check_env(env), start_new_session=True)
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    with contextlib.suppress(ProcessLookupError):  # background children left by the check
        os.killpg(proc.pid, signal.SIGKILL)
    text = out.decode(errors="replace")[-4000:]
    if timed_out:
        text += f"\n[autocode: check timed out after {timeout:.0f}s and was killed]"
    return CheckResult(command=command, ok=proc.returncode == 0 and not timed_out,
                       exit_code=None if timed_out else proc.returncode, output=text,
                       duration_s=round(time.monotonic() - started, 3), timed_out=timed_out)


def check_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of checks: autocode's own Python first on PATH (as for the server)."""
    env = {**os.environ, **(extra or {})}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)])
    return env


def detect_test_command(project_dir: Path) -> str | None:
    """The project's test command: ``# autocode-test: CMD`` in init.sh, else a convention."""
    init = read_project_file(project_dir, "init.sh")  # never through the agent's symlinks
    found = TEST_CMD_MARK.search(init or "")
    if found:
        return found.group(1)
    if '"test"' in (read_project_file(project_dir, "package.json") or ""):
        return "npm test --silent"
    has_tests = any(project_dir.glob("tests/test_*.py")) or any(project_dir.glob("test_*.py"))
    if has_tests:
        return "python3 -m pytest -q"
    return None
