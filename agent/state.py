"""Everything autocode records about a build, under ``PROJECT/.autocode/``.

    .autocode/
      state.json            BuildState, written atomically (temp file + fsync + rename)
      features.json         the validated feature list with the harness' verdicts (baseline)
      progress.jsonl        append-only: one line per session (feature, verdict, cost, duration)
      cost.jsonl            append-only cost ledger (see cost.py)
      denied.jsonl          append-only: every command/path the security policy refused
      sessions/ID.jsonl     each session's transcript (prompt, tool calls, results, costs)
      prompts/              user overrides of the prompt templates (autocode prompts export)
      (the supervised server's isolated HOME, its log and any copied auth.json live outside the
      project, in ``user_state_dir(project)``: $AUTOCODE_STATE_HOME or $XDG_STATE_HOME/autocode,
      default ~/.local/state/autocode, then projects/<slug>-<hash of the path>/, mode 0700)
      lock                  flock held by the running build

A crash can leave at most a torn last line in the append-only logs; readers skip it. A corrupt
``state.json`` is moved aside and rebuilt from the feature list and the progress log.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError

from agent.errors import LockedError, UsageError
from agent.features import FEATURE_FILE, Feature, dump_features, parse_features

if TYPE_CHECKING:
    from agent.ports import Clock

STATE_VERSION = 1


class Current(BaseModel):
    """The session in flight (set before it starts, cleared after it is recorded)."""

    feature: int | None
    session_id: str = ""
    started: float = 0.0
    directory: str = ""  # where it ran (a worker's worktree); empty: the project


class BuildState(BaseModel):
    version: int = STATE_VERSION
    model: str = ""
    initialized: bool = False
    passing: list[int] = Field(default_factory=list)
    sessions: int = 0
    attempts: dict[int, int] = Field(default_factory=dict)
    skipped: list[int] = Field(default_factory=list)
    last_failure: dict[int, str] = Field(default_factory=dict)
    current: Current | None = None
    in_flight: dict[int, Current] = Field(default_factory=dict)  # --workers: worker -> its session
    interrupted_sessions: int = 0
    elapsed_s: float = 0.0
    started_at: float = 0.0
    stop_reason: str | None = None
    stop_message: str = ""
    test_cmd: str | None = None
    sandbox: str = ""
    priced: bool = True  # False: the model has no prices, its cost counts as $0 (not the real cost)
    warnings: list[str] = Field(default_factory=list)


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` so that ``path`` is always either the old or the new content, never torn."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def append_jsonl(path: Path, record: dict[str, Any], durable: bool = True) -> None:
    """Append one JSON line; ``durable`` fsyncs it (records that must survive a power cut)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        fh.flush()
        if durable:
            os.fsync(fh.fileno())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            item = json.loads(line)
            if isinstance(item, dict):
                records.append(item)
    return records


def user_state_dir(project_dir: Path, *, create: bool = True) -> Path:
    """Where autocode keeps a project's private state (never under the project): 0700, created
    here unless ``create`` is False (read-only commands like ``doctor`` only name it)."""
    root_env = os.environ.get("AUTOCODE_STATE_HOME")
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    root = Path(root_env) if root_env else Path(xdg) / "autocode"
    absolute = project_dir.resolve()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", absolute.name).strip("-.")[:40] or "project"
    path = root / "projects" / f"{slug}-{hashlib.sha256(str(absolute).encode()).hexdigest()[:16]}"
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)
    return path


