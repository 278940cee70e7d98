"""`autocode status`: what a build has done so far, from `.autocode/` alone (no server needed)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from agent.cost import Ledger
from agent.estimate import prior_for
from agent.features import next_feature, unmet_dependencies
from agent.forecast import describe_forecast, forecast
from agent.guard import evidence_lines
from agent.state import StateStore


def build_running(project_dir: Path) -> bool:
    """Whether a build holds the project lock right now (a shared probe; nothing is changed)."""
    lock = StateStore(project_dir).root / "lock"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's lock too
    return False


def build_status(project_dir: Path) -> dict[str, Any]:
    store = StateStore(project_dir)
    if not store.state_path.exists() and not store.baseline_path.exists():
        return {"project": str(project_dir), "initialized": False, "features_total": 0,
                "features_passing": 0, "sessions": 0, "cost_usd": 0.0}
    state = store.load()
    baseline = store.load_baseline() or []
    ledger = Ledger(store.cost_path)
    progress = store.progress()
    verdicts = [r for r in progress if r.get("kind") == "verdict"]
    stops = {r.get("session"): r.get("stop") for r in progress if r.get("kind") == "session"}
    upcoming = next_feature(baseline, set(state.passing), set()) if baseline else None
    return {
        "project": str(project_dir),
        "initialized": state.initialized,
        "model": state.model,
        "features_total": len(baseline),
        "features_passing": len(state.passing),
        "current_feature": state.current.feature + 1 if state.current and state.current.feature is not None
        else None,
        "workers": {str(w): c.feature + 1 for w, c in sorted(state.in_flight.items()) if c.feature is not None},
        "next_feature": None if upcoming is None else {"number": upcoming + 1,
                                                       "description": baseline[upcoming].description},
        "blocked": {str(i + 1): [d + 1 for d in deps] for i, deps in
                    unmet_dependencies(baseline, set(state.passing)).items() if deps},
        "attempts": {str(int(i) + 1): n for i, n in state.attempts.items()},
        "sessions": state.sessions,
        "interrupted_sessions": state.interrupted_sessions,
        "elapsed_s": state.elapsed_s,
        "cost_usd": round(ledger.total, 6),
        "priced": state.priced,
        "forecast": forecast(progress, len(baseline), len(state.passing), ledger.total,
                             prior_for(project_dir)) if baseline else None,
        "tokens": ledger.tokens,
        "cost_by_feature": {str(int(k) + 1): round(v, 6) for k, v in sorted(ledger.by_feature.items())},
        "denied": len(store.denied()),
        "egress_denied": [str(r.get("target")) for r in store.denied() if r.get("kind") == "egress"],
        "sandbox": state.sandbox,
        "running": build_running(project_dir),
        "stop_reason": state.stop_reason,
        "stop_message": state.stop_message,
        "last_verdicts": [{"feature": int(r["feature"]) + 1, "verdict": r["verdict"],
                           "session": r.get("session"), "stop": stops.get(r.get("session")),
                           "evidence": evidence_lines(r),
                           **({"worker": r["worker"]} if "worker" in r else {})}
                          for r in verdicts[-5:]],
        "last_failure": {str(int(i) + 1): text[-600:] for i, text in state.last_failure.items()},
    }


def render_status(status: dict[str, Any]) -> str:
    if not status["initialized"]:
        return f"{status['project']}: not initialized yet (run autocode build)"
    lines = [
        f"project   {status['project']}",
        f"model     {status['model']}",
        f"features  {status['features_passing']}/{status['features_total']} passing",
        f"sessions  {status['sessions']} ({status['interrupted_sessions']} interrupted), "
        f"{status['elapsed_s']:.0f}s",
        f"cost      ${status['cost_usd']:.4f}"
        + ("" if status.get("priced", True) else "  (UNPRICED model: the real cost is unknown)"),
        f"denied    {status['denied']} commands/paths/hosts",
        *([f"egress    refused: {', '.join(status['egress_denied'][-5:])}"]
          if status.get("egress_denied") else []),
        f"sandbox   {status['sandbox'] or '?'}"
        + ("  (WARNING: no OS sandbox: agent commands and checks run on this machine with only a "
           "scrubbed environment and the command policy)" if status["sandbox"] == "none" else "")
        + ("  (agent commands run in the attached server, not contained by autocode)"
           if status["sandbox"] == "external" else ""),
    ]
    if status.get("forecast"):
        lines.append(f"forecast  {describe_forecast(status['forecast'])}")
    if status["next_feature"]:
        nxt = status["next_feature"]
        lines.append(f"next      #{nxt['number']}: {nxt['description']}")
    if status.get("blocked"):
        waiting = "; ".join(f"#{n} waits for {', '.join(f'#{d}' for d in deps)}"
                            for n, deps in status["blocked"].items())
        lines.append(f"blocked   {waiting}")
    if status.get("workers"):
        lines.append("workers   " + ", ".join(f"w{w}: #{n}" for w, n in status["workers"].items()))
    if status.get("running"):
        lines.append("running   a build is running now (autocode status --watch 5 follows it)")
    elif status["stop_reason"]:
        reason, message = status["stop_reason"], status["stop_message"]
        lines.append(f"stopped   {message if message.startswith(reason) else f'{reason}: {message}'}")
    for verdict in status["last_verdicts"]:
        stop = verdict.get("stop")
        why = f", session ended: {stop.replace('_', ' ')}" if stop not in (None, "idle") else ""
        worker = f"w{verdict['worker']}, " if verdict.get("worker") else ""
        lines.append(f"  feature {verdict['feature']}: {verdict['verdict'].replace('_', ' ')} "
                     f"({worker}{verdict['session']}{why})")
        lines += [f"    {line}" for line in verdict.get("evidence") or []]
    upcoming = str((status.get("next_feature") or {}).get("number"))
    failure = (status.get("last_failure") or {}).get(upcoming)
    if failure:
        lines.append(f"last failing check of #{upcoming}:")
        lines += [f"  | {line}" for line in failure.strip().splitlines()[-6:]]
    return "\n".join(lines)
