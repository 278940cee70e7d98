"""Benchmark autocode against the scripted model and the real OpenCode server, on this machine.

    .venv/bin/python scripts/bench.py [--quick] [--out bench.json] [--keep]

Nine measurements, all in one run (a few minutes on 2 cores; ``--quick`` is a smoke run):

1. build overhead — a generated 20-feature build (4 model turns per coding session, zero model
   latency) run (a) as a real ``autocode build`` (``python -m agent build --json``, 3 times, the
   median run is reported; between-session steps are split up by its event times), (b) the way
   simpler harnesses do it, one ``opencode run`` process per session with the same prompts, and
   (c) as OpenCode itself timed the model turns (message timestamps, read back from its state);
2. prompt economy — what autocode sends per coding session vs. what an agent re-reads per session
   in the original design (spec + feature list + notes + ``git log --oneline -20``);
3. scale — autocode's own state operations on synthetic 100- and 1,000-feature builds: time, peak
   RSS and growth (``time(1000) / time(100)``: ≈10 is linear, ≈1 flat, ≈100 quadratic);
4. latency-bound — 1 s per model step: wall time vs. model time;
5. sandbox — server start and time per model step with and without bubblewrap around the server;
6. command sandbox (``bench_contain.py``) — time added per bash command (through autocode's SHELL
   wrapper, as OpenCode spawns it) and per check, with and without bubblewrap; target < 30 ms;
7. regression gate (``bench_gate.py``) — the 20-feature app with one pytest test per feature: the
   gate's time (whole suite), the test-id listing and the own check per acceptance;
8. workers (``bench_workers.py``) — 8 independent features at 1 s per model step with
   ``--workers`` 1/2/4/8: coding time, speed-up, autocode CPU, server RSS;
9. recording proxy (``bench_record.py``) — time per streamed model step directly and through the
   ``--record`` proxy (p50/p99, both wire formats).

Everything runs on loopback in temp dirs; every server and child process is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_contain import print_contain, section_contain
from bench_gate import print_gate, section_gate
from bench_helpers import (
    JSON,
    MODEL,
    REPO,
    ProcRun,
    SessionTiming,
    autocode_build,
    autocode_server_config,
    bench_features,
    bench_scenario,
    bench_spec,
    first_time,
    json_events,
    last_time,
    ms,
    opencode_reader,
    opencode_run,
    opencode_run_env,
    reread_bytes,
    run_measured,
    run_session_id,
    scale_worker,
    session_start_commits,
    timed,
    write_synthetic_state,
)
from bench_record import print_record, section_record
from bench_workers import print_workers, section_workers


@dataclass
class Bench:
    root: Path
    quick: bool
    console: Console
    opencode: Path
    xdg: Path


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 2)


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
        return text + unit
    return f"{value}{unit}"


def _check_build(run: ProcRun, what: str) -> list[JSON]:
    events = json_events(run.stdout)
    stopped = [e for e in events if e["event"] == "stopped"]
    if run.exit_code != 0 or not stopped:
        tail = (run.stderr or run.stdout)[-1500:]
        raise RuntimeError(f"{what}: autocode build exited {run.exit_code} "
                           f"({stopped[-1]['message'] if stopped else 'no stop event'}): {tail}")
    return events


# ---- 1. build overhead ---------------------------------------------------------------------------

def _gate_ms(project: Path, commands: list[str]) -> float:
    """Best ms of autocode's security gate judging one of ``commands`` (its CPU per bash ask)."""
    from agent.gate import PolicyGate
    from agent.opencode.events import PermissionAsked, parse_event
    from agent.security import SecurityConfig

    gate = PolicyGate(SecurityConfig(), None, home=Path.home())
    asks = [parse_event({"type": "permission.asked", "properties": {
        "id": f"per_{i}", "sessionID": "ses_bench", "permission": "bash", "patterns": [c],
        "metadata": {"command": c}}}) for i, c in enumerate(commands)]
    for ask in asks:  # warm up (parser load) and make sure the benchmark's commands are allowed
        assert isinstance(ask, PermissionAsked)
        if not gate.judge(ask, project).allowed:
            raise RuntimeError(f"the security policy refuses {ask.metadata['command']!r}")
    per_call = timed(lambda: [gate.judge(a, project) for a in asks if isinstance(a, PermissionAsked)], 30)
    return round(per_call / len(asks) * 1000, 3)


def _git_commit_ms(project: Path, scratch: Path) -> float:
    """Best ms of the harness' per-feature commit (add -A, commit) on a copy."""
    from agent.git import Git

    subprocess.run(["git", "clone", "-q", str(project), str(scratch)], check=True, timeout=60,
                   capture_output=True)
    repo = Git(scratch)
    counter = iter(range(1000))
    return round(timed(lambda: repo.commit_all(f"bench {next(counter)}", allow_empty=True), 7) * 1000, 2)


def _event_time(events: list[JSON], name: str, **match: Any) -> float | None:
    for event in events:
        if event["event"] == name and all(event.get(k) == v for k, v in match.items()):
            return float(event["time"])
    return None


