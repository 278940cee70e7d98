"""Replay a recorded build offline: a local model server that answers with the recorded responses.

:class:`ReplayServer` serves the exchanges of a recording (see ``recording.py``) in order, byte for
byte as the provider sent them (so both wire formats replay with no converter). Before answering
it compares the request with the recorded one, normalised (the project path, dates, durations,
commit hashes and ids are volatile and replaced by placeholders). A request that differs is a
:class:`Divergence` — session, step and a short diff. With ``on_divergence="stop"`` the request is
refused (HTTP 400, the session ends) and the build stops with ``errors.ReplayDiverged``; with
``"continue"`` the recorded answer is served anyway and the divergence is logged. A request past
the end of the recording is always refused: replay never makes up an answer.
"""

from __future__ import annotations

import difflib
import json
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, cast

from agent.build_events import BuildEvent, ReplayDivergence, SessionErrorEvent
from agent.errors import ReplayDiverged
from agent.ports import Reporter
from agent.providers import api_key_vars, parse_model
from agent.recording import SESSION_HEADER, is_chat, step_of
from agent.sse import coalesce, join_events, split_events
from agent.threadserve import OwnedServer, serve, shut

JSON = dict[str, Any]
OnDivergence = Literal["stop", "continue"]
COMPARED = ("system", "messages", "tools", "tool_choice")
VOLATILE = (
    (re.compile(r"/[^\s\"']*/projects/[^/\s\"']+-[0-9a-f]{16}"), "<state>"),  # state.user_state_dir
    (re.compile(r"/[^\s\"']*autocode-run-[A-Za-z0-9_]+"), "<runtime>"),  # the command sandbox's dir
    (re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\w* \w{3} \d{1,2} \d{4}\b"), "<date>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"),
     "<date>"),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|sec|seconds)\b"), "<duration>"),
    (re.compile(r"\b[0-9a-f]{7,40}\b"), "<hash>"),
    (re.compile(r"\b(?:ses|msg|prt|call|toolu|chatcmpl|msg)_[A-Za-z0-9-]+"), "<id>"),
)


@dataclass(frozen=True)
class Divergence:
    """A request that did not match the recording at this point."""

    session: int
    step: int
    seq: int
    diff: str
    served: bool

    def describe(self) -> str:
        what = "served the recorded answer anyway" if self.served else "refused"
        return f"replay diverged at session {self.session}, step {self.step} ({what}):\n{self.diff}"


def normalise(body: Any, projects: list[str]) -> list[str]:
    """The compared part of a chat request as lines of text, volatile values replaced."""
    if not isinstance(body, dict):
        return [str(body)]
    lines: list[str] = []
    for key in COMPARED:
        if key not in body:
            continue
        value = body[key]
        if key == "messages" and isinstance(value, list):
            for number, message in enumerate(value):
                lines += _message_lines(number, message)
        else:
            lines += [f"{key}: {line}" for line in _text(value).splitlines()]
    return [_scrub(line, projects) for line in lines]


def _message_lines(number: int, message: Any) -> list[str]:
    if not isinstance(message, dict):
        return [f"[{number}] {_text(message)}"]
    role = message.get("role", "?")
    rest = {k: v for k, v in message.items() if k not in ("role", "content")}
    body = _text(message.get("content")) + (("\n" + _text(rest)) if rest else "")
    return [f"[{number}] {role}: {line}" for line in body.splitlines() or [""]]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in value):
        return "\n".join(str(p.get("text", "")) for p in value)
    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False)


def _scrub(line: str, projects: list[str]) -> str:
    for project in sorted(projects, key=len, reverse=True):
        line = line.replace(project, "<project>")
    for pattern, placeholder in VOLATILE:
        line = pattern.sub(placeholder, line)
    return line


def short_diff(recorded: list[str], actual: list[str], limit: int = 16) -> str:
    lines = [line[:200] for line in difflib.unified_diff(recorded, actual, "recorded", "replay",
                                                         n=1, lineterm="")]
    more = f"\n... ({len(lines) - limit} more diff lines)" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more


