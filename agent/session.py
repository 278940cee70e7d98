"""Run one OpenCode session to its end: prompt, follow events, answer permissions, guard.

The runner opens the session's :class:`~agent.stream.EventStream` *before* prompting, then acts on
its events until the session goes idle. On the way it checks the model of every step (and of
child sessions), counts every step's cost in the ledger, applies the limits, and answers each
permission request with the security gate's verdict. Reconnecting, catching up and the idle and
session timeouts are the stream's; the ledger ignores a replayed step it has already counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

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
from agent.errors import AuthError, Interrupted, ModelMismatch, SessionLimit, StopReason
from agent.opencode.events import (
    AssistantInfo,
    ErrorInfo,
    Event,
    MessageUpdated,
    PermissionAsked,
    QuestionAsked,
    SessionCreated,
    SessionError,
    SessionIdle,
    SessionStatus,
    StepFinished,
    TextUpdated,
    ToolUpdated,
)
from agent.ports import Clock, OpenCodeAPI, PermissionGate, Reporter, Verdict
from agent.providers import ModelRef
from agent.recovery import cut_off, recover_costs
from agent.security.models import Decision
from agent.session_types import SessionCancelled, SessionRequest, SessionResult, ToolCall
from agent.stream import CaughtUp, EventStream, StreamDropped, StreamSettings
from agent.stream import get_within as get_within  # importable here as before the stream moved out

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
        """Send ``request.prompt`` to an existing session and follow it until it is idle.

        A session-level limit ends only the session (its ``stop``); a stop reason that ends the
        build is raised carrying the result (``StopReason.result``), Ctrl-C as ``SessionCancelled``."""
        track = _Track(session_id, request)
        self.reporter.emit(Prompt(session=session_id, prompt=request.prompt))
        started = self.clock.monotonic()
        halt: StopReason | None = None
        stream = EventStream(self.client, self.clock, StreamSettings.from_limits(self.limits))
        await stream.open(request.directory, session_id)
        try:
            await self.client.prompt(session_id, request.directory, request.prompt, self.model,
                                     system=request.system)
            async for event in stream:
                await self._handle(track, event)
        except _Done:
            pass
        except _GiveUp:
            await self._abort(track)
        except StopReason as exc:
            halt = exc
            await self._abort(track)
        except asyncio.CancelledError:  # Ctrl-C: abort, count what was spent, then go on cancelling
            await asyncio.shield(self._abort(track))
            stream.close()
            _uncancel()  # the wrap-up below awaits; the cancellation goes on as SessionCancelled
            halt = await self._reconcile(track, Interrupted(
                "interrupted (Ctrl-C or SIGTERM): the session was aborted and the state saved; run the "
                "same command to resume"))
            raise SessionCancelled(self._result(track, started, halt)) from None
        finally:
            stream.close()
        if track.aborting or track.reconnected or track.assistant - track.steps:
            halt = await self._reconcile(track, halt)  # only when events may have been missed
        result = self._result(track, started, halt)
        if halt is not None and not isinstance(halt, SessionLimit):  # ends the build: raised with the result
            halt.result = result
            raise halt
        return result

    async def _reconcile(self, track: _Track, halt: StopReason | None) -> StopReason | None:
        """Count what the events may have missed (a step cut short by an abort, a lost event)."""
        try:
            messages = await self.client.messages(track.root, track.request.directory)
        except Exception:  # the server may be gone; the ledger keeps what it saw
            return halt
        for message in messages:
            step = message.assistant
            if step is None:
                continue
            try:
                self._check_model(track, step)
                estimated = cut_off(step)  # aborted mid-step: the ledger charges the worst step seen
                if estimated or step.cost or step.tokens.input or step.tokens.output:
                    self._count(track, step.id, step.session_id, step.cost, step.tokens.model_dump(),
                                loop_goes_on=False, estimated=estimated)
            except StopReason as late:
                halt = halt or late
        return halt

    # ---- one event --------------------------------------------------------------------------

    async def _handle(self, track: _Track, event: Event) -> None:
        """Act on one event of the session or of a child session."""
        match event:
            case SessionCreated(info=info):
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
            case StreamDropped(reason=reason):
                track.reconnected = True
                self.reporter.emit(StreamReconnect(session=track.root, reason=reason))
            case CaughtUp(finished=True):
                raise _Done()

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
        return SessionResult(
            session_id=track.root, text=text, turns=track.turns,
            cost=self.ledger.session_cost(track.root), models=sorted(set(track.models.values())),
            tools=track.tools, denied=track.denied, stop=stop,
            stop_message=str(halt) if halt else (track.error.message if track.error else ""),
            error=track.error, duration_s=round(self.clock.monotonic() - started, 3))
