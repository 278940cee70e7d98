"""The server's isolated HOME and auth.json copy live in the user's state dir, never in the project."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agent.state import StateStore, user_state_dir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_dir_is_private_keyed_by_project_and_outside_it(tmp_path: Path, private_state_home: Path) -> None:
    first, second = tmp_path / "a" / "My App!", tmp_path / "b" / "My App!"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    one, two = user_state_dir(first), user_state_dir(second)
    assert one != two and one.parent == two.parent == private_state_home / "projects"
    assert one.name.startswith("My-App-") and mode(one) == 0o700
    assert user_state_dir(first) == one  # stable across calls
    server = StateStore(first).server_dir
    assert mode(server) == 0o700 and first not in server.parents


def test_xdg_state_home_is_the_default_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOCODE_STATE_HOME")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    project = tmp_path / "proj"
    project.mkdir()
    assert user_state_dir(project).parent == tmp_path / "xdg" / "autocode" / "projects"


def test_an_old_server_dir_in_the_project_is_moved_out_without_its_auth(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    store = StateStore(project)
    auth = store.old_server_dir / "home" / ".local" / "share" / "opencode" / "auth.json"
    auth.parent.mkdir(parents=True)
    auth.write_text('{"secret": 1}')
    (store.old_server_dir / "home" / ".local" / "share" / "opencode" / "storage.db").write_text("sessions")
    assert store.migrate_server_dir()
    assert not store.old_server_dir.exists()
    moved = store.server_dir / "home" / ".local" / "share" / "opencode"
    assert (moved / "storage.db").read_text() == "sessions" and not (moved / "auth.json").exists()
    assert mode(store.server_dir) == 0o700
    assert not store.migrate_server_dir()


def test_an_old_server_dir_is_dropped_when_the_new_one_is_in_use(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "proj")
    (store.server_dir / "home").mkdir()
    (store.old_server_dir / "home").mkdir(parents=True)
    assert store.migrate_server_dir()
    assert not store.old_server_dir.exists() and (store.server_dir / "home").is_dir()


def test_the_test_suite_never_uses_the_real_state_home() -> None:
    assert os.environ["AUTOCODE_STATE_HOME"] != str(Path.home() / ".local" / "state" / "autocode")
