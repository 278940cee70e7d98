"""The recording proxy: sits between OpenCode and the model provider and writes every exchange down.

``autocode build --record`` points the provider's ``baseURL`` at :class:`RecordingProxy` (host
loopback), which forwards each request to the real endpoint and streams the answer back chunk by
chunk, unchanged, as it arrives. Each finished exchange becomes one JSON line in
``.autocode/recordings/<run>.jsonl``:

    {"kind": "run", "schema": 1, "run": ..., "model": ..., "wire": ..., "project": ..., ...}
    {"kind": "exchange", "seq": 1, "session": 1, "step": 0, "wire": "openai",
     "method": "POST", "path": "/v1/chat/completions", "request": {"headers": {...}, "body": {...}},
     "response": {"status": 200, "headers": {...}, "stream": true, "chunks": ["data: ...", ...]},
     "duration_s": 0.41}

``session`` counts conversations (a request with no assistant message starts the next one) and
``step`` is the number of assistant messages the request carries, so the key is the same for the
recording and for its replay. Secrets never reach the disk: headers and query parameters whose
name looks secret are replaced by ``[redacted]``, and every value so removed is also scrubbed from
the whole line before it is written (a key echoed in a body or an error message included).
"""

from __future__ import annotations

import codecs
import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

from agent.threadserve import DISCONNECTS, OwnedServer, serve, shut

JSON = dict[str, Any]
RECORDING_SCHEMA = 1
REDACTED = "[redacted]"
SECRET_NAME = re.compile(r"auth|key|token|secret|cookie|passw|credential|signature", re.I)
SESSION_HEADER = "x-session-id"  # OpenCode 1.18 sends its session id to providers
HOP_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
                         "trailer", "upgrade", "host", "content-length", "accept-encoding"})


def wire_of(path: str) -> str:
    """Which wire format a request path speaks: ``anthropic``, ``openai`` or ``other``."""
    route = urlsplit(path).path.rstrip("/")
    if route.endswith("/messages"):
        return "anthropic"
    return "openai" if route.endswith("/chat/completions") else "other"


def step_of(body: Any) -> int:
    """The step of a chat request: how many assistant messages it already carries."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return 0
    return sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant")


class Redactor:
    """Replaces secret header/query values and scrubs every such value from what is written."""

    def __init__(self, extra_secrets: tuple[str, ...] = ()) -> None:
        self._secrets: set[str] = {s for s in extra_secrets if len(s) >= 6}
        self._lock = threading.Lock()

    def _remember(self, value: str) -> None:
        with self._lock:
            for piece in (value, *value.split()):  # "Bearer sk-..." also hides "sk-..."
                if len(piece) >= 6 and piece.lower() not in ("bearer", "basic"):
                    self._secrets.add(piece)

    def headers(self, headers: list[tuple[str, str]]) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            if SECRET_NAME.search(key):
                self._remember(value)
                value = REDACTED
            out[key] = value
        return out

    def path(self, path: str) -> str:
        parts = urlsplit(path)
        if not parts.query:
            return path
        query = []
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if SECRET_NAME.search(name):
                self._remember(value)
                value = REDACTED
            query.append((name, value))
        return parts.path + "?" + urlencode(query)

    def scrub(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        return text


class RecordingProxy:
    """A loopback HTTP proxy to one upstream base URL that records every exchange to ``path``."""

    def __init__(self, upstream: str, path: Path, header: JSON | None = None,
                 redactor: Redactor | None = None, host: str = "127.0.0.1") -> None:
        parts = urlsplit(upstream.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"cannot record to {upstream!r}: expected an http(s) URL")
        self.upstream = parts
        self.path = path
        self.header = header or {}
        self.redactor = redactor or Redactor()
        self.host = host
        self._lock = threading.Lock()
        self.exchanges = 0
        self._sessions: dict[str, int] = {}
        self._httpd: OwnedServer[RecordingProxy] | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give OpenCode instead of the upstream one (same path prefix)."""
        if self._httpd is None:
            raise RuntimeError("recording proxy is not started")
        return f"http://{self.host}:{self._httpd.server_address[1]}{self.upstream.path}"

    def start(self) -> RecordingProxy:
        if self._httpd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            head = {"kind": "run", "schema": RECORDING_SCHEMA, "started": time.time(),
                    "upstream_path": self.upstream.path} | self.header
            self._write(head)
            self._httpd = OwnedServer((self.host, 0), _ProxyHandler, self)
            self._thread = serve(self._httpd, "recording-proxy")
        return self

    def stop(self) -> None:
        httpd, thread, self._httpd, self._thread = self._httpd, self._thread, None, None
        shut(httpd, thread)

    def __enter__(self) -> RecordingProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def connection(self) -> http.client.HTTPConnection:
        host, port = self.upstream.hostname or "", self.upstream.port
        if self.upstream.scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=600)
        return http.client.HTTPConnection(host, port, timeout=600)

    def key(self, body: Any, session_id: str | None) -> tuple[int, int, int]:
        """(seq, session, step) for the next exchange; sessions are numbered from 1 as they appear.

        Without OpenCode's session header, a chat request with no assistant message starts the
        next session (autocode runs one session at a time).
        """
        step = step_of(body)
        with self._lock:
            self.exchanges += 1
            if session_id is None and step == 0 and is_chat(body):
                session_id = f"#{len(self._sessions) + 1}"
            session_id = session_id or next(reversed(self._sessions), "#1")
            number = self._sessions.setdefault(session_id, len(self._sessions) + 1)
            return self.exchanges, number, step

    def record(self, record: JSON) -> None:
        self._write(record)

    def _write(self, record: JSON) -> None:
        line = self.redactor.scrub(json.dumps(record, ensure_ascii=False)) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)


