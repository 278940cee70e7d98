"""The few git operations the harness performs itself (init, commit per feature, log), hardened.

The agent writes the project, so everything git reads from it is agent-controlled: hooks, the
repository's config (``core.fsmonitor``, ``include.path``, filter and merge drivers, ``core.worktree``),
``.gitattributes`` that name those drivers, even ``.git`` itself (a symlink or a ``gitdir:`` file).
autocode's own git therefore never executes code from the repository:

- ``.git`` must be a real directory (not a symlink, not a ``gitdir:`` file), and git is pointed at
  it explicitly (``--git-dir``/``--work-tree``), so nothing can redirect it;
- the repository config is compared with the trusted copy autocode keeps outside the work tree
  and restored from it when the agent changed it; ``info/attributes`` is removed;
- every call runs with no system or global config, no inherited ``GIT_*`` variables, hooks
  looked for below ``/dev/null`` (where no file can exist), no automatic maintenance, fsmonitor
  off, no pager, editor, askpass or signing program, every ``filter``/``merge``/``diff`` driver
  command the config defines emptied (and, on git >= 2.40, attributes read from an
  empty tree), and no network protocol.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from agent.errors import AutocodeError

AUTHOR = {"GIT_AUTHOR_NAME": "autocode", "GIT_AUTHOR_EMAIL": "autocode@localhost",
          "GIT_COMMITTER_NAME": "autocode", "GIT_COMMITTER_EMAIL": "autocode@localhost"}
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_SAFE = {
    "core.hooksPath": os.devnull,  # no file can be made below it: no hook can ever be found
    "core.fsmonitor": "false",
    "core.untrackedCache": "false",
    "core.pager": "cat",
    "core.editor": "true",
    "core.askPass": "",
    "core.sshCommand": "false",
    "core.attributesFile": os.devnull,
    "attr.tree": EMPTY_TREE,  # git >= 2.40; older git: the driver commands are emptied instead
    "diff.external": "",
    "credential.helper": "",
    "commit.gpgSign": "false",
    "tag.gpgSign": "false",
    "gpg.program": "false",
    "protocol.allow": "never",
    "safe.directory": "*",
    "maintenance.auto": "false",  # no `git maintenance run --auto` spawned after each commit/merge
    "gc.auto": "0",
}


class UntrustedRepository(AutocodeError):
    """The project's ``.git`` is not the plain directory autocode works with."""


