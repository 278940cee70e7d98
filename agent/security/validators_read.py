"""Validators for commands that read recursively: a walk of a home, ``/``, ``/home`` or ``/root``
would reach credential stores (grep -r, diff -r, du, tree, ls -R)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from agent.security.base import Env, Validator, command_name, deny, ok, parse_options
from agent.security.bash import SimpleCommand, Word
from agent.security.models import Decision
from agent.security.validators_fs import HERE, check_paths, recursive_read_problem

_GREP_VALUES = "efABCdmD"
_GREP_LONG = ("--regexp", "--file", "--after-context", "--before-context", "--context",
              "--directories", "--max-count", "--devices", "--include", "--exclude",
              "--exclude-dir", "--label", "--color", "--colour", "--binary-files")  # fmt: skip


_SEARCHER_VALUES = "efgtTAmBCMjE"
_SEARCHER_LONG = ("--regexp", "--file", "--glob", "--type", "--type-not", "--max-count", "--context")
SEARCHERS = frozenset({"grep", "egrep", "fgrep", "rg", "ag"})


def searched(cmd: SimpleCommand) -> tuple[Word | None, list[Word]]:
    """grep, egrep, fgrep, rg, ag: (the pattern operand, the paths searched). The first operand is
    the pattern unless ``-e``/``--regexp`` or ``-f``/``--file`` gave it; then all are paths."""
    grep_family = command_name(cmd) in ("grep", "egrep", "fgrep")
    opts = parse_options(cmd.args, _GREP_VALUES if grep_family else _SEARCHER_VALUES,
                         _GREP_LONG if grep_family else _SEARCHER_LONG)
    paths = list(opts.positionals)
    if paths and not opts.has("-e", "--regexp", "-f", "--file"):
        return paths[0], paths[1:]
    return None, paths


def grep(cmd: SimpleCommand, env: Env) -> Decision:
    """grep -r/-R (and `--directories=recurse`) must not walk a home, / or /root."""
    opts = parse_options(cmd.args, _GREP_VALUES, _GREP_LONG)
    recursive = opts.has("-r", "-R", "--recursive", "--dereference-recursive") or any(
        (word.value or "").startswith("rec") for word in opts.values("-d", "--directories")
    )
    if not recursive:
        return ok(cmd)
    return recursive_read_problem(searched(cmd)[1] or [HERE], env, command_name(cmd)) or ok(cmd)


def diff(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(cmd.args, "CUFIxXSDL", ("--label", "--exclude", "--exclude-from",
                                                 "--starting-file", "--ignore-matching-lines"))
    if not opts.has("-r", "--recursive"):
        return ok(cmd)
    return recursive_read_problem(opts.positionals, env, "diff -r") or ok(cmd)


def recursive_lister(short_values: str, long_values: tuple[str, ...], flags: tuple[str, ...] = ()) -> Validator:
    """du, tree, ``ls -R``: a walk of ``~``, ``/``, ``/home`` or ``/root`` lists credential stores
    (names and sizes); ``flags``: the options that make the walk recursive (none: always)."""

    def validate(cmd: SimpleCommand, env: Env) -> Decision:
        opts = parse_options(cmd.args, short_values, long_values)
        if flags and not opts.has(*flags):
            return ok(cmd)
        problem = recursive_read_problem(opts.positionals or [HERE], env, command_name(cmd))
        if problem is None and command_name(cmd) == "tree":
            problem = check_paths(opts.values("-o"), env, "tree")
        return problem or ok(cmd)

    return validate


def ps(cmd: SimpleCommand, env: Env) -> Decision:
    """ps's BSD ``e`` modifier (``ps eww``, ``ps auxe``) prints other processes' environments,
    what ``/proc/*/environ`` holds."""
    if any(w.value is not None and not w.value.startswith("-") and "e" in w.value and w.value.isalpha()
           for w in cmd.args):
        return deny("path.credentials", "`ps e` prints the environment of processes (API keys among it); "
                                        "leave out the `e`.")
    return ok(cmd)


VALIDATORS: Mapping[str, Validator] = MappingProxyType({
    "ps": ps,
    "grep": grep, "egrep": grep, "fgrep": grep, "diff": diff,
    "tree": recursive_lister("oLPIHT", ("--charset", "--filelimit", "--timefmt", "--sort")),
    "du": recursive_lister("dBtX", ("--max-depth", "--block-size", "--threshold", "--exclude-from",
                                    "--exclude", "--files0-from", "--time-style")),
    "ls": recursive_lister("IwTp", ("--ignore", "--hide", "--width", "--tabsize", "--format",
                                    "--sort", "--time", "--time-style", "--block-size", "--color",
                                    "--quoting-style", "--indicator-style"), ("-R", "--recursive")),
})  # fmt: skip