def _gap_breakdown(events: list[JSON], coding: list[tuple[str, int, SessionTiming]]) -> JSON:
    """Mean ms of each step from one coding session's last model turn to the next one's prompt."""
    names = ("last_turn_to_session_result", "result_to_check_done", "check_to_verdict",
             "verdict_to_next_feature_started", "feature_started_to_session_created",
             "session_created_to_prompt_received")
    parts: dict[str, list[float]] = {name: [] for name in names}
    for (psid, pfeature, prev), (sid, feature, cur) in itertools.pairwise(coding):
        marks = [prev.end_ms / 1000, _event_time(events, "text", session=psid),
                 _event_time(events, "check", feature=pfeature + 1),
                 _event_time(events, "feature_verdict", session=psid),
                 _event_time(events, "feature_started", feature=feature + 1),
                 _event_time(events, "session_started", session=sid), cur.start_ms / 1000]
        for name, a, b in zip(names, marks, marks[1:], strict=False):
            if a is not None and b is not None:
                parts[name].append(b - a)
    return {k: ms(statistics.mean(v)) if v else None for k, v in parts.items()}


def _ask_latency_ms(events: list[JSON], coding: list[tuple[str, int, SessionTiming]]) -> float | None:
    """Mean ms from OpenCode starting a bash tool (which then asks) to autocode's verdict event."""
    delays: list[float] = []
    for sid, _, timing in coding:
        asks = [float(e["time"]) for e in events
                if e["event"] == "permission" and e.get("session") == sid and e.get("permission") == "bash"]
        for ask, start in zip(asks, timing.tool_starts.get("bash", []), strict=False):
            delays.append(ask * 1000 - start)
    return round(statistics.mean(delays), 1) if delays else None


def _tool_mean(timings: list[SessionTiming], tool: str) -> float | None:
    values = [v for t in timings for v in t.tool_ms.get(tool, [])]
    return round(statistics.mean(values), 1) if values else None


def _since(a: float | None, b: float | None) -> float | None:
    return _r(b - a) if a is not None and b is not None else None


def _autocode_run(b: Bench, index: int, spec: Path, url: str, log: Path) -> JSON:
    """One `autocode build` of the benchmark app, timed by its events and by OpenCode's timestamps."""
    from agent.scripted_model import read_log
    from agent.state import StateStore, read_jsonl

    project = b.root / "overhead" / f"autocode-project-{index}"
    before = len(read_log(log))
    build = autocode_build(project, spec, url, 120 if b.quick else 300, b.xdg)
    events = _check_build(build, f"overhead build {index}")
    store = StateStore(project)
    sessions = [r for r in store.progress() if r.get("kind") == "session"]
    with opencode_reader(store.server_dir, autocode_server_config(url), project) as reader:
        timings = [(str(r["session"]), r.get("feature"), reader.timing(str(r["session"]), project))
                   for r in sessions]
        get_messages_ms = ms(statistics.median(reader.get_messages_s))
        sse_ms = ms(statistics.median(reader.sse_connect_s(project) for _ in range(5)))
        create_ms = ms(statistics.median(reader.create_session_s(project) for _ in range(5)))
    t0 = build.started_epoch
    t_started, t_ready = first_time(events, "build_started"), first_time(events, "server_ready")
    t_info, t_init_session = first_time(events, "model_info"), first_time(events, "session_started")
    t_init, t_stop = first_time(events, "initialized"), last_time(events, "stopped")
    coding_rows = [(sid, int(f), t) for sid, f, t in timings if f is not None]
    coding = [t for _, _, t in coding_rows]
    turns = sum(t.turns for t in coding)
    raw = sum(t.turn_ms for t in coding) / 1000
    wall = (t_stop - t_init) if t_stop and t_init else None
    gaps = [(nxt.start_ms - cur.end_ms) / 1000 for cur, nxt in itertools.pairwise(coding)]
    checks = [float(e.get("duration_s") or 0) for e in events if e["event"] == "check"]
    gate = [float(e.get("duration_s") or 0) for e in events if e["event"] == "check" and e.get("gate")]
    accepted = sum(len(e.get("accepted") or []) for e in events if e["event"] == "feature_verdict")
    all_raw = sum(t.turn_ms for _, _, t in timings) / 1000
    all_turns = sum(t.turns for _, _, t in timings)
    transcripts = [len(read_jsonl(store.sessions_dir / f"{r['session']}.jsonl")) for r in sessions]
    return {
        "exit_code": build.exit_code, "wall_s": _r(build.wall_s), "model_requests": len(read_log(log)) - before,
        "features_passing": next((e.get("passing") for e in reversed(events) if e["event"] == "stopped"), None),
        "peak_rss_mb_autocode_process": round(build.own_peak_rss_kb / 1024, 1),
        "peak_rss_mb_opencode_server": round(build.child_peak_rss_kb / 1024, 1),
        "phases_s": {
            "python_startup_to_build_started": _since(t0, t_started),
            "opencode_server_start": _since(t_started, t_ready),
            "preflight_providers_call": _since(t_ready, t_info),
            "model_info_to_first_session": _since(t_info, t_init_session),
            "initializer_session_and_setup": _since(t_init_session, t_init),
            "coding_sessions": _r(wall),
            "shutdown_after_stop": _r(t0 + build.wall_s - t_stop) if t_stop else None,
        },
        "init_session_span_s": _r(sum(t.span_ms for _, f, t in timings if f is None) / 1000),
        "coding": {
            "sessions": len(coding), "model_turns": turns, "wall_s": _r(wall),
            "raw_turn_time_s": _r(raw), "session_span_s": _r(sum(t.span_ms for t in coding) / 1000),
            "between_sessions_s": _r(sum(gaps)),
            "between_sessions_ms_mean": ms(statistics.mean(gaps)) if gaps else None,
            "between_sessions_breakdown_ms": _gap_breakdown(events, coding_rows),
            "verification_checks_s": _r(sum(checks)),
            "regression_gate_ms_per_acceptance": ms(sum(gate) / accepted) if accepted else None,
            "get_session_messages_ms": get_messages_ms,
            "sse_connect_ms": sse_ms,
            "create_session_ms": create_ms,
            "bash_ask_to_verdict_ms": _ask_latency_ms(events, coding_rows),
            "permission_asks_per_session": round(sum(1 for e in events if e["event"] == "permission")
                                                 / max(len(sessions), 1), 1),
            "transcript_lines_per_session": round(statistics.mean(transcripts), 1) if transcripts else None,
            "ratio_wall_to_raw": _ratio(wall, raw),
            "overhead_ms_per_turn": ms((wall - raw) / turns) if wall and turns else None,
            "bash_tool_ms_mean": _tool_mean(coding, "bash"),
        },
        "whole_run": {"model_turns": all_turns, "raw_turn_time_s": _r(all_raw),
                      "ratio_wall_to_raw": _ratio(build.wall_s, all_raw),
                      "overhead_ms_per_turn": ms((build.wall_s - all_raw) / all_turns) if all_turns else None},
        "_project": str(project),
    }


