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

from agent.security.base import Env, Validator, ok, parse_options
from agent.security.bash import Script, SimpleCommand, Word
from agent.security.longopts import Operands, normalise
from agent.security.models import Decision
from agent.security.validators_exec import VALIDATORS as EXEC
from agent.security.validators_exec import find_execs, find_starts

_XARGS_VALUES = frozenset({"--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars",
                           "--process-slot-var"})  # fmt: skip
_OPERANDS = Operands("adEILnPs", _XARGS_VALUES)
_ACTIONS = frozenset({"-print", "-print0", "-printf", "-fprint", "-fprint0", "-fprintf", "-ls", "-fls",
                      "-exec", "-execdir", "-ok", "-okdir", "-delete", "-quit"})  # fmt: skip

Feeds = tuple[tuple[tuple[Word, ...], tuple[Word, ...]], ...]


def feeds(script: Script) -> Feeds:
    """(xargs arguments, find arguments) for every ``find … | xargs …`` in ``script``."""
    found: list[tuple[tuple[Word, ...], tuple[Word, ...]]] = []
    for stages in script.pipelines:
        for before, after in itertools.pairwise(stages):
            if before is not None and after is not None and _named(before, "find") and _named(after, "xargs"):
                found.append((after.args, before.args))
    return tuple(found)


def _named(cmd: SimpleCommand, name: str) -> bool:
    return cmd.name is not None and cmd.name.value == name and not cmd.assignments


def xargs(cmd: SimpleCommand, env: Env) -> Decision:
    decision = EXEC["xargs"](cmd, env)
    producer = dict(env.feeds).get(cmd.args)
    if decision.allowed or decision.rule != "deny.xargs" or producer is None:
        return decision
    return _fed_by_find(cmd, env, producer) or decision


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
