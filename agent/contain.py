"""The command sandbox: every command the agent runs, and every check autocode runs, in one wall.

One per build (and per Harness): a long-lived bubblewrap sandbox running the command daemon
(:mod:`agent.execd`). The OpenCode server gets a ``SHELL`` that hands each bash tool call to the
daemon (:mod:`agent.shellwrap`); autocode's checks connect to it directly (:meth:`check`). Inside:

- the project writable, its ``.git`` read-only, its ``.autocode/`` and every server-side and
  runtime dir hidden; a private ``/tmp``; the real home an empty tmpfs; the rest read-only
  (``--workers N``: once the workers start, the project read-only; each worker's commands run
  in a sandbox of its own where only its tree is writable, routed by their working directory
  (:meth:`route`); the merge queue's checks run in another one rooted at the integration tree);
- its own PID, IPC, UTS, user and (unless ``network = "open"``) network namespace: the server,
  autocode and other builds are invisible, all capabilities dropped, only loopback;
- an environment rebuilt from an allowlist (:func:`command_env`): never a provider key or the
  server password;
- the network through :mod:`agent.egress` only (``network = "allowlist"``), or none at all.

Commands share the sandbox, so a dev server started in the background by one command is reached
by ``curl localhost`` in the next. Without bubblewrap the daemon runs on the host: commands and
checks still get the scrubbed environment, nothing else is contained (:meth:`describe`).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent import execd, shellwrap
from agent.egress import Allowlist, EgressProxy
from agent.sandbox import interpreter_dirs
from agent.verify import CheckResult

NetworkMode = Literal["none", "allowlist", "open"]
DEFAULT_ALLOW_HOSTS = ["pypi.org", "files.pythonhosted.org", "registry.npmjs.org", "registry.yarnpkg.com",
                       "crates.io", "index.crates.io", "static.crates.io", "proxy.golang.org",
                       "sum.golang.org"]
ENV_NAMES = ("LANG", "LANGUAGE", "TERM", "TZ", "COLORTERM", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
             "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")
INNER_TMP = "/tmp/autocode-tmp"
RUNTIME_PREFIX = "autocode-run-"
EGRESS_MOUNT = "/tmp/.autocode-egress"
Record = Callable[[dict[str, Any]], None]


class SandboxConfig(BaseModel):
    """The ``[sandbox]`` table of autocode.toml (``mode`` is the ``sandbox`` setting)."""

    mode: Literal["bwrap", "none"] = Field(default="bwrap", description="bwrap, or none (env scrub only)")
    network: NetworkMode = Field(default="allowlist", description="none | allowlist (proxy) | open")
    allow_hosts: list[str] = Field(default_factory=lambda: list(DEFAULT_ALLOW_HOSTS),
                                   description="host, host:port or *.suffix reachable through the proxy")
    env: list[str] = Field(default_factory=list, description="extra variable names passed to commands")
    set_env: dict[str, str] = Field(default_factory=dict,
                                    description="variables set for commands (the Python API's env=)")


def command_env(config: SandboxConfig, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The commands' environment, rebuilt from an allowlist (the daemon adds the proxy vars)."""
    source = dict(os.environ if environ is None else environ)
    env = {k: v for k, v in source.items() if k in ENV_NAMES or k.startswith("LC_") or k in config.env}
    env.update(config.set_env)
    env.setdefault("LANG", "C.UTF-8")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), source.get("PATH", os.defpath)])
    env["HOME"] = str(Path.home())
    env["TMPDIR"] = INNER_TMP if config.mode == "bwrap" else source.get("TMPDIR", tempfile.gettempdir())
    if config.network != "open":
        env["NO_PROXY"] = env["no_proxy"] = "localhost,127.0.0.1,::1"
    return env


def readable_roots() -> list[Path]:
    """autocode's own Python (the daemon runs on it; it is first on the commands' PATH)."""
    return interpreter_dirs()


def user_state_dirs(environ: dict[str, str] | None = None) -> list[Path]:
    """The user's config/data/state dirs and autocode's state root when they live outside the home
    (inside it they vanish with it): where ``auth.json`` and other credentials are kept."""
    source = os.environ if environ is None else environ
    names = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "AUTOCODE_HOME")
    return [Path(source[n]).resolve() for n in names if source.get(n) and Path(source[n]).is_dir()]


