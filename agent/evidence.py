"""Protected tests: the project's test inventory at each acceptance, and what a session removed.

At every acceptance autocode records the test files (and the test-configuration files that decide
what runs: ``conftest.py``, ``pytest.ini``, ``package.json``, ``init.sh``, ...) with content hashes
in ``.autocode/tests.json``. A later session that deletes or empties one of them is refused and
the file is restored from the last accepted commit; an edit that keeps the file is recorded.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from agent.state import atomic_write

TEST_PATTERNS = ("test_*.py", "*_test.py", "*.test.js", "*.test.mjs", "*.test.cjs", "*.test.ts",
                 "*.spec.js", "*.spec.ts", "*_test.go", "*_test.rs", "*Test.java", "*_spec.rb")
CONFIG_NAMES = ("conftest.py", "pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini", "package.json",
                "init.sh", "sitecustomize.py", "usercustomize.py")
CONFIG_PATTERNS = ("jest.config.*", "vitest.config.*", ".mocharc*")
SKIP_DIRS = {".git", ".autocode", "node_modules", ".venv", "venv", "__pycache__", ".pytest_cache",
             "dist", "build", "target"}
INVENTORY_FILE = "tests.json"


class Inventory(BaseModel):
    """Protected files (project-relative path -> sha256 and size) at the last acceptance."""

    files: dict[str, tuple[str, int]] = Field(default_factory=dict)


class Tampering(BaseModel):
    """What a session did to protected files: removals and emptyings are refused, edits recorded."""

    deleted: list[str] = Field(default_factory=list)
    emptied: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    added: list[str] = Field(default_factory=list)

    @property
    def refused(self) -> list[str]:
        return sorted(self.deleted + self.emptied)

    def message(self) -> str:
        parts = [f"deleted: {', '.join(self.deleted)}" if self.deleted else "",
                 f"emptied: {', '.join(self.emptied)}" if self.emptied else ""]
        return ("refused: protected tests of accepted features were "
                + "; ".join(p for p in parts if p)
                + ". Tests are the evidence that accepted features still work; they were restored "
                  "from the last accepted commit. Make the code pass them instead.")


def is_test_file(relative: str) -> bool:
    """A test file proper (not a configuration file that decides what the tests run)."""
    name = relative.rsplit("/", 1)[-1]
    return is_protected(relative) and name not in CONFIG_NAMES and not any(
        fnmatch.fnmatch(name, p) for p in CONFIG_PATTERNS)


def is_test_config(relative: str) -> bool:
    return is_protected(relative) and not is_test_file(relative)


def is_protected(relative: str) -> bool:
    name = relative.rsplit("/", 1)[-1]
    if name in CONFIG_NAMES or any(fnmatch.fnmatch(name, p) for p in CONFIG_PATTERNS):
        return True
    if any(fnmatch.fnmatch(name, p) for p in TEST_PATTERNS):
        return True
    parts = relative.split("/")
    return len(parts) > 1 and parts[0] in {"tests", "test", "__tests__", "spec"} and name.endswith(
        (".py", ".js", ".mjs", ".cjs", ".ts", ".go", ".rb"))


def scan(project: Path) -> Inventory:
    """The protected files in ``project`` now (symlinks are not followed)."""
    files: dict[str, tuple[str, int]] = {}
    stack = [project]
    while stack:
        folder = stack.pop()
        for entry in sorted(folder.iterdir()):
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if entry.name not in SKIP_DIRS:
                    stack.append(entry)
                continue
            relative = entry.relative_to(project).as_posix()
            if entry.is_file() and is_protected(relative):
                data = entry.read_bytes()
                files[relative] = (hashlib.sha256(data).hexdigest(), len(data.strip()))
    return Inventory(files=files)


def diff(old: Inventory, new: Inventory) -> Tampering:
    """Compare the accepted inventory with the tree a session left."""
    result = Tampering()
    for path, (digest, size) in sorted(old.files.items()):
        now = new.files.get(path)
        if now is None:
            result.deleted.append(path)
        elif size > 0 and now[1] == 0:
            result.emptied.append(path)
        elif now[0] != digest:
            result.changed.append(path)
    result.added = sorted(set(new.files) - set(old.files))
    return result


class Evidence:
    """Keeps the inventory in ``state_dir`` and restores refused files with ``show(path)``."""

    def __init__(self, project: Path, state_dir: Path, show: Callable[[str], str | None]) -> None:
        self.project, self.path, self.show = project, state_dir / INVENTORY_FILE, show

    def accepted(self) -> Inventory:
        if not self.path.is_file():
            return Inventory()
        return Inventory.model_validate(json.loads(self.path.read_text(encoding="utf-8")))

    def record(self) -> Inventory:
        inventory = scan(self.project)
        atomic_write(self.path, inventory.model_dump_json(indent=1))
        return inventory

    def inspect(self) -> Tampering:
        return diff(self.accepted(), scan(self.project))

    @property
    def stash(self) -> Path:
        return self.path.parent / "agent-tests-stash"

    def swap_in_accepted(self, paths: list[str]) -> None:
        """Keep the agent's versions of ``paths`` in the stash (first, durably), then put the
        accepted versions in place. :meth:`swap_back` undoes it; a crash in between is undone
        by :meth:`swap_back` on resume, so the agent's work is never lost."""
        for relative in paths:
            source = self.project / relative
            if source.is_file() and not source.is_symlink():
                atomic_write(self.stash / relative, source.read_text(encoding="utf-8", errors="replace"))
        self.restore(paths, remove_new=True)

    def swap_back(self) -> list[str]:
        """Put the agent's stashed versions back; the paths put back."""
        if not self.stash.is_dir():
            return []
        back = []
        for stashed in sorted(p for p in self.stash.rglob("*") if p.is_file()):
            relative = stashed.relative_to(self.stash).as_posix()
            atomic_write(self.project / relative, stashed.read_text(encoding="utf-8"))
            back.append(relative)
        shutil.rmtree(self.stash, ignore_errors=True)
        return back

    def drop_stash(self) -> None:
        shutil.rmtree(self.stash, ignore_errors=True)

    def restore(self, paths: list[str], remove_new: bool = False) -> list[str]:
        """Put back each path as in the last accepted commit (with ``remove_new``, a path that was
        not there is removed); the paths restored."""
        restored = []
        for relative in paths:
            text = self.show(relative)
            if text is None:
                if remove_new and (self.project / relative).is_file():
                    (self.project / relative).unlink()
                    restored.append(relative)
                continue
            target = self.project / relative
            if target.is_symlink():
                target.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, text)
            restored.append(relative)
        return restored
