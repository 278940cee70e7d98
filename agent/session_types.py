"""What a session is asked to do and what it did (shared by the runner, the loop and the API)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.opencode.events import ErrorInfo


class SessionRequest(BaseModel):
    directory: Path
    title: str
    prompt: str
    system: str | None = None
    feature: int | None = None
    worker: int | None = None


class ToolCall(BaseModel):
    tool: str
    status: str
    input: dict[str, Any] = Field(default_factory=dict)
    output: str = ""


class SessionResult(BaseModel):
    """What one session did (a build-level stop raises it as ``StopReason.result``)."""

    session_id: str
    text: str = ""
    turns: int = 0
    cost: float = 0.0
    models: list[str] = Field(default_factory=list)
    tools: list[ToolCall] = Field(default_factory=list)
    denied: int = 0
    stop: str = "idle"
    stop_message: str = ""
    error: ErrorInfo | None = None
    duration_s: float = 0.0


class SessionCancelled(asyncio.CancelledError):
    """A session cancelled (Ctrl-C, SIGTERM, a caller's timeout) after it was aborted and counted.

    Still a ``CancelledError``, so cancellation means what asyncio says it means; ``result`` is
    what the session did up to then, for the build to record.
    """

    def __init__(self, result: SessionResult) -> None:
        super().__init__("session cancelled")
        self.result = result


def worker_field(worker: int | None) -> dict[str, int]:
    """The ``worker`` field of an event or record (``--workers``; absent on the serial path)."""
    return {} if worker is None else {"worker": worker}