def git_env() -> dict[str, str]:
    """The environment of autocode's git: no inherited ``GIT_*``, no user or system config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(AUTHOR)
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_PAGER": "cat",
                "PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true", "GIT_ASKPASS": "",
                "SSH_ASKPASS": "", "GIT_OPTIONAL_LOCKS": "0"})
    return env


_DRIVERS = r"^(filter|merge|diff)\..*\.(clean|smudge|process|driver|command|textconv)$"


_DRIVER_KEYS: dict[tuple[object, ...], list[str]] = {}


def _config_key(git_dir: Path) -> tuple[object, ...] | None:
    """The bytes of every file git reads as this repository's config (a linked worktree's admin
    dir also names its common dir): the key of the driver keys' cache. None, never cached, when
    one of them is not a plain file or the config includes other files (their bytes are not here)."""
    dirs = [git_dir]
    common = git_dir / "commondir"
    if common.exists() or common.is_symlink():
        if not common.is_file():
            return None
        dirs.append(git_dir / common.read_text().strip())
    key: list[object] = [str(git_dir)]
    for folder in dirs:
        for path in (folder / "config", folder / "config.worktree"):
            if not path.exists() and not path.is_symlink():
                key.append(None)
                continue
            if not path.is_file():
                return None
            data = path.read_bytes()
            if b"include" in data.lower():
                return None
            key += [str(path), data]
    return tuple(key)


def _driver_keys(git_dir: Path) -> list[str]:
    """Every filter/merge/diff driver command the repository's config (with includes) defines;
    asked of git once per config content (autocode restores the same config before each call)."""
    key = _config_key(git_dir)
    if key is not None and key in _DRIVER_KEYS:
        return _DRIVER_KEYS[key]
    keys = _ask_driver_keys(git_dir)
    if key is not None:
        if len(_DRIVER_KEYS) >= 64:  # configs seen in one run: the trusted ones, rarely more
            _DRIVER_KEYS.clear()
        _DRIVER_KEYS[key] = keys
    return keys


def _ask_driver_keys(git_dir: Path) -> list[str]:
    result = subprocess.run(["git", f"--git-dir={git_dir}", "config", "--includes", "--name-only",
                             "--get-regexp", _DRIVERS], capture_output=True, text=True, env=git_env(),
                            timeout=30, stdin=subprocess.DEVNULL)
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def run_git(work_tree: Path, git_dir: Path, *args: str, check: bool = True, timeout: float = 120) -> str:
    """Run ``git ARGS`` on ``work_tree`` with the hardened settings above; stdout."""
    overrides = [item for key, value in _SAFE.items() for item in ("-c", f"{key}={value}")]
    overrides += [item for key in _driver_keys(git_dir) for item in ("-c", f"{key}=")]  # emptied
    cmd = ["git", "--no-pager", *overrides, f"--git-dir={git_dir}", f"--work-tree={work_tree}", *args]
    result = subprocess.run(cmd, cwd=work_tree, capture_output=True, text=True, env=git_env(),
                            timeout=timeout, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise AutocodeError(f"git {' '.join(args)} failed: {result.stderr.strip()[:300]}")
    return result.stdout


def checked_git_dir(repo: Path) -> Path:
    """``repo/.git`` if it is a real directory; refuses a symlink or a ``gitdir:`` file."""
    git_dir = repo / ".git"
    if git_dir.is_symlink() or (git_dir.exists() and not git_dir.is_dir()):
        raise UntrustedRepository(f"{git_dir} is not a plain directory (a symlink or a gitdir file); "
                                  "autocode will not run git on it: restore it by hand")
    return git_dir


class Git:
    """autocode's git on one project; ``trust_dir`` keeps the trusted copy of its config."""

    def __init__(self, repo: Path, trust_dir: Path | None = None) -> None:
        self.repo = repo
        self.trust_dir = trust_dir
        self.restored: list[str] = []  # what was put back, for the build's warnings

    def _run(self, *args: str, check: bool = True) -> str:
        git_dir = checked_git_dir(self.repo)
        self._restore_config(git_dir)
        return run_git(self.repo, git_dir, *args, check=check)

    def _trusted(self) -> Path | None:
        return self.trust_dir / "git-config.trusted" if self.trust_dir is not None else None

    def _remember_config(self) -> None:
        trusted = self._trusted()
        config = self.repo / ".git" / "config"
        if trusted is not None and config.is_file() and not trusted.exists():
            trusted.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(config, trusted)

    def _restore_config(self, git_dir: Path) -> None:
        """Put back the trusted config (and drop info/attributes) if the agent changed them."""
        trusted = self._trusted()
        config = git_dir / "config"
        if trusted is not None and trusted.is_file():
            wanted = trusted.read_bytes()
            if config.is_symlink() or not config.is_file() or config.read_bytes() != wanted:
                config.unlink(missing_ok=True)
                config.write_bytes(wanted)
                self.restored.append(".git/config")
        attributes = git_dir / "info" / "attributes"
        if attributes.exists() or attributes.is_symlink():
            attributes.unlink()
            self.restored.append(".git/info/attributes")

    def restore(self) -> None:
        """Put back the trusted config if the agent changed it (before git runs on a worktree)."""
        self._restore_config(checked_git_dir(self.repo))

    def is_repo(self) -> bool:
        return (self.repo / ".git").exists()

    def init(self) -> None:
        if not self.is_repo():
            subprocess.run(["git", "init", "-q", "-b", "main", "--template=", str(self.repo)],
                           capture_output=True, env=git_env(), check=True, timeout=60)
        self._remember_config()

    def ignore(self, entry: str) -> None:
        path = self.repo / ".gitignore"
        lines = path.read_text().splitlines() if path.exists() else []
        if entry not in lines:
            path.write_text("\n".join([*lines, entry]) + "\n")

    def dirty(self) -> bool:
        return bool(self._run("status", "--porcelain").strip())

    def commit_all(self, message: str, allow_empty: bool = False) -> bool:
        """Stage everything and commit; False if there was nothing to commit."""
        self._run("add", "-A")
        if not allow_empty and not self._run("status", "--porcelain").strip():
            return False
        args = ["commit", "-q", "--no-verify", "-m", message]
        if allow_empty:
            args.append("--allow-empty")
        self._run(*args)
        return True

    def log(self, n: int = 5) -> list[str]:
        if not self.is_repo():
            return []
        out = self._run("log", f"-{n}", "--format=%h %s", check=False)
        return [line for line in out.splitlines() if line.strip()]

    def show(self, path: str, rev: str = "HEAD") -> str | None:
        """``path`` as committed in ``rev``; None if it is not there."""
        if not self.is_repo():
            return None
        try:
            return self._run("show", f"{rev}:{path}")
        except AutocodeError:
            return None

    def changed(self) -> list[str]:
        """The paths that differ from HEAD in the tree (untracked included, ignored files not)."""
        if not self.is_repo():
            return []
        out = self._run("status", "--porcelain", "-z", "--untracked-files=all", check=False)
        entries, paths = out.split("\0"), []
        while entries:
            entry = entries.pop(0)
            if len(entry) > 3:
                paths.append(entry[3:])
                if entry[0] in "RC" and entries:  # a rename: the source path follows
                    paths.append(entries.pop(0))
        return sorted(set(paths))
