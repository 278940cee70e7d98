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

    def emit(self, event: str, **data: Any) -> None:
        if self.finished:
            return
        self._update(event, data)
        if event == "stopped":  # the moving panel goes; one summary panel stays
            self.cost = float(data.get("cost_usd") or self.cost)
            self.passing = int(data.get("passing", self.passing))
            self._finish(data)
            return
        line = describe(event, data)
        if line and event not in ("tool", "session_started"):
            self.console.print(line, highlight=False)
        if self.live is None:
            self.live = Live(self.render(), console=self.console, refresh_per_second=8, transient=True)
            self.live.start()
        self.live.update(self.render())

    def _finish(self, data: dict[str, Any]) -> None:
        self.finished = True
        if self.live is not None:
            self.live.stop()
            self.live = None
        ok = int(data.get("exit_code") or 0) == 0
        body = Group(Text(str(data.get("message", "")), style="bold"), self._numbers())
        self.console.print(Panel(body, title=f"autocode {'finished' if ok else 'stopped'} "
                                 f"(exit {data.get('exit_code')})", border_style="green" if ok else "yellow",
                                 expand=False))

    def _update(self, event: str, data: dict[str, Any]) -> None:
        if "worker" in data or data.get("session") in self.session_worker:
            self._worker(event, data)
            if event in ("step", "tool", "session_started", "child_session"):
                self.cost = float(data.get("total_usd") or self.cost)
                return
        match event:
            case "build_started":
                self.model = str(data.get("model", ""))
                self.budget = float(data.get("budget_usd") or 0.0)
                self.cost = float(data.get("spent_usd") or 0.0)
            case "resumed":
                self.total, self.passing = int(data["total"]), int(data["passing"])
                self.cost, self.denied = float(data["spent_usd"]), int(data["denied"])
            case "model_info":
                self.priced = bool(data.get("priced"))
            case "feature_started":
                self.total, self.passing = int(data["total"]), int(data["passing"])
                self.feature = f"#{data['feature']} {data['description']}"
                self.attempt = f"{data.get('attempt') or 1}/{data.get('attempts') or '?'}"
                self.feature_started, self.feature_cost0, self.turns = time.monotonic(), self.cost, 0
                self.tools.clear()
            case "feature_verdict" | "initialized":
                self.total = int(data.get("total") or data.get("features") or self.total)
                self.passing = int(data.get("passing", self.passing))
            case "forecast":
                self.forecast = data
            case "step":
                self.cost = float(data.get("total_usd") or self.cost)
                self.turns += 1
            case "tool" if data.get("status") == "running":
                self.tools.append(f"{data['tool']}: {_tool_summary(data.get('input') or {})}")
            case "permission" if not data.get("allowed"):
                self.denied += 1
                self.tools.append(f"[denied] {' '.join(data.get('patterns') or [])[:80]}")

    def _worker(self, event: str, data: dict[str, Any]) -> None:
        """Keep the line of the worker this event belongs to."""
        worker = int(data.get("worker") or self.session_worker.get(str(data.get("session")), 0))
        line = self.workers.setdefault(worker, WorkerLine())
        match event:
            case "feature_started":
                line.feature, line.turns, line.cost, line.tool = (f"#{data['feature']} {data['description']}",
                                                                  0, 0.0, "")
            case "session_started":
                self.session_worker[str(data["session"])] = worker
            case "child_session":
                self.session_worker[str(data["child"])] = worker
            case "step":
                line.turns += 1
                line.cost += float(data.get("cost") or 0.0)
            case "tool" if data.get("status") == "running":
                line.tool = f"{data['tool']}: {_tool_summary(data.get('input') or {})}"
            case "feature_verdict":
                line.feature, line.tool = "", f"last: #{data['feature']} {data['verdict']}"

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
