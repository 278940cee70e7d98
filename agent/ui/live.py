"""The live view for people at a terminal (rich): progress, current feature, tool calls, cost."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from agent.ui.reporters import _tool_summary, describe


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

    def emit(self, event: str, **data: Any) -> None:
        self._update(event, data)
        line = describe(event, data)
        if line and event not in ("tool", "session_started"):
            self.console.print(line, highlight=False)
        if self.live is None:
            self.live = Live(self.render(), console=self.console, refresh_per_second=8)
            self.live.start()
        self.live.update(self.render())

    def _update(self, event: str, data: dict[str, Any]) -> None:
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
                self.tools.clear()
            case "feature_verdict" | "initialized":
                self.total = int(data.get("total") or data.get("features") or self.total)
                self.passing = int(data.get("passing", self.passing))
            case "step":
                self.cost = float(data.get("total_usd") or self.cost)
            case "tool" if data.get("status") == "running":
                self.tools.append(f"{data['tool']}: {_tool_summary(data.get('input') or {})}")
            case "permission" if not data.get("allowed"):
                self.denied += 1
                self.tools.append(f"[denied] {' '.join(data.get('patterns') or [])[:80]}")

    def render(self) -> Group:
        elapsed = int(time.monotonic() - self.started)
        head = Table.grid(padding=(0, 2))
        head.add_row(Text(f"features {self.passing}/{self.total}", style="bold"),
                     ProgressBar(total=max(self.total, 1), completed=self.passing, width=30),
                     Text(f"{elapsed // 60}m{elapsed % 60:02d}s"))
        cost = f"${self.cost:.4f}" if self.priced else f"${self.cost:.4f} (model unpriced)"
        if self.budget:
            cost += f" of ${self.budget:.2f} (${max(self.budget - self.cost, 0):.4f} left)"
        info = Table.grid(padding=(0, 2))
        info.add_row("model", self.model, "cost", cost, "denied", str(self.denied))
        info.add_row("feature", self.feature or "(initializer)")
        tools = Text("\n".join(f"  {t}" for t in self.tools), style="dim")
        return Group(head, info, tools)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
