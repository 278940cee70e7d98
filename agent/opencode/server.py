"""Starting, supervising and stopping ``opencode serve`` (or attaching to a running server).

The server runs in its own process group with a random password, isolated ``HOME``/``XDG_*``
directories, the offline switches and autocode's generated config. Inherited ``OPENCODE_*``
variables are dropped so nothing the user set can change the model; provider credentials (API-key
variables and the user's own ``opencode auth login`` file) are passed through. On Linux the
server is also killed by the kernel if autocode dies (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from agent import OPENCODE_VERSION
from agent.errors import ServerFailure, SetupError
from agent.opencode.install import find_opencode

_LISTENING = re.compile(r"listening on (http://[\w.\-\[\]:]+)")
OFFLINE_ENV = {
    "OPENCODE_DISABLE_MODELS_FETCH": "1",
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_PROJECT_CONFIG": "1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    "OPENCODE_DISABLE_SHARE": "1",
    "npm_config_offline": "true",
}


GIT_IDENTITY = {"GIT_AUTHOR_NAME": "autocode agent", "GIT_AUTHOR_EMAIL": "agent@autocode.local",
                "GIT_COMMITTER_NAME": "autocode agent", "GIT_COMMITTER_EMAIL": "agent@autocode.local"}


class ServerSettings(BaseModel):
    """How to run (or reach) the OpenCode server for one build or harness."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    state_dir: Path = Field(description="root of the server's isolated HOME/XDG dirs and its log")
    config: dict[str, Any] = Field(default_factory=dict, description="generated OpenCode config")
    opencode_bin: str | None = Field(default=None, description="binary; default: discovery")
    cwd: Path | None = Field(default=None, description="working directory of the server process")
    env: dict[str, str] = Field(default_factory=dict, description="extra env for the server")
    startup_timeout: float = Field(default=60.0, description="seconds to wait for health")
    check_version: bool = Field(default=True, description="refuse a binary of another version")
    wrap: list[str] = Field(default_factory=list, description="command prefix (sandbox)")


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def server_env(settings: ServerSettings, password: str) -> dict[str, str]:
    """The environment of the server process: inherited, minus OPENCODE_*, isolated, pinned."""
    home = settings.state_dir / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCODE")}
    env.update(settings.env)
    env.update(OFFLINE_ENV)
    for key, value in GIT_IDENTITY.items():  # the isolated HOME has no ~/.gitconfig
        env.setdefault(key, value)
    env.update({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "OPENCODE_SERVER_PASSWORD": password,
        "OPENCODE_CONFIG_CONTENT": json.dumps(settings.config),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)]),
    })
    return env


def copy_user_auth(home: Path) -> None:
    """Give the isolated server the credentials stored with ``opencode auth login``, if any."""
    real_data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    source = Path(real_data) / "opencode" / "auth.json"
    if source.is_file():
        target = home / ".local" / "share" / "opencode" / "auth.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        target.chmod(0o600)


class OpenCodeServer:
    """A supervised ``opencode serve`` child. Use as a context manager, or start()/stop()."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.password = secrets.token_urlsafe(24)
        self.url = ""
        self.version = ""
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self.log_path = settings.state_dir / "opencode-server.log"

    def __enter__(self) -> OpenCodeServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        binary = find_opencode(self.settings.opencode_bin)
        home = self.settings.state_dir / "home"
        for sub in (".config", ".local/share", ".cache", ".local/state"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        (self.settings.state_dir / "tmp").mkdir(exist_ok=True)
        copy_user_auth(home)
        cmd = [*self.settings.wrap, str(binary), "serve", "--hostname", "127.0.0.1", "--port", "0"]
        with self.log_path.open("ab") as log:
            log.write(f"--- autocode: starting {' '.join(cmd)}\n".encode())
            offset = log.tell()
            self._proc = subprocess.Popen(
                cmd, cwd=self.settings.cwd or self.settings.state_dir, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, env=server_env(self.settings, self.password),
                start_new_session=True, preexec_fn=_set_pdeathsig)
        (self.settings.state_dir / "server.pid").write_text(str(self._proc.pid))
        try:
            self.url = self._wait_listening(offset)
            self.version = self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        if self.settings.check_version and self.version != OPENCODE_VERSION:
            self.stop()
            raise SetupError(f"OpenCode {self.version} found, autocode needs {OPENCODE_VERSION}: "
                             "run `autocode setup`")

    def _deadline_left(self, deadline: float) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ServerFailure(f"OpenCode server not ready after {self.settings.startup_timeout:.0f}s"
                                f" (log: {self.log_path})")
        return left

    def _wait_listening(self, offset: int) -> str:
        deadline = time.monotonic() + self.settings.startup_timeout
        while True:
            self._deadline_left(deadline)
            with self.log_path.open("rb") as log:
                log.seek(offset)
                found = _LISTENING.search(log.read().decode(errors="replace"))
            if found:
                return found.group(1)
            if self._proc is not None and self._proc.poll() is not None:
                raise ServerFailure(f"OpenCode server exited with {self._proc.returncode} at start"
                                    f" (log: {self.log_path}): {self.log_tail()}")
            time.sleep(0.05)

    def _wait_healthy(self) -> str:
        deadline = time.monotonic() + self.settings.startup_timeout
        auth = httpx.BasicAuth("opencode", self.password)
        while True:
            left = self._deadline_left(deadline)
            try:
                r = httpx.get(f"{self.url}/global/health", auth=auth, timeout=min(left, 5.0))
                if r.status_code == 200 and r.json().get("healthy"):
                    return str(r.json().get("version", ""))
            except httpx.HTTPError:
                pass
            time.sleep(0.1)

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def stop(self, grace: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace)
        _signal_group(proc.pid, signal.SIGKILL)  # whatever the server left behind in its group
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class AttachedServer:
    """A server the user already runs (``--server-url``): checked, never started or stopped."""

    def __init__(self, url: str, password: str | None = None, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.password = password
        self.version = ""
        self.restarts = 0
        self.log_path: Path | None = None
        self._timeout = timeout

    def __enter__(self) -> AttachedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        auth = httpx.BasicAuth("opencode", self.password) if self.password else None
        try:
            r = httpx.get(f"{self.url}/global/health", auth=auth, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise ServerFailure(f"--server-url {self.url} does not answer ({exc.__class__.__name__})"
                                "; start it with `opencode serve` or drop --server-url") from None
        if r.status_code == 401:
            raise SetupError(f"--server-url {self.url} wants a password: pass --server-password")
        if r.status_code != 200:
            raise ServerFailure(f"--server-url {self.url} answered HTTP {r.status_code} to /global/health")
        self.version = str(r.json().get("version", ""))

    def alive(self) -> bool:
        try:
            self.start()
        except (ServerFailure, SetupError):
            return False
        return True

    def stop(self) -> None:
        """Nothing to stop: the user owns this server."""

    def restart(self) -> None:
        self.start()
