"""``find``: its start paths are walked (never a home, ``/`` or ``/root``), ``-delete`` and
``-exec`` commands are checked with ``{}`` standing for a file below each start (and for a file in
``.git`` when find starts above it and no test keeps it out), ``-fprint`` targets are writes."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from types import MappingProxyType

from agent.security.base import Env, Validator, deny, dynamic_denial, ok
from agent.security.bash import SimpleCommand, Word
from agent.security.models import Decision
from agent.security.paths import expand_tilde, glob_matches, is_inside
from agent.security.rules import names
from agent.security.validators_exec import check_inner
from agent.security.validators_fs import check_paths, recursive_read_problem, resolve_word

_FIND_TESTS = names(
    "-name -iname -path -ipath -wholename -iwholename -regex -iregex -type -newer -mtime -mmin "
    "-atime -amin -ctime -cmin -empty -size -perm -user -group -links -inum -samefile"
)


def find_starts(args: tuple[Word, ...]) -> tuple[list[Word], tuple[Word, ...], bool]:
    """find's start paths, its expression, and whether it follows symlinks (``-L``)."""
    index, follow = 0, False
    while index < len(args) and (args[index].value or "") in ("-H", "-L", "-P"):
        follow = follow or args[index].value == "-L"
        index += 1
    starts: list[Word] = []
    while index < len(args) and not _is_find_expression(args[index]):
        starts.append(args[index])
        index += 1
    return starts, args[index:], follow


def find(cmd: SimpleCommand, env: Env) -> Decision:
    starts, expression, follow = find_starts(cmd.args)
    dynamic = next((w for w in starts if w.value is None), None)
    if dynamic is not None:
        return dynamic_denial(cmd, dynamic, "start path")
    decision = _find_expression(cmd, env, starts or [Word(".", ".")], expression, follow)
    if not decision.allowed:
        return decision
    return recursive_read_problem(starts, env, "find") or decision  # find walks and names what it finds


def _is_find_expression(word: Word) -> bool:
    return word.value is None or word.value.startswith("-") or word.value in ("(", ")", "!", ",")


def _find_expression(
    cmd: SimpleCommand, env: Env, starts: list[Word], expr: tuple[Word, ...], follow: bool
) -> Decision:
    index, delete, tested, execs = 0, False, False, []
    while index < len(expr):
        token = expr[index].value or ""
        if token in ("-exec", "-execdir", "-ok", "-okdir"):
            end = _exec_end(expr, index + 1)
            if end is None or end == index + 1:
                return deny("deny.find_exec", f"`find {token}` needs a command ending in `;`.")
            execs.append(expr[index + 1 : end])
            index = end
        elif token in ("-fprint", "-fprint0", "-fls", "-fprintf"):
            problem = check_paths(expr[index + 1 : index + 2], env, f"find {token}")
            if problem is not None:
                return problem
        delete = delete or token == "-delete"
        tested = tested or token in _FIND_TESTS
        follow = follow or token == "-follow"
        index += 1
    if (delete or execs) and follow:
        return deny(
            "deny.find_follow",
            "`find -L`/`-follow` with -delete or -exec could act through symlinks outside the project.",
        )
    problem = _find_delete(env, starts, tested) if delete else None
    return problem or find_execs(env, starts, execs, expr) or ok(cmd)


def _exec_end(expr: tuple[Word, ...], start: int) -> int | None:
    for index in range(start, len(expr)):
        value = expr[index].value
        if value == ";" or (value == "+" and expr[index - 1].value == "{}"):
            return index
    return None


def _find_delete(env: Env, starts: list[Word], tested: bool) -> Decision | None:
    problem = check_paths(starts, env, "find -delete")
    if problem is not None or tested:
        return problem
    if any(resolve_word(w, cwd, env) == env.project for w in starts for cwd in env.cwds):
        return deny(
            "deny.rm_project", "`find -delete` without a test like -name would delete the whole project."
        )
    return None


def find_execs(
    env: Env, starts: list[Word], execs: list[tuple[Word, ...]], expression: tuple[Word, ...] = ()
) -> Decision | None:
    """The first denial among commands run on found files (``{}``: a file below each start,
    and, when a start holds the project's ``.git`` and no test keeps find out of it, a file in
    ``.git`` too: ``find . -name config -exec sed -i … {} +`` would reach ``.git/config``)."""
    home = env.context.effective_home
    for words in execs:
        for start in starts:
            base = expand_tilde(start.value or ".", start.tilde, home)
            if base is None:
                return deny("path.outside", f"`find {start.raw}` starts outside the project.")
            root = base.rstrip("/") or "/"
            names = [f"{root}/found-file"]
            if not _skips_git(expression) and _holds_git(start, env):
                names.append(f"{root}/.git/found-file")
            for found in names:
                subst = tuple(_substitute(w, found, start.glob) for w in words)
                decision = check_inner(SimpleCommand(subst[0], subst[1:]), env)
                if not decision.allowed:
                    return decision
    return recursive_read_problem(starts, env, "find -exec") if execs else None


_PATH_TESTS = ("-path", "-ipath", "-wholename", "-regex", "-name")
_GIT_NAMES = names(
    "config HEAD index description packed-refs FETCH_HEAD ORIG_HEAD MERGE_HEAD COMMIT_EDITMSG "
    "hooks info attributes exclude modules objects refs heads logs worktrees gitdir commondir "
    "pre-commit post-commit pre-push post-checkout post-merge pre-rebase commit-msg "
    "prepare-commit-msg pre-receive update post-update post-receive pre-applypatch "
    "applypatch-msg post-rewrite fsmonitor-watchman push-to-checkout pre-merge-commit "
    "reference-transaction sendemail-validate post-index-change pre-auto-gc pre-commit.sample"
)
"""Files in ``.git`` that make git run code or change what it does (hooks, config, attributes)."""


def _skips_git(expression: tuple[Word, ...]) -> bool:
    """A test that keeps find out of ``.git``: a path test naming it (``-not -path './.git/*'``,
    ``-path ./.git -prune``) or a ``-name '*.ext'`` pattern (no file git keeps is named so)."""
    values = [w.value or "" for w in expression]
    for index, (flag, value) in enumerate(itertools.pairwise(values)):
        negated = index > 0 and values[index - 1] in ("-not", "!")
        pruned = values[index + 2 : index + 3] == ["-prune"]
        if flag in _PATH_TESTS and ".git" in value and (negated or pruned):
            return True
    names = [value for flag, value in itertools.pairwise(values) if flag in ("-name", "-iname")]
    return (bool(names) and "-o" not in values and "-or" not in values
            and not any(glob_matches(git, name) for name in names for git in _GIT_NAMES))


def _holds_git(start: Word, env: Env) -> bool:
    git = env.project / ".git"
    return any((path := resolve_word(start, cwd, env)) is None or is_inside(git, path) for cwd in env.cwds)


def _substitute(word: Word, found: str, glob: bool) -> Word:
    """``{}`` → a file under the start path (for checking ``find -exec`` commands)."""
    if word.value is None or "{}" not in word.value:
        return word
    value = word.value.replace("{}", found)
    return Word(word.raw, value, word.glob or glob, word.tilde and not word.value.startswith("{}"))


VALIDATORS: Mapping[str, Validator] = MappingProxyType({"find": find})
