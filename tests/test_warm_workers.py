"""``--workers``: each worker's OpenCode instance is made before its dir becomes a checkout."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent.build import BuildConfig
from agent.runtime import warm_worker_dirs, worktrees_dir
from agent.workers.worktrees import worktrees_base


class AskedFor:
    def __init__(self) -> None:
        self.dirs: list[Path] = []

    async def warm(self, directory: Path) -> None:
        self.dirs.append(directory)


def test_every_empty_worker_dir_gets_its_instance_and_a_checked_out_one_waits(tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    config = BuildConfig(project_dir=project, model="scripted/m", workers=3)
    worktrees_dir(config)
    base = worktrees_base(project)
    (base / "w2" / ".git").write_text("gitdir: elsewhere\n")  # a resumed build's checkout
    client = AskedFor()
    asyncio.run(warm_worker_dirs(client, config))  # type: ignore[arg-type]
    assert sorted(client.dirs) == [base / "w1", base / "w3"]


def test_a_serial_build_asks_for_nothing(tmp_path: Path) -> None:
    client = AskedFor()
    asyncio.run(warm_worker_dirs(client, BuildConfig(project_dir=tmp_path, model="scripted/m")))  # type: ignore[arg-type]
    assert client.dirs == []
