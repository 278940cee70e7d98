"""Time the security policy: p50, p99 and max of ``decide()`` over every test-table command plus
generated worst cases up to 10 KB (issue 14 targets: p99 < 10 ms, max < 50 ms).

    .venv/bin/python scripts/bench_policy.py [--repeat 3] [--out bench-policy.json]

Commands are collected from the module-level tables of ``tests/test_security_*.py`` (strings and
rows whose first item is a string). Each command is judged ``--repeat`` times; the fastest of
the repeats counts (the others measure the shared machine). Prints one JSON object; the table
(``table_cpu``) and the worst cases are also timed in CPU time (``worst_case_cpu_ms``), which a
loaded machine inflates less, next to the load average the run saw, and the worst cases' verdicts
(``worst_case_rule``: judged, or ``deny.too_complex`` when the decision's budget ran out first).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from agent.security import PolicyContext, decide  # noqa: E402

_TABLE_MODULES = ("test_security_policy", "test_security_allowed", "test_security_paths", "test_security_leaks",
                  "test_security_classes", "test_security_gaps", "test_security_config",
                  "test_security_resources", "test_security_links", "test_security_outputs",
                  "test_security_density", "test_security_walks", "test_security_pm_bins",
                  "test_security_outputs_more", "test_security_heredocs", "test_security_names",
                  "test_security_spellings", "test_security_tool_forms", "test_security_inputs",
                  "test_security_links_made")


def table_commands() -> list[str]:
    found: list[str] = []
    for name in _TABLE_MODULES:
        try:
            module = importlib.import_module(f"tests.{name}")
        except ImportError:
            continue
        for value in vars(module).values():
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, str):
                        found.append(item)
                    elif isinstance(item, tuple) and item and isinstance(item[0], str):
                        found.append(item[0])
    return list(dict.fromkeys(found))


def _fit(unit: str, prefix: str = "", suffix: str = "", size: int = 10_000) -> str:
    count = max(1, (size - len(prefix) - len(suffix)) // len(unit))
    return prefix + unit * count + suffix


def worst_cases() -> dict[str, str]:
    half = 10_000 // 12
    return {
        "branchy cd (||)": _fit("{ cd d || cd e; }; ", suffix="rm -rf build"),
        "branchy cd (if)": _fit("if true; then cd a; else cd b; fi; ", suffix="rm x"),
        "cd chain ||": " || ".join(f"cd d{i}" for i in range(1200))[:9990] + "; ls",
        "nested $(": "$(" * half + "echo" + ")" * half,
        "nested if": "if true; then " * 300 + "echo" + "; fi" * 300,
        "nested ${X:-": "echo " + "${X:-" * 800 + "x" + "}" * 800,
        "long pipeline": _fit("cat a | grep b | ", suffix="wc -l"),
        "many commands": _fit("ls src; ", suffix="ls"),
        "long string": "echo '" + "x" * 9990 + "'",
        "many args": _fit(" src/a.py", prefix="cat"),
        "arithmetic": _fit(" + i", prefix="i=0; echo $(( 1", suffix=" ))"),
        "brace expansion": _fit("{a,b}", prefix="echo "),
        "bash -c nesting": "bash -c " + "'bash -c \"ls\"' " * 500,
        "redirects": _fit(" > out.txt", prefix="echo x"),
        "random bytes": bytes(range(256)).decode("latin-1") * 39,
        # harder than the ones above: more nodes per byte, nothing repeated, the parser's own worst
        "tiny commands": _fit(":;", suffix=":"),
        "distinct pipeline": " | ".join(f"cat a{i} | grep b{i}" for i in range(600))[:9990].rsplit(" |", 1)[0],
        "distinct commands": "; ".join(f"ls src/f{i}" for i in range(1200))[:9990].rsplit(";", 1)[0],
        "tiny redirects": _fit(">a", prefix="echo"),
        "pipeline, syntax error": _fit(":|"),  # tree-sitter's error recovery: quadratic (0.4-0.9 s)
        # past the operator count (which they do not reach) to the node count and the full checks
        "many command lines": _fit("ls src\n", suffix="ls"),
        "many expansions": _fit(' "$a"', prefix="echo"),
        "operators in quotes": "echo '" + _fit("a | b; c && d > e ", size=9980) + "'",
        "here-doc of code": "cat > app.js <<'EOF'\n"
                            + _fit("if (a || b) { x = y > 1 ? f(a) : g(b); } // <tag> & more\n", size=9970)
                            + "EOF",
    }


def _time(command: str, context: PolicyContext, repeat: int, clock: Any = time.perf_counter) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        decide(command, context)
        best = min(best, clock() - start)
    return best * 1000


def _summary(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"count": len(values), "p50_ms": round(statistics.median(ordered), 3), "p99_ms": round(p99, 3),
            "max_ms": round(ordered[-1], 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="times each command is judged (fastest counts)")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "proj"
        (project / "src").mkdir(parents=True)
        context = PolicyContext(project_dir=project, home=Path(tmp) / "home")
        table = table_commands()
        table_ms = [_time(c, context, args.repeat) for c in table]
        table_cpu = [_time(c, context, args.repeat, time.process_time) for c in table]
        worst = {name: round(_time(c, context, args.repeat), 3) for name, c in worst_cases().items()}
        verdicts = {name: decide(c, context).rule for name, c in worst_cases().items()}
        cpu = {name: round(_time(c, context, args.repeat, time.process_time), 3)
               for name, c in worst_cases().items()}
    result = {"table": _summary(table_ms), "table_cpu": _summary(table_cpu),
              "worst_cases": _summary(list(worst.values())),
              "all": _summary(table_ms + list(worst.values())), "worst_case_ms": worst,
              "worst_case_cpu_ms": cpu, "worst_case_rule": verdicts,
              "load_average": [round(x, 2) for x in os.getloadavg()],
              "targets": {"p99_ms": 10, "max_ms": 50}}
    text = json.dumps(result, indent=2)
    sys.stdout.write(text + "\n")
    if args.out is not None:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
