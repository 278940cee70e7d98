"""Input dense with shell syntax is refused as too complex before the slow part (the parser, the
checks), and only such input: operators inside quotes, comments and here-doc bodies are data."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agent.security import PolicyContext, decide
from agent.security.density import MAX_NODES, MAX_OPERATORS, operator_excess
from tests.security_support import assert_decision

PROPERTY = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
_OPERATORS = "|&;<>(){}"
DENSE = ":|" * 600  # 600 pipes: past the limit on its own
JS_LINE = "if (a || b) { x = y > 1 ? f(a) : g(b); } // <tag> & more\n"


def _raw(text: str) -> int:
    return sum(text.count(ch) for ch in _OPERATORS)


# ---- refused before the parser ---------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    " | ".join(f"cat a{i}" for i in range(600)),
    "; ".join(f"ls src/f{i}" for i in range(600)),
    ":|" * 5000,  # a pipeline with a syntax error: most of a second of tree-sitter's error recovery
    "echo " + "{a,b}" * 300,
    "if true; then " * 300 + "echo" + "; fi" * 300,
    "echo x" + " > out.txt" * 600,
])
def test_operator_dense_input_is_refused_without_parsing(command: str, ctx: PolicyContext,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parser(*_args: object) -> None:
        raise AssertionError("the parser ran")

    monkeypatch.setattr("agent.security.bash._parse", no_parser)  # a call would be internal.error
    decision = decide(command, ctx)
    assert_decision(decision, False, "deny.too_complex")
    assert "shell operators" in decision.reason


def test_the_operator_limit_applies_to_nested_scripts(ctx: PolicyContext) -> None:
    unbounded = float("inf")  # no time budget: only the size limit can refuse it, on any machine
    decision = decide(f"bash -c '{' && '.join(['ls'] * 300)}'", ctx, budget_s=unbounded, cpu_budget_s=unbounded)
    assert_decision(decision, False, "deny.too_complex")
    assert "shell operators" in decision.reason


def test_just_under_the_limit_is_judged(ctx: PolicyContext) -> None:
    command = "; ".join(["ls src"] * (MAX_OPERATORS + 1))  # MAX_OPERATORS semicolons
    assert operator_excess(command) is None
    assert "shell operators" not in decide(command, ctx).reason
    assert operator_excess(command + "; ls") is not None


# ---- what is data does not count -------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    "cat > app.js <<'EOF'\n" + JS_LINE * 150 + "EOF",
    "cat > app.js <<EOF\n" + JS_LINE * 150 + "EOF\necho done",
    'cat > app.js <<"EOF"\n' + JS_LINE * 150 + "EOF",
    "cat > app.js <<-EOF\n" + JS_LINE * 150 + "\t\tEOF",
    "echo '" + "a | b; c && d > e " * 120 + "'",
    'echo "' + "a | b; c && d > e " * 120 + '"',
    "echo " + "\\;" * 600,
    "ls  # " + "a | b; c && d > e " * 120,
    "python3 - <<'PY'\nimport sys\n" + "print({1: (2, 3)}) if sys.argv else None  # | & ;\n" * 150 + "PY",
])
def test_operators_in_data_do_not_count(command: str, ctx: PolicyContext) -> None:
    assert _raw(command) > MAX_OPERATORS  # the text itself is full of operator characters
    assert operator_excess(command) is None
    unbounded = float("inf")  # judged in full: the time budget depends on the machine's load
    assert_decision(decide(command, ctx, budget_s=unbounded, cpu_budget_s=unbounded), True, "allow")


def test_two_here_docs_on_one_line_are_both_skipped() -> None:
    """Bash reads the bodies one after the other (tree-sitter-bash cannot parse this form: the
    decision is a parse error, fail closed; the scan must still not count the bodies)."""
    command = "cat > a.js <<'A' && cat > b.js <<B\n" + JS_LINE * 80 + "A\n" + JS_LINE * 80 + "B\n"
    assert operator_excess(command) is None
    assert operator_excess(command + DENSE) is not None


@pytest.mark.parametrize("command", [
    "cat <<EOF\nbody | ; &\nEOF\n" + DENSE,  # the body ends at its delimiter line
    "cat <<-EOF\nbody\n\tEOF\n" + DENSE,
    "cat <<< x\n" + DENSE,  # a here-string is no here-doc: the next line is not a body
    "echo $#\n" + DENSE,  # $# and ${#x} start no comment
    "echo ${#x}; " + DENSE,
    "echo a#b " + DENSE,
    "echo 'quoted' \"quoted\" \\| " + DENSE,
    "cat <<EOF\nEOF-not-the-end\nEOF\n" + DENSE,
])
def test_operators_after_data_still_count(command: str) -> None:
    assert operator_excess(command) is not None


def test_an_unended_here_doc_is_still_denied(ctx: PolicyContext) -> None:
    """The scan takes the rest as the body (counts less); bash and the parser see the same."""
    command = "cat <<EOF\n" + DENSE
    assert operator_excess(command) is None
    assert decide(command, ctx).allowed is False


@PROPERTY
@given(st.lists(st.sampled_from([*_OPERATORS, "'", '"', "\\", "#", "\n", "\t", " ", "-", "a", "EOF",
                                                 "<<", "<<-", "<<<", "$", "`"]), max_size=1500).map("".join))
def test_never_counts_more_than_the_operator_characters(text: str) -> None:
    """The scan can only undercount: nothing with at most the limit's operator characters is refused
    by it, whatever it makes of quotes, comments and here-docs."""
    if _raw(text) <= MAX_OPERATORS:
        assert operator_excess(text) is None
    assert operator_excess(text, limit=_raw(text)) is None


@PROPERTY
@given(st.lists(st.sampled_from([*_OPERATORS, " ", "a", "ls", "\n", "$x"]), max_size=1500).map("".join))
def test_plain_operators_are_counted_exactly(text: str) -> None:
    """Without quotes, escapes, comments or here-docs every operator character counts."""
    assume("<<" not in text)
    raw = _raw(text)
    assert operator_excess(text, limit=raw) is None
    if raw:
        assert operator_excess(text, limit=raw - 1) is not None


# ---- the syntax-tree limit ------------------------------------------------------------------------

@pytest.mark.parametrize("unit", ["ls src\n", ' "$a"', " x$a$b"])
def test_more_syntax_nodes_than_the_limit_are_too_complex(unit: str, ctx: PolicyContext) -> None:
    command = "echo" + unit * 3000 if unit.startswith(" ") else unit * 3000
    assert operator_excess(command) is None  # no operators to count: the node count refuses it
    unbounded = float("inf")  # no time budget: only the node count can refuse it, on any machine
    decision = decide(command, ctx, budget_s=unbounded, cpu_budget_s=unbounded)
    assert_decision(decision, False, "deny.too_complex")
    assert f"{MAX_NODES:,} pieces" in decision.reason
    assert_decision(decide(command[:600], ctx), True, "allow")


def test_a_long_ordinary_setup_script_is_judged(ctx: PolicyContext) -> None:
    lines = ["set -euo pipefail", "python3 -m venv .venv", ".venv/bin/pip install -r requirements.txt",
             "mkdir -p src tests data", "cat > src/app.py <<'EOF'", *["x = {'a': (1, 2)}  # | ; &"] * 40,
             "EOF", *[f"grep -n 'def f{i}' src/app.py | head -5 || true" for i in range(40)],
             *[f"test -f data/d{i}.json && cat data/d{i}.json > /dev/null" for i in range(40)],
             ".venv/bin/python -m pytest -q tests 2>&1 | tail -20"]
    command = "\n".join(lines)
    assert len(lines) > 120 and len(command) > 4000
    unbounded = float("inf")  # the size limits alone (the time budget depends on the machine)
    assert_decision(decide(command, ctx, budget_s=unbounded, cpu_budget_s=unbounded), True, "allow")
