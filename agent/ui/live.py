"""The live view for people at a terminal (rich): progress, current feature, tool calls, cost."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from agent.build_events import (
    BuildEvent,
    BuildStarted,
    ChildSession,
    FeatureStarted,
    FeatureVerdict,
    Forecast,
    Initialized,
    IntegrityViolation,
    MergeConflict,
    Merged,
    ModelInfoEvent,
    Permission,
    Resumed,
    SessionEvent,
    SessionFinished,
    SessionStarted,
    Step,
    Stopped,
    Tool,
)
from agent.features import plural
from agent.forecast import describe_forecast
from agent.ui.reporters import _tool_summary, describe


class WorkerLine:
    """``--workers``: what one worker is doing (feature, model steps, cost, current tool)."""

    def __init__(self) -> None:
        self.feature, self.turns, self.cost, self.tool = "", 0, 0.0, ""

    def render(self) -> str:
        if not self.feature:
            return f"idle  {self.tool}".rstrip()
        return f"{self.feature[:50]}  {plural(self.turns, 'turn')}, ${self.cost:.4f}  {self.tool[:60]}"


class LiveView:
    """A reporter that redraws one panel on every event; notable events also scroll above it."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.started = time.monotonic()
        self.model = ""
        self.total = 0
        self.passing = 0
        self.feature = ""
        self.cost = 0.0
        self.budget = 0.0
        self.denied = 0
        self.priced = True
        self.tools: deque[str] = deque(maxlen=6)
        self.live: Live | None = None
        self.finished = False
        self.attempt, self.turns = "1", 0  # the current feature's attempt, model steps, start, cost
        self.feature_started, self.feature_cost0 = self.started, 0.0
        self.workers: dict[int, WorkerLine] = {}  # --workers: one line each
        self.session_worker: dict[str, int] = {}  # session (and child session) id -> worker
        self.forecast: dict[str, Any] | None = None  # the last `forecast` event

    def emit(self, event: BuildEvent) -> None:
        if self.finished:
            return
        self._update(event)
        if isinstance(event, Stopped):  # the moving panel goes; one summary panel stays
            self.cost = event.cost_usd or self.cost
            self.passing = event.passing
            self._finish(event)
            return
        line = describe(event)
        if line and not isinstance(event, Tool | SessionStarted):
            self.console.print(line, highlight=False)
        if self.live is None:
            self.live = Live(self.render(), console=self.console, refresh_per_second=8, transient=True)
            self.live.start()
        self.live.update(self.render())

    def _finish(self, stopped: Stopped) -> None:
        self.finished = True
        if self.live is not None:
            self.live.stop()
            self.live = None
        ok = stopped.exit_code == 0
        body = Group(Text(stopped.message, style="bold"), self._numbers())
        self.console.print(Panel(body, title=f"autocode {'finished' if ok else 'stopped'} "
                                 f"(exit {stopped.exit_code})", border_style="green" if ok else "yellow",
                                 expand=False))

    def _update(self, event: BuildEvent) -> None:
        worker = _worker_of(event)
        if worker or (isinstance(event, SessionEvent) and event.session in self.session_worker):
            self._worker(event, worker)
            match event:
                case Step():
                    self.cost = event.total_usd or self.cost
                    return
                case Tool() | SessionStarted() | ChildSession():
                    return
        match event:
            case BuildStarted():
                self.model = event.model
                self.budget = event.budget_usd
                self.cost = event.spent_usd
            case Resumed():
                self.total, self.passing = event.total, event.passing
                self.cost, self.denied = event.spent_usd, event.denied
            case ModelInfoEvent():
                self.priced = event.priced
            case FeatureStarted():
                self.total, self.passing = event.total, event.passing
                self.feature = f"#{event.feature} {event.description}"
                self.attempt = f"{event.attempt or 1}/{event.attempts or '?'}"
                self.feature_started, self.feature_cost0, self.turns = time.monotonic(), self.cost, 0
                self.tools.clear()
            case FeatureVerdict():
                self.total = event.total or self.total
                self.passing = event.passing
            case Initialized():
                self.total = event.features or self.total
            case Forecast():
                self.forecast = event.fields()
            case Step():
                self.cost = event.total_usd or self.cost
                self.turns += 1
            case Tool(status="running"):
                self.tools.append(f"{event.tool}: {_tool_summary(event.input)}")
            case Permission(allowed=False):
                self.denied += 1
                self.tools.append(f"[denied] {' '.join(event.patterns)[:80]}")

    def _worker(self, event: BuildEvent, worker: int | None) -> None:
        """Keep the line of the worker this event belongs to."""
        if not worker:
            worker = self.session_worker.get(event.session, 0) if isinstance(event, SessionEvent) else 0
        line = self.workers.setdefault(worker, WorkerLine())
        match event:
            case FeatureStarted():
                line.feature, line.turns, line.cost = f"#{event.feature} {event.description}", 0, 0.0
                line.tool = ""
            case SessionStarted():
                self.session_worker[event.session] = worker
            case ChildSession():
                self.session_worker[event.child] = worker
            case Step():
                line.turns += 1
                line.cost += event.cost
            case Tool(status="running"):
                line.tool = f"{event.tool}: {_tool_summary(event.input)}"
            case FeatureVerdict():
                line.feature, line.tool = "", f"last: #{event.feature} {event.verdict}"

    def _numbers(self) -> Table:
        elapsed = int(time.monotonic() - self.started)
        head = Table.grid(padding=(0, 2))
        progress = f"features {self.passing}/{self.total}" if self.total else "initializing"
        head.add_row(Text(progress, style="bold"),
                     ProgressBar(total=max(self.total, 1), completed=self.passing, width=30),
                     Text(f"{elapsed // 60}m{elapsed % 60:02d}s"))
        cost = f"${self.cost:.4f}" if self.priced else f"${self.cost:.4f} (model unpriced: not the real cost)"
        if self.budget:
            cost += f" of ${self.budget:.2f} (${max(self.budget - self.cost, 0):.4f} left)"
        head.add_row(Text(f"model {self.model}"), Text(f"cost {cost}"), Text(f"denied {self.denied}"))
        if self.forecast and self.forecast.get("features_left"):
            over = 0 < self.budget < float(self.forecast["total_usd"])
            head.add_row(Text("forecast", style="bold red" if over else "bold"),
                         Text(describe_forecast(self.forecast) + (" OVER BUDGET" if over else ""),
                              style="red" if over else ""))
        return head

    def render(self) -> Group:
        info = Table.grid(padding=(0, 2))
        if self.workers:
            for number, line in sorted(self.workers.items()):
                info.add_row(f"worker {number}", line.render())
            return Group(self._numbers(), info)
        if self.feature:
            info.add_row("feature", f"{self.feature}  ({self.feature_line()})")
        else:
            info.add_row("feature", "(initializer session)")
        tools = Text("\n".join(f"  {t}" for t in self.tools), style="dim")
        return Group(self._numbers(), info, tools)

    def feature_line(self) -> str:
        seconds = int(time.monotonic() - self.feature_started)
        return (f"attempt {self.attempt}, {seconds // 60}m{seconds % 60:02d}s, {plural(self.turns, 'turn')}, "
                f"${max(self.cost - self.feature_cost0, 0):.4f}")

    def close(self) -> None:
        if self.live is not None:  # ended without a stop event (an error): keep the last numbers
            self.live.stop()
            self.live = None
            self.console.print(self._numbers())


def _worker_of(event: BuildEvent) -> int | None:
    """The worker an event names (``--workers``), if it names one."""
    match event:
        case FeatureStarted() | SessionStarted() | SessionFinished() | FeatureVerdict() | IntegrityViolation():
            return event.worker
        case MergeConflict() | Merged():
            return event.worker
    return None
