"""The OpenCode client against httpx.MockTransport: how it treats the server's error answers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from agent.opencode.client import OpenCodeClient, OpenCodeHTTPError
from agent.opencode.config import WARMUP_COMMAND, WARMUP_MODEL
from agent.providers import ModelRef


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


def _warm(prompt_status: int, model: ModelRef | None) -> tuple[list[httpx.Request], Exception | None]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST" and request.url.path == "/session":
            return httpx.Response(200, json={"id": "ses_w", "title": "autocode: warm-up"})
        if request.url.path.endswith("/message"):
            return httpx.Response(prompt_status, json={"info": {}} if prompt_status < 300 else {"error": "x"})
        return httpx.Response(200, json=True if request.method == "DELETE" else [])

    async def go() -> None:
        async with OpenCodeClient("http://opencode.test", transport=httpx.MockTransport(handler),
                                  retries=1) as client:
            await client.warm(Path("/state/worktrees/w1"), model)
    try:
        asyncio.run(go())
    except OpenCodeHTTPError as error:
        return seen, error
    return seen, None


def test_warm_without_a_model_only_makes_the_instance() -> None:
    seen, error = _warm(200, None)
    assert error is None
    assert [(r.method, r.url.path) for r in seen] == [("GET", "/session")]
    assert seen[0].url.params["directory"] == "/state/worktrees/w1"


def test_warm_with_a_model_prompts_once_in_a_session_it_then_deletes() -> None:
    seen, error = _warm(200, WARMUP_MODEL)
    assert error is None
    assert [(r.method, r.url.path) for r in seen] == [("GET", "/session"), ("POST", "/session"),
                                                      ("POST", "/session/ses_w/message"),
                                                      ("DELETE", "/session/ses_w")]
    assert all(r.url.params["directory"] == "/state/worktrees/w1" for r in seen)
    assert json.loads(seen[1].content)["title"] == "autocode: warm-up"
    # the session's own rule allows exactly the warm-up's one command, nothing else
    assert json.loads(seen[1].content)["permission"] == [
        {"permission": "bash", "pattern": WARMUP_COMMAND, "action": "allow"}]
    prompt = json.loads(seen[2].content)
    assert prompt["model"] == {"providerID": "autocode-warmup", "modelID": "warmup"}  # never the build's model


def test_a_session_carries_no_permission_rules_unless_given() -> None:
    """The agents' sessions get none: every call they make asks autocode's gate."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "ses_a", "title": "t"})

    async def go() -> None:
        async with OpenCodeClient("http://opencode.test", transport=httpx.MockTransport(handler)) as client:
            await client.create_session(Path("/p"), "autocode: feature 1/2", parent_id="ses_p")
    asyncio.run(go())
    assert json.loads(seen[0].content) == {"title": "autocode: feature 1/2", "parentID": "ses_p"}


def test_dispose_instance_names_the_directory() -> None:
    seen: list[httpx.Request] = []

    async def go(client: OpenCodeClient) -> None:
        async with client:
            await client.dispose_instance(Path("/work/app"))
    asyncio.run(go(_client(200, seen)))
    assert [(r.method, r.url.path, r.url.params["directory"]) for r in seen] == [
        ("POST", "/instance/dispose", "/work/app")]


def test_a_failed_warm_up_prompt_raises_and_leaves_its_session() -> None:
    seen, error = _warm(500, WARMUP_MODEL)
    assert isinstance(error, OpenCodeHTTPError) and error.status == 500
    assert (seen[-1].method, seen[-1].url.path) == ("POST", "/session/ses_w/message")  # nothing after it
