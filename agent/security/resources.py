"""Resource bombs a single command can set off: endless devices copied into files."""

from __future__ import annotations

import re

from agent.security.base import deny
from agent.security.commands import SimpleCommand
from agent.security.models import Decision

WRITE_OPS = frozenset({">", ">>", ">|", "&>", "&>>", ">&", "<>"})
_ENDLESS = frozenset({"/dev/zero", "/dev/urandom", "/dev/random", "/dev/full"})
_MAX_HEAD_BYTES = 1 << 30
_SIZE = re.compile(r"^(\d+)([KMGTPE]?)(i?B?)$", re.IGNORECASE)


def unbounded_writer(cmd: SimpleCommand) -> Decision | None:
    """Resource bombs: an endless device copied into a file fills the disk (``cat /dev/zero > f``,
    ``head -c 100G /dev/zero > f``); into a pipe it is bounded by the reader and stays allowed."""
    sources = {w.value for w in cmd.args if w.value in _ENDLESS}
    sources |= {r.target.value for r in cmd.redirects
                if r.op == "<" and r.target and r.target.value in _ENDLESS}
    to_file = any(r.op in WRITE_OPS and r.target is not None and r.target.value not in (None, "/dev/null")
                  and not (r.target.value or "").isdigit() for r in cmd.redirects)
    if not sources or not to_file or _bounded_head(cmd):
        return None
    return deny("deny.resource", f"copying the endless `{sorted(sources)[0]}` into a file fills the disk; "
                                 "take a bounded amount (`head -c 1M /dev/urandom > f`).")


def _bounded_head(cmd: SimpleCommand) -> bool:
    if cmd.name is None or cmd.name.value != "head":
        return False
    args = [w.value or "" for w in cmd.args]
    for index, arg in enumerate(args):
        count = args[index + 1] if arg in ("-c", "-n", "--bytes", "--lines") and index + 1 < len(args) else \
            arg[2:] if arg.startswith(("-c", "-n")) and len(arg) > 2 else None
        if count is not None:
            return _size(count) <= _MAX_HEAD_BYTES
    return True  # head's default: 10 lines


def _size(text: str) -> int:
    found = _SIZE.match(text)
    if found is None:
        return _MAX_HEAD_BYTES + 1
    power = "KMGTPE".find(found.group(2).upper()) + 1 if found.group(2) else 0
    return int(found.group(1)) * int(1024 ** power)