class ReplayServer:
    """Serves a recording's responses in order; finds and reports divergent requests."""

    def __init__(self, exchanges: list[JSON], recorded_project: str, project: str,
                 on_divergence: OnDivergence = "stop", host: str = "127.0.0.1") -> None:
        self.exchanges = [e for e in exchanges if is_chat(e.get("request", {}).get("body"))]
        self.projects = [p for p in (recorded_project, project) if p]
        self.rewrite = (recorded_project, project)  # recorded tool calls name the old project
        self.on_divergence = on_divergence
        self.host = host
        self.divergences: list[Divergence] = []
        self.served = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._sessions: dict[str, int] = {}
        self._httpd: OwnedServer[ReplayServer] | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("replay server is not started")
        return f"http://{self.host}:{self._httpd.server_address[1]}/v1"

    def start(self) -> ReplayServer:
        if self._httpd is None:
            self._httpd = OwnedServer((self.host, 0), _ReplayHandler, self)
            self._thread = serve(self._httpd, "replay-model")
        return self

    def stop(self) -> None:
        httpd, thread, self._httpd, self._thread = self._httpd, self._thread, None, None
        shut(httpd, thread)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def complete(self) -> bool:
        """Every recorded exchange was served."""
        return self.served == len(self.exchanges)

    def answer(self, body: Any, session_id: str | None) -> JSON | None:
        """The recorded response to serve for this request, or None (refused: a divergence)."""
        with self._lock:
            self.requests += 1
            seq = self.served
            step = step_of(body)
            if session_id is not None:
                self._sessions.setdefault(session_id, len(self._sessions) + 1)
            session = self._sessions.get(session_id or "", 0)
            if seq >= len(self.exchanges):
                self.divergences.append(Divergence(session, step, seq + 1, "+ a request past the end of "
                                                   "the recording", served=False))
                return None
            recorded = self.exchanges[seq]
            session = session or int(recorded.get("session") or 0)
            expected = normalise(recorded["request"]["body"], self.projects)
            actual = normalise(body, self.projects)
            if expected != actual:
                serve = self.on_divergence == "continue"
                self.divergences.append(Divergence(int(recorded.get("session") or session),
                                                   int(recorded.get("step") or 0), seq + 1,
                                                   short_diff(expected, actual), served=serve))
                if not serve:
                    return None
            self.served += 1
            return self._moved(cast(JSON, recorded["response"]))

    def _moved(self, response: JSON) -> JSON:
        """The response with the recorded project path replaced by this project's (tool calls).

        Streamed fragments are merged first, so a path cut in two by the provider is still found.
        """
        old, new = self.rewrite
        if not old or old == new:
            return response
        if response.get("stream"):
            body = join_events(coalesce(split_events("".join(response.get("chunks") or []))))
            response = response | {"chunks": [body]}
        text = json.dumps(response).replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])
        return cast(JSON, json.loads(text))

    def stop_reason(self) -> ReplayDiverged | None:
        refused = next((d for d in self.divergences if not d.served), None)
        return None if refused is None else ReplayDiverged(refused.describe())


class DivergenceWatch:
    """A reporter wrapper: reports each divergence as an event, and stops the build at a refused one.

    A refused request ends the session with a provider error; the watch raises the distinct stop
    reason at that event (inside the session), so the build stops, recorded as diverged.
    """

    def __init__(self, server: ReplayServer, inner: Reporter) -> None:
        self.server = server
        self.inner = inner
        self._reported = 0

    def emit(self, event: BuildEvent) -> None:
        for found in self.server.divergences[self._reported:]:
            self._reported += 1
            self.inner.emit(ReplayDivergence(session=found.session, step=found.step, seq=found.seq,
                                             served=found.served, diff=found.diff))
        self.inner.emit(event)
        if isinstance(event, SessionErrorEvent) and (stop := self.server.stop_reason()) is not None:
            raise stop



class _ReplayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        owner = cast("OwnedServer[ReplayServer]", self.server).owner
        response = owner.answer(body, self.headers.get(SESSION_HEADER))
        if response is None:
            error = {"type": "invalid_request_error", "message": "autocode replay: this request does "
                     "not match the recording (see the replay_divergence report)"}
            return self._send(400, {"content-type": "application/json"},
                              [json.dumps({"type": "error", "error": error})])
        if response.get("stream"):
            return self._send(int(response["status"]), response.get("headers") or {},
                              list(response.get("chunks") or []))
        payload = response.get("body")
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._send(int(response.get("status") or 502), response.get("headers") or {}, [text])

    def _send(self, status: int, headers: dict[str, str], chunks: list[str]) -> None:
        self.send_response(status)
        content_type = headers.get("content-type", "application/json")
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        for chunk in chunks:
            data = chunk.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


BuildCommand = Callable[..., int]


def run_replay(recording: Path, project_dir: Path, spec: Path | None, on_divergence: str,
               prompts_dir: Path | None, json_out: bool, build: BuildCommand) -> int:
    """`autocode replay`: the recorded build again in ``project_dir``; returns the exit code.

    ``build`` is the CLI's build entry point (settings, checks, run, exit code); the replay server
    stands in for the provider: ``--base-url`` for a custom endpoint, the provider's route for a
    built-in one (with a placeholder key: no real key is needed, or sent anywhere).
    """
    head, exchanges = load_replay(recording)
    mode: OnDivergence = "continue" if on_divergence == "continue" else "stop"
    project_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, ReplayServer(
            exchanges, str(head.get("project") or ""), str(project_dir), mode) as server:
        if spec is None and head.get("spec") is not None:
            spec = Path(tmp) / "app_spec.txt"
            spec.write_text(str(head["spec"]), encoding="utf-8")
        flags = {"model": head.get("model"), "price_in": head.get("price_in"),
                 "price_out": head.get("price_out"), "prompts_dir": prompts_dir, "record": False}
        overrides: dict[str, Any] = {}
        if head.get("base_url"):
            flags["base_url"] = server.url
        else:
            provider = parse_model(str(head.get("model"))).provider_id
            overrides = {"route_url": server.url,
                         "env": dict.fromkeys(api_key_vars(provider), "autocode-replay-no-key")}
        return build(project_dir, flags, spec, json_out, overrides=overrides,
                     watch=lambda inner: DivergenceWatch(server, inner))


def load_replay(path: Path) -> tuple[JSON, list[JSON]]:
    """The header and exchanges of a recording; a UsageError if it is not one."""
    from agent.errors import UsageError
    from agent.recording import read_recording

    if not path.is_file():
        raise UsageError(f"{path}: no such recording")
    head, exchanges = read_recording(path)
    if not head or not exchanges:
        raise UsageError(f"{path}: not an autocode recording (no run header or no exchanges)")
    return head, exchanges
