"""SIGKILL the harness at random points of a build, 20 times in a row (fixed seed): every restart
resumes, state always parses, verdicts are neither lost nor doubled, and the cost ledger never
shows less than the scripted model's log proves was delivered.

The kills alternate between two kinds of point: in a session (up to 2 s after the run's first
model request, so a loaded machine's slow start kills no earlier) and anywhere in the start (up
to 8 s after launch: the lock, the server's start, the recovery of the session the kill before
interrupted, the preflight), where a restart spends most of its time."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.cost import Ledger
from agent.demo import demo_scenario, demo_spec
from agent.scripted_model import delivered_path
from agent.state import BuildState, read_jsonl
from tests.e2e.conftest import ScriptedModel, build_args

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KILLS = 20
PRICE_IN, PRICE_OUT = 3.0, 15.0


def _proved_spend(log: Path) -> float:
    return sum((d["usage"]["prompt_tokens"] * PRICE_IN + d["usage"]["completion_tokens"] * PRICE_OUT) / 1e6
               for d in read_jsonl(delivered_path(log)))


def _until_a_session_runs(proc: subprocess.Popen[bytes], scripted: ScriptedModel, asked: int) -> None:
    """Wait (bounded) until this run's first model request: the kill then lands in a session."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and len(scripted.requests()) <= asked:
        time.sleep(0.05)


@pytest.mark.timeout(900)  # 20 restarts of a real build (server start, resume, a session each)
def test_twenty_sigkills_then_a_complete_consistent_build(
        scripted: ScriptedModel, project: Path, tmp_path: Path) -> None:
    scenario = demo_scenario()
    scenario["latency_s"] = 0.15
    scripted.set(scenario)
    args = build_args(project, scripted, spec_text=demo_spec(), price_in=PRICE_IN, price_out=PRICE_OUT)
    rng = random.Random(20261122)
    out = tmp_path / "runs.log"
    state_path = project / ".autocode" / "state.json"
    finished_early = False
    previous_total = 0.0
    kills = 0
    for _ in range(KILLS):
        asked = len(scripted.requests())
        proc = subprocess.Popen([sys.executable, "-m", "agent", *args], stdout=out.open("ab"),
                                stderr=subprocess.STDOUT)
        in_session = kills % 2 == 0
        try:
            if in_session:
                _until_a_session_runs(proc, scripted, asked)  # a slow start kills no earlier
            code = proc.wait(timeout=rng.uniform(0.0, 2.0) if in_session else rng.uniform(0.0, 8.0))
            assert code == 0, out.read_text()[-2000:]
            finished_early = True
            break
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            kills += 1
        if state_path.exists():
            BuildState.model_validate_json(state_path.read_bytes())  # always parses
        ledger_total = Ledger(project / ".autocode" / "cost.jsonl").total
        assert ledger_total >= previous_total  # nothing recorded is ever lost
        previous_total = ledger_total
        time.sleep(0.2)
    print(f"kills: {kills}, finished early: {finished_early}, ledger before final: {previous_total}")
    assert kills >= 15
    if not finished_early:
        final = subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True,
                               timeout=300)
        assert final.returncode == 0, final.stdout[-2000:] + final.stderr[-2000:]
    features = json.loads((project / "feature_list.json").read_text())
    assert all(f["passes"] for f in features)
    progress = read_jsonl(project / ".autocode" / "progress.jsonl")
    accepted = [i for r in progress if r.get("kind") == "verdict" for i in r.get("accepted") or []]
    assert sorted(accepted) == list(range(len(features)))  # each exactly once: none lost, none doubled
    subjects = subprocess.run(["git", "log", "--format=%s"], cwd=project, capture_output=True,
                              text=True).stdout.splitlines()
    for number in range(1, len(features) + 1):
        assert sum(s.startswith(f"autocode: feature {number} passes") for s in subjects) == 1
    # after the resumes' recovery, every reply the model delivered is in the ledger
    ledger = Ledger(project / ".autocode" / "cost.jsonl")
    assert ledger.total >= _proved_spend(scripted.log) - 1e-9, (ledger.total, _proved_spend(scripted.log))
    assert "interrupted" in {r["kind"] for r in progress}
    BuildState.model_validate_json(state_path.read_bytes())
