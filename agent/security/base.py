"""Shared plumbing for the command validators: the check environment and option parsing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from agent.security.bash import SimpleCommand, Word
from agent.security.commands import Budget
from agent.security.models import DECISION_CACHE, Decision, PolicyContext, SecurityConfig
from agent.security.rules import (
    DANGEROUS_VAR_PREFIXES,
    DANGEROUS_VARS,
    PROGRAM_VARS,
    SAFE_PROGRAM_VALUES,
)
from agent.security.variables import settable

_VERSIONED = (
    (re.compile(r"^python\d*(\.\d+)?$"), "python"),
    (re.compile(r"^pip\d*(\.\d+)?$"), "pip"),
    (re.compile(r"^mkfs(\..+)?$"), "mkfs"),
    (re.compile(r"^(g\+\+|gcc|clang|clang\+\+)-\d+$"), "gcc"),
)
_VERSIONED_STARTS = ("python", "pip", "mkfs", "g++", "gcc", "clang")


@dataclass(frozen=True)
class Env:
    """What a validator may look at besides the command itself."""

    context: PolicyContext
    cwds: tuple[Path, ...]  # every directory the command may run in (cwd + `cd` targets)
    functions: frozenset[str]  # shell functions defined in the same command line
    depth: int  # nesting of bash -c / find -exec / wrappers
    inner: Callable[[SimpleCommand, Env], Decision]  # full check of a wrapped command
    nested: Callable[[str, Env], Decision]  # parse and check a bash string (bash -c STR)
    budget: Budget = field(default_factory=Budget)  # past it the decision is "too complex"
    assigned: frozenset[str] = frozenset()  # variables this command line (or an outer one) sets
    loop_values: tuple[tuple[str, tuple[str, ...]], ...] = ()  # set only by one literal `for`
    loop_roots: tuple[tuple[str, tuple[Word, ...]], ...] = ()  # set only by one `for`: its words
    feeds: tuple[tuple[tuple[Word, ...], SimpleCommand | None], ...] = ()  # xargs args -> stage before
    data_vars: frozenset[str] = frozenset()  # variables filled from command output or input

    @property
    def config(self) -> SecurityConfig:
        return self.context.config

    @property
    def project(self) -> Path:
        return self.context.project_dir


Validator = Callable[[SimpleCommand, Env], Decision]


def deny(rule: str, reason: str) -> Decision:
    return verdict(False, rule, reason)


def allow(rule: str, reason: str) -> Decision:
    return verdict(True, rule, reason)


def too_complex(why: str) -> Decision:
    return deny("deny.too_complex", f"The command is too complex to judge ({why}); split it into "
                                    "simpler commands.")


def verdict(allowed: bool, rule: str, reason: str) -> Decision:
    """A (frozen) Decision, built once per decision for the same words (``ls; ls; ls``)."""
    memo = DECISION_CACHE.get()
    if memo is None:
        return Decision(allowed=allowed, reason=reason, rule=rule)
    key = (allowed, rule, reason)
    if key not in memo.verdicts:
        memo.verdicts[key] = Decision(allowed=allowed, reason=reason, rule=rule)
    return memo.verdicts[key]


def ok(cmd: SimpleCommand, note: str = "") -> Decision:
    """Allow ``cmd`` (a validator found nothing wrong)."""
    name = command_name(cmd)
    return allow(f"allow.{canonical(name)}", f"`{name}` is allowed{note}.")


def command_name(cmd: SimpleCommand) -> str:
    """The basename of the (literal) command name."""
    value = cmd.name.value if cmd.name is not None else None
    return (value or "").rsplit("/", 1)[-1]


def canonical(name: str) -> str:
    """Fold versioned names (python3.12, pip3, mkfs.ext4) onto their family name."""
    if not name.startswith(_VERSIONED_STARTS):
        return name
    for pattern, family in _VERSIONED:
        if pattern.match(name):
            return family
    return name


def first_dynamic(words: Iterable[Word]) -> Word | None:
    return next((word for word in words if word.value is None), None)


def dynamic_denial(cmd: SimpleCommand, word: Word, what: str = "argument") -> Decision:
    return deny(
        "deny.dynamic_argument",
        f"`{command_name(cmd)}` gets the {what} `{word.raw}`, which holds an expansion whose "
        "value cannot be checked; write it out literally.",
    )


@dataclass(frozen=True)
class Options:
    """Parsed command-line options: ``(name, value)`` pairs and positional words."""

    flags: tuple[tuple[str, Word | None], ...]
    positionals: tuple[Word, ...]
    rest_index: int | None = None  # index in args of the first positional when stopping early

    def has(self, *names: str) -> bool:
        return any(flag in names for flag, _ in self.flags)

    def values(self, *names: str) -> list[Word]:
        return [value for flag, value in self.flags if flag in names and value is not None]

    def names(self) -> list[str]:
        return [flag for flag, _ in self.flags]


def parse_options(
    args: tuple[Word, ...],
    short_values: str = "",
    long_values: Iterable[str] = (),
    stop_at_positional: bool = False,
) -> Options:
    """GNU-style option parsing over shell words (``--`` ends options)."""
    long_set = frozenset(long_values)
    flags: list[tuple[str, Word | None]] = []
    positionals: list[Word] = []
    index = 0
    while index < len(args):
        word, text = args[index], args[index].value
        index += 1
        if text is None or text == "-" or not text.startswith("-"):
            if stop_at_positional:
                return Options(tuple(flags), tuple(args[index - 1 :]), index - 1)
            positionals.append(word)
        elif text == "--":
            positionals.extend(args[index:])
            return Options(tuple(flags), tuple(positionals), index if stop_at_positional else None)
        elif text.startswith("--"):
            name, eq, value = text.partition("=")
            if eq:
                flags.append((name, Word(value, value)))
            elif name in long_set and index < len(args):
                flags.append((name, args[index]))
                index += 1
            else:
                flags.append((name, None))
        else:
            index = _short_cluster(text, args, index, short_values, flags)
    return Options(tuple(flags), tuple(positionals), len(args) if stop_at_positional else None)


def _short_cluster(
    text: str,
    args: tuple[Word, ...],
    index: int,
    short_values: str,
    flags: list[tuple[str, Word | None]],
) -> int:
    for offset, letter in enumerate(text[1:], start=1):
        if letter in short_values:
            rest = text[offset + 1 :]
            if rest:
                flags.append((f"-{letter}", Word(rest, rest)))
            elif index < len(args):
                flags.append((f"-{letter}", args[index]))
                index += 1
            else:
                flags.append((f"-{letter}", None))
            return index
        flags.append((f"-{letter}", None))
    return index


def assignment_problem(name: str, value: str | None, raw: str | None = None) -> Decision | None:
    """A denial when setting ``name`` (to the literal ``value``, or the source text ``raw``) is
    not allowed: a program variable with a non-trivial value, or a configuration family."""
    if name in PROGRAM_VARS:
        if value is not None and value.strip() in SAFE_PROGRAM_VALUES:
            return None
        return deny(
            "deny.env_var",
            f"`{name}` may only be set to cat, less, more or true: it names a program to run.",
        )
    if name in DANGEROUS_VARS or name.startswith(DANGEROUS_VAR_PREFIXES):
        return deny(
            "deny.env_var",
            f"setting `{name}` is not allowed: it changes which code runs (loader, shell "
            "start-up, git hooks or home directory).",
        )
    return settable(name, value if value is not None else raw)