def is_chat(body: Any) -> bool:
    """A chat request (it has messages), as opposed to a model list or anything else."""
    return isinstance(body, dict) and isinstance(body.get("messages"), list)



class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def owner(self) -> RecordingProxy:
        return cast("OwnedServer[RecordingProxy]", self.server).owner

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def _forward(self) -> None:
        owner = self.owner
        started = time.monotonic()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = _json_or_text(raw)
        seq, session, step = owner.key(body, self.headers.get(SESSION_HEADER))
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_HEADERS]
        upstream = owner.connection()
        record: JSON = {"kind": "exchange", "seq": seq, "session": session, "step": step,
                        "wire": wire_of(self.path), "method": self.command,
                        "path": owner.redactor.path(self.path),
                        "request": {"headers": owner.redactor.headers(headers), "body": body}}
        try:
            upstream.request(self.command, self.path, body=raw or None,
                             headers=dict(headers) | {"Accept-Encoding": "identity"})
            response = upstream.getresponse()
            record["response"] = self._relay(response)
        except OSError as exc:
            record["response"] = {"status": 502, "error": str(exc)}
            self._send_bad_gateway(str(exc))
        finally:
            upstream.close()
            record["duration_s"] = round(time.monotonic() - started, 4)
            owner.record(record)

    def _relay(self, response: http.client.HTTPResponse) -> JSON:
        headers = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_HEADERS]
        self.send_response(response.status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        chunks: list[str] = []
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # a char split across reads
        try:
            for data in _pieces(response):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                chunks.append(decoder.decode(data))
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except DISCONNECTS:
            self.close_connection = True
        stream = "text/event-stream" in (response.getheader("Content-Type") or "")
        out: JSON = {"status": response.status, "headers": self.owner.redactor.headers(headers),
                     "stream": stream}
        if stream:
            out["chunks"] = chunks
        else:
            out["body"] = _json_or_text("".join(chunks).encode())
        return out

    def _send_bad_gateway(self, reason: str) -> None:
        data = json.dumps({"error": {"type": "bad_gateway", "message": reason}}).encode()
        self.send_response(502)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def _pieces(response: http.client.HTTPResponse) -> Iterator[bytes]:
    """The body as it arrives: whatever bytes are available now, never waiting to fill a buffer."""
    while True:
        data = response.read1(65536)
        if not data:
            return
        yield data


def _json_or_text(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def read_recording(path: Path) -> tuple[JSON, list[JSON]]:
    """The run header and the exchanges (in order) of a recording file."""
    from agent.state import read_jsonl

    records = read_jsonl(path)
    head = next((r for r in records if r.get("kind") == "run"), {})
    return head, [r for r in records if r.get("kind") == "exchange"]
