"""What a parsed command line runs: simple commands, redirections and function definitions."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from agent.security.words import Word

COMMAND_NAME = re.compile(r"^(\[|[A-Za-z0-9_.:/+@%,-]+)$")
"""A command name that can be trusted: no quoting, escapes, expansions or glob characters."""

State = frozenset[tuple[Word, ...]]
"""The possible `cd` histories (literal targets, in order) before a command runs."""

START: State = frozenset({()})


@dataclass(frozen=True)
class Assignment:
    """``NAME=value`` (before a command, alone, or in export/declare/local)."""

    name: str
    value: Word | None


@dataclass(frozen=True)
class Redirect:
    """A redirection: operator, file descriptor, and target word (``None`` for heredocs)."""

    op: str
    target: Word | None = None
    fd: str | None = None
    process: bool = False  # the target is a process substitution >(...) / <(...)
    dirs: State = START
    body: Word | None = None  # the text a here-doc/here-string feeds (value None if it expands)


@dataclass(frozen=True)
class SimpleCommand:
    """A simple command: name, arguments, prefix assignments and how its stdin is fed."""

    name: Word | None
    args: tuple[Word, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    redirects: tuple[Redirect, ...] = ()
    piped: bool = False  # stdin comes from a pipe
    dirs: State = START  # the cd histories that may precede it

    @property
    def stdin_fed(self) -> bool:
        """True when stdin is a pipe, heredoc, herestring or an input file."""
        return self.piped or any(r.op.startswith("<") and r.op != "<(" for r in self.redirects)

    @property
    def stdin_text(self) -> Word | None:
        """What a here-doc or here-string on stdin feeds (the last stdin redirection wins);
        ``None`` when stdin is a pipe, a file, or not redirected."""
        inputs = [r for r in self.redirects if r.op.startswith("<") and r.op != "<(" and r.fd in (None, "0")]
        if self.piped or not inputs:
            return None
        return inputs[-1].body

    def shift(self, index: int) -> SimpleCommand:
        """The command formed by ``args[index:]`` (for wrappers such as ``env``/``xargs``)."""
        return replace(self, name=self.args[index], args=self.args[index + 1 :], assignments=())


@dataclass(frozen=True)
class FunctionDef:
    name: str
    calls: frozenset[str]


@dataclass(frozen=True)
class Script:
    """Everything a bash command line would run, flattened."""

    commands: tuple[SimpleCommand, ...] = ()
    redirects: tuple[Redirect, ...] = ()
    functions: tuple[FunctionDef, ...] = ()
    pipelines: tuple[tuple[SimpleCommand | None, ...], ...] = ()
    error: str | None = None
    cd_unmodelled: bool = False  # a `cd` inside a loop or function body
    hazard: str | None = None  # a construct that runs code the tree does not show
    fed: tuple[SimpleCommand, ...] = ()  # commands reading an unknown producer: >(cmd), cmd < <(...)
    too_complex: str | None = None  # past the decision budget (states, depth or time)
    arith_output: str | None = None  # a command's output evaluated as arithmetic
    arithmetic: frozenset[str] = frozenset()  # names whose values bash evaluates as arithmetic
    loop_vars: tuple[tuple[str, bool], ...] = ()  # `for NAME in …`: (NAME, from data (not literals))
    loop_values: tuple[tuple[str, tuple[str, ...]], ...] = ()  # `for NAME in a b`: (NAME, (a, b))
    loop_words: tuple[Word, ...] = ()  # every word a `for` loops over (read like arguments)
