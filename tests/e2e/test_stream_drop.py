"""The event stream is cut mid-session (a proxy drops every connection): reconnect, catch up,
count nothing twice."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from pathlib import Path

import pytest

from agent.cost import Ledger, Limits
from agent.opencode.client import OpenCodeClient
from agent.ports import SystemClock
from agent.providers import parse_model
from agent.session import SessionRunner
from agent.session_types import SessionRequest
from tests.e2e.conftest import EventLog, ScriptedModel, ServerFactory
from tests.e2e.test_foundation import RecordingGate

pytestmark = pytest.mark.e2e


class DroppingProxy:
    """A loopback TCP proxy; ``drop()`` closes every open connection at once."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.drops = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            with self.lock:
                self.conns += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def drop(self) -> None:
        with self.lock:
            conns, self.conns = self.conns, []
        for sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self.drops += 1

    def close(self) -> None:
        self.listener.close()
        self.drop()


def test_dropped_stream_is_reconnected_and_cost_counted_once(
        scripted: ScriptedModel, opencode: ServerFactory, project: Path) -> None:
    steps = [{"tool": "bash", "args": {"command": f"echo {i} >> log.txt", "description": "s"},
              "latency_s": 0.4} for i in range(4)]
    scripted.set({"usage": {"prompt_tokens": 1000, "completion_tokens": 100},
                  "scripts": [{"name": "s", "match": "go", "steps": [*steps, {"text": "done"}]}]})
    server = opencode(price_in=2.0, price_out=10.0)
    proxy = DroppingProxy(int(server.url.rsplit(":", 1)[1]))

    def dropper() -> None:
        for wanted in (2, 4):  # cut the stream twice, mid-session
            while len(scripted.requests()) < wanted:
                time.sleep(0.02)
            proxy.drop()

    threading.Thread(target=dropper, daemon=True).start()
    ledger, events = Ledger(), EventLog()

    async def go() -> None:
        async with OpenCodeClient(f"http://127.0.0.1:{proxy.port}", server.password) as client:
            runner = SessionRunner(client, parse_model("scripted/model-a"), ledger,
                                   Limits(idle_timeout=30), RecordingGate(), events, SystemClock())
            result = await runner.run(SessionRequest(directory=project, title="t", prompt="go"))
            assert result.stop == "idle", result

    asyncio.run(go())
    proxy.close()
    assert proxy.drops >= 2 and len(events.named("stream_reconnect")) >= 2
    assert (project / "log.txt").read_text().split() == ["0", "1", "2", "3"]
    requests = scripted.requests()
    expected = sum((r["usage"]["prompt_tokens"] * 2.0 + r["usage"]["completion_tokens"] * 10.0) / 1e6
                   for r in requests)
    assert len(requests) == 5
    assert abs(ledger.total - expected) < 1e-9, (ledger.total, expected)
    assert ledger.summary()["steps"] == 5
