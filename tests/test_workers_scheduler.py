"""The workers' scheduler: dependencies, array order, no double claim, requeue, the end."""

from __future__ import annotations

import pytest

from agent.errors import BuildComplete, NoProgress
from agent.features import Feature
from agent.workers.scheduler import Scheduler


def features(*deps: list[str]) -> list[Feature]:
    return [Feature(category="functional", description=f"feature {i + 1}", steps=["s"], depends_on=d)
            for i, d in enumerate(deps)]


def test_array_order_and_no_double_claim() -> None:
    sched = Scheduler(features([], [], []), 3)
    assert sched.claim(1, set(), set()) == 0
    assert sched.claim(2, set(), set()) == 1
    assert sched.claim(3, set(), set()) == 2
    assert sched.claim(4, set(), set()) is None
    assert sched.held == {0: 1, 1: 2, 2: 3}


def test_a_feature_waits_for_its_dependencies_to_be_accepted() -> None:
    sched = Scheduler(features([], ["1"], []), 3)
    assert sched.claim(1, set(), set()) == 0
    assert sched.claim(2, set(), set()) == 2  # 2 waits on 1, which is held, not accepted
    assert sched.claim(3, set(), set()) is None
    sched.release(0)
    assert sched.claim(3, {0}, set()) == 1


def test_requeue_after_a_conflict_or_rejection_hands_the_feature_out_again() -> None:
    sched = Scheduler(features([], []), 3)
    assert sched.claim(1, set(), set()) == 0
    assert sched.claim(2, set(), set()) == 1
    sched.release(0)  # conflict: back to the queue
    assert sched.holder(0) is None
    assert sched.claim(2, set(), set()) == 0
    assert sched.holder(0) == 2


def test_skipped_features_are_not_claimed_and_the_build_stalls() -> None:
    sched = Scheduler(features([], ["1"]), 3)
    assert sched.claim(1, set(), {0}) is None
    stop = sched.finished(set(), {0})
    assert isinstance(stop, NoProgress)
    assert "#1" in str(stop)


def test_finished_only_when_nothing_is_held_and_nothing_is_ready() -> None:
    sched = Scheduler(features([], []), 3)
    assert sched.finished(set(), set()) is None  # ready work left
    sched.claim(1, set(), set())
    assert sched.finished({1}, set()) is None  # a worker still holds feature 1
    sched.release(0)
    assert isinstance(sched.finished({0, 1}, set()), BuildComplete)



def test_parallel_scenario_takes_the_steps_asked_and_looks_before_it_writes() -> None:
    from agent.demo import parallel_scenario
    from agent.scripted_model import Scenario

    scenario = Scenario.model_validate(parallel_scenario(2, latency_s=1.0, steps=6))
    features = [s for s in scenario.scripts if s.name.startswith("feature-")]
    assert [len(s.steps) for s in features] == [6, 6]
    commands = [(s.args or {}).get("command", "") for s in features[0].steps[:3]]
    assert commands == ["ls", "ls", "ls"]
    assert "feat_1.py" in (features[0].steps[3].args or {})["command"]
    with pytest.raises(ValueError, match="at least 3"):
        parallel_scenario(1, steps=2)
