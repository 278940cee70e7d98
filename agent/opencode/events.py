"""Typed events from OpenCode's SSE stream (``GET /event``).

Only the fields autocode acts on are modelled; everything else is ignored. :func:`parse_event`
turns one ``data:`` payload into exactly one of the classes below (``Unknown`` for the rest), so
consumers dispatch with ``match``/``isinstance`` instead of comparing strings. A message's parts
(:func:`parse_part`) are the same classes, whether they come from the stream or from the stored
messages (``messages.py``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Tokens(_Model):
    input: int = 0
    output: int = 0
    reasoning: int = 0
    cache_read: int = 0
    cache_write: int = 0

    @classmethod
    def from_raw(cls, raw: dict[str, Any] | None) -> Tokens:
        raw = raw or {}
        cache = raw.get("cache") or {}
        return cls(input=int(raw.get("input") or 0), output=int(raw.get("output") or 0),
                   reasoning=int(raw.get("reasoning") or 0),
                   cache_read=int(cache.get("read") or 0), cache_write=int(cache.get("write") or 0))


class ErrorInfo(_Model):
    """An error OpenCode attached to a message or a ``session.error`` event."""

    name: str
    message: str = ""
    status_code: int | None = None
    retryable: bool = False
    provider_id: str | None = None
    retry_after: float | None = None

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> ErrorInfo:
        data = raw.get("data") or {}
        headers = {str(k).lower(): v for k, v in (data.get("responseHeaders") or {}).items()}
        return cls(name=str(raw.get("name") or "UnknownError"), message=str(data.get("message") or ""),
                   status_code=data.get("statusCode"), retryable=bool(data.get("isRetryable")),
                   provider_id=data.get("providerID"), retry_after=_seconds(headers.get("retry-after")))

    @property
    def is_abort(self) -> bool:
        return self.name == "MessageAbortedError"

    @property
    def is_auth(self) -> bool:
        return self.name == "ProviderAuthError" or self.status_code in (401, 403)


def _seconds(value: object) -> float | None:
    try:
        return max(0.0, float(str(value)))
    except (TypeError, ValueError):
        return None


class AssistantInfo(_Model):
    """An assistant message (one model step) as OpenCode reports it."""

    id: str
    session_id: str = Field(alias="sessionID")
    role: Literal["assistant"] = "assistant"
    provider_id: str | None = Field(default=None, alias="providerID")
    model_id: str | None = Field(default=None, alias="modelID")
    cost: float = 0.0
    tokens: Tokens = Tokens()
    finish: str | None = None
    summary: bool = False
    completed: bool = False
    error: ErrorInfo | None = None
    created_ms: int = 0
    completed_ms: int | None = None

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> AssistantInfo:
        time = raw.get("time") or {}
        err = raw.get("error")
        return cls.model_validate({
            **raw, "tokens": Tokens.from_raw(raw.get("tokens")), "summary": bool(raw.get("summary")),
            "completed": "completed" in time, "created_ms": int(time.get("created") or 0),
            "completed_ms": time.get("completed"),
            "error": ErrorInfo.from_raw(err) if isinstance(err, dict) else None})


class UserInfo(_Model):
    """A user message (a prompt autocode sent)."""

    id: str
    session_id: str = Field(alias="sessionID")
    role: Literal["user"] = "user"
    created_ms: int = 0

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> UserInfo:
        return cls.model_validate({**raw, "created_ms": int((raw.get("time") or {}).get("created") or 0)})


class SessionInfo(_Model):
    id: str
    title: str = ""
    parent_id: str | None = Field(default=None, alias="parentID")
    directory: str = ""
    created_ms: int = 0

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> SessionInfo:
        return cls.model_validate({**raw, "created_ms": int((raw.get("time") or {}).get("created") or 0)})


# ---- events -------------------------------------------------------------------------------------

class Event(_Model):
    """Base of every parsed event; ``session_id`` is empty for server-wide events."""

    session_id: str = ""


class ServerConnected(Event):
    pass


class Heartbeat(Event):
    pass


class SessionCreated(Event):
    info: SessionInfo


class MessageUpdated(Event):
    """``message.updated`` for an assistant message (user messages are ``Unknown``)."""

    info: AssistantInfo


class StepFinished(Event):
    """A ``step-finish`` part: the cost and tokens of one model step."""

    part_id: str
    message_id: str
    cost: float
    tokens: Tokens
    reason: str = ""


class ToolUpdated(Event):
    """A ``tool`` part changed state (pending → running → completed | error)."""

    part_id: str
    message_id: str
    call_id: str
    tool: str
    status: str
    input: dict[str, Any] = {}
    output: str = ""
    error: str = ""
    started_ms: int | None = None
    ended_ms: int | None = None


class TextUpdated(Event):
    part_id: str
    message_id: str
    text: str


class SessionStatus(Event):
    status: str
    attempt: int = 0
    message: str = ""
    next_ms: int | None = None


class SessionIdle(Event):
    pass


class SessionError(Event):
    error: ErrorInfo


class SessionCompacted(Event):
    pass


class PermissionAsked(Event):
    id: str
    permission: str
    patterns: list[str] = []
    metadata: dict[str, Any] = {}
    call_id: str | None = None

    @classmethod
    def from_raw(cls, props: dict[str, Any]) -> PermissionAsked:
        """From the event's properties, or an item of ``GET /permission`` (the same shape)."""
        tool = props.get("tool") or {}
        return cls(session_id=str(props.get("sessionID") or ""), id=props["id"],
                   permission=props["permission"], patterns=list(props.get("patterns") or []),
                   metadata=dict(props.get("metadata") or {}), call_id=tool.get("callID"))


