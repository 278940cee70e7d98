"""Why autocode does not use the PyPI SDK `opencode-ai` (0.1.0a36): against the real OpenCode 1.18
server, the model it asks for is silently dropped and the server's default model answers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from pathlib import Path

import pytest

from agent.opencode.client import OpenCodeClient
from agent.providers import parse_model
from tests.e2e.conftest import ScriptedModel, ServerFactory

pytestmark = pytest.mark.e2e

TWO_MODELS = {"model-a": {"name": "a", "tool_call": True}, "model-b": {"name": "b", "tool_call": True}}


def test_the_sdk_loses_the_model_autocodes_client_keeps_it(
        scripted: ScriptedModel, opencode: ServerFactory, project: Path) -> None:
    from opencode_ai import Opencode

    server = opencode("scripted/model-a", extra_config={"provider": {"scripted": {
        "npm": "@ai-sdk/openai-compatible", "options": {"baseURL": scripted.url, "apiKey": "x"},
        "models": TWO_MODELS}}})
    scripted.set({"scripts": [], "fallback": {"text": "hello"}})
    token = base64.b64encode(f"opencode:{server.password}".encode()).decode()
    sdk = Opencode(base_url=server.url, default_headers={"Authorization": f"Basic {token}"})
    where = {"directory": str(project)}
    session = sdk.session.create(extra_query=where)
    with contextlib.suppress(Exception):  # the SDK also mis-parses 1.18's replies; only the model matters
        sdk.session.chat(session.id, model_id="model-b", provider_id="scripted",
                         parts=[{"type": "text", "text": "hi from the sdk"}], extra_query=where)
    chat = [r for r in scripted.requests() if r["tools"] and r["first_user"] == "hi from the sdk"]
    assert chat and {r["model"] for r in chat} == {"model-a"}  # asked for model-b: dropped, default answered
    assert "model-b" not in {r["model"] for r in scripted.requests()}

    async def ours() -> None:
        async with OpenCodeClient(server.url, server.password) as client:
            info = await client.create_session(project, "autocode")
            await client.prompt(info.id, project, "hi from autocode", parse_model("scripted/model-b"))
            for _ in range(100):
                if any(r["first_user"] == "hi from autocode" for r in scripted.requests()):
                    return
                await asyncio.sleep(0.1)

    asyncio.run(ours())
    ours_requests = [r for r in scripted.requests() if r["first_user"] == "hi from autocode"]
    assert ours_requests and {r["model"] for r in ours_requests} == {"model-b"}
