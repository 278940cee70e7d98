"""The client side of the command daemon (:mod:`agent.execd`): the server's ``SHELL`` and checks.

Standard library only. OpenCode's bash tool runs ``$SHELL -c COMMAND`` in a new process group with
stdin ``/dev/null`` and two pipes; autocode writes this module, with the daemon's socket path, as
an executable script and gives it to the server as ``SHELL``. It hands its own three descriptors,
its arguments and its working directory to the daemon, forwards SIGTERM/SIGINT/SIGHUP, and exits
with the command's status. When OpenCode kills it (timeout, abort), the daemon sees the connection
drop and kills the command's whole process group. No environment variable is passed on: commands
get the daemon's allowlisted environment, never the server's.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys

HEADER = struct.Struct("!I")
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def connect(socket_path: str, argv: list[str], cwd: str, fds: list[int], reap: bool = False) -> socket.socket:
    """Start ``bash ARGV`` in the daemon with ``fds`` as its stdin/stdout/stderr."""
    conn = socket.socket(socket.AF_UNIX)
    conn.connect(socket_path)
    body = json.dumps({"argv": argv, "cwd": cwd, "reap": reap}).encode()
    socket.send_fds(conn, [HEADER.pack(len(body)) + body], fds)
    return conn


def read_status(conn: socket.socket) -> int | None:
    """The command's exit status (128+N if signalled), or None if the daemon went away."""
    data = b""
    while not data.endswith(b"\n"):
        more = conn.recv(256)
        if not more:
            return None
        data += more
    return int(json.loads(data)["status"])


def main(socket_path: str) -> int:
    try:
        conn = connect(socket_path, sys.argv[1:], os.getcwd(), [0, 1, 2])
    except OSError as exc:
        os.write(2, f"autocode sandbox: the command sandbox is not running ({exc})\n".encode())
        return 126

    def forward(sig: int, _frame: object) -> None:
        try:
            conn.send(bytes([sig]))
        except OSError:
            os._exit(128 + sig)

    for sig in FORWARDED:
        signal.signal(sig, forward)
    while True:
        try:
            status = read_status(conn)
        except InterruptedError:
            continue
        return 126 if status is None else status
