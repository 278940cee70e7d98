"""The command daemon: runs inside the command sandbox and starts every command there.

Standard library only, no package imports: autocode starts it as ``python -I -S -`` (source on stdin) inside
bubblewrap (or, without bubblewrap, on the host), handing it an already-listening unix socket
(``--fd N``) whose path the sandbox cannot see. Each client (the server's ``SHELL`` wrapper, or
autocode's own checks) connects and sends one request (argv, cwd, reap; the format is in
:mod:`agent.shellwrap`) with its stdin/stdout/stderr as SCM_RIGHTS file descriptors. The daemon forks
``bash ARGV`` in a new process group with those descriptors and the daemon's environment (already
scrubbed), then:

- every byte the client sends afterwards is a signal number, forwarded to the command's group;
- end-of-file before the command exits (the client was killed) kills the whole group;
- when the command exits, ``reap`` requests also kill what it left in its group (checks), while
  agent commands keep their background jobs (a dev server started with ``&``);
- the reply is the exit status and a newline (128+signal for a signalled command).

A request whose ``reap`` field is ``Q`` runs nothing: it *quiesces* the sandbox before autocode
judges the agent's work. Every process but the daemon is killed (in bubblewrap's PID namespace,
``--pid-ns 1``, that is every process there; without it, every process group the daemon started), so
no background job of the agent's can change the tree while autocode checks it or commits it.

With ``--relay-port`` it also listens on ``127.0.0.1`` inside the sandbox's network namespace and
relays each TCP connection to the egress proxy's unix socket (``--relay-to``): the commands' only
way out. Commands get ``HTTP(S)_PROXY`` pointing at that port.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

MAX_REQUEST = 1 << 20


def recv_request(conn: socket.socket) -> tuple[list[str], str, bool | None, list[int]]:
    """argv, cwd, reap (None: quiesce) and the three file descriptors of one request (see
    agent.shellwrap)."""
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 3)
    try:
        while len(data) < 4:
            more = conn.recv(4 - len(data))
            if not more:
                raise ConnectionError("short header")
            data += more
        size = int.from_bytes(data[:4], "big")
        if size > MAX_REQUEST:
            raise ConnectionError("request too large")
        body = data[4:]
        while len(body) < size:
            more = conn.recv(size - len(body))
            if not more:
                raise ConnectionError("short request")
            body += more
        if len(fds) != 3:
            raise ConnectionError("a request carries exactly three file descriptors")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    fields = body.split(b"\0")
    reap = None if fields[0] == b"Q" else fields[0] == b"1"
    return [os.fsdecode(a) for a in fields[2:]], os.fsdecode(fields[1]), reap, fds


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _watch(conn: socket.socket, proc: subprocess.Popen[bytes], done: threading.Event) -> None:
    """Forward signal bytes to the command's group; kill the group if the client goes away."""
    while True:
        try:
            data = conn.recv(64)
        except OSError:
            data = b""
        if done.is_set():
            return
        if not data:
            _signal_group(proc.pid, signal.SIGKILL)
            return
        for sig in data:
            if sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL):
                _signal_group(proc.pid, sig)


