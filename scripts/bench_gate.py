"""Benchmark section 7: what the regression gate costs per acceptance, as the suite grows.

The 20-feature benchmark app again, but tested for real: each coding session also writes
``tests/test_fNNNN.py`` and the project's test command is ``python3 -m pytest -q``. Every claim
then pays for the feature's own ``verify``, the test-id listing (``pytest --collect-only``) and the
regression gate (the whole suite, which grows by one test per feature). One ``autocode build``
(``--json``); the times come from its verdict events.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_helpers import autocode_build, bench_features, bench_scenario, bench_spec, fid, json_events

INIT_SH = "#!/usr/bin/env bash\n# autocode-test: python3 -m pytest -q\nset -e\nmkdir -p src tests\n"


def _tested_scenario(features: list[dict[str, Any]]) -> dict[str, Any]:
    """The benchmark scenario with one real test per feature and pytest as the test command."""
    from agent.demo import initializer_script

    scenario = bench_scenario(features)
    scenario["scripts"][0] = initializer_script(features, INIT_SH, {"src/README.md": "One module each.\n"})
    for index, script in enumerate(scenario["scripts"][1:]):
        name = fid(index)
        test = (f"import subprocess, sys\n\n\ndef test_{name}():\n    out = subprocess.run("
                f"[sys.executable, 'src/{name}.py'], capture_output=True, text=True).stdout\n"
                f"    assert out == '{index + 1}\\n'\n")
        writes = {f"src/{name}.py": f"print({index + 1})\n", f"tests/test_{name}.py": test}
        script["steps"][0] = {**script["steps"][0], "tool_calls": [
            {"tool": "write", "args": {"filePath": f"{{cwd}}/{path}", "content": text}}
            for path, text in writes.items()]}
        script["steps"][0].pop("tool", None)
        script["steps"][0].pop("args", None)
    return scenario


def section_gate(root: Path, xdg: Path, n_features: int, log: Callable[[str], None]) -> dict[str, Any]:
    from agent.scripted_model import Scenario, ScriptedModelServer

    work = root / "gate"
    work.mkdir()
    features = bench_features(n_features)
    spec = work / "app_spec.txt"
    spec.write_text(bench_spec(features), encoding="utf-8")
    scenario = Scenario.model_validate(_tested_scenario(features))
    log(f"[7] autocode build of {n_features} tested features: the regression gate per acceptance")
    with ScriptedModelServer(scenario, work / "model-requests.jsonl") as model:
        run = autocode_build(work / "project", spec, model.url, 600, xdg)
    events = json_events(run.stdout)
    accepted = [e for e in events if e["event"] == "feature_verdict" and e.get("verdict") == "accepted"]
    if run.exit_code != 0 or len(accepted) != n_features:
        raise RuntimeError(f"gate build exited {run.exit_code} with {len(accepted)}/{n_features} accepted: "
                           f"{(run.stderr or run.stdout)[-1200:]}")
    gate = [float(e["gate"]["duration_s"]) * 1000 for e in accepted if e.get("gate")]
    listing = [float(e.get("listing_s") or 0) * 1000 for e in accepted]
    own = [sum(float(c["duration_s"]) for c in e.get("checks") or [] if not c["gate"]) * 1000 for e in accepted]
    return {"features": n_features, "wall_s": round(run.wall_s, 1),
            "tests_at_end": accepted[-1].get("tests_after"),
            "gate_ms_per_acceptance": round(statistics.mean(gate), 1) if gate else None,
            "gate_ms_first": round(gate[0], 1) if gate else None,
            "gate_ms_last": round(gate[-1], 1) if gate else None,
            "listing_ms_per_acceptance": round(statistics.mean(listing), 1) if listing else None,
            "own_check_ms_per_acceptance": round(statistics.mean(own), 1) if own else None,
            "gate_share_of_wall": round(sum(gate) / 1000 / run.wall_s, 3) if run.wall_s else None}


def print_gate(console: Any, table: Callable[..., Any], fmt: Callable[..., str], g: dict[str, Any]) -> None:
    t = table(f"7. Regression gate: {g['features']} features, one pytest test each "
              f"({g['tests_at_end']} tests at the end)", "item", "value")
    t.add_row("regression gate (whole suite) per acceptance, mean", fmt(g["gate_ms_per_acceptance"], " ms"))
    t.add_row("  at the first acceptance / at the last",
              f"{fmt(g['gate_ms_first'])} / {fmt(g['gate_ms_last'])} ms")
    t.add_row("test-id listing (pytest --collect-only) per acceptance, mean",
              fmt(g["listing_ms_per_acceptance"], " ms"))
    t.add_row("the feature's own verify per acceptance, mean", fmt(g["own_check_ms_per_acceptance"], " ms"))
    t.add_row("gate share of the build's wall time", fmt(g["gate_share_of_wall"]))
    t.add_row("build wall time", fmt(g["wall_s"], " s"))
    console.print(t)
