"""Reporters: plain lines for people (stderr when --json), JSON lines for programs.

``--json`` prints one object per build event on stdout: ``{"schema": 1, "event": NAME, "time":
epoch seconds, ...fields}``. The schema is documented in README ("Machine-readable events").
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from agent.ui.live import LiveView

JSON_SCHEMA_VERSION = 1


class JsonReporter:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def close(self) -> None:
        self.stream.flush()

    def emit(self, event: str, **data: Any) -> None:
        record = {"schema": JSON_SCHEMA_VERSION, "event": event, "time": round(time.time(), 3), **data}
        self.stream.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        self.stream.flush()


def describe(event: str, data: dict[str, Any]) -> str | None:
    """One human line for an event, or None for events people don't need to see."""
    match event:
        case "build_started":
            return f"building {data['project']} with {data['model']}"
        case "feature_started":
            return f"feature {data['feature']}/{data['total']}: {data['description']}"
        case "model_info" if not data.get("priced"):
            return f"  note: {data['model']} is unpriced: its cost shows as $0, which may not be true"
        case "session_started":
            return f"session {data['session']}: {data['title']}"
        case "tool" if data.get("status") == "running":
            return f"  {data['tool']}: {_tool_summary(data.get('input') or {})}"
        case "permission" if not data.get("allowed"):
            return f"  denied {data['permission']} {' '.join(data.get('patterns') or [])}: {data['reason']}"
        case "feature_verdict":
            return (f"feature {data['feature']}: {data['verdict']} "
                    f"({data['passing']}/{data['total']} passing)")
        case "check":
            return f"  check {data.get('command')}: {'ok' if data['ok'] else 'FAILED'}"
        case "initialized":
            return f"feature list: {data['features']} features; test command: {data.get('test_cmd')}"
        case "integrity_violation":
            return f"  feature list changes reverted: {'; '.join(data['violations'])}"
        case "stopped":
            return f"stopped: {data['message']} (exit {data['exit_code']}, ${data['cost_usd']:.4f})"
        case "warning" | "provider_retry" | "session_error" | "stream_reconnect" | "feature_skipped":
            return f"  {event}: " + ", ".join(f"{k}={v}" for k, v in data.items() if k != "session")
    return None


def _tool_summary(args: dict[str, Any]) -> str:
    for key in ("command", "filePath", "pattern", "path"):
        if key in args:
            return str(args[key]).splitlines()[0][:120] if str(args[key]) else ""
    return json.dumps(args)[:120]


class PlainReporter:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def close(self) -> None:
        self.stream.flush()

    def emit(self, event: str, **data: Any) -> None:
        line = describe(event, data)
        if line is not None:
            self.stream.write(line + "\n")
            self.stream.flush()


def make_reporter(json_out: bool) -> JsonReporter | PlainReporter | LiveView:
    """``--json`` lines for programs; the rich live view on a terminal; plain lines otherwise."""
    if json_out:
        return JsonReporter()
    if sys.stdout.isatty():
        from agent.ui.live import LiveView

        return LiveView()
    return PlainReporter()
