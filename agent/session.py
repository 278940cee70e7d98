"""Run one OpenCode session to its end: prompt, follow events, answer permissions, guard.

The runner subscribes to the event stream *before* prompting, then consumes events until the
session goes idle. On the way it checks the model of every step (and of child sessions),
counts every step's cost in the ledger, applies the limits, and answers each permission request
with the security gate's verdict. A dropped stream is reconnected and caught up from the
session's messages (the ledger ignores what it has already counted).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TypeVar

from agent.build_events import (
    ChildSession,
    CostRecovered,
    Permission,
    Prompt,
    ProviderRetry,
    SessionErrorEvent,
    SessionStarted,
    Step,
    StreamReconnect,
    TextEvent,
    Tool,
)
from agent.cost import Ledger, Limits, check_limits, check_step_limits
from agent.errors import (
    AuthError,
    IdleTimeout,
    Interrupted,
    ModelMismatch,
    ServerFailure,
    SessionLimit,
    SessionTimeout,
    StopReason,
)
from agent.opencode.events import (
    AssistantInfo,
    ErrorInfo,
    Event,
    MessageUpdated,
    PermissionAsked,
    QuestionAsked,
    ServerConnected,
    SessionCreated,
    SessionError,
    SessionIdle,
    SessionStatus,
    StepFinished,
    TextUpdated,
    ToolUpdated,
    parse_event,
)
from agent.ports import Clock, OpenCodeAPI, PermissionGate, Reporter, Verdict
from agent.providers import ModelRef
from agent.recovery import cut_off, recover_costs
from agent.security.models import Decision
from agent.session_types import SessionCancelled, SessionRequest, SessionResult, ToolCall

MAX_RECONNECTS = 8
JUDGE_TIMEOUT_S = 5.0
"""Seconds the security gate may take for one permission request before it is refused."""


class _Done(Exception):
    """Internal: the session went idle."""


class _GiveUp(Exception):
    """Internal: stop following a session that cannot succeed now (it is aborted)."""


class _Track:
    def __init__(self, root: str, request: SessionRequest) -> None:
        self.root = root
        self.request = request
        self.sessions = {root}
        self.steps: set[str] = set()
        self.models: dict[str, str] = {}
        self.texts: dict[str, str] = {}
        self.assistant: set[str] = set()
        self.last_assistant = ""
        self.answered: set[str] = set()
        self.tool_states: dict[str, str] = {}
        self.tools: list[ToolCall] = []
        self.denied = 0
        self.busy = False
        self.aborting = False
        self.reconnected = False
        self.error: ErrorInfo | None = None

    @property
    def turns(self) -> int:
        """Model steps so far (one assistant message each, child sessions included)."""
        return len(self.steps | self.assistant)


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


def _uncancel() -> None:
    """Let the wrap-up of a cancelled session (reconcile) await; it re-raises the cancellation."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


def refusal(reason: str) -> str:
    """What the agent reads when the policy refuses: the reason as one sentence, then advice."""
    return f"Refused by autocode's security policy: {reason.rstrip('. ')}. Do something else."