def _session_prompts(project: Path, run_project: Path) -> list[tuple[str, int | None]]:
    """Every session's prompt as autocode sent it (from its transcripts), in order."""
    from agent.state import StateStore, read_jsonl

    store = StateStore(project)
    prompts: list[tuple[str, int | None]] = []
    for record in store.progress():
        if record.get("kind") != "session":
            continue
        started = [e for e in read_jsonl(store.sessions_dir / f"{record['session']}.jsonl")
                   if e.get("event") == "session_started"]
        if started:
            prompts.append((str(started[0]["prompt"]).replace(str(project), str(run_project)),
                            record.get("feature")))
    return prompts


def _workdir(b: Bench, name: str, n_features: int) -> tuple[Path, list[JSON], Path]:
    """A fresh directory for one section, its feature set and its spec file."""
    root = b.root / name
    root.mkdir()
    features = bench_features(n_features)
    spec = root / "app_spec.txt"
    spec.write_text(bench_spec(features), encoding="utf-8")
    return root, features, spec


def section_overhead(b: Bench, n_features: int, repeats: int) -> JSON:
    from agent.scripted_model import Scenario, ScriptedModelServer

    root, features, spec = _workdir(b, "overhead", n_features)
    run_project = root / "run-project"
    run_project.mkdir()
    shutil.copy(spec, run_project / "app_spec.txt")
    run_state = root / "run-state"
    log = root / "model-requests.jsonl"
    scenario = Scenario.model_validate(bench_scenario(features))
    runs: list[tuple[ProcRun, str | None, int | None]] = []
    with ScriptedModelServer(scenario, log) as model:
        url = model.url
        builds: list[JSON] = []
        for i in range(repeats):
            b.console.log(f"[1] autocode build {i + 1}/{repeats}: {n_features} features, zero model latency")
            builds.append(_autocode_run(b, i, spec, url, log))
        prompts = _session_prompts(Path(builds[0]["_project"]), run_project)
        b.console.log(f"[1] the same {len(prompts)} sessions again, one `opencode run` process each")
        env = opencode_run_env(run_state, run_project, url)
        for prompt, feature in prompts:
            proc = opencode_run(b.opencode, prompt, run_project, env, 90)
            if proc.exit_code != 0:
                raise RuntimeError(f"opencode run exited {proc.exit_code}: {proc.stderr[-800:]}")
            runs.append((proc, run_session_id(proc.stdout), feature))
    run_list = json.loads((run_project / "feature_list.json").read_text())
    with opencode_reader(run_state, autocode_server_config(url), run_project) as reader:
        b_timings = [(reader.timing(sid, run_project), feature) for _, sid, feature in runs if sid]
    bash_cmds = [str(st["args"]["command"]) for st in bench_scenario(features[:1])["scripts"][1]["steps"]
                 if st.get("tool") == "bash"]
    gate_ms = _gate_ms(Path(builds[0]["_project"]), bash_cmds)
    commit_ms = _git_commit_ms(Path(builds[0]["_project"]), root / "git-scratch")

    # the representative autocode run: median coding overhead per turn
    ranked = sorted(builds, key=lambda r: r["coding"]["overhead_ms_per_turn"] or 0.0)
    a = ranked[len(ranked) // 2]
    a["coding"]["git_commit_ms"] = commit_ms
    a["coding"]["security_gate_ms_per_bash_ask"] = gate_ms
    b_coding = [(p, t) for (p, _, f), (t, _) in zip(runs, b_timings, strict=False) if f is not None]
    b_wall = sum(p.wall_s for p, _ in b_coding)
    b_raw = sum(t.turn_ms for _, t in b_coding) / 1000
    b_span = sum(t.span_ms for _, t in b_coding) / 1000
    b_turns = sum(t.turns for _, t in b_coding)
    b_total = sum(p.wall_s for p, _, _ in runs)
    return {
        "features": n_features, "model_turns_per_coding_session": 4, "repeats": repeats,
        "autocode": a,
        "autocode_repeats": [{"wall_s": r["wall_s"], "coding_wall_s": r["coding"]["wall_s"],
                              "coding_overhead_ms_per_turn": r["coding"]["overhead_ms_per_turn"],
                              "between_sessions_ms_mean": r["coding"]["between_sessions_ms_mean"]}
                             for r in builds],
        "opencode_run": {
            "processes": len(runs), "total_wall_s": _r(b_total),
            "features_marked": sum(1 for f in run_list if f.get("passes")),
            "peak_rss_mb_max": round(max((p.own_peak_rss_kb for p, _, _ in runs), default=0) / 1024, 1),
            "coding": {
                "sessions": len(b_coding), "model_turns": b_turns, "wall_s": _r(b_wall),
                "raw_turn_time_s": _r(b_raw), "session_span_s": _r(b_span),
                "process_overhead_s_mean": _r((b_wall - b_span) / len(b_coding)) if b_coding else None,
                "ratio_wall_to_raw": _ratio(b_wall, b_raw),
                "overhead_ms_per_turn": ms((b_wall - b_raw) / b_turns) if b_turns else None,
                "bash_tool_ms_mean": _tool_mean([t for _, t in b_coding], "bash"),
            },
        },
        "comparison": {
            "autocode_over_opencode_run_coding": _ratio(a["coding"]["wall_s"], b_wall),
            "autocode_over_opencode_run_whole": _ratio(a["wall_s"], b_total),
        },
    }


# ---- 2. prompt economy -----------------------------------------------------------------------------

def section_prompts(b: Bench, overhead: JSON, scale: JSON | None) -> JSON:
    from agent.state import StateStore, read_jsonl

    project = Path(overhead["autocode"]["_project"])
    store = StateStore(project)
    coding: list[int] = []
    init_chars = None
    for record in store.progress():
        if record.get("kind") != "session":
            continue
        started = [e for e in read_jsonl(store.sessions_dir / f"{record['session']}.jsonl")
                   if e.get("event") == "session_started"]
        if not started:
            continue
        chars = len(str(started[0].get("prompt") or ""))
        if record.get("feature") is None:
            init_chars = chars
        else:
            coding.append(chars)
    commits = session_start_commits(project)[:len(coding)]
    reread = [reread_bytes(project, c) for c in commits]
    totals = [r["total"] for r in reread]

    def stats(values: list[int]) -> JSON:
        if not values:
            return {}
        return {"first": values[0], "last": values[-1], "mean": round(statistics.mean(values)),
                "max": max(values), "sum": sum(values), "tokens_mean_est": round(statistics.mean(values) / 4)}

    result: JSON = {
        "coding_sessions": len(coding),
        "autocode_prompt_chars": stats(coding),
        "original_reread_bytes": stats(totals),
        "original_reread_parts_last": reread[-1] if reread else {},
        "initializer_prompt_chars": init_chars,
        "ratio_original_over_autocode_mean": _ratio(statistics.mean(totals) if totals else None,
                                                    statistics.mean(coding) if coding else None),
        "note": "OpenCode's own system prompt and tool schemas (~9.5 KB) are sent in both designs "
                "and are excluded; original-design bytes are only the files an agent re-reads, "
                "not its (longer, fixed) prompt.",
    }
    if scale:
        big = max(scale["sizes"], key=lambda s: s["features"])
        result["at_scale"] = {
            "features": big["features"],
            "feature_list_bytes": big["state"]["bytes"].get("feature_list.json"),
            "autocode_prompt_chars": big["worker"].get("prompt_chars"),
            "autocode_prompt_chars_with_failure": big["worker"].get("prompt_chars_with_last_failure"),
        }
    return result


# ---- 3. scale ----------------------------------------------------------------------------------------

def section_scale(b: Bench, sizes: list[tuple[int, int]]) -> JSON:
    out: list[JSON] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOCODE_", "OPENCODE"))}
    env["XDG_CONFIG_HOME"] = str(b.xdg)
    version = [run_measured([sys.executable, "-m", "agent", "--version"], REPO, env, 60) for _ in range(3)]
    for n_features, n_sessions in sizes:
        b.console.log(f"[3] synthetic state: {n_features} features, {n_sessions} sessions")
        project = b.root / f"scale-{n_features}"
        project.mkdir()
        state = write_synthetic_state(project, n_features, n_sessions)
        worker = run_measured([sys.executable, str(Path(__file__).resolve()), "--scale-worker", str(project),
                               "--repeats", "5" if b.quick else "15"], REPO, env, 180)
        if worker.exit_code != 0:
            raise RuntimeError(f"scale worker failed ({worker.exit_code}): {worker.stderr[-1500:]}")
        data = json.loads(worker.stdout)
        status_cmd = [sys.executable, "-m", "agent", "status", "-p", str(project), "--json"]
        cli = [run_measured(status_cmd, REPO, env, 60) for _ in range(3)]
        bad = [c for c in cli if c.exit_code != 0]
        if bad:
            raise RuntimeError(f"autocode status failed: {bad[0].stderr[-800:]}")
        out.append({"features": n_features, "sessions": n_sessions, "state": state, "worker": data,
                    "status_cli_s": _r(statistics.median(c.wall_s for c in cli), 4),
                    "status_cli_peak_rss_mb": round(max(c.max_rss_kb for c in cli) / 1024, 1),
                    "worker_peak_rss_mb": round(data["rss_kb_peak"] / 1024, 1),
                    "worker_rss_after_imports_mb": round(data["rss_kb_after_imports"] / 1024, 1)})
    small, big = min(out, key=lambda s: s["features"]), max(out, key=lambda s: s["features"])
    growth: JSON = {}
    for name in big["worker"]["ops_s"]:
        lo, hi = small["worker"]["ops_s"][name], big["worker"]["ops_s"][name]
        growth[name] = {"small_ms": ms(lo), "big_ms": ms(hi), "ratio": _ratio(hi, lo)}
    growth["status_cli"] = {"small_ms": ms(small["status_cli_s"]), "big_ms": ms(big["status_cli_s"]),
                            "ratio": _ratio(big["status_cli_s"], small["status_cli_s"])}
    scale_factor = big["features"] / small["features"]
    for g in growth.values():
        # time ~ n^k: k ~ 0 flat, 1 linear, 2 quadratic
        g["exponent"] = round(math.log(g["ratio"]) / math.log(scale_factor), 2) if g["ratio"] else None
    return {"sizes": out, "growth": growth, "small": small["features"], "big": big["features"],
            "python_m_agent_version_s": _r(statistics.median(v.wall_s for v in version), 4)}


# ---- 4. latency-bound --------------------------------------------------------------------------------

def section_latency(b: Bench, n_features: int, latency: float) -> JSON:
    from agent.scripted_model import Scenario, ScriptedModelServer, read_log
    from agent.state import StateStore

    root, features, spec = _workdir(b, "latency", n_features)
    log = root / "model-requests.jsonl"
    scenario = Scenario.model_validate(bench_scenario(features, latency_s=latency, short=True))
    b.console.log(f"[4] autocode build: {n_features} features x 3 steps, {latency:g} s per model step")
    project = root / "project"
    with ScriptedModelServer(scenario, log) as model:
        build = autocode_build(project, spec, model.url, 180, b.xdg)
        url = model.url
    events = _check_build(build, "latency build")
    requests = len(read_log(log))
    model_s = requests * latency
    t_first, t_stop = first_time(events, "session_started"), last_time(events, "stopped")
    sessions_wall = (t_stop - t_first) if t_first and t_stop else None
    store = StateStore(project)
    sessions = [str(r["session"]) for r in store.progress() if r.get("kind") == "session"]
    with opencode_reader(store.server_dir, autocode_server_config(url), project) as reader:
        timings = [reader.timing(sid, project) for sid in sessions]
    raw = sum(t.turn_ms for t in timings) / 1000
    span = sum(t.span_ms for t in timings) / 1000
    return {"features": n_features, "latency_s": latency, "model_requests": requests, "model_time_s": model_s,
            "wall_s": _r(build.wall_s), "ratio_wall_to_model": _ratio(build.wall_s, model_s),
            "sessions_wall_s": _r(sessions_wall), "ratio_sessions_to_model": _ratio(sessions_wall, model_s),
            "raw_turn_time_s": _r(raw), "session_span_s": _r(span),
            "opencode_ms_per_step_beyond_model": ms((raw - model_s) / requests) if requests else None,
            "autocode_ms_per_step": ms((sessions_wall - raw) / requests)
            if sessions_wall and requests else None,
            "overhead_ms_per_step_in_sessions": ms((sessions_wall - model_s) / requests)
            if sessions_wall and requests else None}


def _server_start_s(b: Bench, root: Path, wrapped: bool) -> float:
    from agent.opencode.server import OpenCodeServer, ServerSettings
    from agent.sandbox import sandbox_env, server_wrap

    state = root / f"state-{time.monotonic_ns()}"
    project = root / "project"
    project.mkdir(exist_ok=True)
    wrap = server_wrap("bwrap", project, state, b.opencode) if wrapped else []
    settings = ServerSettings(state_dir=state, config=autocode_server_config("http://127.0.0.1:9/v1"),
                              cwd=project, wrap=wrap, env=sandbox_env(state) if wrapped else {})
    started = time.perf_counter()
    with OpenCodeServer(settings):
        return time.perf_counter() - started


def section_sandbox(b: Bench, n_features: int) -> JSON:
    """What the bubblewrap sandbox costs: server start, and time per model step in a build."""
    from agent.sandbox import bwrap_works
    from agent.scripted_model import Scenario, ScriptedModelServer, read_log

    if not bwrap_works():
        return {"available": False}
    root, features, spec = _workdir(b, "sandbox", n_features)
    starts = {mode: [_server_start_s(b, root, mode == "bwrap") for _ in range(3)] for mode in ("none", "bwrap")}
    result: JSON = {"available": True, "features": n_features,
                    "server_start_s": {m: _r(statistics.median(v)) for m, v in starts.items()}}
    scenario = Scenario.model_validate(bench_scenario(features))
    for mode in ("none", "bwrap"):
        b.console.log(f"[5] autocode build, --sandbox {mode}: {n_features} features, zero model latency")
        log = root / f"requests-{mode}.jsonl"
        with ScriptedModelServer(scenario, log) as model:
            build = autocode_build(root / f"project-{mode}", spec, model.url, 300, b.xdg, sandbox=mode)
        events = _check_build(build, f"sandbox {mode} build")
        t_init, t_stop = first_time(events, "initialized"), last_time(events, "stopped")
        steps = len(read_log(log))
        coding = (t_stop - t_init) if t_init and t_stop else None
        result[mode] = {"wall_s": _r(build.wall_s), "coding_s": _r(coding), "model_requests": steps,
                        "ms_per_step": ms(coding / steps) if coding and steps else None}
    result["extra_ms_per_step"] = _since(result["none"]["ms_per_step"], result["bwrap"]["ms_per_step"])
    return result


# ---- output ----------------------------------------------------------------------------------------------

def _table(title: str, *columns: str) -> Table:
    from rich.table import Table
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    return table


def print_overhead(console: Console, over: JSON) -> None:
    a, r = over["autocode"], over["opencode_run"]
    ac, rc = a["coding"], r["coding"]
    t = _table(f"1. Build overhead: {over['features']} features x 4 model turns, zero model latency",
               "run", "wall s", "sessions", "turns", "raw turn s (c)", "wall / raw", "overhead ms/turn")
    t.add_row("(a) autocode build, whole run", _fmt(a["wall_s"]), _fmt(ac["sessions"] + 1),
              _fmt(a["whole_run"]["model_turns"]), _fmt(a["whole_run"]["raw_turn_time_s"]),
              _fmt(a["whole_run"]["ratio_wall_to_raw"]), _fmt(a["whole_run"]["overhead_ms_per_turn"]))
    t.add_row("(a) autocode build, coding sessions", _fmt(ac["wall_s"]), _fmt(ac["sessions"]),
              _fmt(ac["model_turns"]), _fmt(ac["raw_turn_time_s"]), _fmt(ac["ratio_wall_to_raw"]),
              _fmt(ac["overhead_ms_per_turn"]))
    t.add_row("(b) opencode run per session, all", _fmt(r["total_wall_s"]), _fmt(r["processes"]),
              "", "", "", "")
    t.add_row("(b) opencode run per session, coding", _fmt(rc["wall_s"]), _fmt(rc["sessions"]),
              _fmt(rc["model_turns"]), _fmt(rc["raw_turn_time_s"]), _fmt(rc["ratio_wall_to_raw"]),
              _fmt(rc["overhead_ms_per_turn"]))
    console.print(t)
    reps = over.get("autocode_repeats") or []
    if len(reps) > 1:
        console.print("autocode repeats (coding overhead ms/turn): "
                      + ", ".join(_fmt(x["coding_overhead_ms_per_turn"]) for x in reps)
                      + " — the median run is shown")
    cmp = over["comparison"]
    console.print(f"autocode / opencode run: coding {_fmt(cmp['autocode_over_opencode_run_coding'])}x, "
                  f"whole run {_fmt(cmp['autocode_over_opencode_run_whole'])}x; "
                  f"features passing: autocode {a['features_passing']}, opencode run marked "
                  f"{r['features_marked']}")
    p = _table("1b. Where autocode's time goes", "item", "value")
    for name, value in a["phases_s"].items():
        p.add_row(f"phase: {name.replace('_', ' ')}", _fmt(value, " s"))
    p.add_row("  initializer session span (OpenCode)", _fmt(a["init_session_span_s"], " s"))
    p.add_row("coding: session spans, first prompt to last turn (OpenCode)", _fmt(ac["session_span_s"], " s"))
    p.add_row("coding: model turns, created to completed (OpenCode)", _fmt(ac["raw_turn_time_s"], " s"))
    p.add_row("coding: between sessions (autocode)", _fmt(ac["between_sessions_s"], " s"))
    p.add_row("  mean per session", _fmt(ac["between_sessions_ms_mean"], " ms"))
    for name, value in ac["between_sessions_breakdown_ms"].items():
        p.add_row(f"    {name.replace('_', ' ')}", _fmt(value, " ms"))
    p.add_row("  included above: verification check (mean)",
              _fmt(ac["verification_checks_s"] * 1000 / max(ac["sessions"], 1), " ms"))
    p.add_row("  included above: regression gate per acceptance (full suite)",
              _fmt(ac["regression_gate_ms_per_acceptance"], " ms"))
    p.add_row("  included above: git commit per feature (add, commit), best",
              _fmt(ac["git_commit_ms"], " ms"))
    p.add_row("  included above: GET /session/{id}/message (reconcile), median",
              _fmt(ac["get_session_messages_ms"], " ms"))
    p.add_row("  included above: POST /session (OpenCode), median", _fmt(ac["create_session_ms"], " ms"))
    p.add_row("  included above: new GET /event stream to its first event, median",
              _fmt(ac["sse_connect_ms"], " ms"))
    p.add_row("permission asks per session (every tool call asks)", _fmt(ac["permission_asks_per_session"]))
    p.add_row("bash ask: OpenCode tool start to autocode's verdict", _fmt(ac["bash_ask_to_verdict_ms"], " ms"))
    p.add_row("  included: security gate CPU per bash ask, best",
              _fmt(ac["security_gate_ms_per_bash_ask"], " ms"))
    p.add_row("transcript lines per session", _fmt(ac["transcript_lines_per_session"]))
    p.add_row("bash tool run time: autocode (ask) / opencode run (allow)",
              f"{_fmt(ac['bash_tool_ms_mean'])} / {_fmt(rc['bash_tool_ms_mean'])} ms")
    p.add_row("opencode run: process start+exit per session", _fmt(rc["process_overhead_s_mean"], " s"))
    p.add_row("peak RSS: autocode process / its OpenCode server",
              f"{_fmt(a['peak_rss_mb_autocode_process'])} / {_fmt(a['peak_rss_mb_opencode_server'])} MB")
    p.add_row("peak RSS: one opencode run process (max)", _fmt(r["peak_rss_mb_max"], " MB"))
    console.print(p)


def print_prompts(console: Console, pr: JSON) -> None:
    t = _table(f"2. Prompt economy per coding session ({pr['coding_sessions']} sessions; "
               "chars, ~tokens = chars/4)",
               "what", "first", "last", "mean", "~tokens (mean)", "sum")
    for label, key in (("autocode prompt (whole text it sends)", "autocode_prompt_chars"),
                       ("original: re-read spec + list + notes + git log -20", "original_reread_bytes")):
        st = pr[key]
        t.add_row(label, _fmt(st.get("first")), _fmt(st.get("last")), _fmt(st.get("mean")),
                  _fmt(st.get("tokens_mean_est")), _fmt(st.get("sum")))
    parts = pr.get("original_reread_parts_last") or {}
    t.add_row("  last session: spec / list / notes / git log",
              " / ".join(str(parts.get(k, "-")) for k in ("spec", "feature_list", "notes", "git_log")),
              "", "", "", "")
    if "at_scale" in pr:
        sc = pr["at_scale"]
        t.add_row(f"at {sc['features']} features: autocode prompt (with a 2.5 KB failure)",
                  "", "", f"{sc['autocode_prompt_chars']} ({sc['autocode_prompt_chars_with_failure']})",
                  _fmt((sc["autocode_prompt_chars"] or 0) // 4), "")
        t.add_row(f"at {sc['features']} features: feature_list.json alone", "", "",
                  _fmt(sc["feature_list_bytes"]), _fmt((sc["feature_list_bytes"] or 0) // 4), "")
    console.print(t)
    console.print(f"original / autocode (mean) = {pr['ratio_original_over_autocode_mean']}x; the initializer "
                  f"prompt is {pr['initializer_prompt_chars']} chars (the spec, embedded once). {pr['note']}")


def print_scale(console: Console, sc: JSON) -> None:
    t = _table(f"3. Scale: {sc['small']} vs {sc['big']} features (sessions = features / 2), best-of-N ms",
               "operation", f"{sc['small']}", f"{sc['big']}", "ratio", "exponent k (t ~ n^k)")
    for name, g in sc["growth"].items():
        t.add_row(name.replace("_", " "), _fmt(g["small_ms"]), _fmt(g["big_ms"]), _fmt(g["ratio"]),
                  _fmt(g.get("exponent")))
    small = min(sc["sizes"], key=lambda s: s["features"])
    big = max(sc["sizes"], key=lambda s: s["features"])
    for label, key in (("peak RSS MB: in-process worker", "worker_peak_rss_mb"),
                       ("peak RSS MB: autocode status --json", "status_cli_peak_rss_mb"),
                       ("RSS MB after imports (worker)", "worker_rss_after_imports_mb")):
        t.add_row(label, _fmt(small[key]), _fmt(big[key]), _fmt(_ratio(big[key], small[key])), "")
    floor = _fmt(ms(sc["python_m_agent_version_s"]))
    t.add_row("python -m agent --version (start-up floor)", "", floor, "", "")
    console.print(t)


def print_latency(console: Console, lat: JSON) -> None:
    t = _table(f"4. Latency-bound: {lat['features']} features x 3 steps + initializer, {lat['latency_s']:g} s "
               "per model step", "what", "value")
    rows = [("model requests", lat["model_requests"]), ("model time (requests x latency)", lat["model_time_s"]),
            ("wall, whole build (s)", lat["wall_s"]), ("wall / model", lat["ratio_wall_to_model"]),
            ("wall in sessions, first session to stop (s)", lat["sessions_wall_s"]),
            ("sessions / model", lat["ratio_sessions_to_model"]),
            ("OpenCode per step beyond the model (ms)", lat["opencode_ms_per_step_beyond_model"]),
            ("autocode per step (sessions wall - raw turns) (ms)", lat["autocode_ms_per_step"])]
    for label, value in rows:
        t.add_row(label, _fmt(value))
    console.print(t)


def print_sandbox(console: Console, sb: JSON) -> None:
    t = _table(f"5. Sandbox cost: server start (median of 3) and a {sb['features']}-feature build",
               "what", "--sandbox none", "--sandbox bwrap")
    starts = sb["server_start_s"]
    t.add_row("server start to healthy (s)", _fmt(starts["none"]), _fmt(starts["bwrap"]))
    for key, label in (("wall_s", "build wall (s)"), ("coding_s", "coding sessions (s)"),
                       ("model_requests", "model steps"), ("ms_per_step", "coding time per model step (ms)")):
        t.add_row(label, _fmt(sb["none"][key]), _fmt(sb["bwrap"][key]))
    console.print(t)


def print_tables(console: Console, results: JSON) -> None:
    printers: list[tuple[str, str, Callable[[Console, JSON], None]]] = [
        ("overhead", "autocode", print_overhead), ("prompts", "autocode_prompt_chars", print_prompts),
        ("scale", "growth", print_scale), ("latency", "wall_s", print_latency),
        ("sandbox", "server_start_s", print_sandbox),
        ("contain", "plain_bash_ms", lambda c, v: print_contain(c, _table, _fmt, v)),
        ("gate", "gate_ms_per_acceptance", lambda c, v: print_gate(c, _table, _fmt, v)),
        ("workers", "runs", lambda c, v: print_workers(c, _table, _fmt, v)),
        ("record", "openai", lambda c, v: print_record(c, _table, _fmt, v))]
    for name, key, printer in printers:
        value = results.get(name)
        if isinstance(value, dict) and key in value:
            printer(console, value)
        elif isinstance(value, dict) and "error" in value:
            console.print(f"[red]{name} failed:[/red] {value['error']}")


def run_section(console: Console, results: JSON, name: str, fn: Callable[[], JSON]) -> None:
    started = time.perf_counter()
    try:
        results[name] = fn()
    except Exception as exc:  # one failed section must not lose the others
        console.log(f"[red]{name} failed: {exc}[/red]")
        results[name] = {"error": f"{exc.__class__.__name__}: {exc}", "trace": traceback.format_exc()[-3000:]}
    results.setdefault("durations_s", {})[name] = round(time.perf_counter() - started, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run (~1-2 min)")
    parser.add_argument("--out", type=Path, default=Path("bench.json"), help="write the numbers here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (its path is printed)")
    parser.add_argument("--scale-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=15, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scale_worker is not None:  # internal: one clean process per scale measurement
        sys.stdout.write(json.dumps(scale_worker(args.scale_worker, args.repeats)) + "\n")
        return 0

    from rich.console import Console

    from agent import OPENCODE_VERSION, __version__
    from agent.opencode.install import find_opencode

    console = Console(width=None if sys.stdout.isatty() else 118)
    began = time.perf_counter()
    results: JSON = {"meta": {"autocode": __version__, "opencode": OPENCODE_VERSION, "model": MODEL,
                              "quick": args.quick, "python": platform.python_version(),
                              "machine": platform.machine(), "cpus": os.cpu_count(),
                              "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}}
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                          timeout=30).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True, timeout=30).stdout.strip()
    results["meta"]["git"] = head + ("+dirty" if dirty else "")
    results["meta"]["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    root = Path(tempfile.mkdtemp(prefix="autocode-bench-"))
    try:
        xdg = root / "xdg-config"
        xdg.mkdir()
        bench = Bench(root=root, quick=args.quick, console=console, opencode=find_opencode(), xdg=xdg)
        n = 5 if args.quick else 20
        sizes = [(20, 10), (200, 100)] if args.quick else [(100, 50), (1000, 500)]
        run_section(console, results, "scale", lambda: section_scale(bench, sizes))
        run_section(console, results, "overhead", lambda: section_overhead(bench, n, 1 if args.quick else 3))
        over = results["overhead"]
        scale = results["scale"] if "growth" in results["scale"] else None
        if "error" not in over:
            run_section(console, results, "prompts", lambda: section_prompts(bench, over, scale))
        for run in (over.get("autocode"), *(over.get("autocode_repeats") or [])):
            if isinstance(run, dict):
                run.pop("_project", None)
        run_section(console, results, "latency", lambda: section_latency(bench, 2 if args.quick else 3, 1.0))
        run_section(console, results, "sandbox", lambda: section_sandbox(bench, 3 if args.quick else 8))
        run_section(console, results, "contain", lambda: section_contain(10 if args.quick else 50))
        run_section(console, results, "gate", lambda: section_gate(root, xdg, n, console.log))
        counts = (1, 4) if args.quick else (1, 2, 4, 8)
        run_section(console, results, "workers", lambda: section_workers(
            root, xdg, console.log, 4 if args.quick else 8, 1.0, counts))
        run_section(console, results, "record", lambda: section_record(50 if args.quick else 300))
    finally:
        if args.keep:
            console.log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    results["meta"]["total_s"] = round(time.perf_counter() - began, 1)
    results["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print_tables(console, results)
    with contextlib.suppress(KeyError):
        for size in results["scale"]["sizes"]:
            size["worker"].pop("rss_kb_start", None)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    meta = results["meta"]
    console.print(f"total {meta['total_s']} s on {meta['cpus']} CPUs (load average {meta['loadavg_start'][0]} "
                  f"at start, {meta['loadavg_end'][0]} at end; other work on the machine skews timings); "
                  f"autocode {meta['git']}; numbers in {args.out}")
    failed = [k for k, v in results.items() if isinstance(v, dict) and "error" in v]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
