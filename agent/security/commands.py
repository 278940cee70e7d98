"""What a parsed command line runs: simple commands, redirections and function definitions."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace

from agent.security.words import Word

COMMAND_NAME = re.compile(r"^(\[|[A-Za-z0-9_.:/+@%,-]+)$")
"""A command name that can be trusted: no quoting, escapes, expansions or glob characters."""

State = frozenset[tuple[Word, ...]]
"""The possible `cd` histories (literal targets, in order) before a command runs."""

START: State = frozenset({()})


class Budget:
    """The time one decision may take: wall-clock (the harness must not stall) and the CPU time of
    the deciding thread (so a loaded machine does not turn a verdict into "too complex").

    :meth:`spent` is called per syntax node and per command, so it reads the cheap monotonic clock;
    the thread's CPU clock (a system call) is read only once the wall clock shows that the CPU
    budget could be used up (a thread never gets more CPU time than wall time)."""

    __slots__ = ("_cpu_left_at", "_cpu_start", "cpu_s", "wall")

    def __init__(self, wall_s: float = float("inf"), cpu_s: float = float("inf")) -> None:
        now = time.monotonic()
        self.wall = now + wall_s
        self.cpu_s = cpu_s
        self._cpu_start = time.thread_time() if cpu_s != float("inf") else 0.0
        self._cpu_left_at = now + cpu_s  # before this wall time the CPU budget cannot be spent

    def spent(self) -> bool:
        now = time.monotonic()
        if now > self.wall:
            return True
        if now < self._cpu_left_at:
            return False
        left = self.cpu_s - (time.thread_time() - self._cpu_start)
        if left < 0:
            return True
        self._cpu_left_at = now + left
        return False


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
    read_feeds: tuple[tuple[int, str], ...] = ()  # (index of a `while read` loop's read, its producer's text)
    too_complex: str | None = None  # past the decision budget (states, depth or time)
    arith_output: str | None = None  # a command's output evaluated as arithmetic
    arithmetic: frozenset[str] = frozenset()  # names whose values bash evaluates as arithmetic
    loop_vars: tuple[tuple[str, bool], ...] = ()  # `for NAME in …`: (NAME, from data (not literals))
    loop_values: tuple[tuple[str, tuple[str, ...]], ...] = ()  # `for NAME in a b`: (NAME, (a, b))
    loop_words: tuple[Word, ...] = ()  # every word a `for` loops over (read like arguments)
    loop_sources: tuple[tuple[str, tuple[Word, ...]], ...] = ()  # `for NAME in WORDS`: (NAME, WORDS)
