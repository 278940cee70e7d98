"""Leak class 11: endless devices copied into files (disk bombs), with the bounded idioms allowed."""

from __future__ import annotations

import pytest

from agent.security import PolicyContext, decide
from tests.security_support import assert_decision

ROWS = [
    ("cat /dev/zero > f", False, "deny.resource"),
    ("cat /dev/urandom >> f", False, "deny.resource"),
    ("cat < /dev/zero > f", False, "deny.resource"),
    ("tail -f /dev/zero > f", False, "deny.resource"),
    ("head -c 100G /dev/zero > f", False, "deny.resource"),
    ("head -c 2G /dev/urandom > f", False, "deny.resource"),
    ("head --bytes 5T /dev/zero > f", False, "deny.resource"),
    ("tr -dc a-z < /dev/urandom > f", False, "deny.resource"),
    ("base64 /dev/urandom > f", False, "deny.resource"),
    ("od /dev/random &> f", False, "deny.resource"),
    ("cat /dev/zero > big.bin &", False, "deny.resource"),
    ("echo start; cat /dev/zero > f; echo end", False, "deny.resource"),
    ("yes > f", False, "deny"),
    ("dd if=/dev/zero of=f", False, "deny.dd"),
    ("f() { f | f & }; f", False, "deny.fork_bomb"),
    # must-allow: bounded amounts, pipes into a bounded reader, output to /dev/null
    ("head -c 32 /dev/urandom | base64", True, "allow"),
    ("head -c 1M /dev/zero > blob", True, "allow"),
    ("head -c 100 /dev/zero > f", True, "allow"),
    ("head /dev/urandom > f", True, "allow"),
    ("cat /dev/urandom | head -c 16 > key.bin", True, "allow"),
    ("tr -dc a-z < /dev/urandom | head -c 8", True, "allow"),
    ("cat /dev/zero > /dev/null", True, "allow"),
    ("cat README.md > copy.md", True, "allow"),
]


@pytest.mark.parametrize(("command", "allowed", "rule"), ROWS)
def test_endless_writers(command: str, allowed: bool, rule: str, ctx: PolicyContext) -> None:
    assert_decision(decide(command, ctx), allowed, rule)
