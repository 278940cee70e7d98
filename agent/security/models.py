"""The data the security policy works with: its config, its context and its verdict."""

from __future__ import annotations

import os
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_DEV_SERVER_NAMES: tuple[str, ...] = (
    "node", "nodemon", "npm", "npx", "yarn", "pnpm", "bun", "deno", "vite", "next",
    "next-server", "webpack", "tsx", "ts-node", "http-server", "serve", "python", "python3",
    "uvicorn", "gunicorn", "hypercorn", "flask", "django", "celery", "rails", "puma", "php",
)  # fmt: skip
"""Process names `pkill`/`killall` may target by default: the usual dev servers."""

InlineCode = Literal["project", "never", "always"]


class SecurityConfig(BaseModel):
    """The `[security]` table of autocode.toml, merged over these defaults."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    allow: list[str] = Field(default_factory=list)
    """Extra command names to allow (plain allow: existing validators still apply)."""

    deny: list[str] = Field(default_factory=list)
    """Command names to deny; wins over `allow` and over the built-in allowlist."""

    allow_network: bool = False
    """Allow curl/wget to any host and ssh/scp/rsync/nc (never piped into a shell)."""

    allow_git_push: bool = False
    """Allow `git push`."""

    inline_code: InlineCode = "project"
    """`python -c`/`node -e` code: "project" (only when run inside the project), "never", "always"."""

    dev_server_names: list[str] = Field(default_factory=lambda: list(DEFAULT_DEV_SERVER_NAMES))
    """Process names `pkill`/`killall` may target."""


@dataclass
class DecisionMemo:
    """What one decision has already resolved: credential roots per home, real paths."""

    roots: dict[Path, list[tuple[str, Path]]] = field(default_factory=dict)
    real: dict[str, Path] = field(default_factory=dict)
    reads: dict[tuple[object, ...], Decision | None] = field(default_factory=dict)
    writes: dict[tuple[object, ...], Decision | None] = field(default_factory=dict)
    verdicts: dict[tuple[bool, str, str], Decision] = field(default_factory=dict)
    places: dict[tuple[Path, tuple[object, ...]], Path | None] = field(default_factory=dict)  # cd histories
    links: dict[str, bool] = field(default_factory=dict)  # is this path a symlink


DECISION_CACHE: ContextVar[DecisionMemo | None] = ContextVar("autocode_policy_memo", default=None)
"""Per-decision memo (``decide`` sets a fresh one and resets it after): one decision resolves each
path once, and a link changed later is seen by the next decision."""



class PolicyContext(BaseModel):
    """Where a command runs: the project, the working directory, the home and started pids."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    project_dir: Path
    """The project root (made absolute and resolved)."""

    cwd: Path | None = None
    """Working directory of the command; defaults to `project_dir`."""

    home: Path | None = None
    """The real home directory, for `~` expansion; defaults to `Path.home()`."""

    private_tmp: bool = False
    """Commands run in autocode's command sandbox, whose /tmp is private to the build: writes
    below /tmp are allowed (set by the runtime only while that sandbox is in force)."""

    started_pids: frozenset[int] = frozenset()
    """Pids started for the project: `kill` may target these."""

    config: SecurityConfig = Field(default_factory=SecurityConfig)
    """The effective security config."""

    @field_validator("project_dir")
    @classmethod
    def _resolve_project(cls, value: Path) -> Path:
        return Path(os.path.realpath(value.expanduser()))

    @property
    def effective_cwd(self) -> Path:
        """The directory relative paths are resolved against."""
        if self.cwd is None:
            return self.project_dir
        return _resolved(self.project_dir / self.cwd.expanduser())

    @property
    def effective_home(self) -> Path:
        """The directory `~` stands for."""
        return _resolved(self.home if self.home is not None else Path.home())


def _resolved(path: Path) -> Path:
    """``os.path.realpath``, once per decision (a decision asks for the home per word)."""
    memo = DECISION_CACHE.get()
    key = str(path)
    if memo is not None and key in memo.real:
        return memo.real[key]
    found = Path(os.path.realpath(path))
    if memo is not None:
        memo.real[key] = found
    return found


class Decision(BaseModel):
    """The verdict on one permission request."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    allowed: bool
    """Whether the request is allowed."""

    reason: str
    """A sentence the agent reads, e.g. "`sudo` is not allowed: no privilege escalation"."""

    rule: str
    """Short machine id of the rule that decided, e.g. "deny.sudo" or "path.outside"."""
