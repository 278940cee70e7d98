"""The seams: small protocols passed in through constructors, so tests hand in fakes.

``build.py``, ``session.py`` and ``stream.py`` depend only on these, never on httpx or rich.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal, Protocol

from agent.build_events import BuildEvent
from agent.opencode.events import Event, PermissionAsked, SessionInfo
from agent.opencode.messages import Message
from agent.providers import ModelRef


class OpenCodeAPI(Protocol):
    """What the session runner needs from an OpenCode server (see ``opencode/client.py``)."""

    async def create_session(self, directory: Path, title: str,
                             parent_id: str | None = None) -> SessionInfo: ...

    async def prompt(self, session_id: str, directory: Path, text: str, model: ModelRef, *,
                     system: str | None = None, agent: str | None = None,
                     tools: dict[str, bool] | None = None) -> None: ...

    async def abort(self, session_id: str, directory: Path) -> None: ...

    async def messages(self, session_id: str, directory: Path) -> list[Message]: ...

    async def sessions(self, directory: Path) -> list[SessionInfo]: ...

    async def pending_permissions(self, directory: Path) -> list[PermissionAsked]: ...

    async def reply_permission(self, request_id: str, directory: Path,
                               reply: Literal["once", "reject"],
                               message: str | None = None) -> bool: ...

    async def reject_question(self, request_id: str, directory: Path) -> None: ...

    def events(self, directory: Path) -> AsyncIterator[Event]: ...


class Reporter(Protocol):
    """Receives every build event (live view, ``--json`` lines, transcript, or nothing); the
    events are the models of ``build_events.py``."""

    def emit(self, event: BuildEvent) -> None: ...


class Verdict(Protocol):
    """A permission verdict (``agent.security.Decision`` is one)."""

    @property
    def allowed(self) -> bool: ...

    @property
    def reason(self) -> str: ...

    @property
    def rule(self) -> str: ...


class PermissionGate(Protocol):
    """Judges one ``permission.asked`` (the security policy plus the denied log)."""

    def judge(self, ask: PermissionAsked, directory: Path) -> Verdict: ...


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def wall(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class NullReporter:
    def emit(self, event: BuildEvent) -> None:
        return None


class FanoutReporter:
    """Sends every event to several reporters (e.g. the live view and the transcript)."""

    def __init__(self, *reporters: Reporter) -> None:
        self.reporters = list(reporters)

    def emit(self, event: BuildEvent) -> None:
        for reporter in self.reporters:
            reporter.emit(event)
