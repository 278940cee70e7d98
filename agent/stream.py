"""The event stream of one session: subscribe, reconnect, catch up, time out.

:class:`EventStream` follows one OpenCode session, and the child sessions it starts (``task``
subagents), on the directory's event stream (``GET /event``), and hands on only their typed
events. It is opened before the prompt is sent, so nothing is missed. A dropped stream is
subscribed again after a pause that grows with each drop, then caught up from the session's stored
messages and the permission requests still pending (the ledger counts a replayed step once). The
session ends with :class:`IdleTimeout` when no event of it came for ``idle_timeout`` s (the time
the runner spends acting on one does not count), and with :class:`SessionTimeout`
``session_timeout`` s after the stream was opened.

Beside the server's events it yields two of its own: :class:`StreamDropped` when the connection
was lost (asking for the next event reconnects), and :class:`CaughtUp` after a catch-up, with
``finished`` set when the stored messages show the session already ended.
"""

from __future__ import annotations

import asyncio
from collections import deque
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, Field

from agent.cost import Limits
from agent.errors import IdleTimeout, ServerFailure, SessionTimeout, StopReason
from agent.opencode.events import (
    AssistantInfo,
    Event,
    MessageUpdated,
    ServerConnected,
    SessionCreated,
    Unknown,
)
from agent.ports import Clock, OpenCodeAPI

T = TypeVar("T")


async def get_within(queue: asyncio.Queue[T], timeout: float) -> T:
    """``queue.get()`` within ``timeout`` s, never losing a cancellation (Ctrl-C).

    Python 3.11's ``wait_for`` returns the item and drops the cancellation when both arrive in
    the same loop turn; the task still counts the cancel request, so it is raised here.
    """
    item = await asyncio.wait_for(queue.get(), timeout=timeout)
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
    return item


class StreamSettings(BaseModel):
    """How long the stream waits for what. 0 means "no limit" for both timeouts."""

    idle_timeout: float = Field(default=0.0, ge=0, description="seconds without an event of the session")
    session_timeout: float = Field(default=0.0, ge=0, description="seconds from opening the stream")
    connect_timeout: float = Field(default=15.0, gt=0, description="seconds to wait for server.connected")
    max_reconnects: int = Field(default=8, ge=0, description="drops survived per session")

    @classmethod
    def from_limits(cls, limits: Limits) -> StreamSettings:
        return cls(idle_timeout=limits.idle_timeout, session_timeout=limits.session_timeout)


class StreamDropped(Event):
    """The connection was lost (``attempt`` drops so far); the next event reconnects."""

    reason: str
    attempt: int


class CaughtUp(Event):
    """The replay after a reconnect is over; ``finished``: the session already ended meanwhile."""

    finished: bool = False


class EventStream:
    """One session's events (see the module docstring): ``open`` it before the prompt, iterate,
    ``close`` it when done. One stream follows one prompt of one session."""

    def __init__(self, client: OpenCodeAPI, clock: Clock, settings: StreamSettings | None = None) -> None:
        self.client = client
        self.clock = clock
        self.settings = settings or StreamSettings()
        self.directory = Path()
        self.root = ""
        self.sessions: set[str] = set()
        self.drops = 0
        self._queue: asyncio.Queue[Event | Exception] = asyncio.Queue()
        self._replay: deque[Event] = deque()
        self._reader: asyncio.Task[None] | None = None
        self._dropped = False
        self._opened = 0.0
        self._last_event = 0.0
        self._handed_live = False

    async def open(self, directory: Path, session_id: str) -> None:
        """Subscribe; :class:`ServerFailure` if the stream does not connect in time."""
        self.directory, self.root, self.sessions = directory, session_id, {session_id}
        self._opened = self._last_event = self.clock.monotonic()
        await self._subscribe()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        return await self.next()

    async def next(self) -> Event:
        """The next event of the session; raises :class:`IdleTimeout`, :class:`SessionTimeout`, or
        :class:`ServerFailure` after more than ``max_reconnects`` drops."""
        if self._handed_live:  # the time the runner spent acting on an event is not idleness
            self._last_event = self.clock.monotonic()
            self._handed_live = False
        if self._dropped:
            await self._reconnect()
        if self._replay:
            return self._replay.popleft()
        item = await self._take()
        if isinstance(item, Exception):
            return self._drop(item)
        self._handed_live = True
        return item

    async def _take(self) -> Event | Exception:
        """The next item of the live stream, within the session's deadline and, when nothing is
        waiting, the idle one."""
        deadlines: list[tuple[float, StopReason]] = []
        if self.settings.session_timeout:
            deadlines.append((self._opened + self.settings.session_timeout, SessionTimeout(
                f"session ran {self.settings.session_timeout:.0f}s (--session-timeout)")))
        if self.settings.idle_timeout and self._queue.empty():
            deadlines.append((self._last_event + self.settings.idle_timeout, IdleTimeout(
                f"no session event for {self.settings.idle_timeout:.0f}s (--idle-timeout)")))
        if not deadlines:
            return await self._queue.get()
        deadline, reason = min(deadlines, key=lambda d: d[0])
        try:
            return await get_within(self._queue, max(deadline - self.clock.monotonic(), 0.0))
        except TimeoutError:
            raise reason from None

    def _drop(self, error: Exception) -> StreamDropped:
        self.drops += 1
        if self.drops > self.settings.max_reconnects:
            raise ServerFailure(f"event stream lost {self.drops} times: {error}")
        self._dropped = True
        return StreamDropped(session_id=self.root, reason=str(error), attempt=self.drops)

    async def _reconnect(self) -> None:
        self._dropped = False
        await asyncio.sleep(min(0.2 * self.drops, 2.0))
        await self._subscribe()
        self._replay.extend(await self._catch_up())

    async def _subscribe(self) -> None:
        connected = asyncio.Event()
        self._reader = asyncio.create_task(self._read(connected))
        try:
            await asyncio.wait_for(connected.wait(), timeout=self.settings.connect_timeout)
        except TimeoutError:
            self._reader.cancel()
            raise ServerFailure("OpenCode event stream did not connect within "
                                f"{self.settings.connect_timeout:.0f} s") from None

    async def _read(self, connected: asyncio.Event) -> None:
        """Queue the session's events; the error that ends the connection is queued last."""
        try:
            async for event in self.client.events(self.directory):
                if isinstance(event, ServerConnected):
                    connected.set()
                elif self._tracks(event):
                    self._queue.put_nowait(event)
            raise ConnectionError("event stream ended")
        except Exception as exc:  # handed to the consumer, which reconnects or stops
            self._queue.put_nowait(exc)
            connected.set()

    def _tracks(self, event: Event) -> bool:
        """An event of the session or of one of its children (a child is learnt from its creation)."""
        match event:
            case SessionCreated(info=info) if info.parent_id in self.sessions:
                self.sessions.add(info.id)
                return True
            case SessionCreated() | Unknown():
                return False
        return event.session_id in self.sessions

    async def _catch_up(self) -> list[Event]:
        """What the drop may have hidden: the model steps stored so far (each with its parts) and
        the permission requests still pending."""
        events: list[Event] = []
        last: AssistantInfo | None = None
        for message in await self.client.messages(self.root, self.directory):
            if (step := message.assistant) is not None:
                last = step
                events += [MessageUpdated(session_id=step.session_id, info=step), *message.parts]
        events += await self.client.pending_permissions(self.directory)
        finished = last is not None and last.completed and last.finish not in (None, "tool-calls")
        return [*filter(self._tracks, events), CaughtUp(session_id=self.root, finished=finished)]
