"""Benchmark section 8: ``--workers N`` on a latency-bound model.

The same 8 independent features (``agent.demo.parallel_scenario``: 3 model steps each by default, 1 s per
step) built with 1, 2, 4 and 8 workers on one OpenCode server. Coding time runs from the
``initialized`` event to ``stopped``; the speed-up is against 1 worker. The ideal is the model's
latency alone (``ceil(features / workers) x steps x latency``). "Same requests" compares the
(script, step) pairs the scripted model answered with the 1-worker run's. autocode's CPU is its
own process (user + system), the server's (and sandboxes') CPU its descendants', the server's RSS
its peak (VmHWM) while the build ran; the load is the 1-minute load average when the run began
(the machine may be shared).

    .venv/bin/python scripts/bench_workers.py [--features 8] [--latency 1.0] [--workers 1,2,4,8]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_helpers import autocode_build, first_time, json_events, last_time

JSON = dict[str, Any]


def section_workers(root: Path, xdg: Path, log: Callable[[str], None], features: int = 8,
                    latency: float = 1.0, counts: tuple[int, ...] = (1, 2, 4, 8), steps: int = 3) -> JSON:
    from agent.demo import parallel_scenario
    from agent.scripted_model import Scenario, ScriptedModelServer, read_log

    rows: list[JSON] = []
    asked: dict[int, set[tuple[str, int]]] = {}
    spec = root / "workers-spec.txt"
    spec.write_text("eight independent features\n")
    for workers in counts:
        log(f"[8] {features} features, {latency:g} s per model step, --workers {workers}")
        project = root / f"workers-{workers}"
        requests = root / f"workers-{workers}.jsonl"
        scenario = Scenario.model_validate(parallel_scenario(features, latency_s=latency, steps=steps))
        load = os.getloadavg()[0]
        with ScriptedModelServer(scenario, requests) as model:
            build = autocode_build(project, spec, model.url, 600, xdg, extra=["--workers", str(workers)])
        events = json_events(build.stdout)
        t_init, t_stop = first_time(events, "initialized"), last_time(events, "stopped")
        stop = next((e for e in reversed(events) if e["event"] == "stopped"), {})
        rows.append({"workers": workers, "exit_code": build.exit_code, "passing": stop.get("passing"),
                     "coding_s": round(t_stop - t_init, 2) if t_init and t_stop else None,
                     "first_steps_s": _first_steps_s(events, t_init),
                     "ideal_s": math.ceil(features / workers) * steps * latency,
                     "wall_s": round(build.wall_s, 2), "model_requests": len(read_log(requests)),
                     "autocode_cpu_s": build.own_cpu_s, "server_cpu_s": build.children_cpu_s,
                     "server_rss_mb": round(build.child_peak_rss_kb / 1024, 1), "load": round(load, 2)})
        asked[workers] = {(r["script"], r["step"]) for r in read_log(requests) if r["script"]}
    base = rows[0]["coding_s"] if rows and rows[0]["workers"] == 1 else None
    for row in rows:
        row["speedup"] = round(base / row["coding_s"], 2) if base and row["coding_s"] else None
        row["same_requests"] = asked[row["workers"]] == asked[1] if 1 in asked else None
    return {"features": features, "latency_s": latency, "steps": steps, "runs": rows}


def _first_steps_s(events: list[JSON], t_init: float | None) -> float | None:
    """From ``initialized`` until every worker's first model step ended: OpenCode boots an instance
    for each new directory (a worktree) on its first session, a one-off cost per worker."""
    worker_of = {e["session"]: e.get("worker", 0) for e in events if e["event"] == "session_started"
                 and e.get("feature") is not None}
    first: dict[int, float] = {}
    for e in events:
        if e["event"] == "step" and e.get("session") in worker_of:
            first.setdefault(worker_of[e["session"]], float(e["time"]))
    return round(max(first.values()) - t_init, 2) if first and t_init else None


def print_workers(console: Any, table: Callable[..., Any], fmt: Callable[[Any], str], result: JSON) -> None:
    t = table(f"8. Workers: {result['features']} independent features x {result.get('steps', 3)} steps, "
              f"{result['latency_s']:g} s "
              "per model step, one server", "workers", "coding (s)", "ideal (s)", "speed-up",
              "until all first steps (s)", "model requests", "same requests", "autocode CPU (s)",
              "server CPU (s)", "server RSS (MB)", "load", "passing")
    for row in result["runs"]:
        t.add_row(str(row["workers"]), fmt(row["coding_s"]), fmt(row["ideal_s"]), fmt(row["speedup"]),
                  fmt(row["first_steps_s"]), fmt(row["model_requests"]), fmt(row["same_requests"]),
                  fmt(row["autocode_cpu_s"]), fmt(row["server_cpu_s"]), fmt(row["server_rss_mb"]),
                  fmt(row["load"]), fmt(row["passing"]))
    console.print(t)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="--workers benchmark (section 8 of bench.py)")
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--workers", default="1,2,4,8", help="comma-separated worker counts")
    parser.add_argument("--steps", type=int, default=3, help="model steps per feature (at least 3)")
    args = parser.parse_args(argv)
    counts = tuple(int(n) for n in args.workers.split(","))
    with tempfile.TemporaryDirectory(prefix="autocode-bench-workers-") as tmp:
        root = Path(tmp)
        (root / "xdg").mkdir()
        result = section_workers(root, root / "xdg", lambda m: sys.stderr.write(m + "\n"),
                                 args.features, args.latency, counts, args.steps)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