def command_bwrap(config: SandboxConfig, project: Path, hidden: list[Path], egress_dir: Path | None,
                  writable: list[Path] | None = None, project_writable: bool = True,
                  covered: list[Path] | None = None, readable: list[Path] | None = None) -> list[str]:
    """The bwrap prefix of the command sandbox (also printed by ``doctor --sandbox``); ``writable``
    adds dirs bound writable after everything hidden, and with ``project_writable`` False the
    project itself is read-only (the workers' main checkout). A worker's own sandbox: ``covered``
    dirs are empty and read-only, even when they hold the project (autocode's state dir with every
    sibling worker's tree; main's checkout), and ``readable`` dirs are bound read-only (main's
    ``.git``, which the worktree's git needs, inside the covered checkout)."""
    home = Path.home()
    cmd = [shutil.which("bwrap") or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
           "--tmpfs", "/tmp", "--dir", INNER_TMP, "--tmpfs", str(home), "--tmpfs", "/run"]  # no host sockets
    if config.network == "open" and Path("/run/systemd/resolve").is_dir():  # resolv.conf may live there
        cmd += ["--ro-bind", "/run/systemd/resolve", "/run/systemd/resolve"]
    for path in covered or []:
        cmd += ["--tmpfs", str(path)]
    cmd += ["--bind" if project_writable else "--ro-bind", str(project), str(project)]
    git = project / ".git"
    if git.exists() and not git.is_symlink():  # a repository, or a worktree's `gitdir:` file
        cmd += ["--ro-bind", str(git), str(git)]
    for path in [project / ".autocode", *hidden, *user_state_dirs()]:
        if path.exists() and path not in project.parents and path != project:
            cmd += ["--tmpfs", str(path)]
    for path in writable or []:
        cmd += ["--bind", str(path), str(path)]
    for path in sorted({p.resolve() for p in readable_roots()}, key=lambda p: len(p.parts)):
        cmd += ["--ro-bind", str(path), str(path)]  # autocode's Python, wherever the above hid it
    for path in readable or []:
        cmd += ["--ro-bind", str(path), str(path)]
    for path in covered or []:
        cmd += ["--remount-ro", str(path)]  # now that everything is bound inside: no writes there
    if egress_dir is not None:
        cmd += ["--ro-bind", str(egress_dir), EGRESS_MOUNT]
    cmd += ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if config.network != "open":
        cmd += ["--unshare-net"]
    return [*cmd, "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--chdir", str(project), "--"]


