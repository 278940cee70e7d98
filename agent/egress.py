"""The egress proxy: the only way out of the command sandbox, by host-name allowlist.

A small asyncio HTTP proxy on a unix socket (the command daemon relays the sandbox's
``127.0.0.1:PORT`` to it). It understands ``CONNECT host:port`` (HTTPS and any TLS client) and
absolute-URI plain HTTP (``GET http://host/...``, sent upstream in origin form with
``Connection: close``). Anything else, and every host not on the list, gets ``403`` and a record
(``kind: egress``) in ``denied.jsonl``.

Allowlist entries: ``host`` (ports 80 and 443), ``host:port`` (that port only), ``*.suffix``
(any subdomain of ``suffix``, not ``suffix`` itself; ports 80 and 443, or ``*.suffix:port``).
Names compare case-insensitively without a trailing dot. The proxy resolves names itself on the
host side, so commands need no DNS.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PORTS = frozenset({80, 443})
MAX_HEAD = 64 * 1024
Record = Callable[[dict[str, Any]], None]


def _split_host_port(text: str) -> tuple[str, int | None]:
    text = text.strip()
    if text.startswith("["):  # [v6]:port
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, None


def _norm(host: str) -> str:
    return host.strip().lower().rstrip(".")


class Allowlist:
    """Which ``host:port`` pairs may be reached (see the module docstring for the rules)."""

    def __init__(self, entries: list[str]) -> None:
        self.rules: list[tuple[str, bool, int | None]] = []
        for entry in entries:
            host, port = _split_host_port(entry)
            wildcard = host.startswith("*.")
            self.rules.append((_norm(host[2:] if wildcard else host), wildcard, port))

    def allows(self, host: str, port: int) -> bool:
        name = _norm(host)
        for rule, wildcard, rule_port in self.rules:
            if not (port == rule_port if rule_port is not None else port in DEFAULT_PORTS):
                continue
            if (name.endswith("." + rule) and name != rule) if wildcard else name == rule:
                return True
        return False


class EgressProxy:
    """Serve the allowlist on a unix socket, in a thread with its own event loop."""

    def __init__(self, allow: Allowlist, record: Record, connect_timeout: float = 15.0) -> None:
        self.allow = allow
        self.record = record
        self.connect_timeout = connect_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    def start(self, socket_path: Path) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(socket_path, ready), daemon=True,
                                        name="autocode-egress")
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError(f"the egress proxy did not start on {socket_path}")

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = self._thread = None

    def _run(self, socket_path: Path, ready: threading.Event) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopped = asyncio.Event()
            server = await asyncio.start_unix_server(self.handle, path=str(socket_path), backlog=256)
            ready.set()
            async with server:
                await self._stopped.wait()

        asyncio.run(main())

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD:
            raise ValueError("request head too large")
        line, _, rest = head.decode("latin-1").partition("\r\n")
        method, target, version = ([*line.split(" "), "", "", ""])[:3]
        tunnel = method.upper() == "CONNECT"
        host, port, first = self._parse(tunnel, method, target, version, rest)
        if host is None or not self.allow.allows(host, port):
            await self._refuse(writer, host, port, line)
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                          self.connect_timeout)
        except (OSError, TimeoutError):
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        if tunnel:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
        else:
            up_writer.write(first)
        try:
            await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))
        finally:
            up_writer.close()

    @staticmethod
    def _parse(tunnel: bool, method: str, target: str, version: str,
               rest: str) -> tuple[str | None, int, bytes]:
        """(host, port, the bytes to send upstream first); host None for a request we refuse."""
        if tunnel:
            host, port = _split_host_port(target)
            return (host or None), port or 443, b""
        url = urlsplit(target)
        if url.scheme.lower() != "http" or not url.hostname:
            return None, 0, b""
        headers = [h for h in rest.split("\r\n") if h and not h.lower().startswith(
            ("connection:", "proxy-connection:", "keep-alive:", "proxy-authorization:"))]
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        first = "\r\n".join([f"{method} {path} {version}", *headers, "Connection: close", "", ""])
        return url.hostname, url.port or 80, first.encode("latin-1")

    async def _refuse(self, writer: asyncio.StreamWriter, host: str | None, port: int, line: str) -> None:
        where = f"{host}:{port}" if host else line[:200]
        self.record({"kind": "egress", "permission": "network", "target": where,
                     "reason": "host not in [sandbox] allow_hosts" if host else "not a proxy request",
                     "rule": "sandbox.allow_hosts"})
        body = f"autocode sandbox: egress to {where} is refused (not in [sandbox] allow_hosts)\n".encode()
        writer.write(b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.write_eof()
