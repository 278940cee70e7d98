"""Reporters: plain lines for people (stderr when --json), JSON lines for programs.

``--json`` prints one object per build event on stdout: ``{"schema": 1, "event": NAME, "time":
epoch seconds, ...fields}``; the events are the models of ``build_events.py`` (``autocode
events-schema`` prints their JSON Schema; README, "Machine-readable events").
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from agent.build_events import (
    JSON_SCHEMA_VERSION,
    BudgetWarning,
    BuildEvent,
    BuildStarted,
    CheckEvent,
    CostRecovered,
    FeatureSkipped,
    FeatureStarted,
    FeatureVerdict,
    Initialized,
    IntegrityViolation,
    MergeConflict,
    Merged,
    ModelInfoEvent,
    Permission,
    ProviderBackoff,
    ProviderRetry,
    Regression,
    Resumed,
    ServerRestart,
    SessionErrorEvent,
    SessionFinished,
    SessionStarted,
    Stopped,
    StreamReconnect,
    TestsRefused,
    Tool,
    WarningEvent,
)
from agent.features import plural

if TYPE_CHECKING:
    from agent.ui.live import LiveView

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
    def emit(self, event: BuildEvent) -> None:
        record = {"schema": JSON_SCHEMA_VERSION, "event": event.event, "time": round(time.time(), 3),
                  **event.fields()}
        self.write(json.dumps(record, default=str, ensure_ascii=False))


def describe(event: BuildEvent) -> str | None:
    """One human line for an event, or None for events people don't need to see."""
    match event:
        case BuildStarted():
            return f"building {event.project} with {event.model}"
        case Resumed():
            return _resumed(event)
        case FeatureStarted():
            again = f" (attempt {event.attempt}/{event.attempts})" if event.attempt > 1 else ""
            who = f"worker {event.worker}: " if event.worker else ""
            return f"{who}feature {event.feature}/{event.total}{again}: {event.description}"
        case Merged():
            return f"worker {event.worker}: feature {event.feature} merged into main ({event.commit})"
        case MergeConflict():
            return (f"worker {event.worker}: feature {event.feature} conflicts with main in "
                    f"{', '.join(event.files)}: back to the queue, redone on the new main")
        case ModelInfoEvent(priced=False):
            return f"  note: {event.model} is unpriced: its cost shows as $0, which may not be true"
        case SessionStarted():
            return f"session {event.session}: {event.title}"
        case Tool(status="running"):
            return f"  {event.tool}: {_tool_summary(event.input)}"
        case Permission(allowed=False):
            return f"  denied {event.permission} {' '.join(event.patterns)}: {event.reason}"
        case FeatureVerdict():
            why = VERDICT_WORDS.get(event.verdict, "")
            return (f"feature {event.feature}: {event.verdict}{why} "
                    f"({event.passing}/{event.total} passing){_evidence(event)}")
        case CheckEvent():
            return _check(event)
        case SessionFinished():
            return _session_end(event)
        case Initialized():
            return f"feature list: {event.features} features; test command: {event.test_cmd}"
        case IntegrityViolation():
            return f"  feature list changes reverted: {'; '.join(event.violations)}"
        case Stopped():
            return f"stopped: {event.message} (exit {event.exit_code}, ${event.cost_usd:.4f})"
    return _incident(event)


def _evidence(verdict: FeatureVerdict) -> str:
    """The test count and the regression gate's time of a verdict, when it has them, after the
    verdict's sentence (which stays as it was: people and scripts read it)."""
    before = "-" if verdict.tests_before is None else verdict.tests_before
    parts = [f"tests {before} -> {verdict.tests_after}"] if verdict.tests_after is not None else []
    gate = verdict.gate
    parts += [f"gate {'ok' if gate.ok else 'FAILED'} {gate.duration_s:.1f}s"] if gate else []
    return f" [{'; '.join(parts)}]" if parts else ""


def _incident(event: BuildEvent) -> str | None:
    """Warnings, retries, restarts and recoveries as sentences."""
    match event:
        case WarningEvent():
            return f"  warning: {event.message}"
        case BudgetWarning():
            return f"  BUDGET WARNING: {event.message}"
        case ProviderRetry():
            return f"  the model provider failed (OpenCode retry {event.attempt}): {event.message}"
        case ProviderBackoff():
            return (f"  the model provider failed {event.failures} session(s) in a row; waiting "
                    f"{event.seconds:g} s before the next: {event.message}")
        case SessionErrorEvent():
            return f"  session error {event.name}: {event.message}"
        case StreamReconnect():
            return f"  event stream lost ({event.reason}); reconnecting and catching up"
        case ServerRestart():
            return f"  the OpenCode server failed ({event.reason}); restart {event.attempt}"
        case CostRecovered() if event.usd:
            return f"  recovered ${event.usd:.4f} spent by the interrupted session"
        case TestsRefused():
            return (f"  refused: protected tests removed or weakened: {', '.join(event.refused[:6])}; "
                    f"restored {', '.join(event.restored) or 'nothing'}")
        case Regression():
            return (f"  the failure belongs to feature {', '.join(map(str, event.owners))}"
                    + (f"; restored {', '.join(event.restored)}" if event.restored else ""))
        case FeatureSkipped():
            return (f"  feature {event.feature} skipped for this run after {event.attempts} attempts "
                    "(the next run tries it again)")
    return None


def _session_end(event: SessionFinished) -> str:
    turns = plural(event.turns, "turn")
    numbers = f"{turns}, ${event.cost_usd:.4f}, {event.duration_s:.0f}s"
    if event.stop in ("idle", "interrupted"):
        return f"  session {'done' if event.stop == 'idle' else 'interrupted'}: {numbers}"
    return f"  session cut short ({event.stop.replace('_', ' ')}: {event.message}): {numbers}"


def _check(event: CheckEvent) -> str:
    if event.ok:
        return f"  check {event.command}: ok"
    tail = [line for line in event.output.splitlines() if line.strip()][-6:]
    return "\n".join([f"  check {event.command}: FAILED", *(f"    | {line}" for line in tail)])


def _resumed(event: Resumed) -> str:
    total = f"{event.passing}/{event.total} passing" if event.total else "not initialized yet"
    cut = f" ({event.interrupted} interrupted)" if event.interrupted else ""
    line = (f"resuming: {total}, ${event.spent_usd:.4f} spent, {event.sessions} sessions "
            f"so far{cut}, {event.denied} denied")
    if event.recovered_usd:
        line += f", recovered ${event.recovered_usd:.4f} from the interrupted session"
    return line


def _tool_summary(args: dict[str, Any]) -> str:
    for key in ("command", "filePath", "pattern", "path"):
        if key in args:
            return str(args[key]).splitlines()[0][:120] if str(args[key]) else ""
    return json.dumps(args)[:120]


class PlainReporter(_Stream):
    """Lines for a pipe or a log file: each starts with the local time (HH:MM:SS)."""

    def emit(self, event: BuildEvent) -> None:
        line = describe(event)
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
