"""The OpenCode client against httpx.MockTransport: how it treats the server's error answers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from agent.opencode.client import OpenCodeClient, OpenCodeHTTPError


def _client(status: int, seen: list[httpx.Request]) -> OpenCodeClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if status == 404:
            return httpx.Response(404, json={"name": "PermissionNotFound", "data": {}})
        return httpx.Response(status, json=True if status < 300 else {"error": "x"})
    return OpenCodeClient("http://opencode.test", transport=httpx.MockTransport(handler), retries=2)


def _reply(client: OpenCodeClient, message: str | None = None) -> bool:
    async def go() -> bool:
        async with client:
            return await client.reply_permission("per_1", Path("/p"), "reject", message)
    return asyncio.run(go())


def test_a_reply_is_posted_with_the_directory_and_the_message() -> None:
    seen: list[httpx.Request] = []
    assert _reply(_client(200, seen), "no") is True
    assert [r.url.path for r in seen] == ["/permission/per_1/reply"]
    assert seen[0].url.params["directory"] == "/p"
    assert json.loads(seen[0].content) == {"reply": "reject", "message": "no"}


def test_a_request_the_server_no_longer_knows_is_not_an_error() -> None:
    seen: list[httpx.Request] = []
    assert _reply(_client(404, seen)) is False
    assert len(seen) == 1  # not retried: a 404 will not change


@pytest.mark.parametrize("status", [400, 500])
def test_other_errors_still_raise(status: int) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(OpenCodeHTTPError) as info:
        _reply(_client(status, seen))
    assert info.value.status == status
    assert len(seen) == (2 if status >= 500 else 1)  # server errors are retried, client errors not


def test_warm_asks_for_the_directory_once() -> None:
    seen: list[httpx.Request] = []

    async def go(client: OpenCodeClient) -> None:
        async with client:
            await client.warm(Path("/state/worktrees/w1"))
    asyncio.run(go(_client(200, seen)))
    assert [r.url.path for r in seen] == ["/session"]
    assert seen[0].url.params["directory"] == "/state/worktrees/w1"
    with pytest.raises(OpenCodeHTTPError):
        asyncio.run(go(_client(404, [])))
