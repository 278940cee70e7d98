"""Reporters: plain lines for people (stderr when --json), JSON lines for programs.

``--json`` prints one object per build event on stdout: ``{"schema": 1, "event": NAME, "time":
epoch seconds, ...fields}``. The schema is documented in README ("Machine-readable events").
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from agent.features import plural

if TYPE_CHECKING:
    from agent.ui.live import LiveView

JSON_SCHEMA_VERSION = 1
VERDICT_WORDS = {"rejected": ": marked done, but autocode's check failed",
                 "not_done": ": the agent did not mark it done"}


class _Stream:
    """Writes lines to a stream until its reader goes away (``| head``): then it goes quiet.

    A closed pipe must not stop a build: the rest of the output is dropped (the file descriptor
    is pointed at /dev/null so Python's exit-time flush does not complain) and the build goes on.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.closed = False

    def write(self, line: str) -> None:
        if self.closed:
            return
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except BrokenPipeError:
            self._silence()

    def _silence(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)

    def close(self) -> None:
        if not self.closed:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._silence()


class JsonReporter(_Stream):
    def emit(self, event: str, **data: Any) -> None:
        record = {"schema": JSON_SCHEMA_VERSION, "event": event, "time": round(time.time(), 3), **data}
        self.write(json.dumps(record, default=str, ensure_ascii=False))


def describe(event: str, data: dict[str, Any]) -> str | None:
    """One human line for an event, or None for events people don't need to see."""
    match event:
        case "build_started":
            return f"building {data['project']} with {data['model']}"
        case "resumed":
            return _resumed(data)
        case "feature_started":
            retry = int(data.get("attempt") or 1) > 1
            again = f" (attempt {data['attempt']}/{data['attempts']})" if retry else ""
            who = f"worker {data['worker']}: " if data.get("worker") else ""
            return f"{who}feature {data['feature']}/{data['total']}{again}: {data['description']}"
        case "merged":
            return f"worker {data['worker']}: feature {data['feature']} merged into main ({data['commit']})"
        case "merge_conflict":
            return (f"worker {data['worker']}: feature {data['feature']} conflicts with main in "
                    f"{', '.join(data['files'])}: back to the queue, redone on the new main")
        case "model_info" if not data.get("priced"):
            return f"  note: {data['model']} is unpriced: its cost shows as $0, which may not be true"
        case "session_started":
            return f"session {data['session']}: {data['title']}"
        case "tool" if data.get("status") == "running":
            return f"  {data['tool']}: {_tool_summary(data.get('input') or {})}"
        case "permission" if not data.get("allowed"):
            return f"  denied {data['permission']} {' '.join(data.get('patterns') or [])}: {data['reason']}"
        case "feature_verdict":
            why = VERDICT_WORDS.get(str(data["verdict"]), "")
            return (f"feature {data['feature']}: {data['verdict']}{why} "
                    f"({data['passing']}/{data['total']} passing){_evidence(data)}")
        case "check":
            return _check(data)
        case "session_finished":
            return _session_end(data)
        case "initialized":
            return f"feature list: {data['features']} features; test command: {data.get('test_cmd')}"
        case "integrity_violation":
            return f"  feature list changes reverted: {'; '.join(data['violations'])}"
        case "stopped":
            return f"stopped: {data['message']} (exit {data['exit_code']}, ${data['cost_usd']:.4f})"
    return _incident(event, data)


def _evidence(data: dict[str, Any]) -> str:
    """The test count and the regression gate's time of a verdict, when it has them, after the
    verdict's sentence (which stays as it was: people and scripts read it)."""
    parts = [f"tests {data.get('tests_before') if data.get('tests_before') is not None else '-'} -> "
             f"{data['tests_after']}"] if data.get("tests_after") is not None else []
    gate = data.get("gate")
    parts += [f"gate {'ok' if gate['ok'] else 'FAILED'} {gate['duration_s']:.1f}s"] if gate else []
    return f" [{'; '.join(parts)}]" if parts else ""


def _incident(event: str, data: dict[str, Any]) -> str | None:
    """Warnings, retries, restarts and recoveries as sentences."""
    match event:
        case "warning":
            return f"  warning: {data['message']}"
        case "budget_warning":
            return f"  BUDGET WARNING: {data['message']}"
        case "provider_retry":
            return f"  the model provider failed (OpenCode retry {data.get('attempt')}): {data.get('message')}"
        case "provider_backoff":
            return (f"  the model provider failed {data['failures']} session(s) in a row; waiting "
                    f"{float(data['seconds']):g} s before the next: {data.get('message')}")
        case "session_error":
            return f"  session error {data.get('name')}: {data.get('message')}"
        case "stream_reconnect":
            return f"  event stream lost ({data.get('reason')}); reconnecting and catching up"
        case "server_restart":
            return f"  the OpenCode server failed ({data.get('reason')}); restart {data.get('attempt')}"
        case "cost_recovered" if data.get("usd"):
            return f"  recovered ${float(data.get('usd') or 0):.4f} spent by the interrupted session"
        case "tests_refused":
            return (f"  refused: protected tests removed or weakened: {', '.join(data['refused'][:6])}; "
                    f"restored {', '.join(data.get('restored') or []) or 'nothing'}")
        case "regression":
            return (f"  the failure belongs to feature {', '.join(map(str, data['owners']))}"
                    + (f"; restored {', '.join(data['restored'])}" if data.get("restored") else ""))
        case "feature_skipped":
            return (f"  feature {data['feature']} skipped for this run after {data['attempts']} attempts "
                    "(the next run tries it again)")
    return None


def _session_end(data: dict[str, Any]) -> str:
    turns = plural(int(data["turns"]), "turn")
    numbers = f"{turns}, ${float(data['cost_usd']):.4f}, {float(data['duration_s']):.0f}s"
    if data["stop"] in ("idle", "interrupted"):
        return f"  session {'done' if data['stop'] == 'idle' else 'interrupted'}: {numbers}"
    return f"  session cut short ({str(data['stop']).replace('_', ' ')}: {data.get('message')}): {numbers}"


def _check(data: dict[str, Any]) -> str:
    if data["ok"]:
        return f"  check {data.get('command')}: ok"
    tail = [line for line in str(data.get("output") or "").splitlines() if line.strip()][-6:]
    return "\n".join([f"  check {data.get('command')}: FAILED", *(f"    | {line}" for line in tail)])


def _resumed(data: dict[str, Any]) -> str:
    total = f"{data['passing']}/{data['total']} passing" if data.get("total") else "not initialized yet"
    cut = f" ({data['interrupted']} interrupted)" if data.get("interrupted") else ""
    line = (f"resuming: {total}, ${float(data['spent_usd']):.4f} spent, {data['sessions']} sessions "
            f"so far{cut}, {data['denied']} denied")
    if data.get("recovered_usd"):
        line += f", recovered ${float(data['recovered_usd']):.4f} from the interrupted session"
    return line


def _tool_summary(args: dict[str, Any]) -> str:
    for key in ("command", "filePath", "pattern", "path"):
        if key in args:
            return str(args[key]).splitlines()[0][:120] if str(args[key]) else ""
    return json.dumps(args)[:120]


class PlainReporter(_Stream):
    """Lines for a pipe or a log file: each starts with the local time (HH:MM:SS)."""

    def emit(self, event: str, **data: Any) -> None:
        line = describe(event, data)
        if line is not None:
            self.write(f"{time.strftime('%H:%M:%S')} {line}")


def make_reporter(json_out: bool) -> JsonReporter | PlainReporter | LiveView:
    """``--json`` lines for programs; the rich live view on a terminal; plain lines otherwise."""
    if json_out:
        return JsonReporter()
    if sys.stdout.isatty():
        from agent.ui.live import LiveView

        return LiveView()
    return PlainReporter()
