"""The policy is bounded and crash-free: any text, bytes or nesting gets a Decision, in budget."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from agent.cli import app
from agent.opencode.events import PermissionAsked
from agent.security import Decision, PolicyContext, decide, decide_path
from agent.security.bash import parse_script
from agent.security.commands import Budget
from tests.security_support import assert_decision

PROPERTY = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _judged(decision: Decision) -> None:
    """A real verdict: never the fail-closed safety net (that would be a bug in the policy)."""
    assert isinstance(decision, Decision)
    assert decision.rule != "internal.error", decision.reason
    assert decision.reason


# ---- crashes that used to happen -----------------------------------------------------------------

@pytest.mark.parametrize("command", ["echo \ud800", "ls \udcff", "cat 'a\udfffb'", "\ud800",
                                     "echo ${X:-\ud800}"])
def test_lone_surrogates_are_denied_not_raised(command: str, ctx: PolicyContext) -> None:
    assert_decision(decide(command, ctx), False, "parse.encoding")


def test_undecodable_bytes_are_denied(ctx: PolicyContext) -> None:
    command = b"echo \xff\xfe ok".decode("utf-8", "surrogateescape")
    assert_decision(decide(command, ctx), False, "parse.encoding")


@pytest.mark.parametrize("path", ["src/\ud800.py", "\udcff", "a\x00b"])
def test_unusable_paths_are_denied(path: str, ctx: PolicyContext) -> None:
    for action in ("read", "write", "edit"):
        assert_decision(decide_path(path, ctx, action), False, "path.invalid")  # type: ignore[arg-type]


@pytest.mark.parametrize("depth", [200, 1000, 5000])
def test_deep_nesting_is_too_complex(depth: int, ctx: PolicyContext) -> None:
    for opener, closer in (("$(", ")"), ("(", ")"), ("{ ", "; }"), ("`", "`")):
        if opener == "`" and depth > 2:
            continue  # backticks do not nest without escapes
        command = "echo " + opener * depth + "true" + closer * depth if opener != "(" else \
            "(" * depth + "true" + ")" * depth
        decision = decide(command, ctx)
        _judged(decision)
        assert not decision.allowed


# ---- the state budget: cd histories across branches ----------------------------------------------

@pytest.mark.parametrize("count", [6, 12, 20])
def test_cd_in_many_branches_is_too_complex_not_exponential(count: int, ctx: PolicyContext) -> None:
    """Each `if … cd … fi` doubles the directories a later command may run in; the walk stops at
    the cap (this input used to take minutes at about 450 characters)."""
    command = " ; ".join(f"if true; then cd a{i}; else cd b{i}; fi" for i in range(count)) + "; ls"
    assert_decision(decide(command, ctx), False, "deny.too_complex")
    chained = " ; ".join(f"cd a{i} || cd b{i}" for i in range(count * 2)) + "; ls"
    assert_decision(decide(chained, ctx), False, "deny.too_complex")
    assert parse_script(command).too_complex is not None


def test_few_branches_stay_judged(ctx: PolicyContext) -> None:
    assert_decision(decide("if [ -d src ]; then cd src; fi; ls", ctx), True, "allow")
    assert_decision(decide("cd src || cd .; ls", ctx), True, "allow")
    assert_decision(decide("cd src || cd .; ls && cd ..", ctx), False, "path.outside")  # both may fail


def test_cd_there_and_back_folds_into_one_directory(ctx: PolicyContext) -> None:
    """`cd a; …; cd ..` returns (bash's default logical cd): long scripts do not pile up states."""
    steps = "; ".join("cd src && ls && cd .." for _ in range(10))
    assert_decision(decide(steps + "; echo ok > out.txt", ctx), True, "allow")
    assert_decision(decide("cd src && cd .. && cd .. && rm -rf x", ctx), False, "path")


def test_a_tiny_budget_denies_as_too_complex(ctx: PolicyContext) -> None:
    assert_decision(decide("ls; " * 200 + "ls", ctx, budget_s=0.0), False, "deny.too_complex")
    assert_decision(decide("ls; " * 200 + "ls", ctx), True, "allow")


# ---- properties --------------------------------------------------------------------------------

_PIECES = st.sampled_from([
    "$(", ")", "`", "${", "}", "${X:-", "((", "))", "$((", "[[", "]]", "if true; then ", "; fi", "; else ",
    " || ", " && ", "; ", " | ", "cd a", "cd ..", "cd /", "ls", "echo x", "'", '"', "\\", "<<EOF\n", "\nEOF\n",
    "<(", ">(", "a[$(touch M)]", "{a,b}", "~", "*", "\n", " > f", " 2>&1", "&", "!", "#", "=",
    "for i in 1; do ", "; done", "case x in x) ", ";; esac", "f() { ", "; }", "\x00", "\ud800", "é", "\t",
])


@PROPERTY
@given(st.text(max_size=300))
def test_any_text_gets_a_decision(ctx: PolicyContext, text: str) -> None:
    _judged(decide(text, ctx))


@PROPERTY
@given(st.binary(max_size=300))
def test_any_bytes_get_a_decision(ctx: PolicyContext, data: bytes) -> None:
    _judged(decide(data.decode("utf-8", "surrogateescape"), ctx))


@PROPERTY
@given(st.lists(_PIECES, max_size=60))
def test_any_nesting_of_shell_syntax_gets_a_decision(ctx: PolicyContext, pieces: list[str]) -> None:
    _judged(decide("".join(pieces), ctx))


@PROPERTY
@given(st.recursive(st.sampled_from(["ls", "cd a", "cd ..", "true", "echo $X"]),
                    lambda inner: st.one_of(
                        st.tuples(inner, inner).map(lambda p: f"{p[0]} || {p[1]}"),
                        st.tuples(inner, inner).map(lambda p: f"{p[0]} && {p[1]}"),
                        st.tuples(inner, inner).map(lambda p: f"if {p[0]}; then {p[1]}; fi"),
                        inner.map(lambda s: f"$({s})").map(lambda s: f"echo {s}"),
                        inner.map(lambda s: f"( {s} )")),
                    max_leaves=40))
def test_any_branching_of_cd_gets_a_decision(ctx: PolicyContext, command: str) -> None:
    _judged(decide(command, ctx))


@PROPERTY
@given(st.text(max_size=200), st.sampled_from(["read", "write", "edit"]))
def test_any_path_gets_a_decision(ctx: PolicyContext, path: str, action: Any) -> None:
    _judged(decide_path(path, ctx, action))


# ---- policy check --jsonl ----------------------------------------------------------------------

def _jsonl(tmp_path: Path, data: bytes) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(app, ["policy", "check", "-p", str(tmp_path), "--jsonl"], input=data)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines, result.output


def test_jsonl_reports_bad_lines_and_goes_on(tmp_path: Path) -> None:
    deep = b"[" * 50_000 + b"]" * 50_000
    data = b"\n".join([
        b'\xef\xbb\xbf{"command": "ls"}',  # a BOM before the first line
        b"not json",
        b'{"command": "echo \\ud800"}',
        b"\xff\xfe garbage",
        b'{"cmd": "ls"}',
        b'["ls"]',
        b"",
        deep,
        b'{"command": "sudo rm -rf /"}',
    ]) + b"\n"
    code, lines, output = _jsonl(tmp_path, data)
    assert code == 2
    by_line = {item["line"]: item for item in lines}
    assert sorted(by_line) == [1, 2, 3, 4, 5, 6, 8, 9]
    assert by_line[1]["allowed"] is True
    assert by_line[3]["allowed"] is False and by_line[3]["rule"] == "parse.encoding"
    assert by_line[9]["allowed"] is False and by_line[9]["rule"] == "deny.sudo"
    for number in (2, 4, 5, 6, 8):
        assert by_line[number]["error"], by_line[number]
    assert "nested too deeply" in by_line[8]["error"]
    assert "stdin line 2" in output


def test_jsonl_all_good_exits_zero(tmp_path: Path) -> None:
    code, lines, _ = _jsonl(tmp_path, b'\xef\xbb\xbf{"command": "ls"}\n{"command": "pwd"}\n')
    assert code == 0 and [item["allowed"] for item in lines] == [True, True]


# ---- the gate runs off the event loop ------------------------------------------------------------

class _SlowGate:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.thread: str | None = None

    def judge(self, ask: PermissionAsked, directory: Path) -> Decision:
        self.thread = threading.current_thread().name
        time.sleep(self.seconds)
        return Decision(allowed=True, reason="ok", rule="allow.test")


def _runner(gate: _SlowGate) -> Any:
    from agent.session import SessionRunner

    runner = SessionRunner.__new__(SessionRunner)
    runner.gate = gate
    return runner


def _ask() -> PermissionAsked:
    return PermissionAsked.model_validate({"id": "p1", "sessionID": "s1", "permission": "bash",
                                           "patterns": ["ls"], "metadata": {"command": "ls"}})


def test_a_slow_decision_does_not_block_the_event_loop(tmp_path: Path) -> None:
    gate = _SlowGate(0.3)

    async def scenario() -> tuple[Decision, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        decision = await _runner(gate)._judge(_ask(), tmp_path)
        task.cancel()
        return decision, ticks

    decision, ticks = asyncio.run(scenario())
    assert decision.allowed
    assert gate.thread != threading.main_thread().name
    assert ticks > 3  # the loop kept running while the gate worked


def test_a_decision_past_the_timeout_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import agent.session

    monkeypatch.setattr(agent.session, "JUDGE_TIMEOUT_S", 0.05)
    decision = asyncio.run(_runner(_SlowGate(0.5))._judge(_ask(), tmp_path))
    assert decision.allowed is False and decision.rule == "deny.too_complex"


@pytest.mark.parametrize("char", ["\U000f404e", "\U000e0001", "\U00080000", "\U0010ffff", "\U00020000"])
def test_code_points_that_crash_the_parser_are_refused_before_it(char: str, ctx: PolicyContext) -> None:
    """tree-sitter-bash segfaulted on `z{` followed by U+F404E (found by the property test)."""
    for command in (f"z{{{char}", f"echo {{a,{char}}}", f"x${{{char}"):
        decision = decide(command, ctx)
        assert_decision(decision, False, "parse.error")
        assert "above U+1FFFF" in decision.reason


def test_emoji_and_accents_are_still_judged(ctx: PolicyContext) -> None:
    assert_decision(decide("git commit -m 'feat: 🎉 café ✨'", ctx), True, "allow")
    assert_decision(decide("echo {🎉,é}", ctx), True, "allow")


# ---- the CPU budget (commands over 1 KB) -----------------------------------------------------------

def test_the_cpu_budget_halts_the_parser_itself(ctx: PolicyContext) -> None:
    """A pipeline with a syntax error keeps tree-sitter busy for most of a second at 8 KB; the
    budget stops the parse (through its progress callback) and the verdict is a denial."""
    assert_decision(decide(":|" * 4000, ctx, cpu_budget_s=0.0), False, "deny.too_complex")
    assert parse_script(":|" * 4000, Budget(cpu_s=0.0)).too_complex == "it took too long to parse"


def test_long_input_past_the_cpu_budget_is_denied_not_allowed(ctx: PolicyContext) -> None:
    command = "; ".join(f"ls src/f{i}" for i in range(300))  # each part allowed
    assert_decision(decide(command[:60], ctx), True, "allow")
    assert_decision(decide(command, ctx, cpu_budget_s=0.0), False, "deny.too_complex")


def test_short_commands_have_no_cpu_budget(ctx: PolicyContext) -> None:
    """Under 1 KB only the wall-clock backstop applies: a loaded machine cannot flip the verdict."""
    assert_decision(decide("cd src && ls && cd .. && cat a.txt", ctx, cpu_budget_s=0.0), True, "allow")


def test_more_than_sixteen_working_directories_is_too_complex(ctx: PolicyContext) -> None:
    assert_decision(decide("cd src || cd .; " * 15 + "ls", ctx), True, "allow")
    assert_decision(decide("cd src || cd .; " * 17 + "ls", ctx), False, "deny.too_complex")

