"""An OS sandbox around the OpenCode server (the commands it runs have their own: ``contain.py``).

The security policy can only judge what it can parse, and allowed interpreters run arbitrary code.
Under bubblewrap the root filesystem is read-only; only the project, the server's isolated state
dirs and a private ``/tmp`` are writable; the user's real home is replaced by an empty tmpfs (the
OpenCode binary and autocode's Python stay visible read-only); the network is left on (the model
provider must be reachable). Paths are the same inside and out, so OpenCode's ``directory`` and
autocode's paths agree. The sandbox dies with autocode (``--die-with-parent``, own pid namespace).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal

from agent.errors import SetupError

SandboxMode = Literal["auto", "bwrap", "none"]


@functools.cache
def bwrap_works() -> bool:
    """True when ``bwrap`` is installed and can create a sandbox here (user namespaces)."""
    binary = shutil.which("bwrap")
    if binary is None:
        return False
    try:
        probe = subprocess.run([binary, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                                "--unshare-pid", "--die-with-parent", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def resolve_mode(mode: SandboxMode) -> Literal["bwrap", "none"]:
    if mode == "none":
        return "none"
    if bwrap_works():
        return "bwrap"
    if mode == "bwrap":
        raise SetupError("--sandbox bwrap: bubblewrap is missing or cannot create namespaces here "
                         "(apt-get install bubblewrap)")
    return "none"


def bwrap_command(writable: list[Path], readable: list[Path], home: Path, cwd: Path) -> list[str]:
    """The bwrap prefix: read-only root, empty real home, the given dirs writable/readable.

    ``/tmp`` is a private tmpfs unless a writable dir lives under it: then the real ``/tmp`` stays
    visible read-only (``TMPDIR`` points at a private dir, see :func:`sandbox_env`). A fresh tmpfs
    would show such a project as a bare path under an otherwise empty ``/tmp``, and anything that
    cleans ``/tmp`` (``rm -rf /tmp/*``, pytest pruning "stale" basetemp dirs whose lock files it
    can no longer see) would delete the project's real files through the writable bind.
    """
    tmp = Path("/tmp").resolve()
    under_tmp = any(p.resolve() == tmp or tmp in p.resolve().parents for p in writable)
    cmd = [shutil.which("bwrap") or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    if not under_tmp:
        cmd += ["--tmpfs", "/tmp"]
    cmd += ["--tmpfs", str(home)]
    for path in _unique(readable):
        cmd += ["--ro-bind", str(path), str(path)]
    for path in _unique(writable):
        cmd += ["--bind", str(path), str(path)]
    return [*cmd, "--unshare-pid", "--die-with-parent", "--new-session", "--chdir", str(cwd), "--"]


def _unique(paths: list[Path]) -> list[Path]:
    seen: list[Path] = []
    for path in (p.resolve() for p in paths):
        if path not in seen:
            seen.append(path)
    return sorted(seen, key=lambda p: len(p.parts))  # parents before children


def interpreter_dirs() -> list[Path]:
    """autocode's own Python, readable inside a sandbox: the venv, its base install, and the dir of
    every link on the way from ``sys.executable`` to the real binary (a venv whose ``python`` links
    through a dir under the hidden home, e.g. a pyenv or uv install pointing elsewhere, still runs)."""
    dirs = [Path(sys.prefix), Path(sys.base_prefix)]
    path, seen = Path(sys.executable).absolute(), set[Path]()
    while path not in seen and len(seen) < 40:  # a link loop cannot hang us
        seen.add(path)
        dirs.append(path.parent)
        if not path.is_symlink():
            break
        path = (path.parent / path.readlink()).absolute()
    unique = dict.fromkeys(d for d in dirs if d.exists())
    return list(unique)


def server_wrap(mode: SandboxMode, project: Path, state_dir: Path, opencode_bin: Path,
                also_readable: list[Path] | None = None, also_writable: list[Path] | None = None) -> list[str]:
    """The command prefix for ``opencode serve`` in ``mode`` (empty for none). The project and
    ``state_dir`` must exist when the server starts (``OpenCodeServer.start`` creates the latter);
    ``also_readable`` adds read-only dirs (the command sandbox's runtime dir: its SHELL, socket),
    ``also_writable`` writable ones (the workers' worktrees)."""
    if resolve_mode(mode) == "none":
        return []
    tools = opencode_bin.resolve().parent
    readable = [*interpreter_dirs(), *(p for p in (_package_root(tools), *(also_readable or [])) if p.exists())]
    return bwrap_command([project, state_dir, *(also_writable or [])], readable, Path.home(), project)


def sandbox_env(state_dir: Path) -> dict[str, str]:
    """Environment for a sandboxed server: a private, writable TMPDIR inside its state dir."""
    return {"TMPDIR": str(state_dir / "tmp")}


def _package_root(bin_dir: Path) -> Path:
    """The ``node_modules`` tree holding the binary (its wrapper script needs its siblings)."""
    for parent in bin_dir.parents:
        if parent.name == "node_modules":
            return parent.parent
    return bin_dir