class StateStore:
    """The ``.autocode/`` directory of one project."""

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir
        self.root = project_dir / ".autocode"
        self.state_path = self.root / "state.json"
        self.baseline_path = self.root / "features.json"
        self.progress_path = self.root / "progress.jsonl"
        self.cost_path = self.root / "cost.jsonl"
        self.denied_path = self.root / "denied.jsonl"
        self.sessions_dir = self.root / "sessions"
        self.prompts_dir = self.root / "prompts"
        self.old_server_dir = self.root / "opencode"
        self._lock_fd: int | None = None

    @property
    def server_dir(self) -> Path:
        """The supervised server's isolated HOME/XDG dirs and log, outside the project (0700)."""
        path = user_state_dir(self.project_dir) / "opencode"
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def migrate_server_dir(self) -> bool:
        """Move an old ``PROJECT/.autocode/opencode`` (with its auth.json copy) out of the project."""
        old = self.old_server_dir
        if not (old.exists() or old.is_symlink()):
            return False
        for auth in old.glob("home/.local/share/opencode/auth.json"):
            auth.unlink()
        target = self.server_dir
        if old.is_symlink() or any(target.iterdir()):
            old.unlink() if old.is_symlink() else shutil.rmtree(old, ignore_errors=True)
        else:
            target.rmdir()
            shutil.move(str(old), str(target))
            target.chmod(0o700)
        return True

    def ensure(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise UsageError(f"project directory {self.project_dir} is not writable "
                             f"({exc.strerror}); choose another --project-dir") from None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the project lock (released by the kernel even on kill -9)."""
        self.ensure()
        fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise LockedError(f"another autocode build is running on {self.project_dir} "
                              f"(pid {holder}); wait for it or stop it first") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd
        try:
            yield
        finally:
            self._lock_fd = None
            os.close(fd)

    # ---- state ------------------------------------------------------------------------------

    def load(self) -> BuildState:
        if not self.state_path.exists():
            return BuildState(started_at=time.time())
        try:
            return BuildState.model_validate_json(self.state_path.read_bytes())
        except (ValidationError, ValueError, OSError):
            return self._rebuild()

    def save(self, state: BuildState) -> None:
        atomic_write(self.state_path, state.model_dump_json(indent=2) + "\n")

    def _rebuild(self) -> BuildState:
        """Move a corrupt state file aside and rebuild it from what else was recorded."""
        aside = self.state_path.with_name(f"state.json.corrupt-{int(time.time())}")
        os.replace(self.state_path, aside)
        state = BuildState(started_at=time.time())
        baseline = self.load_baseline()
        if baseline is not None:
            state.initialized = True
            state.passing = [i for i, f in enumerate(baseline) if f.passes]
        state.sessions = sum(1 for r in read_jsonl(self.progress_path) if r.get("kind") == "session")
        state.warnings.append(f"state.json was corrupt: moved to {aside.name} and rebuilt")
        self.save(state)
        return state

    # ---- feature baseline -------------------------------------------------------------------

    def load_baseline(self) -> list[Feature] | None:
        for path in (self.baseline_path, self.project_dir / FEATURE_FILE):
            if path.exists():
                with contextlib.suppress(Exception):
                    return parse_features(path.read_text(encoding="utf-8"))
        return None

    def save_baseline(self, features: list[Feature]) -> str:
        """Write the baseline; returns the text written (the project's copy is the same text)."""
        text = dump_features(features)
        atomic_write(self.baseline_path, text)
        return text

    # ---- logs -------------------------------------------------------------------------------

    def record_progress(self, record: dict[str, Any]) -> None:
        append_jsonl(self.progress_path, {"time": time.time(), **record})

    def progress(self) -> list[dict[str, Any]]:
        return read_jsonl(self.progress_path)

    def record_denied(self, record: dict[str, Any]) -> None:
        append_jsonl(self.denied_path, {"time": time.time(), **record})

    def denied(self) -> list[dict[str, Any]]:
        return read_jsonl(self.denied_path)


class StateSaver:
    """Saves the state with the time spent so far (a killed run keeps all but the last stretch)."""

    def __init__(self, store: StateStore, clock: Clock) -> None:
        self.store, self.clock = store, clock
        self._mark = 0.0  # clock.monotonic() when the elapsed time was last saved

    def start(self) -> None:
        self._mark = self.clock.monotonic()

    def save(self, state: BuildState) -> None:
        now = self.clock.monotonic()
        state.elapsed_s = round(state.elapsed_s + now - self._mark, 3)
        self._mark = now
        self.store.save(state)
