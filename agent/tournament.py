"""A model tournament under one budget: each candidate works in its own git worktree and branch,
its share of the budget enforced, then scored; the winner's branch is kept (and merged on apply).

Scoring: the score command's exit code (0 beats non-zero), then the number it reports (the last
"N passed" in its output, else the last number), then lower cost, then the smaller diff.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.contain import CommandSandbox
from agent.errors import AutocodeError, ModelMismatch, UsageError
from agent.git import checked_git_dir, run_git
from agent.harness import Harness, RunResult
from agent.providers import parse_model
from agent.runtime import ServerOptions, sandbox_config
from agent.verify import CheckResult

_PASSED = re.compile(r"(\d+(?:\.\d+)?)\s+passed")
_NUMBER = re.compile(r"(-?\d+(?:\.\d+)?)")


class Candidate(BaseModel):
    model: str
    branch: str
    score_ok: bool = False
    score: float = 0.0
    score_output: str = ""
    cost: float = 0.0
    priced: bool = True  # False: the model has no prices, its cost reads $0 (not the real cost)
    turns: int = 0
    stop_reason: str = ""
    diff_lines: int = 0
    diff_stat: str = ""
    error: str = ""

    def rank_key(self) -> tuple[bool, float, float, int]:
        return (self.score_ok, self.score, -self.cost, -self.diff_lines)


class TournamentResult(BaseModel):
    candidates: list[Candidate]
    winner: Candidate | None
    share_usd: float
    applied: bool = False
    base: str = Field(description="the commit every candidate started from")


def _git(repo: Path, *args: str, check: bool = True, worktree: Path | None = None) -> str:
    """autocode's hardened git (:mod:`agent.git`) on the project, or on a candidate's worktree
    through the git dir autocode's ``worktree add`` made (never the agent-writable ``.git`` file)."""
    git_dir = checked_git_dir(repo)
    if worktree is not None:
        git_dir = git_dir / "worktrees" / worktree.name
        pointer = git_dir / "gitdir"
        if not pointer.is_file() or Path(pointer.read_text().strip()) != worktree / ".git":
            raise UsageError(f"{worktree} is not the worktree autocode made")
    try:
        return run_git(worktree or repo, git_dir, *args, check=check).strip()
    except AutocodeError as exc:
        raise UsageError(str(exc)) from None


def parse_score(output: str) -> float:
    found = _PASSED.findall(output) or _NUMBER.findall(output)
    return float(found[-1]) if found else 0.0


def _slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-")


async def _compete(model: str, task: str, repo: Path, worktree: Path, branch: str, base: str, share: float,
                   score_cmd: str | None, max_turns: int, server: dict[str, Any]) -> Candidate:
    candidate = Candidate(model=model, branch=branch)
    _git(repo, "worktree", "add", "-q", "-b", branch, str(worktree), base)
    try:
        async with Harness(model, cwd=worktree, **server) as harness:
            result: RunResult[Any] = await harness.arun(task, max_turns=max_turns, max_budget_usd=share or None,
                                        title=f"autocode tournament: {model}")
        candidate.cost, candidate.turns, candidate.stop_reason = result.cost, result.turns, result.stop_reason
        candidate.priced = harness.priced
    except ModelMismatch:
        raise  # never tolerated, whoever the candidate
    except Exception as exc:  # a failed candidate is scored as it stands, never aborts the others
        candidate.error = str(exc)[:300]
    _git(repo, "add", "-A", worktree=worktree)
    _git(repo, "commit", "-q", "--allow-empty", "--no-verify", "-m", f"autocode tournament: {model}",
         worktree=worktree)
    candidate.diff_stat = _git(repo, "diff", "--shortstat", base, branch)
    numbers = [int(n) for n in re.findall(r"(\d+) (?:insertion|deletion)", candidate.diff_stat)]
    candidate.diff_lines = sum(numbers)
    if score_cmd:
        check = await asyncio.to_thread(_score, score_cmd, worktree, model, server)
        candidate.score_ok, candidate.score = check.ok, parse_score(check.output)
        candidate.score_output = check.output[-500:]
    else:
        candidate.score_ok = not candidate.error
    return candidate


def _score(score_cmd: str, worktree: Path, model: str, server: dict[str, Any]) -> CheckResult:
    """The score command, in a command sandbox of its own around the candidate's worktree."""
    options = ServerOptions(model=model, **{k: v for k, v in server.items() if k in ServerOptions.model_fields})
    with CommandSandbox(sandbox_config(options), worktree, lambda _record: None) as box:
        return box.check(score_cmd, worktree, 600.0)


async def run_tournament(project_dir: Path, models: list[str], task: str, max_budget_usd: float,
                         score_cmd: str | None = None, apply: bool = False,
                         max_turns: int = 30, **server: Any) -> TournamentResult:
    """Run every model on ``task`` from the project's HEAD; keep the winner's branch."""
    if not models:
        raise UsageError("--models names no model")
    for model in models:
        parse_model(model)
    if not (project_dir / ".git").exists():
        raise UsageError(f"{project_dir} is not a git repository (a tournament needs one)")
    base = _git(project_dir, "rev-parse", "HEAD")
    share = max_budget_usd / len(models) if max_budget_usd else 0.0
    stamp = time.strftime("%Y%m%d-%H%M%S")
    workdir = Path(tempfile.mkdtemp(prefix="autocode-tournament-"))
    candidates: list[Candidate] = []
    try:
        for model in models:
            branch = f"autocode/tournament/{stamp}/{_slug(model)}"
            candidates.append(await _compete(model, task, project_dir, workdir / _slug(model), branch, base,
                                             share, score_cmd, max_turns, server))
    finally:
        for candidate in candidates:
            _git(project_dir, "worktree", "remove", "--force", str(workdir / _slug(candidate.model)),
                 check=False)
        _git(project_dir, "worktree", "prune", check=False)
        shutil.rmtree(workdir, ignore_errors=True)
    winner = max(candidates, key=Candidate.rank_key) if candidates else None
    for candidate in candidates:
        if candidate is not winner:
            _git(project_dir, "branch", "-D", candidate.branch, check=False)
    applied = False
    if apply and winner is not None:
        _git(project_dir, "merge", "--no-ff", "-q", "-m", f"autocode: tournament winner {winner.model}",
             winner.branch)
        applied = True
    return TournamentResult(candidates=candidates, winner=winner, share_usd=share, applied=applied, base=base)
