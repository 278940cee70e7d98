"""A deterministic, scripted chat model server (tests, offline demo, benchmarks).

It speaks the OpenAI-compatible chat completions API (``/v1/chat/completions``) and the Anthropic
Messages API (``/v1/messages``, see ``scripted_anthropic.py``) from the same scenarios.

Run it as ``python -m agent.scripted_model --port 0 --scenario FILE --log FILE`` or use
:class:`ScriptedModelServer` in-process. A scenario (JSON, see :class:`Scenario`) holds scripts;
the script is chosen by the conversation's first user message (and optionally the model name),
the step by the number of assistant messages already in the conversation. Every request is
logged as one JSON line, with the exact usage sent back, so callers can check cost accounting.
"""

from __future__ import annotations

import argparse
import json
import re
import select
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent import scripted_anthropic as anthropic
from agent.threadserve import DISCONNECTS, OwnedServer, serve, shut

JSON = dict[str, Any]
_CWD_RE = re.compile(r"^\s*Working directory:\s*(\S.*?)\s*$", re.MULTILINE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str | None = None  # free-form note, ignored


class Usage(_Strict):
    prompt_tokens: int = 1000
    completion_tokens: int = 50
    cache_read_tokens: int = 0  # sent in the Anthropic format only (cache_read_input_tokens)
    cache_write_tokens: int = 0  # likewise (cache_creation_input_tokens)

    def as_dict(self) -> dict[str, int]:
        total = self.prompt_tokens + self.completion_tokens
        cache = {"cache_read_tokens": self.cache_read_tokens,
                 "cache_write_tokens": self.cache_write_tokens}
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": total} | {k: v for k, v in cache.items() if v}


class ToolCallSpec(_Strict):
    tool: str
    args: JSON = Field(default_factory=dict)


class Step(_Strict):
    """One scripted reply. Content fields combine: text (sent first), then tool calls."""

    text: str | None = None
    tool: str | None = None
    args: JSON = Field(default_factory=dict)
    tool_calls: list[ToolCallSpec] = Field(default_factory=list)
    error: int | None = None
    type: str = "server_error"
    message: str = "scripted error"
    retry_after: float | None = None
    fail_first: int = 0
    sleep: float | Literal["forever"] | None = None
    latency_s: float | None = None
    usage: Usage | None = None

    @property
    def hangs(self) -> bool:
        return self.sleep == "forever" or (isinstance(self.sleep, float | int) and self.sleep < 0)

    def calls(self) -> list[ToolCallSpec]:
        head = [ToolCallSpec(tool=self.tool, args=self.args)] if self.tool else []
        return head + self.tool_calls


class Script(_Strict):
    name: str
    match: str = ""
    model: str | None = None
    steps: list[Step] = Field(default_factory=list)

    @field_validator("match", "model")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    def selects(self, first_user: str, model: str) -> bool:
        if not re.search(self.match, first_user, re.DOTALL):
            return False
        return self.model is None or re.search(self.model, model) is not None


class Scenario(_Strict):
    latency_s: float = 0.0
    usage: Usage = Field(default_factory=Usage)
    scripts: list[Script] = Field(default_factory=list)
    fallback: Step = Field(default_factory=lambda: Step(text="ok"))
    models: list[str] | None = None
    title_text: str = "Scripted title"
    api_key: str | None = None  # when set, requests without "Authorization: Bearer KEY" get 401

    def select(self, first_user: str, model: str) -> Script | None:
        return next((s for s in self.scripts if s.selects(first_user, model)), None)


def load_scenario(path: Path | str) -> Scenario:
    return Scenario.model_validate_json(Path(path).read_text(encoding="utf-8"))


def delivered_path(log_path: Path) -> Path:
    """Beside the request log: one line per reply that was sent in full (its usage was delivered)."""
    return log_path.with_name(log_path.stem + ".delivered.jsonl")


def read_log(path: Path | str) -> list[JSON]:
    """Every logged request, oldest first ([] if the log does not exist yet)."""
    p = Path(path)
    if not p.exists():
        return []
    lines = p.read_text(encoding="utf-8").splitlines()
    return [cast(JSON, json.loads(line)) for line in lines if line.strip()]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content
                       if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _substitute(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, repl in mapping.items():
            value = value.replace(key, repl)
        return value
    if isinstance(value, list):
        return [_substitute(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, mapping) for k, v in value.items()}
    return value


@dataclass
class Reply:
    """What the server decided to answer to one request."""

    text: str | None = None
    tool_calls: list[JSON] = field(default_factory=list)  # {"id", "name", "arguments": dict}
    error: JSON | None = None  # {"status", "type", "message", "retry_after"}
    usage: dict[str, int] | None = None
    delay: float = 0.0
    hang: bool = False
    request_id: int = 0

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"

    def log_view(self) -> JSON:
        return {"text": self.text, "tool_calls": self.tool_calls, "error": self.error,
                "hang": self.hang}


class ScriptedModelServer:
    """The scripted server; replace ``scenario`` at any time, it applies to the next request."""

    def __init__(self, scenario: Scenario, log_path: Path | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.scenario = scenario
        self.log_path = log_path
        self.host = host
        self.stopping = threading.Event()
        self._port = port
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, int], int] = {}
        self._next_call = 0
        self._requests = 0
        self._httpd: OwnedServer[ScriptedModelServer] | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("scripted model server is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/v1"

    def start(self) -> ScriptedModelServer:
        if self._httpd is not None:
            return self
        self.stopping.clear()
        self._httpd = OwnedServer((self.host, self._port), _Handler, self)
        self._thread = serve(self._httpd, "scripted-model")
        return self

    def stop(self) -> None:
        self.stopping.set()  # wakes sleeping / hanging handlers
        httpd, thread, self._httpd, self._thread = self._httpd, self._thread, None, None
        shut(httpd, thread)

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- request planning ------------------------------------------------------------------
    def plan(self, request: JSON) -> Reply:
        """Decide the reply to one chat request and log it."""
        scenario = self.scenario
        raw = request.get("messages")
        messages = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
        model = str(request.get("model") or "scripted")
        first_user = next((_text_of(m.get("content")) for m in messages
                           if m.get("role") == "user"), "")
        has_tools = bool(request.get("tools"))
        script: Script | None = None
        index: int | None = None
        step = Step(text=scenario.title_text)
        if has_tools:
            script = scenario.select(first_user, model)
            step = scenario.fallback
            if script is not None:
                n_assistant = sum(1 for m in messages if m.get("role") == "assistant")
                if n_assistant < len(script.steps):
                    index, step = n_assistant, script.steps[n_assistant]
        systems = "\n".join([_text_of(m.get("content")) for m in messages
                             if m.get("role") == "system"] + [_text_of(request.get("system"))])
        found = _CWD_RE.search(systems)
        mapping = {"{model}": model} | ({"{cwd}": found.group(1)} if found else {})
        reply = self._reply(step, scenario, mapping, script.name if script else "", index)
        with self._lock:
            self._requests += 1
            reply.request_id = self._requests
        self._log({
            "id": reply.request_id, "time": time.time(), "model": model, "tools": has_tools,
            "stream": bool(request.get("stream")), "script": script.name if script else None,
            "step": index, "fallback": has_tools and index is None,
            "reply": reply.log_view(), "usage": reply.usage,
            "first_user": first_user[:200], "n_messages": len(messages),
            "last_user": next((_text_of(m.get("content")) for m in reversed(messages)
                               if m.get("role") == "user"), "")[:500],
            "last_tool": next((_text_of(m.get("content")) for m in reversed(messages)
                               if m.get("role") == "tool"), "")[:500],
        })
        return reply

    def _reply(self, step: Step, scenario: Scenario, mapping: dict[str, str], script: str,
               index: int | None) -> Reply:
        latency = step.latency_s if step.latency_s is not None else scenario.latency_s
        sleep = step.sleep if isinstance(step.sleep, float | int) and step.sleep > 0 else 0.0
        reply = Reply(delay=max(latency, 0.0) + sleep, hang=step.hangs)
        if reply.hang:
            return reply
        failing = step.error is not None and step.fail_first <= 0
        if step.fail_first > 0:
            with self._lock:
                key = (script, -1 if index is None else index)
                self._failures[key] = seen = self._failures.get(key, 0) + 1
            failing = seen <= step.fail_first
        if failing:
            reply.error = {"status": step.error or 500, "type": step.type,
                           "message": step.message, "retry_after": step.retry_after}
            return reply
        calls = step.calls()
        reply.text = _substitute(step.text, mapping) if step.text is not None else (
            None if calls else "ok")
        for call in calls:
            with self._lock:
                self._next_call += 1
                call_id = f"call_{self._next_call}"
            reply.tool_calls.append({"id": call_id, "name": call.tool,
                                     "arguments": _substitute(call.args, mapping)})
        reply.usage = (step.usage or scenario.usage).as_dict()
        return reply

    def _log(self, record: JSON, path: Path | None = None) -> None:
        path = path or self.log_path
        if path is None:
            return
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock, path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()

    def delivered(self, reply: Reply) -> None:
        """Record that a reply (and so its usage) reached the client in full."""
        if self.log_path is not None and reply.usage is not None:
            self._log({"id": reply.request_id, "usage": reply.usage}, delivered_path(self.log_path))



def _completion(reply: Reply, model: str, cid: str, created: int) -> JSON:
    message: JSON = {"role": "assistant", "content": reply.text}
    if reply.tool_calls:
        message["tool_calls"] = [_wire_call(c) for c in reply.tool_calls]
    return {"id": cid, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
            "usage": reply.usage}


def _wire_call(call: JSON) -> JSON:
    return {"id": call["id"], "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])}}


def _chunks(reply: Reply, model: str, cid: str, created: int) -> list[JSON]:
    base: JSON = {"id": cid, "object": "chat.completion.chunk", "created": created,
                  "model": model}

    def chunk(delta: JSON, finish: str | None = None) -> JSON:
        return base | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    out = [chunk({"role": "assistant", "content": ""})]
    text = reply.text or ""
    out += [chunk({"content": text[i:i + 80]}) for i in range(0, len(text), 80)]
    out += [chunk({"tool_calls": [{"index": i} | _wire_call(c)]})
            for i, c in enumerate(reply.tool_calls)]
    out.append(chunk({}, reply.finish_reason))
    out.append(base | {"choices": [], "usage": reply.usage})
    return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # streams use chunked encoding; every response closes

    @property
    def owner(self) -> ScriptedModelServer:
        return cast("OwnedServer[ScriptedModelServer]", self.server).owner

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except DISCONNECTS:
            self.close_connection = True

    def _key_refused(self) -> bool:
        key = self.owner.scenario.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return False
        self._send_error(401, "authentication_error", "invalid api key")
        return True

    def do_GET(self) -> None:
        if self.path.split("?")[0].rstrip("/") != "/v1/models":
            return self._not_found()
        if self._key_refused():
            return
        names = self.owner.scenario.models or ["scripted"]
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "scripted"} for n in names]
        self._send_json(200, {"object": "list", "data": data})

    def do_POST(self) -> None:
        route = self.path.split("?")[0].rstrip("/")
        if route not in ("/v1/chat/completions", "/v1/messages"):
            return self._not_found()
        if self._key_refused():
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(request, dict):
                raise ValueError("request body must be a JSON object")
        except ValueError as exc:
            return self._send_error(400, "invalid_request_error", f"bad request body: {exc}")
        reply = self.owner.plan(request)
        if reply.delay > 0 and self.owner.stopping.wait(reply.delay):
            return
        if reply.hang:
            return self._hang()
        if reply.error is not None:
            err = reply.error
            extra = {} if err["retry_after"] is None else {"Retry-After": f"{err['retry_after']:g}"}
            return self._send_error(err["status"], err["type"], err["message"], extra)
        model = str(request.get("model") or "scripted")
        cid, created = f"chatcmpl-scripted-{time.monotonic_ns()}", int(time.time())
        if route == "/v1/messages":  # the Anthropic Messages API
            mid = f"msg_scripted{time.monotonic_ns()}"
            if request.get("stream"):
                self._send_stream(anthropic.events(reply, model, mid))
            else:
                self._send_json(200, anthropic.message(reply, model, mid))
        elif request.get("stream"):
            events = [f"data: {json.dumps(c)}\n\n".encode() for c in _chunks(reply, model, cid, created)]
            self._send_stream([*events, b"data: [DONE]\n\n"])
        else:
            self._send_json(200, _completion(reply, model, cid, created))
        self.owner.delivered(reply)

    def _hang(self) -> None:
        """Wait until the server stops or the client goes away; send nothing."""
        while not self.owner.stopping.is_set():
            try:
                readable, _, _ = select.select([self.connection], [], [], 0.1)
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    return
            except (OSError, ValueError):
                return
            if readable:
                self.owner.stopping.wait(0.1)
        self.close_connection = True

    def _not_found(self) -> None:
        self._send_error(404, "not_found", f"no route for {self.command} {self.path}")

    def _send_error(self, status: int, kind: str, message: str,
                    headers: dict[str, str] | None = None) -> None:
        body = {"error": {"message": message, "type": kind, "code": status}}
        self._send_json(status, body, headers)

    def _send_json(self, status: int, body: JSON, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_stream(self, events: list[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        for event in events:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.scripted_model",
                                     description="Scripted OpenAI-compatible model server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--scenario", type=Path, help="scenario JSON (default: fallback only)")
    parser.add_argument("--log", type=Path, help="append one JSON line per request here")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario) if args.scenario else Scenario()
    server = ScriptedModelServer(scenario, args.log, host=args.host, port=args.port)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    server.start()
    try:
        sys.stdout.write(f"scripted model listening on {server.base_url}\n")
        sys.stdout.flush()
        while not done.wait(0.2):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
