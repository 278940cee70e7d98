"""``find``: its start paths are walked (never a home, ``/`` or ``/root``), ``-delete`` and
``-exec`` commands are checked with ``{}`` standing for a file below each start (and for a file in
``.git`` when find starts above it and no test keeps it out), ``-fprint`` targets are writes."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from types import MappingProxyType

from agent.security.base import Env, Validator, deny, dynamic_denial, ok
from agent.security.bash import SimpleCommand, Word
from agent.security.models import Decision
from agent.security.paths import expand_tilde, is_inside
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
    # find names what it finds, and what reads its output (xargs, a loop) reads those files
    return recursive_read_problem(starts, env, "find", contents=not _only_named(expression)) or decision


def _is_find_expression(word: Word) -> bool:
    """The first word of find's expression; an expansion is one only when it starts with ``-``
    (``find $HOME -name x``: ``$HOME`` is a start path whose value cannot be checked)."""
    if word.value is None:
        return word.raw.startswith("-")
    return word.value.startswith("-") or word.value in ("(", ")", "!", ",")


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
    problem = _find_delete(env, starts, tested, expr) if delete else None
    return problem or find_execs(env, starts, execs, expr) or ok(cmd)


def _exec_end(expr: tuple[Word, ...], start: int) -> int | None:
    for index in range(start, len(expr)):
        value = expr[index].value
        if value == ";" or (value == "+" and expr[index - 1].value == "{}"):
            return index
    return None


def _find_delete(env: Env, starts: list[Word], tested: bool, expression: tuple[Word, ...]) -> Decision | None:
    problem = check_paths(starts, env, "find -delete")
    if problem is not None:
        return problem
    if not tested and any(resolve_word(w, cwd, env) == env.project for w in starts for cwd in env.cwds):
        return deny(
            "deny.rm_project", "`find -delete` without a test like -name would delete the whole project."
        )
    home = env.context.effective_home  # `find . -type f -delete` deletes .git's files too
    roots = [(expand_tilde(w.value or ".", w.tilde, home) or "/").rstrip("/") or "/"
             for w in starts if _holds_git(w, env)]
    return check_paths([Word(sample, sample) for root in roots for sample in _git_samples(root, expression)],
                       env, "find -delete")


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
            names = [f"{root}/found-file", *(_git_samples(root, expression) if _holds_git(start, env) else [])]
            for found in names:
                subst = tuple(_substitute(w, found, start.glob) for w in words)
                decision = check_inner(SimpleCommand(subst[0], subst[1:]), env)
                if not decision.allowed:
                    return decision
    if not execs:
        return None
    return recursive_read_problem(starts, env, "find -exec", contents=not _only_named(expression))


_SECRET_SAMPLES = ("shadow", "gshadow", "shadow-", "gshadow-", "sudoers", "environ", "mem", "kcore", "maps",
                   "ssh_host_rsa_key", "ssh_host_ed25519_key", "ssl-cert-snakeoil.key", "id_rsa", "credentials",
                   "token", "secret", "passwd-")
"""Names of system secrets (and of files like them) a name test must not be able to match."""
_SECRET_NAME = re.compile(r"shadow|sudoers|environ|^mem$|kcore|key|\.pem$|^id_|secret|token|passw|cred",
                          re.IGNORECASE)


def _only_named(expression: tuple[Word, ...]) -> bool:
    """The expression lets through only files whose names no system secret has (``find /etc
    -name hosts -exec cat {} +``, ``find /etc -name '*.conf'``): every test ANDed (no ``-o``,
    ``!``, ``,``), and at least one ``-name``/``-iname`` whose pattern matches none of
    :data:`_SECRET_SAMPLES` (a plain name: none that looks like a secret)."""
    values = [w.value for w in expression]
    if any(v is None or v in ("-o", "-or", "!", "-not", ",") for v in values):
        return False
    names = [values[i + 1] for i, v in enumerate(values[:-1]) if v in ("-name", "-iname")]
    return bool(names) and all(n is not None and not _SECRET_NAME.search(n.replace("*", "").replace("?", ""))
                               and not any(fnmatchcase(s.lower(), n.lower()) for s in _SECRET_SAMPLES)
                               for n in names)


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


def _git_samples(root: str, expression: tuple[Word, ...]) -> list[str]:
    """The places in the ``.git`` below ``root`` that find's actions may reach: the directory
    itself (``-exec rm -rf {} +`` on it removes the repository) and a file in it, each unless a
    test of ``expression`` keeps it out for sure."""
    samples = [f"{root}/.git", f"{root}/.git/config"]
    return [sample for index, sample in enumerate(samples)
            if not _keeps_out(expression, root, sample, is_dir=index == 0)]


def _keeps_out(expression: tuple[Word, ...], root: str, sample: str, is_dir: bool) -> bool:
    """A test that surely keeps ``sample`` (``root/.git``, or a file in it) from find's actions:
    with no ``-o``/``,`` (they let what fails a test reach the other branch), a negated path test
    matching it (``-not -path './.git/*'`` keeps out the files, not the directory), a ``-name``
    pattern it does not match, ``-type f`` for the directory; or the prune idiom first
    (``-path ./.git -prune -o …``)."""
    values = [w.value or "" for w in expression]
    if _prunes_git_first(values, root):
        return True
    if any(v in ("-o", "-or", ",") for v in values) or any(w.value is None for w in expression):
        return False
    base = sample.rsplit("/", 1)[-1]  # the directory's own name (a file's is any of _GIT_NAMES)
    for index, (flag, value) in enumerate(itertools.pairwise(values)):
        negated = index > 0 and values[index - 1] in ("-not", "!")
        if flag in ("-path", "-wholename", "-ipath", "-iwholename") and negated and fnmatchcase(sample, value):
            return True
        if flag in ("-name", "-iname") and not negated and not (  # find's `*` matches a leading dot
                fnmatchcase(base, value) if is_dir else any(fnmatchcase(git, value) for git in _GIT_NAMES)):
            return True
        if flag == "-type" and not negated and is_dir and "d" not in value:
            return True
    return False


def _prunes_git_first(values: list[str], root: str) -> bool:
    """``-path ./.git -prune -o …`` (or ``-name .git``, in parentheses or not) at the front."""
    inner = values[1:] if values[:1] == ["("] else values
    if len(inner) < 4 or inner[2] != "-prune":
        return False
    rest = inner[4:] if values[:1] == ["("] and inner[3] == ")" else inner[3:]
    flag, pattern = inner[0], inner[1]
    covers = (flag in ("-path", "-wholename") and fnmatchcase(f"{root}/.git", pattern)) or \
        (flag == "-name" and fnmatchcase(".git", pattern))
    return covers and rest[:1] in (["-o"], ["-or"])


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
