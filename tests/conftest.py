"""Fixtures shared by the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.security import PolicyContext


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest tests (``@pytest.mark.slow``: minutes each) first: pytest-xdist hands the first
    half of the list to one worker and the rest to the other, and with ``worksteal`` a long test
    started last leaves the other worker idle to the end. Stable: the rest keep their order."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def private_state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test writes autocode's per-user state (server HOME, auth copy) to the real home."""
    root = tmp_path_factory.mktemp("state-home")
    monkeypatch.setenv("AUTOCODE_STATE_HOME", str(root))
    return root


@pytest.fixture
def ctx(tmp_path: Path) -> PolicyContext:
    project, home, outside = tmp_path / "proj", tmp_path / "home", tmp_path / "outside"
    for directory in (project / "src", project / ".git", home / ".ssh", home / ".aws", outside):
        directory.mkdir(parents=True)
    (project / "init.sh").write_text("#!/bin/sh\n")
    (home / ".ssh" / "id_rsa").write_text("secret")
    (project / "escape").symlink_to(outside)
    return PolicyContext(project_dir=project, home=home, started_pids=frozenset({4242}))
