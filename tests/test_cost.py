from __future__ import annotations

from pathlib import Path

import pytest

from agent.cost import Ledger, Limits, check_step_limits
from agent.errors import BudgetExceeded, CostNotFree, SessionBudgetExceeded, TurnLimit


def _observe(ledger: Ledger, mid: str, cost: float, inp: int = 10, root: str = "s1",
             feature: int | None = 0) -> float:
    return ledger.observe(message_id=mid, session_id=root, root_session_id=root, cost=cost,
                          tokens={"input": inp, "output": 1}, model="p/m", feature=feature, now=0.0)


def test_replayed_steps_are_counted_once_and_growth_is_a_delta(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "cost.jsonl")
    assert _observe(ledger, "m1", 0.10) == pytest.approx(0.10)
    assert _observe(ledger, "m1", 0.10) == 0.0  # replay (stream reconnect, message.updated)
    assert _observe(ledger, "m1", 0.15) == pytest.approx(0.05)
    assert _observe(ledger, "m2", 0.20, feature=1) == pytest.approx(0.20)
    assert ledger.total == pytest.approx(0.35)
    assert ledger.by_feature == {0: pytest.approx(0.15), 1: pytest.approx(0.20)}
    assert ledger.tokens["input"] == 20


def test_totals_survive_a_reload_and_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "cost.jsonl"
    ledger = Ledger(path)
    _observe(ledger, "m1", 0.25)
    _observe(ledger, "m2", 0.5, root="s2")
    with path.open("a") as fh:
        fh.write('{"message_id": "m3", "cost": 9')  # crash mid-write
    again = Ledger(path)
    assert again.total == pytest.approx(0.75)
    assert again.session_cost("s2") == pytest.approx(0.5)
    assert _observe(again, "m1", 0.25) == 0.0


@pytest.mark.parametrize(("limits", "turns", "step_cost", "goes_on", "error"), [
    (Limits(max_budget_usd=1.0), 1, 0.1, True, BudgetExceeded),
    (Limits(max_session_usd=0.5), 1, 0.1, True, SessionBudgetExceeded),
    (Limits(max_turns=3), 3, 0.0, True, TurnLimit),
    (Limits(free_only=True), 1, 0.01, False, CostNotFree),
])
def test_each_limit_raises_its_own_stop_reason(limits: Limits, turns: int, step_cost: float,
                                               goes_on: bool, error: type[Exception]) -> None:
    ledger = Ledger()
    _observe(ledger, "m1", 1.0)
    with pytest.raises(error):
        check_step_limits(limits, ledger, "s1", turns, step_cost, goes_on)


def test_zero_means_no_limit_and_last_turn_that_stops_is_fine() -> None:
    ledger = Ledger()
    _observe(ledger, "m1", 100.0)
    check_step_limits(Limits(), ledger, "s1", 10_000, 100.0, True)
    check_step_limits(Limits(max_turns=3), ledger, "s1", 3, 0.0, loop_goes_on=False)


def test_a_cut_off_step_is_charged_the_worst_step_even_if_it_came_first(tmp_path: Path) -> None:
    path = tmp_path / "cost.jsonl"
    ledger = Ledger(path)
    ledger.observe(message_id="cut", session_id="s1", root_session_id="s1", cost=0.0, tokens={},
                   model="p/m", feature=0, now=0.0, estimated=True)  # nothing known yet: $0 so far
    assert ledger.total == 0.0
    _observe(ledger, "m1", 0.25)
    assert ledger.cost_of("cut") == pytest.approx(0.25)  # topped up to the worst real step
    _observe(ledger, "m2", 0.40)
    assert ledger.cost_of("cut") == pytest.approx(0.40)
    assert ledger.total == pytest.approx(0.25 + 0.40 + 0.40)
    again = Ledger(path)  # the estimate and its top-ups survive a reload
    assert again.total == pytest.approx(ledger.total)
    _observe(again, "m3", 0.50)
    assert again.cost_of("cut") == pytest.approx(0.50)