def _parents() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process we can see."""
    table: dict[int, tuple[int, str]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"/proc/{name}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
                table[int(name)] = (int(fields[1]), fields[0].decode())
    return table


def _descendants(me: int, table: dict[int, tuple[int, str]]) -> list[int]:
    found, frontier = [], [me]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _state) in table.items() if ppid == parent and pid != me]
        found += children
        frontier += children
    return found


def quiesce(groups: set[int], pid_ns: bool, active: set[int]) -> None:
    """Kill every process of the sandbox but the daemon (see the module docstring). Without a PID
    namespace the daemon is a child subreaper, so even a job that left its group (``setsid``,
    a double fork) stays below it and is found."""
    me = os.getpid()
    killed: set[int] = set()
    for _ in range(3):  # a fork racing one pass is caught by the next
        table = _parents()
        pids = ([pid for pid in table if pid not in (1, me)] if pid_ns  # all here but bwrap and us
                else _descendants(me, table))
        pids = [pid for pid in pids if table.get(pid, (0, ""))[1] != "Z"]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed.update(pids)
        if not pids:
            break
    for pgid in list(groups):
        _signal_group(pgid, signal.SIGKILL)
        groups.discard(pgid)
    for _ in range(500):  # up to ~5 s: gone means reaped, not a zombie a later check still sees
        reap_adopted(active)
        table = _parents()
        if not any(pid in table and pid not in active for pid in killed):
            break
        time.sleep(0.01)


def reap_adopted(active: set[int]) -> None:
    """Wait for our dead children that no command thread waits for (orphans we adopted)."""
    me = os.getpid()
    for pid, (ppid, state) in _parents().items():
        if ppid == me and state == "Z" and pid not in active:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


def become_subreaper() -> None:
    """Orphans of the commands are re-parented to us, not to init (prctl PR_SET_CHILD_SUBREAPER)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


def serve_one(conn: socket.socket, env: dict[str, str], groups: set[int], pid_ns: bool = False,
              active: set[int] | None = None) -> None:
    active = set() if active is None else active  # pids a command thread is waiting for
    with conn:
        try:
            argv, cwd, reap, fds = recv_request(conn)
        except (OSError, ValueError, IndexError, ConnectionError):
            return
        if reap is None:
            for fd in fds:
                os.close(fd)
            quiesce(groups, pid_ns, active)
            _reply(conn, 0)
            return
        try:
            proc = subprocess.Popen(["bash", *argv], stdin=fds[0], stdout=fds[1], stderr=fds[2],
                                    cwd=cwd or "/", env=env, start_new_session=True)
            groups.add(proc.pid)
            active.add(proc.pid)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.write(fds[2], f"autocode sandbox: cannot start the command: {exc}\n".encode())
            _reply(conn, 127)
            return
        finally:
            for fd in fds:
                os.close(fd)
        done = threading.Event()
        threading.Thread(target=_watch, args=(conn, proc, done), daemon=True).start()
        code = proc.wait()
        active.discard(proc.pid)
        done.set()
        if reap:
            _signal_group(proc.pid, signal.SIGKILL)
        _reply(conn, code if code >= 0 else 128 - code)


def _reply(conn: socket.socket, status: int) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(b"%d\n" % status)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


def relay_one(client: socket.socket, target: str) -> None:
    upstream = socket.socket(socket.AF_UNIX)
    try:
        upstream.connect(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n"
                           b"X-Autocode: egress proxy unreachable: " + str(exc).encode()[:100] + b"\r\n\r\n")
        client.close()
        upstream.close()
        return
    back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
    back.start()
    _pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


def accept_loop(server: socket.socket, handle: object, *args: object) -> None:
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn, *args), daemon=True).start()  # type: ignore[arg-type]


def main(argv: list[str]) -> None:
    opts = dict(zip(argv[::2], argv[1::2], strict=False))
    control = socket.socket(fileno=int(opts["--fd"]))
    env = dict(os.environ)
    if "--relay-to" in opts:
        relay = socket.socket(socket.AF_INET)
        relay.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        relay.bind(("127.0.0.1", int(opts.get("--relay-port", "0"))))
        relay.listen(64)
        proxy = f"http://127.0.0.1:{relay.getsockname()[1]}"
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env[name] = proxy
        threading.Thread(target=accept_loop, args=(relay, relay_one, opts["--relay-to"]), daemon=True).start()
    groups: set[int] = set()  # every command's process group, background jobs included

    def shutdown(*_: object) -> None:  # without bubblewrap nothing else would end the jobs
        for pgid in list(groups):
            _signal_group(pgid, signal.SIGKILL)
        os._exit(0)

    signal.signal(signal.SIGTERM, shutdown)
    become_subreaper()
    accept_loop(control, serve_one, env, groups, opts.get("--pid-ns") == "1", set())


if __name__ == "__main__":
    main(sys.argv[1:])
