"""Code on stdin: programs that read their program (not their data) from stdin.

A shell reading stdin is judged in :mod:`agent.security.validators_exec` (a literal here-doc is
checked like ``bash -c``). Here: interpreters and tools whose script can come from stdin —
``make -f -``, ``tsx``/``ts-node`` without a file, ``deno run -``, ``bun run -`` — follow
``[security].inline_code`` like ``python3 - <<EOF`` does; SQL clients read dot-commands and
shell escapes (``.shell``, ``\\!``) from stdin, so a literal here-doc or here-string is checked
like an argument, ``sqlite3`` fed from a pipe or a file needs ``-safe`` (which turns those
off), and ``psql`` fed from a pipe or a file is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from agent.security.base import Env, Validator, command_name, deny, ok, parse_options
from agent.security.bash import SimpleCommand, Word
from agent.security.longopts import normalise, unknown_option
from agent.security.models import Decision
from agent.security.validators_lang import VALIDATORS as LANG
from agent.security.validators_lang import inline
from agent.security.validators_text import VALIDATORS as TEXT
from agent.security.validators_text import sqlite_database as _sqlite_database


def _make(cmd: SimpleCommand, env: Env) -> Decision:
    args = normalise("make", cmd.args)
    if isinstance(args, str):
        return unknown_option("make", args)
    opts = parse_options(args, "CfIjloWE", ("--directory", "--file", "--makefile", "--eval"))
    if cmd.stdin_fed and any(word.value == "-" for word in opts.values("-f", "--file", "--makefile")):
        return inline(cmd, env, "make -f - (a makefile read from stdin)")
    return LANG["make"](cmd, env)


def _script_or_stdin(what: str, short_values: str = "", long_values: tuple[str, ...] = ()) -> Validator:
    """tsx / ts-node: with no script file (or ``-``) they run whatever stdin holds."""

    def validate(cmd: SimpleCommand, env: Env) -> Decision:
        opts = parse_options(cmd.args, short_values, long_values, stop_at_positional=True)
        first = opts.positionals[0].value if opts.positionals else None
        if opts.has("-e", "--eval", "-p", "--print"):
            return inline(cmd, env, f"{what} --eval")
        if (first is None or first == "-") and (cmd.stdin_fed or first == "-"):
            return inline(cmd, env, f"{what} reading code from stdin")
        return ok(cmd)

    return validate


def _run_dash(tool: str) -> Validator:
    """``deno run -`` / ``bun run -``: the program is stdin."""
    original = LANG[tool]

    def validate(cmd: SimpleCommand, env: Env) -> Decision:
        values = [w.value for w in cmd.args]
        if "run" in values and "-" in values[values.index("run") + 1 :]:
            return inline(cmd, env, f"{tool} run - (code from stdin)")
        return original(cmd, env)

    return validate


def _sql(cmd: SimpleCommand, env: Env) -> Decision:
    tool = command_name(cmd)
    original = TEXT[tool]
    if not cmd.stdin_fed:
        return original(cmd, env)
    fed = cmd.stdin_text
    if fed is not None and fed.value is not None:  # judged like one more argument
        text = fed.value
        memory = Word(":memory:", ":memory:")
        database = () if tool == "psql" or _sqlite_database(cmd.args) is not None else (memory,)
        return original(replace(cmd, args=(*cmd.args, *database, Word(text, text))), env)
    if tool == "sqlite3" and any(w.value == "-safe" for w in cmd.args):
        return original(cmd, env)
    return deny(
        "deny.sql_stdin",
        f"`{tool}` would read commands from stdin (a pipe, a file or an expanding here-doc) that "
        "cannot be checked for shell escapes; use `sqlite3 -safe`, a quoted here-doc, or "
        "pass the SQL as an argument.",
    )


VALIDATORS: Mapping[str, Validator] = MappingProxyType({
    "make": _make, "tsx": _script_or_stdin("tsx", "r", ("--require", "--import", "--tsconfig")),
    "ts-node": _script_or_stdin("ts-node", "rPO", ("--require", "--project", "--compiler-options")),
    "deno": _run_dash("deno"), "bun": _run_dash("bun"), "sqlite3": _sql, "psql": _sql,
})  # fmt: skip
"""Overrides of the language and text validators for the same names (they call the originals)."""
