"""Shared by the security policy tests: the verdict assertion (the `ctx` fixture is in conftest)."""

from __future__ import annotations

from agent.security import Decision


def assert_decision(decision: Decision, allowed: bool, rule: str) -> None:
    assert decision.allowed is allowed, f"{decision.rule}: {decision.reason}"
    assert rule in decision.rule, f"{decision.rule}: {decision.reason}"
    if not allowed:
        assert len(decision.reason.split()) >= 4, decision.reason
