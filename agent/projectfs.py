"""Reading the agent's files from the host side of the wall, without following its links.

autocode reads a few files the agent writes (the feature list, the progress notes, ``init.sh``,
``package.json``, the spec) outside the command sandbox. A command can make any of them a symlink
to a host file (``/proc/self/environ``: autocode's own environment with the provider keys;
``~/.config/opencode/auth.json``), which autocode would then read and put into a prompt. So these
files are opened relative to the project directory with ``O_NOFOLLOW``, and only regular files
count: a link, a FIFO or a device reads as absent.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def read_project_file(project: Path, name: str) -> str | None:
    """The text of ``name`` in the project root, or None if it is absent or not a regular file."""
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"not a file name in the project root: {name!r}")
    try:
        dir_fd = os.open(project, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:  # absent, or a symlink (ELOOP)
        return None
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        return handle.read().decode("utf-8", errors="replace")
