"""Session transcripts: every event of a session appended to `.autocode/sessions/ID.jsonl`,
and `autocode logs` to read them back (nothing a user paid for is invisible)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.build_events import BuildEvent, CheckEvent, ChildSession, SessionEvent, SessionStarted
from agent.cost import Ledger
from agent.errors import UsageError
from agent.guard import evidence_lines
from agent.state import append_jsonl, read_jsonl


class TranscriptWriter:
    """A reporter that files each session event under its (root) session."""

    def __init__(self, sessions_dir: Path) -> None:
        self.dir = sessions_dir
        self.root_of: dict[str, str] = {}
        self.last = ""  # the latest session: autocode's checks after it belong to its transcript

    def emit(self, event: BuildEvent) -> None:
        session = event.session if isinstance(event, SessionEvent) else ""
        if not session and isinstance(event, CheckEvent):
            session = self.last
        if not session:
            return
        match event:
            case SessionStarted():
                self.last = session
            case ChildSession():
                self.root_of[event.child] = session
        root = self.root_of.get(session, session)
        append_jsonl(self.dir / f"{root}.jsonl", {"event": event.event, **event.fields()}, durable=False)

    def close(self) -> None:
        return None


def session_index(progress: list[dict[str, Any]], ledger: Ledger) -> list[dict[str, Any]]:
    """Every session with its verdict and its cost from the ledger (the one place cost is counted).

    A session the ledger charged but the progress log never recorded (killed before its record)
    is listed too, so the costs here add up to ``autocode status``.
    """
    verdicts = {r.get("session"): r for r in progress if r.get("kind") == "verdict"}
    rows = [{**r, "cost": ledger.session_cost(r["session"]),
             "verdict": (verdicts.get(r["session"]) or {}).get("verdict")}
            for r in progress if r.get("kind") == "session"]
    known = {r["session"] for r in rows}
    rows += [{"session": sid, "feature": None, "stop": "interrupted", "cost": cost, "turns": None,
              "duration_s": None, "verdict": None, "unrecorded": True}
             for sid, cost in ledger.by_session.items() if sid not in known]
    return rows


def _outcome(row: dict[str, Any]) -> str:
    if row.get("unrecorded"):
        return "killed (cost recovered)"
    if row.get("verdict"):
        return str(row["verdict"]).replace("_", " ")
    stop = str(row.get("stop") or "")
    return "initialized" if row.get("feature") is None and stop == "idle" else stop.replace("_", " ")


def render_index(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no sessions yet"
    lines = [f"{'session':32} {'feature':11} {'outcome':24} {'turns':>5} {'cost':>9} {'time':>7}"]
    for row in rows:
        feature = "initializer" if row.get("feature") is None and not row.get("unrecorded") else (
            "?" if row.get("feature") is None else f"#{int(row['feature']) + 1}")
        seconds = row.get("duration_s")
        lines.append(f"{row['session']:32} {feature:11} {_outcome(row):24} {row.get('turns') or '-':>5} "
                     f"{'$' + format(float(row['cost']), '.4f'):>9} "
                     f"{'-' if seconds is None else f'{float(seconds):.0f}s':>7}")
    total = sum(float(r["cost"]) for r in rows)
    lines.append(f"{len(rows)} sessions, ${total:.4f} in all "
                 "(show one: autocode logs --session ID or --feature N)")
    return "\n".join(lines)


def render_transcript(records: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for rec in records:
        event = rec.get("event")
        if event == "session_started":
            lines += [f"== {rec.get('title')} ({rec.get('session')}, model {rec.get('model')})",
                      "-- prompt:", *(str(rec.get("prompt") or "").rstrip().splitlines()), "-- agent:"]
        elif event == "tool" and rec.get("status") in ("completed", "error"):
            args = rec.get("input") or {}
            what = args.get("command") or args.get("filePath") or json.dumps(args)[:100]
            lines.append(f"[{rec['tool']}] {str(what).splitlines()[0] if what else ''} -> {rec['status']}")
            lines += [f"    {line}" for line in str(rec.get("output") or "").splitlines()[-6:]]
        elif event == "permission" and not rec.get("allowed"):
            lines.append(f"[denied {rec.get('permission')}] {' '.join(rec.get('patterns') or [])}: "
                         f"{rec.get('reason')}")
        elif event == "step":
            lines.append(f"  step {rec.get('turns')}: +${float(rec.get('cost') or 0):.6f} "
                         f"(session ${float(rec.get('session_usd') or 0):.6f})")
        elif event == "text":
            lines.append(f"agent: {rec.get('text')}")
        elif event in ("session_error", "provider_retry"):
            lines.append(f"[{event}] {rec.get('message')}")
        elif event == "check":
            ok = "ok" if rec.get("ok") else "FAILED"
            lines.append(f"-- autocode check of feature {rec.get('feature')}: $ {rec.get('command')} -> {ok}")
            lines += [f"    {line}" for line in str(rec.get("output") or "").splitlines()[-8:]]
        elif event == "feature_verdict":
            lines.append(f"-- autocode verdict: feature {rec.get('feature')} "
                         f"{str(rec.get('verdict')).replace('_', ' ')}")
            lines += [f"    {line}" for line in evidence_lines(rec)]
    return "\n".join(lines)


def render_logs(sessions_dir: Path, progress: list[dict[str, Any]], ledger: Ledger, session: str | None,
                feature: int | None) -> str:
    """The session list, or the transcripts of one session / one feature (UsageError if none)."""
    index = session_index(progress, ledger)
    if session is None and feature is None:
        return render_index(index)
    wanted = [r for r in index if (session and r["session"] == session)
              or (feature is not None and r.get("feature") == feature - 1)]
    if session and not wanted and (sessions_dir / f"{session}.jsonl").exists():
        wanted = [{"session": session}]
    if not wanted:
        what = f"session {session}" if session else f"feature {feature}"
        raise UsageError(f"no {what} in this build; `autocode logs` lists the sessions")
    return "\n\n".join(render_transcript(read_jsonl(sessions_dir / f"{r['session']}.jsonl")) + "\n"
                        + _closing(r) for r in wanted)


def _closing(row: dict[str, Any]) -> str:
    stop = str(row.get("stop") or "unknown")
    how = "the agent finished" if stop == "idle" else stop.replace("_", " ")
    return (f"-- autocode: session ended ({how}), "
            f"${float(row.get('cost') or 0):.4f}")


def _new_records(path: Path, offsets: dict[Path, int]) -> list[dict[str, Any]]:
    """Whole lines appended to ``path`` since the last call (a half-written line waits)."""
    with path.open("rb") as fh:
        fh.seek(offsets.get(path, 0))
        data = fh.read()
    complete = data[:data.rfind(b"\n") + 1]
    offsets[path] = offsets.get(path, 0) + len(complete)
    records = []
    for line in complete.decode("utf-8", errors="replace").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            records.append(item)
    return records


def follow(sessions_dir: Path, running: Callable[[], bool], echo: Callable[[str], None],
           sleep: Callable[[float], None], interval: float = 0.5) -> None:
    """`logs -f`: print transcripts as they are written (the newest from its start) until the build stops."""
    files = sorted(sessions_dir.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    offsets = {path: path.stat().st_size for path in files[:-1]}
    while True:
        alive = running()  # read before the last pass: nothing written before the stop is missed
        for path in sorted(sessions_dir.glob("*.jsonl"), key=lambda p: p.stat().st_mtime):
            text = render_transcript(_new_records(path, offsets))
            if text:
                echo(text)
        if not alive:
            return
        sleep(interval)
