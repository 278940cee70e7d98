"""Finding and installing the pinned OpenCode binary.

The binary comes from the npm package ``opencode-ai`` at :data:`agent.OPENCODE_VERSION`; npm brings
the native executable through the package's optional dependency (no download outside the registry).
It is installed into a versioned tools directory that autocode finds by itself, so no global npm
install is needed. Discovery order: an explicit path, ``$AUTOCODE_OPENCODE_BIN``, the tools
directory, then ``opencode`` on ``PATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from agent import OPENCODE_VERSION
from agent.errors import SetupError


def tools_dir(version: str = OPENCODE_VERSION) -> Path:
    """Where ``autocode setup`` installs OpenCode ``version`` (under the XDG cache home)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("AUTOCODE_TOOLS_DIR", Path(base) / "autocode")) / f"opencode-{version}"


def installed_binary(version: str = OPENCODE_VERSION) -> Path:
    return tools_dir(version) / "node_modules" / ".bin" / "opencode"


def find_opencode(explicit: str | None = None) -> Path:
    """Return the OpenCode executable to use, or raise :class:`SetupError` saying how to fix it."""
    for candidate in (explicit, os.environ.get("AUTOCODE_OPENCODE_BIN")):
        if candidate:
            path = Path(candidate) if os.sep in candidate else _which(candidate)
            if path is not None and path.is_file() and os.access(path, os.X_OK):
                return path
            raise SetupError(f"OpenCode binary {candidate!r} not found or not executable")
    pinned = installed_binary()
    if pinned.exists():
        return pinned
    on_path = _which("opencode")
    if on_path is not None:
        return on_path
    raise SetupError("OpenCode is not installed: run `autocode setup` (or bash scripts/setup.sh)")


def _which(name: str) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found else None


def binary_version(binary: Path, timeout: float = 30.0) -> str:
    """The version the binary reports (``opencode --version``)."""
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=timeout, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise SetupError(f"{binary} --version failed: {exc}") from exc
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def install_opencode(version: str = OPENCODE_VERSION, npm: str = "npm") -> Path:
    """Install ``opencode-ai@version`` into :func:`tools_dir` (idempotent) and return the binary."""
    binary = installed_binary(version)
    if binary.exists() and binary_version(binary) == version:
        return binary
    npm_path = shutil.which(npm)
    if npm_path is None:
        raise SetupError("npm is needed to install OpenCode: install Node.js 18+ (apt-get install nodejs npm)")
    target = tools_dir(version)
    target.mkdir(parents=True, exist_ok=True)
    cmd = [npm_path, "install", "--prefix", str(target), "--no-audit", "--no-fund",
           "--loglevel=error", f"opencode-ai@{version}"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not binary.exists():
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise SetupError(f"npm install opencode-ai@{version} failed: {' | '.join(tail)}")
    return binary
