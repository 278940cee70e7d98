"""``--workers``: before the server starts, the repository's root commit and every worker's tree;
beside the initializer, each worker's OpenCode instance."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import httpx

from agent.build import BuildConfig
from agent.git import Git
from agent.opencode.config import WARMUP_MODEL
from agent.providers import ModelRef
from agent.runtime import (
    ServerOptions,
    opencode_config,
    prepare_workers,
    warm_worker_dirs,
    warmup_model,
    worktrees_dir,
)
from agent.state import StateStore
from agent.workers.worktrees import ROOT_MESSAGE, worker_dirs, worktrees_base
from tests.fakes import RecordingReporter


class AskedFor:
    def __init__(self) -> None:
        self.dirs: list[Path] = []
        self.models: set[ModelRef | None] = set()

    async def warm(self, directory: Path, model: ModelRef | None = None) -> None:
        self.dirs.append(directory)
        self.models.add(model)


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "app"
    project.mkdir()
    (project / "app_spec.txt").write_text("an app\n")
    Git(project).init()  # as run_build does, for every build
    return project


def _prepared(project: Path, workers: int) -> RecordingReporter:
    config = BuildConfig(project_dir=project, model="scripted/m", workers=workers)
    worktrees_dir(config)
    reporter = RecordingReporter()
    prepare_workers(config, StateStore(project), reporter)
    return reporter


def _subjects(project: Path) -> list[str]:
    return [line.split(" ", 1)[1] for line in Git(project).log(10)]


def test_workers_start_from_an_empty_root_commit_with_every_tree_checked_out_at_it(tmp_path: Path) -> None:
    project = _project(tmp_path)
    reporter = _prepared(project, 3)
    assert reporter.events == []
    assert _subjects(project) == [ROOT_MESSAGE]
    files = subprocess.run(["git", "ls-tree", "-r", "--name-only", "HEAD"], cwd=project, capture_output=True,
                           text=True, check=True).stdout
    assert files == ""  # empty: the spec and the rest wait for the initializer's skeleton commit
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True,
                          check=True).stdout.strip()
    for tree in worker_dirs(project, 3):
        assert (tree / ".git").is_file()
        at = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True, text=True,
                            check=True).stdout.strip()
        assert at == head
    assert (project / ".autocode" / "git-config.trusted").is_file()  # trusted before any agent runs


def test_preparing_again_adds_no_commit_and_leaves_a_trees_work_alone(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _prepared(project, 2)
    (project / "feature_list.json").write_text("[]\n")
    Git(project).commit_all("autocode: initial project skeleton and feature list")
    w1 = worker_dirs(project, 2)[0]
    (w1 / "half.py").write_text("in flight\n")  # a resumed build: the claim resets it, not the start
    _prepared(project, 2)
    assert _subjects(project) == ["autocode: initial project skeleton and feature list", ROOT_MESSAGE]
    assert (w1 / "half.py").read_text() == "in flight\n"


def test_a_project_with_history_gets_no_root_commit(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "README.md").write_text("mine\n")
    Git(project).commit_all("the user's first commit")
    _prepared(project, 2)
    assert _subjects(project) == ["the user's first commit"]
    assert all((tree / "README.md").read_text() == "mine\n" for tree in worker_dirs(project, 2))


def test_a_serial_build_gets_neither_a_commit_nor_trees(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _prepared(project, 1)
    assert _subjects(project) == []
    assert not worktrees_base(project).exists()


def test_when_git_fails_the_trees_are_left_to_their_claims_with_a_warning(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / ".git").rename(tmp_path / "elsewhere.git")
    (project / ".git").symlink_to(tmp_path / "elsewhere.git")  # autocode's git refuses to follow it
    reporter = _prepared(project, 2)
    [warning] = reporter.named("warning")
    assert "made at their first claim" in warning["message"]
    assert all(not any(tree.iterdir()) for tree in worker_dirs(project, 2))


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
    with warmup_model(workers, _options()) as url:
        assert url is not None
        tool = {"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}
        reply = httpx.post(f"{url}/chat/completions", json={  # an agent's request: it offers tools
            "model": "warmup", "messages": [{"role": "user", "content": "warm-up"}], "tools": [tool]},
            timeout=10).json()
    assert reply["choices"][0]["message"]["content"] == "ready"
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
