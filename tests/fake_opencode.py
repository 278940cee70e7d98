"""Fakes for unit tests of the session seams: a scripted OpenCode API and virtual time.

``FakeOpenCode`` plays one script per connection to the event stream, given as the raw payloads
the server sends (parsed by the real ``parse_event``), with :class:`Pause`, :class:`Drop` and
:class:`Hang` between them; its stored messages are raw too and go through the real
``parse_messages``. ``run`` runs a coroutine on :class:`VirtualTimeLoop`, whose clock jumps to the
next timer whenever every task waits, so sleeps and timeouts take no real time; ``LoopClock``
reads that clock.
"""

from __future__ import annotations

import asyncio
import selectors
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from agent.opencode.events import Event, PermissionAsked, SessionInfo, parse_event
from agent.opencode.messages import Message, parse_messages
from agent.providers import ModelRef

T = TypeVar("T")
Raw = dict[str, Any]


class _JumpSelector(selectors.DefaultSelector):
    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self.loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready: list[tuple[selectors.SelectorKey, int]] = super().select(0)
        if not ready and timeout is None:
            raise RuntimeError("every task waits and no timer is set: the test would hang")
        if not ready and timeout:
            self.loop.now += timeout  # nothing to do before the next timer: jump to it
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(_JumpSelector(self))

    def time(self) -> float:
        return self.now


def run(coro: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(coro)


class LoopClock:
    """The ``Clock`` of the running (virtual) loop."""

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    def wall(self) -> float:
        return 1_800_000_000.0 + self.monotonic()


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Drop:
    """The connection breaks (as the client reports it: an exception out of ``events``)."""


@dataclass(frozen=True)
class Hang:
    """The connection stays open and silent."""


Step = Raw | Pause | Drop | Hang


class FakeOpenCode:
    """An ``OpenCodeAPI`` that plays scripts and records what it was asked."""

    def __init__(self, *connections: list[Step], stored: dict[str, list[Raw]] | None = None,
                 pending: list[Raw] | None = None) -> None:
        self.connections = deque(connections)
        self.stored = stored or {}
        self.pending = pending or []
        self.subscriptions = 0
        self.prompts: list[str] = []
        self.aborted: list[str] = []
        self.replies: list[tuple[str, str]] = []

    async def create_session(self, directory: Path, title: str,
                             parent_id: str | None = None) -> SessionInfo:
        return SessionInfo(id="ses_root", title=title, parentID=parent_id, directory=str(directory))

    async def prompt(self, session_id: str, directory: Path, text: str, model: ModelRef, *,
                     system: str | None = None, agent: str | None = None,
                     tools: dict[str, bool] | None = None) -> None:
        self.prompts.append(text)

    async def abort(self, session_id: str, directory: Path) -> None:
        self.aborted.append(session_id)

    async def messages(self, session_id: str, directory: Path) -> list[Message]:
        return parse_messages(self.stored.get(session_id, []))

    async def sessions(self, directory: Path) -> list[SessionInfo]:
        return []

    async def pending_permissions(self, directory: Path) -> list[PermissionAsked]:
        asks = [parse_event({"type": "permission.asked", "properties": raw}) for raw in self.pending]
        return [ask for ask in asks if isinstance(ask, PermissionAsked)]

    async def reply_permission(self, request_id: str, directory: Path, reply: Literal["once", "reject"],
                               message: str | None = None) -> bool:
        self.replies.append((request_id, reply))
        return True

    async def reject_question(self, request_id: str, directory: Path) -> None:
        self.replies.append((request_id, "reject"))

    async def events(self, directory: Path) -> AsyncIterator[Event]:
        self.subscriptions += 1
        script: list[Step] = self.connections.popleft() if self.connections else [Hang()]
        for step in script:
            match step:
                case Pause(seconds=seconds):
                    await asyncio.sleep(seconds)
                case Drop():
                    raise ConnectionError("event stream broke")
                case Hang():
                    await asyncio.Event().wait()
                case _:
                    yield parse_event(step)
        raise ConnectionError("event stream ended")


# ---- raw payloads as OpenCode 1.18 sends them ---------------------------------------------------

CONNECTED: Raw = {"type": "server.connected", "properties": {}}
HEARTBEAT: Raw = {"type": "server.heartbeat", "properties": {}}


def status(session: str, kind: str = "busy") -> Raw:
    return {"type": "session.status", "properties": {"sessionID": session, "status": {"type": kind}}}


def idle(session: str) -> Raw:
    return {"type": "session.idle", "properties": {"sessionID": session}}


def created(session: str, parent: str | None) -> Raw:
    return {"type": "session.created", "properties": {"info": {
        "id": session, "parentID": parent, "title": "t", "time": {"created": 1}}}}


def part(raw: Raw) -> Raw:
    return {"type": "message.part.updated", "properties": {"part": raw}}


def step_finish(session: str, message: str, cost: float, reason: str = "tool-calls") -> Raw:
    return {"id": f"prt_{message}_end", "sessionID": session, "messageID": message, "type": "step-finish",
            "reason": reason, "cost": cost, "tokens": {"input": 1000, "output": 100,
                                                       "cache": {"read": 0, "write": 0}}}


def text(session: str, message: str, body: str) -> Raw:
    return {"id": f"prt_{message}_text", "sessionID": session, "messageID": message, "type": "text",
            "text": body}


def assistant(session: str, message: str, cost: float, finish: str | None, *parts: Raw,
              model: str = "model-a") -> Raw:
    time: Raw = {"created": 1000, **({"completed": 2000} if finish else {})}
    return {"info": {"id": message, "sessionID": session, "role": "assistant", "time": time,
                     "providerID": "scripted", "modelID": model, "cost": cost,
                     "tokens": {"input": 1000, "output": 100, "cache": {"read": 0, "write": 0}},
                     **({"finish": finish} if finish else {})},
            "parts": list(parts)}


def user(session: str, message: str, prompt: str) -> Raw:
    return {"info": {"id": message, "sessionID": session, "role": "user", "time": {"created": 500}},
            "parts": [text(session, message, prompt)]}


def asked(session: str, request: str, command: str = "ls") -> Raw:
    return {"id": request, "sessionID": session, "permission": "bash", "patterns": [command],
            "metadata": {"command": command}, "always": [], "tool": {"messageID": "m", "callID": "c"}}
