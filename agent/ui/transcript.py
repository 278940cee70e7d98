"""Session transcripts: every event of a session appended to `.autocode/sessions/ID.jsonl`,
and `autocode logs` to read them back (nothing a user paid for is invisible)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.state import append_jsonl, read_jsonl


class TranscriptWriter:
    """A reporter that files each session event under its (root) session."""

    def __init__(self, sessions_dir: Path) -> None:
        self.dir = sessions_dir
        self.root_of: dict[str, str] = {}

    def emit(self, event: str, **data: Any) -> None:
        session = data.get("session")
        if not session:
            return
        if event == "child_session":
            self.root_of[str(data["child"])] = str(session)
        root = self.root_of.get(str(session), str(session))
        append_jsonl(self.dir / f"{root}.jsonl", {"event": event, **data}, durable=False)

    def close(self) -> None:
        return None


def session_index(progress: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in progress if r.get("kind") == "session"]


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
    return "\n".join(lines)


def render_logs(sessions_dir: Path, progress: list[dict[str, Any]], session: str | None,
                feature: int | None) -> str:
    index = session_index(progress)
    if session is None and feature is None:
        rows = [f"{r['session']}  feature {'-' if r.get('feature') is None else int(r['feature']) + 1:>3}  "
                f"{r.get('stop', ''):16} ${float(r.get('cost') or 0):.4f}  {r.get('duration_s', 0)}s"
                for r in index]
        return "\n".join(rows) or "no sessions yet"
    wanted = [r["session"] for r in index
              if (session and r["session"] == session)
              or (feature is not None and r.get("feature") == feature - 1)]
    if session and not wanted and (sessions_dir / f"{session}.jsonl").exists():
        wanted = [session]
    return "\n\n".join(render_transcript(read_jsonl(sessions_dir / f"{sid}.jsonl")) for sid in wanted)