def remove_stale_runtimes(base: Path) -> None:
    """Remove the runtime dirs of sandboxes whose autocode died without cleaning up (SIGKILL)."""
    for path in base.glob(RUNTIME_PREFIX + "*"):
        try:
            if path.stat().st_uid != os.getuid():
                continue
            owner = int((path / "owner").read_text())
        except (OSError, ValueError):
            continue
        if not Path(f"/proc/{owner}").exists():
            shutil.rmtree(path, ignore_errors=True)


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class CommandSandbox:
    """Start with ``with CommandSandbox(...) as box``; give ``box.shell`` to the server as SHELL."""

    def __init__(self, config: SandboxConfig, project: Path, record: Record,
                 hidden: list[Path] | None = None, runtime_base: Path | None = None,
                 writable: list[Path] | None = None, covered: list[Path] | None = None,
                 readable: list[Path] | None = None) -> None:
        self.config = config
        self.project = project.resolve()
        self.record = record
        self.hidden = [p.resolve() for p in hidden or []]
        self.writable = [p.resolve() for p in writable or []]
        self.covered = [p.resolve() for p in covered or []]
        self.readable = [p.resolve() for p in readable or []]
        self.routes: dict[str, str] = {}  # dir -> the socket of the sandbox its commands run in
        self.project_writable = True
        self.runtime_base = runtime_base
        self.runtime: Path | None = None
        self._proxy: EgressProxy | None = None
        self._daemon: subprocess.Popen[bytes] | None = None
        self._egress: Path | None = None

    # ---- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> CommandSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def socket_path(self) -> Path:
        assert self.runtime is not None, "the sandbox is not started"
        return self.runtime / "cmd.sock"

    @property
    def shell(self) -> Path:
        """The executable the server must get as ``SHELL``."""
        assert self.runtime is not None, "the sandbox is not started"
        return self.runtime / "shell"

    def start(self) -> None:
        if self.runtime_base is not None:
            self.runtime_base.mkdir(parents=True, exist_ok=True, mode=0o700)
        remove_stale_runtimes(Path(self.runtime_base or tempfile.gettempdir()))
        self.runtime = Path(tempfile.mkdtemp(prefix=RUNTIME_PREFIX, dir=self.runtime_base)).resolve()
        (self.runtime / "owner").write_text(str(os.getpid()))
        self._write_shell()
        self._egress = self._start_proxy() if self.config.network == "allowlist" else None
        self._start_daemon()

    def _start_daemon(self) -> None:
        """The daemon, on a fresh listening socket (also after a command killed the last one)."""
        self.socket_path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(self.socket_path))
        listener.listen(64)
        try:
            self._daemon = subprocess.Popen(
                self.daemon_command(listener.fileno(), self._egress), cwd=self.project,
                stdin=subprocess.PIPE, env=command_env(self.config), pass_fds=[listener.fileno()],
                start_new_session=True, preexec_fn=_set_pdeathsig)
            assert self._daemon.stdin is not None
            self._daemon.stdin.write(Path(execd.__file__).read_bytes())
            self._daemon.stdin.close()
        finally:
            listener.close()  # the daemon holds it; connections queue until it accepts

    def daemon_command(self, fd: int, egress_dir: Path | None) -> list[str]:
        args = [sys.executable, "-I", "-S", "-", "--fd", str(fd)]  # the source comes on stdin
        if egress_dir is not None:
            inner = EGRESS_MOUNT if self.config.mode == "bwrap" else str(egress_dir)
            args += ["--relay-to", f"{inner}/sock"]
        if self.config.mode == "none":
            return args
        args += ["--pid-ns", "1"]  # bwrap --unshare-pid: quiesce may kill all but the daemon
        hidden = [*self.hidden, *([self.runtime] if self.runtime else [])]
        return [*command_bwrap(self.config, self.project, hidden, egress_dir, self.writable,
                               self.project_writable, self.covered, self.readable), *args]

    def protect_project(self) -> None:
        """From now on the project is read-only to commands (``--workers``: agents work in their
        worktrees; only autocode moves main). The daemon is replaced: call it between commands."""
        self.project_writable = False
        if self.config.mode == "bwrap" and self._daemon is not None:
            self._kill_daemon()
            self._start_daemon()

    def route(self, directory: Path, box: CommandSandbox) -> None:
        """Commands whose working directory is ``directory`` or below it run in ``box`` (``--workers``:
        each worker's own sandbox, where only its tree is writable and its siblings are hidden)."""
        self.routes[str(directory.resolve())] = str(box.socket_path)
        self._write_shell()

    def _write_shell(self) -> None:
        source = Path(shellwrap.__file__).read_text(encoding="utf-8")
        text = (f"#!{sys.executable} -IS\n{source}\n\n"
                f"raise SystemExit(main({str(self.socket_path)!r}, {self.routes!r}))\n")
        self.shell.write_text(text, encoding="utf-8")
        self.shell.chmod(0o755)

    def _start_proxy(self) -> Path:
        assert self.runtime is not None
        egress_dir = self.runtime / "egress"
        egress_dir.mkdir(mode=0o755)
        self._proxy = EgressProxy(Allowlist(self.config.allow_hosts), self.record)
        self._proxy.start(egress_dir / "sock")
        return egress_dir

    def _connect(self) -> socket.socket:
        """A connection to the daemon; a daemon a command killed is replaced (a fresh sandbox)."""
        for attempt in (1, 2):
            conn = socket.socket(socket.AF_UNIX)
            try:
                conn.connect(str(self.socket_path))
                return conn
            except OSError:
                conn.close()
                if attempt == 2 or self._daemon is None:
                    raise
                self._kill_daemon()
                self._start_daemon()
        raise AssertionError("unreachable")

    def _kill_daemon(self) -> None:
        daemon, self._daemon = self._daemon, None
        if daemon is None:
            return
        if self.config.mode == "none":  # the daemon ends the jobs commands left on the host
            daemon.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.wait(5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(daemon.pid, signal.SIGKILL)  # with bwrap: the sandbox and everything in it
        daemon.wait()

    def stop(self) -> None:
        self._kill_daemon()
        if self._proxy is not None:
            self._proxy.stop()
            self._proxy = None
        if self.runtime is not None:
            shutil.rmtree(self.runtime, ignore_errors=True)
            self.runtime = None

    # ---- what it says about itself --------------------------------------------------------------

    def describe(self) -> list[str]:
        """What is NOT contained, in plain words (empty when everything is)."""
        gaps = []
        if self.config.mode == "none":
            gaps.append("no OS sandbox for commands and checks (bubblewrap unavailable or --sandbox none): "
                        "they can write anywhere this user can, see other processes and use the network; "
                        "only their environment is scrubbed")
        if self.config.network == "open":
            gaps.append("network = \"open\": commands reach any host, and services on this machine's loopback")
        return gaps

    # ---- checks ---------------------------------------------------------------------------------

    def quiesce(self) -> None:
        """Kill every process the agent left running in the sandbox (background jobs, dev servers)
        before autocode judges its work: nothing of the agent's may change the tree during the
        checks or between them and the commit. Raises OSError when the daemon is unreachable."""
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            with self._connect() as conn:
                body = b"Q\0/"
                socket.send_fds(conn, [len(body).to_bytes(4, "big") + body], [devnull] * 3)
                conn.settimeout(30)
                reply = conn.recv(16)
        finally:
            os.close(devnull)
        if not reply.startswith(b"0"):
            raise OSError(f"the command sandbox did not quiesce (reply {reply!r})")

    def judging_check(self, command: str, cwd: Path, timeout: float = 300.0) -> CheckResult:
        """:meth:`check` after :meth:`quiesce`: the checker of the serial build's verdict."""
        try:
            self.quiesce()
        except OSError as exc:
            return CheckResult(command=command, ok=False, exit_code=None, duration_s=0.0,
                               output=f"[autocode: could not stop the agent's processes: {exc}]")
        return self.check(command, cwd, timeout)

    def check(self, command: str, cwd: Path, timeout: float = 300.0) -> CheckResult:
        """Run ``command`` in the sandbox like :func:`agent.verify.run_check` (same result)."""
        started = time.monotonic()
        read_end, write_end = os.pipe()
        devnull = os.open(os.devnull, os.O_RDONLY)
        try:
            conn = self._connect()
            shellwrap.send_request(conn, ["-c", command], str(cwd), [devnull, write_end, write_end], reap=True)
        except OSError as exc:
            os.close(read_end)
            return CheckResult(command=command, ok=False, exit_code=None, duration_s=0.0,
                               output=f"[autocode: the command sandbox is not running: {exc}]")
        finally:
            os.close(write_end)
            os.close(devnull)
        with conn, os.fdopen(read_end, "rb", buffering=0) as out:
            status, output, timed_out = _collect(conn, out, started + timeout)
        text = output.decode(errors="replace")[-4000:]
        if timed_out:
            text += f"\n[autocode: check timed out after {timeout:.0f}s and was killed]"
        return CheckResult(command=command, ok=status == 0 and not timed_out,
                           exit_code=None if timed_out else status, output=text,
                           duration_s=round(time.monotonic() - started, 3), timed_out=timed_out)


def _collect(conn: socket.socket, out: io.RawIOBase, deadline: float) -> tuple[int | None, bytes, bool]:
    """Read the output and the status until both end or the deadline passes (then kill)."""
    output, reply, status = bytearray(), b"", None
    eof = False
    with selectors.DefaultSelector() as sel:
        sel.register(out, selectors.EVENT_READ)
        sel.register(conn, selectors.EVENT_READ)
        while not (eof and status is not None):
            left = deadline - time.monotonic()
            if status is not None:  # exited; a child that left its group may still hold the pipe
                left = min(left, 2.0)
            if left <= 0:
                break
            for key, _ in sel.select(left):
                if key.fileobj is out:
                    data = out.read(65536) or b""
                    output += data
                    del output[:-65536]
                    if not data:
                        eof = True
                        sel.unregister(out)
                else:
                    data = conn.recv(256)
                    reply += data
                    if not data or reply.endswith(b"\n"):
                        sel.unregister(conn)
                        status = int(reply) if reply.endswith(b"\n") else -1
    timed_out = status is None
    if timed_out:
        conn.shutdown(socket.SHUT_RDWR)  # the daemon kills the command's whole group
    return status, bytes(output), timed_out
