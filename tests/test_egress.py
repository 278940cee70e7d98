"""The egress proxy, with real sockets on loopback and a real unix socket."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.egress import Allowlist, EgressProxy


@pytest.mark.parametrize(("entry", "host", "port", "allowed"), [
    ("pypi.org", "pypi.org", 443, True),
    ("pypi.org", "PyPI.org.", 80, True),
    ("pypi.org", "pypi.org", 22, False),  # a bare host allows 80 and 443 only
    ("pypi.org", "evil-pypi.org", 443, False),
    ("pypi.org", "pypi.org.evil.com", 443, False),
    ("pypi.org", "files.pypi.org", 443, False),
    ("*.crates.io", "static.crates.io", 443, True),
    ("*.crates.io", "crates.io", 443, False),  # the wildcard is for subdomains only
    ("*.crates.io", "xcrates.io", 443, False),
    ("127.0.0.1:8000", "127.0.0.1", 8000, True),
    ("127.0.0.1:8000", "127.0.0.1", 8001, False),
    ("127.0.0.1:8000", "127.0.0.1", 443, False),
    ("[::1]:8000", "::1", 8000, True),
])
def test_allowlist_rules(entry: str, host: str, port: int, allowed: bool) -> None:
    assert Allowlist([entry]).allows(host, port) is allowed


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"{self.path} via {self.headers.get('Connection')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def upstreams() -> Iterator[list[int]]:
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield [s.server_address[1] for s in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxy(tmp_path: Path, upstreams: list[int]) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    records: list[dict[str, Any]] = []
    egress = EgressProxy(Allowlist([f"127.0.0.1:{upstreams[0]}"]), records.append, connect_timeout=3)
    path = tmp_path / "egress.sock"
    egress.start(path)
    yield path, records
    egress.stop()


def _ask(path: Path, request: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX) as conn:
        conn.connect(str(path))
        conn.sendall(request)
        chunks = []
        while data := conn.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def test_plain_http_to_an_allowed_host_is_forwarded_in_origin_form(proxy: tuple[Path, list[Any]],
                                                                    upstreams: list[int]) -> None:
    path, records = proxy
    reply = _ask(path, f"GET http://127.0.0.1:{upstreams[0]}/hi?x=1 HTTP/1.1\r\nHost: h\r\n"
                       "Proxy-Connection: keep-alive\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.0 200") or reply.startswith(b"HTTP/1.1 200")
    assert reply.endswith(b"/hi?x=1 via close")
    assert records == []


def test_connect_to_an_allowed_host_tunnels_bytes(proxy: tuple[Path, list[Any]], upstreams: list[int]) -> None:
    path, _ = proxy
    tunnel = f"CONNECT 127.0.0.1:{upstreams[0]} HTTP/1.1\r\n\r\n".encode()
    reply = _ask(path, tunnel + b"GET /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.")
    assert reply.endswith(b"/t via close")


@pytest.mark.parametrize("request_head", [
    "CONNECT 127.0.0.1:{other} HTTP/1.1\r\n\r\n",
    "GET http://127.0.0.1:{other}/ HTTP/1.1\r\n\r\n",
    "GET http://localhost:{allowed}/ HTTP/1.1\r\n\r\n",  # the allowed port under another name
    "CONNECT 127.0.0.1:{allowed}@evil.example:443 HTTP/1.1\r\n\r\n",
])
def test_everything_else_is_refused_and_recorded(proxy: tuple[Path, list[Any]], upstreams: list[int],
                                                 request_head: str) -> None:
    path, records = proxy
    reply = _ask(path, request_head.format(allowed=upstreams[0], other=upstreams[1]).encode())
    assert reply.startswith(b"HTTP/1.1 403 Forbidden")
    assert len(records) == 1 and records[0]["kind"] == "egress"
    assert b"not in [sandbox] allow_hosts" in reply


@pytest.mark.parametrize("request_head", [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                                          b"GET https://127.0.0.1/ HTTP/1.1\r\n\r\n",
                                          b"garbage\r\n\r\n"])
def test_requests_that_are_not_proxy_requests_are_refused(proxy: tuple[Path, list[Any]],
                                                          request_head: bytes) -> None:
    path, records = proxy
    assert _ask(path, request_head).startswith(b"HTTP/1.1 403")
    assert records[0]["reason"] == "not a proxy request"


def test_an_allowed_host_that_is_down_gets_502(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    egress = EgressProxy(Allowlist([f"127.0.0.1:{port}"]), lambda _r: None, connect_timeout=3)
    egress.start(tmp_path / "e.sock")
    try:
        assert _ask(tmp_path / "e.sock", f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode()).startswith(
            b"HTTP/1.1 502")
    finally:
        egress.stop()
