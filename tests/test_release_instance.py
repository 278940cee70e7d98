"""``--workers``: the project's own OpenCode instance is disposed of once the sessions run in the
trees, on the server autocode started only; a failure leaves it up and the build goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from agent.opencode.client import OpenCodeClient
from agent.opencode.server import AttachedServer, OpenCodeServer, ServerSettings
from agent.ports import NullReporter
from agent.runtime import SupervisedSessions


def _release(server: OpenCodeServer | AttachedServer, status: int) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=True if status < 300 else {"error": "x"})

    async def go() -> None:
        sessions = SupervisedSessions(server, lambda client: None, NullReporter())  # type: ignore[arg-type,return-value]
        sessions.client = OpenCodeClient("http://opencode.test", transport=httpx.MockTransport(handler),
                                         retries=1)
        async with sessions.client:
            await sessions.release(Path("/work/app"))
    asyncio.run(go())
    return seen


def test_the_server_autocode_started_disposes_of_the_directory(tmp_path: Path) -> None:
    seen = _release(OpenCodeServer(ServerSettings(state_dir=tmp_path)), 200)
    assert [(r.method, r.url.path, r.url.params["directory"]) for r in seen] == [
        ("POST", "/instance/dispose", "/work/app")]


def test_a_failed_dispose_is_not_an_error(tmp_path: Path) -> None:
    assert len(_release(OpenCodeServer(ServerSettings(state_dir=tmp_path)), 500)) >= 1  # asked, then let go


def test_an_attached_server_is_never_asked() -> None:
    assert _release(AttachedServer("http://127.0.0.1:4096"), 200) == []  # its owner may have the dir open
