"""Shared by the security policy tests: the verdict assertion and the real bash of the premises
(the `ctx` fixture is in conftest)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from agent.security import Decision


def assert_decision(decision: Decision, allowed: bool, rule: str) -> None:
    assert decision.allowed is allowed, f"{decision.rule}: {decision.reason}"
    assert rule in decision.rule, f"{decision.rule}: {decision.reason}"
    if not allowed:
        assert len(decision.reason.split()) >= 4, decision.reason


def run_bash(script: str, cwd: Path, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real bash running ``script`` in ``cwd`` (a temp dir) with a minimal environment: the
    premise side of the differential tests (payloads are harmless: ``touch MARK``)."""
    bash = shutil.which("bash")
    assert bash is not None
    env = {"PATH": "/usr/bin:/bin", **({"HOME": str(home)} if home is not None else {})}
    return subprocess.run([bash, "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=10,
                          check=False)
