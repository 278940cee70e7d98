"""The one place that counts cost: every model step, child sessions included, and the limits.

Each assistant message is one model step. Its cost is observed from ``step-finish`` parts and
from ``message.updated`` (whichever is larger wins, so a step whose finish part never arrived is
still counted, and a replayed event is never counted twice). Every change is appended to
``.autocode/cost.jsonl`` at once, so totals survive a crash and a resume.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.errors import BudgetExceeded, CostNotFree, SessionBudgetExceeded, TurnLimit


class Limits(BaseModel):
    """Spending and size limits. 0 means "no limit" for every field."""

    max_budget_usd: float = Field(default=0.0, ge=0, description="whole build, USD")
    max_session_usd: float = Field(default=0.0, ge=0, description="one session, USD")
    max_turns: int = Field(default=0, ge=0, description="model steps per session")
    session_timeout: float = Field(default=0.0, ge=0, description="seconds per session")
    idle_timeout: float = Field(default=0.0, ge=0, description="seconds without a session event")
    max_iterations: int = Field(default=0, ge=0, description="coding sessions per build run")
    free_only: bool = Field(default=False, description="stop if any step costs money")
    max_provider_retries: int = Field(default=0, ge=0, description=(
        "abort a session once OpenCode retried the provider this often (0 = its own ~5, ~72 s)"))


class StepRecord(BaseModel):
    """One change of one step's observed cost (``cost`` and token fields are deltas)."""

    message_id: str
    session_id: str
    root_session_id: str
    feature: int | None = None
    model: str = ""
    cost: float = 0.0
    input: int = 0
    output: int = 0
    reasoning: int = 0
    cache_read: int = 0
    cache_write: int = 0
    time: float = 0.0


@dataclass(slots=True)
class _Seen:
    cost: float = 0.0
    tokens: dict[str, int] = field(default_factory=dict)


TOKEN_FIELDS = ("input", "output", "reasoning", "cache_read", "cache_write")


class Ledger:
    """Cost and tokens per step, session, feature and build; persisted as append-only JSONL."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._seen: dict[str, _Seen] = {}
        self.total = 0.0
        self.tokens: dict[str, int] = dict.fromkeys(TOKEN_FIELDS, 0)
        self.by_session: dict[str, float] = {}
        self.by_feature: dict[int, float] = {}
        self.steps_by_session: dict[str, int] = {}
        self.max_step_cost = 0.0
        if path is not None and path.exists():
            for record in _read_records(path):
                self._apply(record)

    def _apply(self, rec: StepRecord) -> None:
        seen = self._seen.setdefault(rec.message_id, _Seen())
        if not seen.tokens and not seen.cost:
            self.steps_by_session[rec.root_session_id] = (
                self.steps_by_session.get(rec.root_session_id, 0) + 1)
        seen.cost += rec.cost
        self.max_step_cost = max(self.max_step_cost, seen.cost)
        for name in TOKEN_FIELDS:
            value = getattr(rec, name)
            seen.tokens[name] = seen.tokens.get(name, 0) + value
            self.tokens[name] += value
        self.total += rec.cost
        self.by_session[rec.root_session_id] = self.by_session.get(rec.root_session_id, 0.0) + rec.cost
        if rec.feature is not None:
            self.by_feature[rec.feature] = self.by_feature.get(rec.feature, 0.0) + rec.cost

    def observe(self, *, message_id: str, session_id: str, root_session_id: str, cost: float,
                tokens: dict[str, int], model: str, feature: int | None, now: float) -> float:
        """Record what a step costs so far; returns the newly counted USD (0 for a replay)."""
        seen = self._seen.get(message_id) or _Seen()
        delta_cost = max(0.0, cost - seen.cost)
        deltas = {n: max(0, int(tokens.get(n, 0)) - seen.tokens.get(n, 0)) for n in TOKEN_FIELDS}
        first = message_id not in self._seen
        if not first and delta_cost == 0.0 and not any(deltas.values()):
            return 0.0
        record = StepRecord(message_id=message_id, session_id=session_id,
                            root_session_id=root_session_id, feature=feature, model=model,
                            cost=delta_cost, time=now, **deltas)
        self._append(record)
        self._apply(record)
        return delta_cost

    def _append(self, record: StepRecord) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(record.model_dump_json() + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def cost_of(self, message_id: str) -> float:
        seen = self._seen.get(message_id)
        return seen.cost if seen else 0.0

    def session_cost(self, root_session_id: str) -> float:
        return self.by_session.get(root_session_id, 0.0)

    def summary(self) -> dict[str, Any]:
        return {"total_usd": round(self.total, 6), "tokens": dict(self.tokens),
                "steps": len(self._seen),
                "by_feature": {str(k): round(v, 6) for k, v in sorted(self.by_feature.items())}}


def _read_records(path: Path) -> list[StepRecord]:
    """Every complete line; a torn last line (crash mid-write) is skipped."""
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            records.append(StepRecord.model_validate_json(line))
        except ValueError:
            continue
    return records


def check_step_limits(limits: Limits, ledger: Ledger, root_session_id: str, turns: int,
                      step_cost: float, loop_goes_on: bool) -> None:
    """Raise the stop reason a finished step crosses, if any (called on every step-finish)."""
    if limits.free_only and step_cost > 0:
        raise CostNotFree(f"--free-only: a step cost ${step_cost:.6f}")
    if 0 < limits.max_budget_usd <= ledger.total:
        raise BudgetExceeded(f"budget reached: spent ${ledger.total:.4f} of "
                             f"${limits.max_budget_usd:.4f} (re-run with a higher --max-budget-usd)")
    spent = ledger.session_cost(root_session_id)
    if 0 < limits.max_session_usd <= spent:
        raise SessionBudgetExceeded(f"session budget reached: ${spent:.4f} of "
                                    f"${limits.max_session_usd:.4f}")
    if loop_goes_on and 0 < limits.max_turns <= turns:
        raise TurnLimit(f"turn limit reached: {turns} model steps (--max-turns {limits.max_turns})")


def check_before_tool(limits: Limits, ledger: Ledger, root_session_id: str, turns: int,
                      in_flight_usd: float) -> None:
    """Before a tool runs (and so before another model step): stop if the step in flight will
    cross a limit. ``in_flight_usd`` estimates that step when its cost is not known yet."""
    projected = ledger.total + in_flight_usd
    if 0 < limits.max_budget_usd <= projected:
        raise BudgetExceeded(f"budget reached: spent ${projected:.4f} of ${limits.max_budget_usd:.4f} "
                             "with the step in flight (re-run with a higher --max-budget-usd)")
    if 0 < limits.max_session_usd <= ledger.session_cost(root_session_id) + in_flight_usd:
        raise SessionBudgetExceeded(f"session budget reached: ${limits.max_session_usd:.4f}")
    if 0 < limits.max_turns <= turns:
        raise TurnLimit(f"turn limit reached: {turns} model steps (--max-turns {limits.max_turns})")


def check_budget_left(limits: Limits, ledger: Ledger) -> None:
    """Before starting a session: refuse if the build budget is already used up."""
    if 0 < limits.max_budget_usd <= ledger.total:
        raise BudgetExceeded(f"budget reached: spent ${ledger.total:.4f} of "
                             f"${limits.max_budget_usd:.4f} (re-run with a higher --max-budget-usd)")
