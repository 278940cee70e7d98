"""``find … -print0 | xargs -0 CMD``: xargs fed the exact names find prints.

``xargs`` alone may only feed stdin words to read-only commands (its input is unknown). When the
stage before it is ``find`` printing NUL-separated names (``-print0``) and xargs splits on NUL
(``-0``), every word is a path find found below its start paths, so ``CMD`` is judged like
``find -exec CMD {} +``: ``{}`` stands for a file below each start. Without ``-print0``/``-0``
xargs splits on blanks and reads quotes, so a directory named ``a /etc`` in the project would
hand ``/etc/…`` to CMD: that form stays refused for writers.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from types import MappingProxyType

from agent.security.base import Env, Validator, deny, ok, parse_options
from agent.security.bash import Script, SimpleCommand, Word
from agent.security.longopts import Operands, normalise
from agent.security.models import Decision
from agent.security.validators_exec import VALIDATORS as EXEC
from agent.security.validators_find import find_execs, find_starts

_XARGS_VALUES = frozenset({"--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars",
                           "--process-slot-var"})  # fmt: skip
_OPERANDS = Operands("adEILnPs", _XARGS_VALUES)
_ACTIONS = frozenset({"-print", "-print0", "-printf", "-fprint", "-fprint0", "-fprintf", "-ls", "-fls",
                      "-exec", "-execdir", "-ok", "-okdir", "-delete", "-quit"})  # fmt: skip

Feeds = tuple[tuple[tuple[Word, ...], SimpleCommand | None], ...]
_NAMES_ONLY = frozenset({"echo", "printf", "true", "basename", "dirname"})
"""xargs targets that never open the words they get (the others read them as files)."""


def feeds(script: Script) -> Feeds:
    """(xargs arguments, the pipeline stage before it) for every ``… | xargs …`` in ``script``
    (``None``: the stage before is not a simple command)."""
    found: list[tuple[tuple[Word, ...], SimpleCommand | None]] = []
    for stages in script.pipelines:
        for before, after in itertools.pairwise(stages):
            if after is not None and _named(after, "xargs"):
                found.append((after.args, before))
    return tuple(found)


def _named(cmd: SimpleCommand, *names: str) -> bool:
    return cmd.name is not None and cmd.name.value in names and not cmd.assignments


def xargs(cmd: SimpleCommand, env: Env) -> Decision:
    decision = EXEC["xargs"](cmd, env)
    producers = [producer for args, producer in env.feeds if args == cmd.args]
    if not decision.allowed:
        finds = [p for p in producers if p is not None and _named(p, "find")]
        if decision.rule != "deny.xargs" or not finds or len(finds) != len(producers):
            return decision
        verdicts = [_fed_by_find(cmd, env, p.args) for p in finds]
        return next((v for v in verdicts if v is None or not v.allowed), None) or verdicts[0] or decision
    arg_file = _has_arg_file(cmd)
    if not _opens_files(cmd) or not (cmd.piped or cmd.stdin_fed or arg_file):
        return decision
    if cmd.piped and not arg_file and producers and all(p is not None and lists_paths(p) for p in producers):
        return decision
    return deny(
        "path.unchecked_read",
        f"`xargs {cmd.args[-1].raw if cmd.args else ''}` would open files named by input that cannot "
        "be checked for credential paths; feed it from find, ls, git ls-files or grep -l, or "
        "name the files directly.",
    )


def _opens_files(cmd: SimpleCommand) -> bool:
    inner = _inner(cmd)
    return inner is not None and (inner.value or "").rsplit("/", 1)[-1] not in _NAMES_ONLY


def _has_arg_file(cmd: SimpleCommand) -> bool:
    args = normalise("xargs", cmd.args, _OPERANDS)
    return isinstance(args, str) or parse_options(
        args, "adEILnPs", _XARGS_VALUES, stop_at_positional=True).has("-a", "--arg-file")


def _inner(cmd: SimpleCommand) -> Word | None:
    args = normalise("xargs", cmd.args, _OPERANDS)
    if isinstance(args, str):
        return None
    index = parse_options(args, "adEILnPs", _XARGS_VALUES, stop_at_positional=True).rest_index
    return args[index] if index is not None and index < len(args) else None


def lists_paths(producer: SimpleCommand) -> bool:
    """A stage whose output is names of files (its own validator judged where it looks), not text
    it was given: find without -printf/-exec, ls, git ls-files, grep -l, rg -l/--files, plain echo,
    basename/dirname/pwd (their own arguments are checked like any)."""
    values = [w.value or "" for w in producer.args]
    if _named(producer, "find"):
        return not set(values) & (_ACTIONS - {"-print", "-print0"})
    if _named(producer, "ls", "fd", "fdfind", "basename", "dirname", "pwd"):
        return True
    if _named(producer, "git"):
        return values[:1] == ["ls-files"] or (values[:1] == ["diff"] and "--name-only" in values)
    if _named(producer, "grep", "egrep", "fgrep", "rg"):
        return any(v in ("-l", "-L", "--files-with-matches", "--files-without-match", "--files") or
                   (v[:1] == "-" and v[1:2] != "-" and "l" in v) for v in values)
    return _named(producer, "echo") and not any(v.startswith("-") for v in values)


def _fed_by_find(cmd: SimpleCommand, env: Env, producer: tuple[Word, ...]) -> Decision | None:
    """``None`` when the pair is not the exact NUL-separated form; else the verdict on CMD."""
    starts, expression, follow = find_starts(producer)
    values = [w.value for w in expression]
    actions = [v for v in values if v in _ACTIONS]
    if follow or "-follow" in values or actions != ["-print0"] or values[-1] != "-print0":
        return None
    args = normalise("xargs", cmd.args, _OPERANDS)
    if isinstance(args, str):
        return None
    opts = parse_options(args, "adEILnPs", _XARGS_VALUES, stop_at_positional=True)
    if not opts.has("-0", "--null") or opts.has("-a", "--arg-file", "-d", "--delimiter"):
        return None
    index = opts.rest_index
    if index is None or index >= len(args):
        return None
    replace = [w.value for w in opts.values("-I", "--replace", "-i")]
    words = tuple(_placeholder(w, replace) for w in args[index:])
    if not replace:
        words = (*words, Word("{}", "{}"))
    problem = find_execs(env, starts or [Word(".", ".")], [words], expression)
    return problem or ok(cmd, " (fed the names find prints)")


def _placeholder(word: Word, replace: list[str | None]) -> Word:
    if not replace or word.value is None:
        return word
    text = word.value
    for pattern in replace:
        text = text.replace(pattern or "{}", "{}")
    return Word(word.raw, text, word.glob, word.tilde)


VALIDATORS: Mapping[str, Validator] = MappingProxyType({"xargs": xargs})
