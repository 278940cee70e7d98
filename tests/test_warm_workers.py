"""``--workers``: beside the preflight and the initializer, each worker dir's OpenCode instance and
per-directory services, made by a prompt to a local, free warm-up model."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from agent.build import BuildConfig
from agent.opencode.config import WARMUP_COMMAND, WARMUP_MODEL, WARMUP_PROMPT
from agent.providers import ModelRef
from agent.runtime import (
    ServerOptions,
    opencode_config,
    warm_worker_dirs,
    warmup_model,
    worktrees_dir,
)
from agent.workers.worktrees import worktrees_base


class AskedFor:
    def __init__(self) -> None:
        self.dirs: list[Path] = []
        self.models: set[ModelRef | None] = set()

    async def warm(self, directory: Path, model: ModelRef | None = None) -> None:
        self.dirs.append(directory)
        self.models.add(model)


def test_every_worker_dir_is_warmed_with_the_warm_up_model_checked_out_or_not(tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    config = BuildConfig(project_dir=project, model="scripted/m", workers=3)
    worktrees_dir(config)
    base = worktrees_base(project)
    (base / "w2" / ".git").write_text("gitdir: elsewhere\n")  # a checkout: same project, warmed too
    client = AskedFor()
    asyncio.run(warm_worker_dirs(client, config, WARMUP_MODEL))  # type: ignore[arg-type]
    assert sorted(client.dirs) == [base / "w1", base / "w2", base / "w3"]
    assert client.models == {WARMUP_MODEL}


def test_a_serial_build_asks_for_nothing(tmp_path: Path) -> None:
    client = AskedFor()
    asyncio.run(warm_worker_dirs(client, BuildConfig(project_dir=tmp_path, model="scripted/m"),  # type: ignore[arg-type]
                                 WARMUP_MODEL))
    assert client.dirs == []


def _options(**extra: str) -> ServerOptions:
    return ServerOptions(model="openai/gpt-5", **extra)


def test_the_warm_up_model_runs_only_for_workers_on_a_server_autocode_starts(tmp_path: Path) -> None:
    workers = BuildConfig(project_dir=tmp_path, model="openai/gpt-5", workers=2)
    with warmup_model(BuildConfig(project_dir=tmp_path, model="openai/gpt-5"), _options()) as url:
        assert url is None
    with warmup_model(workers, _options(server_url="http://127.0.0.1:4096")) as url:
        assert url is None  # an attached server's config is not autocode's to extend
    tool = {"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}
    with warmup_model(workers, _options()) as url:
        assert url is not None

        def ask(*messages: dict[str, object]) -> dict[str, Any]:  # as OpenCode asks: tools offered
            reply: dict[str, Any] = httpx.post(f"{url}/chat/completions", json={
                "model": "warmup", "messages": list(messages), "tools": [tool]}, timeout=10).json()
            return reply

        warm = {"role": "user", "content": WARMUP_PROMPT}
        first = ask(warm)
        call = first["choices"][0]["message"]["tool_calls"][0]
        done = ask(warm, {"role": "assistant", "content": None, "tool_calls": [call]},
                   {"role": "tool", "tool_call_id": call["id"], "content": "/w1"})
        other = ask({"role": "user", "content": "Implement feature 1"})
    assert (call["function"]["name"], json.loads(call["function"]["arguments"])["command"]) == \
        ("bash", WARMUP_COMMAND)
    assert done["choices"][0]["message"]["content"] == "ready"
    assert other["choices"][0]["message"]["content"] == "ready"  # no call for any other prompt
    assert not other["choices"][0]["message"].get("tool_calls")
    for reply in (first, done, other):
        assert reply["usage"]["prompt_tokens"] == reply["usage"]["completion_tokens"] == 0


def test_the_warm_up_model_is_free_enabled_and_pinned_to_no_agent() -> None:
    plain = opencode_config(_options())
    config = opencode_config(_options(), warmup_url="http://127.0.0.1:5/v1")
    assert "autocode-warmup" not in json.dumps(plain)
    assert config["enabled_providers"] == ["autocode-warmup", "openai"]
    block = config["provider"]["autocode-warmup"]  # type: ignore[index]
    assert block["options"]["baseURL"] == "http://127.0.0.1:5/v1"
    assert block["models"]["warmup"]["cost"] == {"input": 0.0, "output": 0.0}
    assert config["model"] == "openai/gpt-5"
    assert all(agent["model"] == "openai/gpt-5" for agent in config["agent"].values())  # type: ignore[attr-defined]
