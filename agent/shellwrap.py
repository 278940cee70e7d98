"""The server's ``SHELL``: hands each bash tool call to the command daemon (:mod:`agent.execd`).

OpenCode's bash tool runs ``$SHELL -c COMMAND`` in a new process group with stdin ``/dev/null``
and two pipes. autocode writes this module, with the daemon's socket path, as an executable
script and gives it to the server as ``SHELL``. It hands its own three descriptors, its arguments
and its working directory to the daemon, forwards SIGTERM/SIGINT/SIGHUP, and exits with the
command's status. When OpenCode kills it (timeout, abort), the daemon sees the connection drop and
kills the command's whole process group. No environment variable is passed on: commands get the
daemon's allowlisted environment, never the server's.

With ``--workers`` the script also carries routes: a command whose working directory lies in a
worker's tree goes to that worker's daemon (its own sandbox). OpenCode sets that directory: the
session's, or a ``workdir`` inside it (one outside asks ``external_directory``, which autocode
refuses).

It runs once per command, so it imports only built-in modules (``_socket``, ``_signal``; no
``socket``/``signal``/``json``, whose imports cost more than the rest of the call).

The wire format (shared with the daemon and autocode's checks): a 4-byte big-endian length, then
NUL-separated fields ``reap`` (``0``/``1``), ``cwd``, ``argv...`` (none can hold a NUL), sent
with the three descriptors as SCM_RIGHTS; afterwards each byte from the client is a signal
number; the reply is the exit status in ASCII digits and a newline.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]
import _socket
import os
import sys

FORWARDED = (15, 2, 1)  # SIGTERM, SIGINT, SIGHUP
SCM_RIGHTS = 1
SOL_SOCKET = 1


def encode_request(argv: list[str], cwd: str, reap: bool) -> bytes:
    body = b"\0".join([b"1" if reap else b"0", os.fsencode(cwd), *(os.fsencode(a) for a in argv)])
    return len(body).to_bytes(4, "big") + body


def decode_request(data: bytes) -> tuple[list[str], str, bool]:
    fields = data.split(b"\0")
    return [os.fsdecode(a) for a in fields[2:]], os.fsdecode(fields[1]), fields[0] == b"1"


def send_request(conn: object, argv: list[str], cwd: str, fds: list[int], reap: bool = False) -> None:
    rights = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)
    conn.sendmsg([encode_request(argv, cwd, reap)], [(SOL_SOCKET, SCM_RIGHTS, rights)])  # type: ignore[attr-defined]


def read_status(conn: object) -> int | None:
    """The command's exit status (128+N if signalled), or None if the daemon went away."""
    data = b""
    while not data.endswith(b"\n"):
        more = conn.recv(64)  # type: ignore[attr-defined]
        if not more:
            return None
        data += more
    return int(data)


def route(socket_path: str, routes: dict[str, str], cwd: str) -> str:
    """The daemon for a command run in ``cwd``: the deepest routed dir holding it, else the default."""
    found = [d for d in routes if cwd == d or cwd.startswith(d.rstrip("/") + "/")]
    return routes[max(found, key=len)] if found else socket_path


def main(socket_path: str, routes: dict[str, str] | None = None) -> int:
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        cwd = os.getcwd()
        conn.connect(route(socket_path, routes or {}, cwd))
        send_request(conn, sys.argv[1:], cwd, [0, 1, 2])
    except OSError as exc:
        os.write(2, f"autocode sandbox: the command sandbox is not running ({exc})\n".encode())
        return 126

    def forward(sig: int, _frame: object) -> None:
        try:
            conn.send(bytes([sig]))
        except OSError:
            os._exit(128 + sig)

    for sig in FORWARDED:
        _signal.signal(sig, forward)
    status = read_status(conn)
    return 126 if status is None else status
