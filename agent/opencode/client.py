"""The one HTTP client for OpenCode's v1 API (sessions, prompts, events, permissions).

Every call names the project directory (``?directory=``) explicitly, and every prompt carries the
pinned model as ``{"providerID", "modelID"}`` — the only shape OpenCode 1.18 honours. Idempotent
calls are retried on transport errors and 5xx through tenacity; 4xx never are, and prompts are
never re-sent (a retry could run the agent twice).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import httpx
from httpx_sse import aconnect_sse
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from agent.errors import AutocodeError
from agent.opencode.config import WARMUP_COMMAND, WARMUP_PROMPT
from agent.opencode.events import Event, PermissionAsked, SessionInfo, parse_event
from agent.opencode.messages import Message, parse_messages
from agent.providers import ModelRef


class OpenCodeHTTPError(AutocodeError):
    """OpenCode answered with an error status."""

    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        super().__init__(f"OpenCode {method} {path} -> HTTP {status}: {body[:300]}")
        self.status = status


class StreamClosed(AutocodeError):
    """The event stream ended or broke; the caller reconnects and catches up."""


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, OpenCodeHTTPError):
        return exc.status >= 500
    return isinstance(exc, httpx.TransportError)


class OpenCodeClient:
    """Async client for one OpenCode server. Pass ``transport`` in tests (httpx.MockTransport)."""

    def __init__(self, base_url: str, password: str | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None, timeout: float = 30.0,
                 retries: int = 4) -> None:
        auth = httpx.BasicAuth("opencode", password) if password else None
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, auth=auth, transport=transport,
                                       timeout=httpx.Timeout(timeout, connect=5.0))
        self._retries = retries

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> OpenCodeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- plumbing ---------------------------------------------------------------------------

    async def _send(self, method: str, path: str, directory: Path | None = None,
                    json: Any = None) -> httpx.Response:
        params = {"directory": str(directory)} if directory is not None else None
        response = await self._http.request(method, path, params=params, json=json)
        if response.status_code >= 400:
            raise OpenCodeHTTPError(response.status_code, method, path, response.text)
        return response

    async def _call(self, method: str, path: str, directory: Path | None = None,
                    json: Any = None, *, retry: bool = True) -> Any:
        if not retry:
            response = await self._send(method, path, directory, json)
        else:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(_transient), stop=stop_after_attempt(self._retries),
                wait=wait_exponential(multiplier=0.2, max=3.0), reraise=True,
            ):
                with attempt:
                    response = await self._send(method, path, directory, json)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # ---- API ------------------------------------------------------------------------------------

    async def create_session(self, directory: Path, title: str, parent_id: str | None = None,
                             permission: list[dict[str, str]] | None = None) -> SessionInfo:
        """A new session. Giving a title prevents OpenCode's extra title-generation model call.
        ``permission``: rules of this session only (``{"permission", "pattern", "action"}``),
        evaluated before the config's."""
        body: dict[str, Any] = {"title": title}
        if parent_id:
            body["parentID"] = parent_id
        if permission:
            body["permission"] = permission
        raw = await self._call("POST", "/session", directory, body, retry=False)
        return SessionInfo.model_validate(raw)

    async def prompt(self, session_id: str, directory: Path, text: str, model: ModelRef, *,
                     system: str | None = None, agent: str | None = None,
                     tools: dict[str, bool] | None = None) -> None:
        """Start the agent loop on ``text`` (``prompt_async``: returns at once, follow events)."""
        body: dict[str, Any] = {"parts": [{"type": "text", "text": text}], "model": model.body()}
        if system:
            body["system"] = system
        if agent:
            body["agent"] = agent
        if tools:
            body["tools"] = tools
        await self._call("POST", f"/session/{session_id}/prompt_async", directory, body, retry=False)

    async def abort(self, session_id: str, directory: Path) -> None:
        await self._call("POST", f"/session/{session_id}/abort", directory)

    async def messages(self, session_id: str, directory: Path) -> list[Message]:
        """Every message of the session, oldest first, typed (see ``messages.py``)."""
        return parse_messages(await self._call("GET", f"/session/{session_id}/message", directory))

    async def sessions(self, directory: Path) -> list[SessionInfo]:
        """Every session the server stored for the directory."""
        raw = await self._call("GET", "/session", directory)
        return [SessionInfo.from_raw(item) for item in raw or []]

    async def warm(self, directory: Path, model: ModelRef | None = None, timeout: float = 300.0) -> None:
        """Have the server make the directory's instance now (any v1 request with the directory
        makes it), not at the first prompt; with ``model``, also what OpenCode makes at a
        directory's first prompt and first bash call (its tools, per-directory services, the
        command's path through the sandbox): one prompt, answered by ``model`` with a
        :data:`WARMUP_COMMAND` call (allowed by this session's own rule: nobody else answers its
        asks) and then text, in a session deleted once answered (one cut short is left: it cost
        nothing)."""
        await self._call("GET", "/session", directory)
        if model is None:
            return
        rule = {"permission": "bash", "pattern": WARMUP_COMMAND, "action": "allow"}
        session = await self.create_session(directory, "autocode: warm-up", permission=[rule])
        body = {"parts": [{"type": "text", "text": WARMUP_PROMPT}], "model": model.body()}
        response = await self._http.post(f"/session/{session.id}/message",  # returns once answered
                                         params={"directory": str(directory)}, json=body, timeout=timeout)
        if response.status_code >= 400:
            raise OpenCodeHTTPError(response.status_code, "POST", "/session/message", response.text)
        await self._call("DELETE", f"/session/{session.id}", directory)

    async def dispose_instance(self, directory: Path) -> None:
        """Have the server drop the directory's instance (its file watcher, file index, tools); the
        next request naming the directory makes a new one."""
        await self._call("POST", "/instance/dispose", directory)

    async def providers(self, directory: Path) -> dict[str, Any]:
        """The providers OpenCode can use (with credentials) and their models, prices, limits."""
        result: dict[str, Any] = await self._call("GET", "/config/providers", directory)
        return result

    async def pending_permissions(self, directory: Path) -> list[PermissionAsked]:
        """Permission requests still waiting for an answer (``GET /permission``)."""
        raw = await self._call("GET", "/permission", directory)
        asks = [parse_event({"type": "permission.asked", "properties": item})
                for item in (raw if isinstance(raw, list) else []) if isinstance(item, dict)]
        return [ask for ask in asks if isinstance(ask, PermissionAsked)]

    async def reply_permission(self, request_id: str, directory: Path,
                               reply: Literal["once", "reject"], message: str | None = None) -> bool:
        """Answer a ``permission.asked``. autocode never answers ``always`` (it would stick).

        Returns False when the server no longer knows the request (404 ``PermissionNotFound``: the
        session was aborted, or the request was answered or dropped meanwhile): there is nothing
        left to answer, and nothing can run without an answer, so that is not an error."""
        body: dict[str, Any] = {"reply": reply}
        if message:
            body["message"] = message
        try:
            await self._call("POST", f"/permission/{request_id}/reply", directory, body)
        except OpenCodeHTTPError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def reject_question(self, request_id: str, directory: Path) -> None:
        await self._call("POST", f"/question/{request_id}/reject", directory)

    async def events(self, directory: Path) -> AsyncIterator[Event]:
        """The directory's event stream, parsed. Raises :class:`StreamClosed` when it ends."""
        params = {"directory": str(directory)}
        try:
            async with aconnect_sse(self._http, "GET", "/event", params=params,
                                    timeout=httpx.Timeout(None, connect=5.0)) as source:
                if source.response.status_code >= 400:
                    raise OpenCodeHTTPError(source.response.status_code, "GET", "/event", "")
                async for sse in source.aiter_sse():
                    if sse.data:
                        yield parse_event(sse.json())
        except httpx.TransportError as exc:
            raise StreamClosed(f"event stream broke: {exc.__class__.__name__}") from exc
        raise StreamClosed("event stream ended")
