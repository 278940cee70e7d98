"""autocode's own git never runs code planted in the repository, by any route (a marker file tells)."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.git import Git, UntrustedRepository

MARK = "PLANTED_RAN"


def _payload(marker: Path) -> str:
    return f"#!/bin/sh\ntouch {marker}\n"


def _exec(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _plain_git(repo: Path, *args: str) -> None:
    """The agent's own git (not autocode's): used to plant things as an agent would."""
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    git = Git(project, tmp_path / "trust")
    git.init()
    (project / "app.py").write_text("print(1)\n")
    git.commit_all("initial")
    return project


def _work(repo: Path) -> Git:
    git = Git(repo, repo.parent / "trust")
    (repo / "app.py").write_text("print(2)\n")
    git.commit_all("autocode: feature 1 passes", allow_empty=True)
    git.dirty()
    git.log()
    return git


def _hook(name: str) -> Callable[[Path, Path], None]:
    def plant(repo: Path, marker: Path) -> None:
        _exec(repo / ".git" / "hooks" / name, _payload(marker))
    return plant


def _fsmonitor(repo: Path, marker: Path) -> None:
    _exec(repo / "mon.sh", _payload(marker))
    _plain_git(repo, "config", "core.fsmonitor", str(repo / "mon.sh"))


def _include(repo: Path, marker: Path) -> None:
    _exec(repo / "mon.sh", _payload(marker))
    (repo / "extra.cfg").write_text(f"[core]\n\tfsmonitor = {repo / 'mon.sh'}\n")
    _plain_git(repo, "config", "include.path", str(repo / "extra.cfg"))


def _filter(repo: Path, marker: Path) -> None:
    (repo / ".gitattributes").write_text("*.py filter=evil\n")
    _plain_git(repo, "config", "filter.evil.clean", f"touch {marker}; cat")
    _plain_git(repo, "config", "filter.evil.process", f"touch {marker}")


def _info_attributes(repo: Path, marker: Path) -> None:
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text("* filter=evil\n")
    _plain_git(repo, "config", "filter.evil.clean", f"touch {marker}; cat")


def _hard_link(repo: Path, marker: Path) -> None:
    _exec(repo / "innocent.sh", _payload(marker))
    (repo / ".git" / "hooks").mkdir(exist_ok=True)
    os.link(repo / "innocent.sh", repo / ".git" / "hooks" / "post-commit")


def _template(repo: Path, marker: Path) -> None:
    template = repo / "tpl"
    _exec(template / "hooks" / "pre-commit", _payload(marker))
    _exec(template / "hooks" / "post-commit", _payload(marker))
    _plain_git(repo, "init", "-q", f"--template={template}")


def _tar_transform(repo: Path, marker: Path) -> None:
    _exec(repo / "payload" / "post-commit", _payload(marker))
    subprocess.run(["tar", "cf", str(repo / "p.tar"), "-C", str(repo / "payload"), "post-commit"], check=True)
    subprocess.run(["tar", "xf", str(repo / "p.tar"), "-C", str(repo),
                    "--transform", "s,^,.git/hooks/,"], check=True)
    assert (repo / ".git" / "hooks" / "post-commit").exists()


def _hooks_path(repo: Path, marker: Path) -> None:
    _exec(repo / "myhooks" / "post-commit", _payload(marker))
    _plain_git(repo, "config", "core.hooksPath", str(repo / "myhooks"))


def _pager_and_editor(repo: Path, marker: Path) -> None:
    _plain_git(repo, "config", "core.pager", f"touch {marker}; cat")
    _plain_git(repo, "config", "core.editor", f"touch {marker}")
    _plain_git(repo, "config", "commit.gpgSign", "true")
    _plain_git(repo, "config", "gpg.program", f"touch {marker}")


ROUTES = {"post-commit hook": _hook("post-commit"), "pre-commit hook": _hook("pre-commit"),
          "commit-msg hook": _hook("commit-msg"), "fsmonitor": _fsmonitor, "include.path": _include,
          "filter driver": _filter, "info/attributes": _info_attributes, "hard link": _hard_link,
          "init --template": _template, "tar --transform": _tar_transform, "core.hooksPath": _hooks_path,
          "pager, editor, gpg": _pager_and_editor}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_planted_code_never_runs(route: str, repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / MARK
    ROUTES[route](repo, marker)
    _work(repo)
    assert not marker.exists(), f"{route}: autocode's git ran planted code"
    log = Git(repo, repo.parent / "trust").log(3)
    assert log[0].endswith("autocode: feature 1 passes")


@pytest.mark.parametrize("route", ["fsmonitor", "filter driver", "include.path"])
def test_planted_config_is_neutral_even_without_a_trusted_copy(route: str, repo: Path, tmp_path: Path) -> None:
    """A project autocode did not init (no trusted config): the call-time overrides alone hold."""
    marker = tmp_path / MARK
    ROUTES[route](repo, marker)
    git = Git(repo)  # no trust dir
    (repo / "app.py").write_text("print(3)\n")
    assert git.commit_all("autocode: feature 2 passes")
    assert not marker.exists()


def test_a_changed_config_is_restored_and_reported(repo: Path, tmp_path: Path) -> None:
    _fsmonitor(repo, tmp_path / MARK)
    _plain_git(repo, "config", "core.worktree", str(tmp_path))
    git = _work(repo)
    assert ".git/config" in git.restored
    assert "fsmonitor" not in (repo / ".git" / "config").read_text()
    assert "worktree" not in (repo / ".git" / "config").read_text()


def test_inherited_git_variables_are_ignored(repo: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / MARK
    _exec(repo / "mon.sh", _payload(marker))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", f"'core.fsmonitor={repo / 'mon.sh'}'")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.hooksPath")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", str(repo))
    _exec(repo / "post-commit", _payload(marker))
    _work(repo)
    assert not marker.exists()


def _packs(repo: Path) -> list[Path]:
    return sorted((repo / ".git" / "objects" / "pack").glob("*.pack"))


def test_no_automatic_maintenance_after_autocode_commits(tmp_path: Path) -> None:
    """With three packs and ``gc.autoPackLimit=2``, plain git repacks them into one after a
    commit (the premise); autocode's commit leaves the three: no ``git maintenance``/``gc`` runs."""
    from agent.git import run_git

    for name, commit in (("plain", lambda r: _plain_git(r, "commit", "-qm", "last")),
                         ("autocode", lambda r: run_git(r, r / ".git", "commit", "-qm", "last"))):
        repo = tmp_path / name
        repo.mkdir()
        _plain_git(repo, "init", "-q")
        for key, value in (("gc.autoPackLimit", "2"), ("gc.autoDetach", "false"),
                           ("maintenance.autoDetach", "false"), ("user.name", "t"), ("user.email", "t@t")):
            _plain_git(repo, "config", key, value)
        for i in range(3):
            (repo / f"f{i}.txt").write_text(f"{i}\n")
            _plain_git(repo, "add", "-A")
            _plain_git(repo, "-c", "maintenance.auto=false", "commit", "-qm", f"c{i}")
            _plain_git(repo, "repack", "-q", "-d")
        assert len(_packs(repo)) == 3
        (repo / "last.txt").write_text("last\n")
        _plain_git(repo, "add", "-A")
        commit(repo)
        assert len(_packs(repo)) == (1 if name == "plain" else 3), name


