"""One git worktree and branch per worker, plus the integration tree the merge queue uses.

Where they live: ``user_state_dir(project)/worktrees/`` (outside the project, so the user never
sees or cleans them; autocode removes them when the build completes and cuts them fresh from main
on every claim, so a ``kill -9`` leaves nothing that a resume does not reset). The server's sandbox
binds that directory writable; each worker's commands run in a sandbox of their own where only
that worker's tree is writable and its siblings, the integration tree and main's checkout are out
of sight (see ``runtime.py``; a tree's directory is therefore never replaced, only emptied). The
security policy is rooted at the worktree of the session (sessions carry their ``directory``).

Every git call is autocode's hardened git (``agent.git.run_git``) pointed explicitly at the
worktree's admin dir inside the main repository's ``.git`` (read-only in the sandbox): the
worktree's own ``.git`` file is agent-writable and never trusted.
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

from agent.errors import AutocodeError
from agent.git import Git, checked_git_dir, run_git
from agent.state import user_state_dir

BRANCH_PREFIX = "autocode/"
MERGE_NAME = "merge"


def _empty(path: Path) -> None:
    """Remove everything in ``path`` but keep the directory (git adds a worktree to an empty one)."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        for child in path.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


def worktrees_base(project: Path) -> Path:
    """Where a project's worker trees live (outside the project, in autocode's per-user state)."""
    return user_state_dir(project) / "worktrees"


def worker_dirs(project: Path, workers: int) -> list[Path]:
    """The tree of each worker, ``w1`` … ``wN`` under :func:`worktrees_base`."""
    return [worktrees_base(project) / f"w{worker}" for worker in range(1, workers + 1)]


def integration_base(project: Path) -> Path:
    """Where the merge queue's integration tree lives (``tree`` inside it): apart from the worker
    trees, so the agents' sandbox cannot write it while a worker's work is being verified there."""
    return user_state_dir(project) / "integration"


class TreeGit(Git):
    """Hardened git on one linked worktree (its admin dir given, never read from the tree)."""

    def __init__(self, tree: Path, admin: Path, trust: Git) -> None:
        super().__init__(tree)
        self.tree, self.admin, self.trust = tree, admin, trust

    def _run(self, *args: str, check: bool = True) -> str:
        self.trust.restore()  # the shared config, put back if the agent changed it
        return run_git(self.tree, self.admin, *args, check=check)

    def run(self, *args: str, check: bool = True) -> str:
        return self._run(*args, check=check)

    def is_repo(self) -> bool:
        return True

    def reset_to(self, rev: str) -> None:
        """The tree exactly at ``rev``: tracked files reset, untracked ones removed (ignored kept)."""
        self.run("reset", "-q", "--hard", rev)
        self.run("clean", "-q", "-fd")

    def head(self) -> str:
        return self.run("rev-parse", "HEAD").strip()


class Worktrees:
    """The worker trees of one project (``base/w1`` …) and its integration tree (``integration/tree``)."""

    def __init__(self, project: Path, base: Path, trust: Git, integration: Path) -> None:
        self.project, self.base, self.trust, self.integration = project, base, trust, integration
        self._main: str | None = None
        # workers call in from threads: one git command on main's repository at a time (a
        # ``worktree prune`` beside another worker's ``worktree add`` removed its half-made admin dir)
        self._lock = threading.RLock()

    @property
    def main(self) -> str:
        """The branch checked out in the project (``main`` when autocode made the repository)."""
        if self._main is None:
            self._main = self.main_git("symbolic-ref", "--short", "HEAD").strip()
        return self._main

    def main_git(self, *args: str, check: bool = True) -> str:
        with self._lock:
            self.trust.restore()
            return run_git(self.project, checked_git_dir(self.project), *args, check=check)

    def main_head(self) -> str:
        return self.main_git("rev-parse", self.main).strip()

    def path(self, name: str) -> Path:
        return self.integration / "tree" if name == MERGE_NAME else self.base / name

    def tree(self, name: str) -> TreeGit:
        """The worktree ``name`` reset to main (created, or re-registered after a crash)."""
        path = self.path(name)
        with self._lock:
            admin = self._created(name, path)
        git = TreeGit(path, admin, self.trust)
        git.reset_to(self.main)
        return git

    def _created(self, name: str, path: Path) -> Path:
        """The admin dir of worktree ``name``, made first if missing (under the lock)."""
        admin = self._admin(path)
        if admin is None:
            self.main_git("worktree", "prune")
            _empty(path)  # the dir itself stays: the worker's command sandbox has it bound
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            branch = ["--detach"] if name == MERGE_NAME else ["-B", BRANCH_PREFIX + name]
            self.main_git("worktree", "add", "-q", "-f", *branch, str(path), self.main)
            admin = self._admin(path)
            if admin is None:
                raise AutocodeError(f"git worktree add {path} left no admin dir in .git/worktrees")
        return admin

    def _admin(self, path: Path) -> Path | None:
        """The admin dir in ``.git/worktrees`` whose ``gitdir`` names ``path`` (from the main repo,
        never from the tree's own ``.git`` file)."""
        root = checked_git_dir(self.project) / "worktrees"
        wanted = str(path / ".git")
        for admin in sorted(root.iterdir()) if root.is_dir() else []:
            gitdir = admin / "gitdir"
            if gitdir.is_file() and not gitdir.is_symlink() and gitdir.read_text().strip() == wanted \
                    and (path / ".git").is_file():
                return admin
        return None

    def remove_all(self) -> None:
        """Remove every tree and worker branch (the build completed)."""
        for path in (self.base, self.integration):
            if path.exists():
                shutil.rmtree(path)
        self.main_git("worktree", "prune")
        branches = self.main_git("for-each-ref", "--format=%(refname:short)", f"refs/heads/{BRANCH_PREFIX}")
        for branch in [b for b in branches.split() if re.fullmatch(BRANCH_PREFIX + r"w\d+", b)]:
            self.main_git("branch", "-q", "-D", branch)
