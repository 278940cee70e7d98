"""``--workers`` warm-up on the real OpenCode server: the warm-up prompt's one bash call runs in the
worker dir with no ask reaching anyone (its session's own rule allows exactly that command), the
session is deleted, and the rule allows nothing in any other session: the same call by an agent's
session in the same dir still asks autocode."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from agent.opencode.client import OpenCodeClient
from agent.opencode.config import WARMUP_COMMAND, WARMUP_MODEL, CustomProvider, generate_config
from agent.opencode.events import PermissionAsked
from agent.providers import parse_model
from agent.runtime import warmup_scenario
from agent.scripted_model import ScriptedModelServer, read_log
from tests.e2e.conftest import ScriptedModel, ServerFactory

pytestmark = pytest.mark.e2e

AGENT = parse_model("scripted/model-a")


async def _first_ask(client: OpenCodeClient, directory: Path, timeout: float = 60) -> PermissionAsked:
    for _ in range(int(timeout / 0.1)):
        asks = await client.pending_permissions(directory)
        if asks:
            return asks[0]
        await asyncio.sleep(0.1)
    raise AssertionError("no permission request arrived")


def test_the_warm_up_bash_call_runs_unasked_in_the_dir_and_its_rule_stays_in_its_session(
        opencode: ServerFactory, scripted: ScriptedModel, project: Path, tmp_path: Path) -> None:
    warm_log = tmp_path / "warmup-requests.jsonl"
    with ScriptedModelServer(warmup_scenario(), warm_log) as warm:
        config = generate_config(AGENT, provider=CustomProvider(base_url=scripted.url), warmup_url=warm.url)
        server = opencode(extra_config={key: config[key] for key in ("enabled_providers", "provider")})
        scripted.set({"scripts": [{"name": "agent", "match": "agent prompt", "steps": [
            {"tool": "bash", "args": {"command": WARMUP_COMMAND, "description": "the same call"}},
            {"text": "done"}]}]})

        async def go() -> tuple[PermissionAsked, list[str]]:
            async with OpenCodeClient(server.url, server.password) as client:
                await asyncio.wait_for(client.warm(project, WARMUP_MODEL), 120)  # an ask would hang it
                titles = [s.title for s in await client.sessions(project)]
                agent = await client.create_session(project, "autocode: feature 1/1")
                await client.prompt(agent.id, project, "agent prompt", AGENT)
                ask = await _first_ask(client, project)
                assert ask.session_id == agent.id
                await client.reply_permission(ask.id, project, "reject")
                return ask, titles

        ask, titles = asyncio.run(go())
    warm_steps = [r for r in read_log(warm_log) if r["script"] == "warm-up"]
    assert [r["step"] for r in warm_steps] == [0, 1]  # the call, then "ready" once it had run
    assert warm_steps[1]["last_tool"].strip() == str(project)  # pwd ran in the worker dir
    assert "autocode: warm-up" not in titles  # deleted once answered
    assert (ask.permission, ask.patterns) == ("bash", [WARMUP_COMMAND])
    assert all(r["model"] == "model-a" for r in scripted.requests())  # the agent's model never warmed


def test_the_projects_instance_is_disposed_of_by_the_real_server(
        opencode: ServerFactory, project: Path) -> None:
    """What ``SupervisedSessions.release`` asks (``--workers``, once the sessions run in the trees)."""
    server = opencode()

    async def go() -> None:
        async with OpenCodeClient(server.url, server.password) as client:
            await client.sessions(project)  # the instance is made
            await client.dispose_instance(project)  # 200, not 404: the route exists in this version
    asyncio.run(go())
    log = server.settings.state_dir / "home" / ".local" / "share" / "opencode" / "log" / "opencode.log"
    wanted = f"directory={project}"
    for _ in range(150):  # the log is written behind the reply
        if any("disposing instance" in line and wanted in line for line in log.read_text().splitlines()):
            return
        time.sleep(0.1)
    raise AssertionError("the server log shows no disposal of the project's instance")
