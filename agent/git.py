"""The few git operations the harness performs itself (init, commit per feature, log)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from agent.errors import AutocodeError

AUTHOR = {"GIT_AUTHOR_NAME": "autocode", "GIT_AUTHOR_EMAIL": "autocode@localhost",
          "GIT_COMMITTER_NAME": "autocode", "GIT_COMMITTER_EMAIL": "autocode@localhost"}


class Git:
    def __init__(self, repo: Path) -> None:
        self.repo = repo

    def _run(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(["git", *args], cwd=self.repo, capture_output=True, text=True,
                                env={**os.environ, **AUTHOR}, timeout=120)
        if check and result.returncode != 0:
            raise AutocodeError(f"git {' '.join(args)} failed: {result.stderr.strip()[:300]}")
        return result.stdout

    def is_repo(self) -> bool:
        return (self.repo / ".git").exists()

    def init(self) -> None:
        if not self.is_repo():
            self._run("init", "-q", "-b", "main")

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
