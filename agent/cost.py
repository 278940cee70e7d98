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
    estimated: bool = False


@dataclass(slots=True)
class _Seen:
    record: StepRecord
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
        self._estimated: set[str] = set()  # steps cut off before reporting their cost
        if path is not None and path.exists():
            for record in _read_records(path):
                self._apply(record)

    def _apply(self, rec: StepRecord) -> None:
        seen = self._seen.setdefault(rec.message_id, _Seen(rec))
        if rec.estimated:
            self._estimated.add(rec.message_id)
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
                tokens: dict[str, int], model: str, feature: int | None, now: float,
                estimated: bool = False) -> float:
        """Record what a step costs so far; returns the newly counted USD (0 for a replay).

        ``estimated`` marks a step cut off before it reported its cost: it is charged as the most
        expensive step seen, now and whenever a costlier step is recorded later, so the ledger
        never shows less than was spent (even if the cut-off step came first).
        """
        if estimated:
            cost = max(cost, self.max_step_cost)
        delta = self._record(message_id, session_id, root_session_id, cost, tokens, model, feature, now,
                             estimated)
        if not estimated:
            self._top_up_estimates(now)
        return delta

    def _top_up_estimates(self, now: float) -> None:
        for message_id in self._estimated:
            seen = self._seen[message_id]
            if seen.cost < self.max_step_cost:
                first = seen.record
                self._record(message_id, first.session_id, first.root_session_id, self.max_step_cost, {},
                             first.model, first.feature, now, estimated=True)

    def _record(self, message_id: str, session_id: str, root_session_id: str, cost: float,
                tokens: dict[str, int], model: str, feature: int | None, now: float, estimated: bool) -> float:
        seen = self._seen.get(message_id)
        seen_cost, seen_tokens = (seen.cost, seen.tokens) if seen else (0.0, {})
        delta_cost = max(0.0, cost - seen_cost)
        deltas = {n: max(0, int(tokens.get(n, 0)) - seen_tokens.get(n, 0)) for n in TOKEN_FIELDS}
        if seen is not None and delta_cost == 0.0 and not any(deltas.values()):
            return 0.0
        record = StepRecord(message_id=message_id, session_id=session_id,
                            root_session_id=root_session_id, feature=feature, model=model,
                            cost=delta_cost, time=now, estimated=estimated, **deltas)
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


def check_limits(limits: Limits, ledger: Ledger, root_session_id: str | None = None, turns: int = 0,
                 in_flight_usd: float = 0.0, more_steps: bool = True) -> None:
    """Raise the stop reason the spend so far (plus an estimate of the step in flight) crosses.

    Without ``root_session_id`` only the build budget is checked (before a session starts); the
    turn limit applies only when ``more_steps`` would follow.
    """
    spent = ledger.total + in_flight_usd
    if 0 < limits.max_budget_usd <= spent:
        in_flight = " with the step in flight" if in_flight_usd else ""
        raise BudgetExceeded(f"budget reached: spent ${spent:.4f} of ${limits.max_budget_usd:.4f}{in_flight} "
                             "(re-run with a higher --max-budget-usd)")
    if root_session_id is None:
        return
    session = ledger.session_cost(root_session_id) + in_flight_usd
    if 0 < limits.max_session_usd <= session:
        raise SessionBudgetExceeded(f"session budget reached: ${session:.4f} of ${limits.max_session_usd:.4f}")
    if more_steps and 0 < limits.max_turns <= turns:
        raise TurnLimit(f"turn limit reached: {turns} model steps (--max-turns {limits.max_turns})")


def check_step_limits(limits: Limits, ledger: Ledger, root_session_id: str, turns: int,
                      step_cost: float, loop_goes_on: bool) -> None:
    """On every finished step: --free-only, then the limits (turns only if the loop goes on)."""
    if limits.free_only and step_cost > 0:
        raise CostNotFree(f"--free-only: a step cost ${step_cost:.6f}")
    check_limits(limits, ledger, root_session_id, turns, more_steps=loop_goes_on)