class QuestionAsked(Event):
    id: str


class Unknown(Event):
    type: str


def parse_event(payload: dict[str, Any]) -> Event:
    """Parse one SSE ``data`` object; anything unexpected becomes :class:`Unknown`."""
    kind = str(payload.get("type") or "")
    props = payload.get("properties") or {}
    try:
        parsed = _parse(kind, props)
    except (ValidationError, KeyError, TypeError, ValueError):
        parsed = None
    return parsed or Unknown(type=kind, session_id=str(props.get("sessionID") or ""))


def _parse(kind: str, props: dict[str, Any]) -> Event | None:
    sid = str(props.get("sessionID") or "")
    match kind:
        case "server.connected":
            return ServerConnected()
        case "server.heartbeat":
            return Heartbeat()
        case "session.created":
            info = SessionInfo.model_validate(props["info"])
            return SessionCreated(session_id=info.id, info=info)
        case "message.updated":
            raw = props["info"]
            if raw.get("role") != "assistant":
                return None
            msg = AssistantInfo.from_raw(raw)
            return MessageUpdated(session_id=msg.session_id, info=msg)
        case "message.part.updated":
            return _parse_part(props["part"])
        case "session.status":
            status = props["status"]
            return SessionStatus(session_id=sid, status=status["type"],
                                 attempt=int(status.get("attempt") or 0),
                                 message=str(status.get("message") or ""), next_ms=status.get("next"))
        case "session.idle":
            return SessionIdle(session_id=sid)
        case "session.error":
            return SessionError(session_id=sid, error=ErrorInfo.from_raw(props.get("error") or {}))
        case "session.compacted":
            return SessionCompacted(session_id=sid)
        case "permission.asked":
            return PermissionAsked.from_raw(props)
        case "question.asked":
            return QuestionAsked(session_id=sid, id=props["id"])
    return None


Part = StepFinished | ToolUpdated | TextUpdated
"""The parts autocode reads; the other types (``step-start``, ``reasoning``, ``patch``...) are dropped."""


def parse_part(raw: dict[str, Any]) -> Part | None:
    """One part of a message; ``None`` for a type autocode does not read, or a malformed part."""
    try:
        return _parse_part(raw)
    except (ValidationError, KeyError, TypeError, ValueError):
        return None


def _parse_part(part: dict[str, Any]) -> Part | None:
    common = {"session_id": part["sessionID"], "part_id": part["id"], "message_id": part["messageID"]}
    match part.get("type"):
        case "step-finish":
            return StepFinished(**common, cost=float(part.get("cost") or 0.0),
                                tokens=Tokens.from_raw(part.get("tokens")),
                                reason=str(part.get("reason") or ""))
        case "tool":
            state = part.get("state") or {}
            times = state.get("time") or {}
            return ToolUpdated(**common, call_id=part["callID"], tool=part["tool"],
                               status=str(state.get("status") or ""),
                               input=dict(state.get("input") or {}),
                               output=str(state.get("output") or ""),
                               error=str(state.get("error") or ""),
                               started_ms=times.get("start"), ended_ms=times.get("end"))
        case "text":
            return TextUpdated(**common, text=str(part.get("text") or ""))
    return None