def test_a_symlinked_git_dir_is_refused(repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "evil.git"
    (repo / ".git").rename(elsewhere)
    (repo / ".git").symlink_to(elsewhere)
    with pytest.raises(UntrustedRepository, match="not a plain directory"):
        Git(repo, tmp_path / "trust").commit_all("x")


def test_a_gitdir_file_is_refused(repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "evil.git"
    (repo / ".git").rename(elsewhere)
    (repo / ".git").write_text(f"gitdir: {elsewhere}\n")
    with pytest.raises(UntrustedRepository):
        Git(repo, tmp_path / "trust").dirty()


def test_init_uses_no_template_hooks(tmp_path: Path) -> None:
    project = tmp_path / "fresh"
    project.mkdir()
    Git(project, tmp_path / "trust").init()
    hooks = project / ".git" / "hooks"
    assert not hooks.exists() or not any(hooks.iterdir())
    assert (tmp_path / "trust" / "git-config.trusted").is_file()


def _asks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record each time git itself is asked for the config's driver commands."""
    from agent import git as git_module

    asked: list[Path] = []
    real = git_module._ask_driver_keys

    def counting(git_dir: Path) -> list[str]:
        asked.append(git_dir)
        return real(git_dir)

    monkeypatch.setattr(git_module, "_ask_driver_keys", counting)
    monkeypatch.setattr(git_module, "_DRIVER_KEYS", {})
    return asked


def test_the_driver_commands_are_asked_once_per_config_content(repo: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _asks(monkeypatch)
    git = Git(repo)  # no trusted copy: the planted config stays, so its change must be seen
    git.dirty()
    git.log()
    assert len(asked) == 1
    marker = tmp_path / MARK
    _filter(repo, marker)  # a new driver: the config's bytes changed, so git is asked again
    (repo / "app.py").write_text("print(4)\n")
    assert git.commit_all("autocode: feature 3 passes")
    git.dirty()
    assert len(asked) == 2
    assert not marker.exists()


def test_a_config_with_includes_is_asked_every_time(repo: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The included file's bytes are not in the cache key, so nothing is cached: a driver added to
    the included file (the config itself unchanged) is still emptied."""
    asked = _asks(monkeypatch)
    extra = repo / "extra.cfg"
    extra.write_text("[core]\n\tquotepath = false\n")
    _plain_git(repo, "config", "include.path", str(extra))
    git = Git(repo)
    git.dirty()
    marker = tmp_path / MARK
    (repo / ".gitattributes").write_text("*.py filter=evil\n")
    extra.write_text(f"[filter \"evil\"]\n\tclean = touch {marker}; cat\n")
    (repo / "app.py").write_text("print(5)\n")
    assert git.commit_all("autocode: feature 4 passes")
    assert len(asked) >= 3
    assert not marker.exists()


def test_a_linked_worktree_key_follows_the_common_config(repo: Path, tmp_path: Path) -> None:
    """A linked worktree's admin dir reads the main repository's config too: a driver added there
    changes the worktree's key."""
    from agent.git import _config_key

    _plain_git(repo, "worktree", "add", "-q", "--detach", str(tmp_path / "linked"))
    admin = next((repo / ".git" / "worktrees").iterdir())
    before = _config_key(admin)
    assert before is not None
    _plain_git(repo, "config", "filter.evil.clean", "cat")
    after = _config_key(admin)
    assert after is not None and after != before