class SessionRunner:
    def __init__(self, client: OpenCodeAPI, model: ModelRef, ledger: Ledger, limits: Limits,
                 gate: PermissionGate, reporter: Reporter, clock: Clock,
                 allowed_models: frozenset[str] | None = None) -> None:
        self.client = client
        self.model = model
        self.ledger = ledger
        self.limits = limits
        self.gate = gate
        self.reporter = reporter
        self.clock = clock
        self.allowed = allowed_models or frozenset({str(model)})

    async def run(self, request: SessionRequest) -> SessionResult:
        """Create a fresh titled session and drive it with ``request.prompt``."""
        info = await self.client.create_session(request.directory, request.title)
        self.reporter.emit(SessionStarted(session=info.id, title=request.title, feature=request.feature,
                                          model=str(self.model), prompt=request.prompt, worker=request.worker))
        return await self.drive(info.id, request)

    async def recover(self, directory: Path, since: float, feature: int | None) -> float:
        """After a crash: count what the sessions started since ``since`` spent (see recovery.py)."""
        recovered = await recover_costs(self.client, self.ledger, directory, since, feature, self.clock.wall())
        self.reporter.emit(CostRecovered(usd=round(recovered, 6), since=since))
        return recovered

    async def drive(self, session_id: str, request: SessionRequest) -> SessionResult:
        """Send ``request.prompt`` to an existing session and follow it until it is idle."""
        track = _Track(session_id, request)
        self.reporter.emit(Prompt(session=session_id, prompt=request.prompt))
        started = self.clock.monotonic()
        halt: StopReason | None = None
        queue: asyncio.Queue[Event | Exception] = asyncio.Queue()
        pump = await self._subscribe(request.directory, queue)
        try:
            await self.client.prompt(session_id, request.directory, request.prompt, self.model,
                                     system=request.system)
            await self._consume(track, queue, started)
        except _Done:
            pass
        except _GiveUp:
            await self._abort(track)
        except StopReason as exc:
            halt = exc
            await self._abort(track)
        except asyncio.CancelledError:  # Ctrl-C: abort, count what was spent, then go on cancelling
            await asyncio.shield(self._abort(track))
            pump[0].cancel()
            _uncancel()  # the wrap-up below awaits; the cancellation goes on as SessionCancelled
            halt = await self._reconcile(track, Interrupted(
                "interrupted (Ctrl-C or SIGTERM): the session was aborted and the state saved; run the "
                "same command to resume"))
            raise SessionCancelled(self._result(track, started, halt)) from None
        finally:
            pump[0].cancel()
        if track.aborting or track.reconnected or track.assistant - track.steps:
            halt = await self._reconcile(track, halt)  # only when events may have been missed
        return self._result(track, started, halt)

    async def _reconcile(self, track: _Track, halt: StopReason | None) -> StopReason | None:
        """Count what the events may have missed (a step cut short by an abort, a lost event)."""
        try:
            messages = await self.client.messages(track.root, track.request.directory)
        except Exception:  # the server may be gone; the ledger keeps what it saw
            return halt
        for message in messages:
            info = message.get("info") or {}
            if info.get("role") != "assistant":
                continue
            step = AssistantInfo.from_raw(info)
            try:
                self._check_model(track, step)
                estimated = cut_off(step)  # aborted mid-step: the ledger charges the worst step seen
                if estimated or step.cost or step.tokens.input or step.tokens.output:
                    self._count(track, step.id, step.session_id, step.cost, step.tokens.model_dump(),
                                loop_goes_on=False, estimated=estimated)
            except StopReason as late:
                halt = halt or late
        return halt

    # ---- event stream -----------------------------------------------------------------------

    async def _subscribe(self, directory: Path,
                         queue: asyncio.Queue[Event | Exception]) -> list[asyncio.Task[None]]:
        connected = asyncio.Event()
        task = asyncio.create_task(self._pump(directory, queue, connected))
        try:
            await asyncio.wait_for(connected.wait(), timeout=15)
        except TimeoutError:
            task.cancel()
            raise ServerFailure("OpenCode event stream did not connect within 15 s") from None
        return [task]

    async def _pump(self, directory: Path, queue: asyncio.Queue[Event | Exception],
                    connected: asyncio.Event) -> None:
        try:
            async for event in self.client.events(directory):
                if isinstance(event, ServerConnected):
                    connected.set()
                await queue.put(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # surfaced to the consumer, which reconnects or stops
            await queue.put(exc)
            connected.set()

    async def _consume(self, track: _Track, queue: asyncio.Queue[Event | Exception],
                       started: float) -> None:
        last_event = self.clock.monotonic()
        reconnects = 0
        pump: list[asyncio.Task[None]] = []
        try:
            while True:
                item = await self._next(queue, started, last_event)
                if isinstance(item, Exception):
                    reconnects += 1
                    if reconnects > MAX_RECONNECTS:
                        raise ServerFailure(f"event stream lost {reconnects} times: {item}")
                    track.reconnected = True
                    self.reporter.emit(StreamReconnect(session=track.root, reason=str(item)))
                    await asyncio.sleep(min(0.2 * reconnects, 2.0))
                    pump = await self._subscribe(track.request.directory, queue)
                    await self._catch_up(track)
                    continue
                relevant = item.session_id in track.sessions or isinstance(item, SessionCreated)
                if relevant and await self._handle(track, item):
                    last_event = self.clock.monotonic()
        finally:
            for task in pump:
                task.cancel()

    async def _next(self, queue: asyncio.Queue[Event | Exception], started: float,
                    last_event: float) -> Event | Exception:
        now = self.clock.monotonic()
        waits: list[tuple[float, StopReason]] = []
        if self.limits.idle_timeout:
            waits.append((last_event + self.limits.idle_timeout - now, IdleTimeout(
                f"no session event for {self.limits.idle_timeout:.0f}s (--idle-timeout)")))
        if self.limits.session_timeout:
            waits.append((started + self.limits.session_timeout - now, SessionTimeout(
                f"session ran {self.limits.session_timeout:.0f}s (--session-timeout)")))
        if not waits:
            return await queue.get()
        left, reason = min(waits, key=lambda w: w[0])
        try:
            return await get_within(queue, max(left, 0.0))
        except TimeoutError:
            raise reason from None

    async def _catch_up(self, track: _Track) -> None:
        """After a reconnect: replay the session's messages (counted once) and check for idle."""
        messages = await self.client.messages(track.root, track.request.directory)
        last: AssistantInfo | None = None
        for message in messages:
            info = message.get("info") or {}
            if info.get("role") == "assistant":
                last = AssistantInfo.from_raw(info)
                await self._handle(track, MessageUpdated(session_id=track.root, info=last))
            for part in message.get("parts") or []:
                event = parse_event({"type": "message.part.updated", "properties": {"part": part}})
                if event.session_id in track.sessions:
                    await self._handle(track, event)
        for pending in await self.client.pending_permissions(track.request.directory):
            event = parse_event({"type": "permission.asked", "properties": pending})
            if isinstance(event, PermissionAsked) and event.session_id in track.sessions:
                await self._handle(track, event)
        if last is not None and last.completed and last.finish not in (None, "tool-calls"):
            raise _Done()

    # ---- one event --------------------------------------------------------------------------

    async def _handle(self, track: _Track, event: Event) -> bool:
        """Act on one event of a tracked session; True if it counts as session activity."""
        match event:
            case SessionCreated(info=info) if info.parent_id in track.sessions:
                track.sessions.add(info.id)
                self.reporter.emit(ChildSession(session=track.root, child=info.id))
            case MessageUpdated(info=info):
                self._check_model(track, info)
                if info.cost or info.tokens.input or info.tokens.output:
                    self._count(track, info.id, info.session_id, info.cost, info.tokens.model_dump(),
                                loop_goes_on=False)
            case StepFinished():
                self._step(track, event)
            case ToolUpdated():
                self._tool(track, event)
            case TextUpdated(message_id=mid, text=text):
                track.texts[mid] = text
            case PermissionAsked():
                await self._permission(track, event)
            case QuestionAsked(id=qid):
                await self.client.reject_question(qid, track.request.directory)
            case SessionStatus(status=status) if event.session_id == track.root:
                self._status(track, event, status)
            case SessionIdle() if event.session_id == track.root and track.busy:
                raise _Done()
            case SessionError(error=error) if event.session_id == track.root:
                self._error(track, error)
            case _:
                return False
        return True

    def _check_model(self, track: _Track, info: AssistantInfo) -> None:
        track.assistant.add(info.id)
        track.last_assistant = info.id
        if info.provider_id is None or info.model_id is None:
            return
        used = f"{info.provider_id}/{info.model_id}"
        track.models[info.id] = used
        if used not in self.allowed:
            raise ModelMismatch(f"model mismatch: asked for {self.model}, the server used {used} "
                                f"(session {info.session_id}); stopped for safety")

    def _step(self, track: _Track, event: StepFinished) -> None:
        track.steps.add(event.message_id)
        self._count(track, event.message_id, event.session_id, event.cost,
                    event.tokens.model_dump(), loop_goes_on=event.reason == "tool-calls")

    def _count(self, track: _Track, message_id: str, session_id: str, cost: float,
               tokens: dict[str, int], loop_goes_on: bool, estimated: bool = False) -> None:
        delta = self.ledger.observe(
            message_id=message_id, session_id=session_id, root_session_id=track.root, cost=cost,
            tokens=tokens, model=track.models.get(message_id, ""),
            feature=track.request.feature, now=self.clock.wall(), estimated=estimated)
        if delta or loop_goes_on:
            self.reporter.emit(Step(session=session_id, cost=delta, total_usd=self.ledger.total,
                                    session_usd=self.ledger.session_cost(track.root), turns=track.turns,
                                    tokens=tokens))
        check_step_limits(self.limits, self.ledger, track.root, track.turns, delta, loop_goes_on)

    def _tool(self, track: _Track, event: ToolUpdated) -> None:
        if track.tool_states.get(event.part_id) == event.status:
            return
        track.tool_states[event.part_id] = event.status
        if event.status in ("running", "completed", "error"):
            self.reporter.emit(Tool(session=event.session_id, tool=event.tool, status=event.status,
                                    input=event.input, output=(event.output or event.error)[-2000:]))
        if event.status in ("completed", "error"):
            track.tools.append(ToolCall(tool=event.tool, status=event.status, input=event.input,
                                        output=(event.output or event.error)[-2000:]))

    async def _permission(self, track: _Track, ask: PermissionAsked) -> None:
        if ask.id in track.answered:
            return
        track.answered.add(ask.id)
        try:
            self._checkpoint(track)
        except StopReason:
            # a plain reject (no message) ends OpenCode's agent loop: no further model step starts
            await self.client.reply_permission(ask.id, track.request.directory, "reject")
            raise
        decision = await self._judge(ask, track.request.directory)
        if decision.allowed:
            await self.client.reply_permission(ask.id, track.request.directory, "once")
        else:
            track.denied += 1
            await self.client.reply_permission(ask.id, track.request.directory, "reject",
                                               refusal(decision.reason))
        self.reporter.emit(Permission(session=ask.session_id, permission=ask.permission,  # after the reply:
                                      patterns=ask.patterns, allowed=decision.allowed,  # the agent waits for it
                                      reason=decision.reason, rule=decision.rule))

    async def _judge(self, ask: PermissionAsked, directory: Path) -> Verdict:
        """The gate's verdict, computed off the event loop (a slow decision cannot freeze the
        session's timeouts or the event stream); past ``JUDGE_TIMEOUT_S`` the request is refused."""
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.gate.judge, ask, directory),
                                          JUDGE_TIMEOUT_S)
        except TimeoutError:
            return Decision(allowed=False, rule="deny.too_complex",
                            reason=f"judging this request took over {JUDGE_TIMEOUT_S:.0f}s; "
                                   "split the command into simpler ones")

    def _checkpoint(self, track: _Track) -> None:
        """A tool wants to run, so another model step will follow: check the limits first."""
        current = track.last_assistant
        in_flight = self.ledger.max_step_cost if current and not self.ledger.cost_of(current) else 0.0
        check_limits(self.limits, self.ledger, track.root, track.turns, in_flight)

    def _status(self, track: _Track, event: SessionStatus, status: str) -> None:
        if status in ("busy", "retry"):
            track.busy = True
        if status == "retry":
            self.reporter.emit(ProviderRetry(session=track.root, attempt=event.attempt, message=event.message))
            limit = self.limits.max_provider_retries
            if 0 < limit < event.attempt:
                track.error = ErrorInfo(name="APIError", retryable=True,
                                        message=f"provider still failing after {limit} retries: "
                                                f"{event.message}")
                raise _GiveUp()

    def _error(self, track: _Track, error: ErrorInfo) -> None:
        if error.is_abort and track.aborting:
            return
        if error.is_auth:
            provider = error.provider_id or self.model.provider_id
            raise AuthError(f"the provider refused the request ({error.status_code or 'auth'}): "
                            f"check your API key for {provider}")
        track.error = error
        self.reporter.emit(SessionErrorEvent(session=track.root, name=error.name, message=error.message,
                                             status=error.status_code))

    async def _abort(self, track: _Track) -> None:
        track.aborting = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.abort(track.root, track.request.directory), 10)

    def _result(self, track: _Track, started: float, halt: StopReason | None) -> SessionResult:
        texts = [t for mid, t in track.texts.items() if mid in track.assistant and t.strip()]
        text = texts[-1] if texts else ""
        if text:
            self.reporter.emit(TextEvent(session=track.root, text=text[-2000:]))
        stop = halt.kind if halt is not None else ("error" if track.error else "idle")
        session_level = isinstance(halt, SessionLimit)
        return SessionResult(
            session_id=track.root, text=text, turns=track.turns,
            cost=self.ledger.session_cost(track.root), models=sorted(set(track.models.values())),
            tools=track.tools, denied=track.denied, stop=stop,
            stop_message=str(halt) if halt else (track.error.message if track.error else ""),
            error=track.error, duration_s=round(self.clock.monotonic() - started, 3),
            halt=None if session_level else halt)
