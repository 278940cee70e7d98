"""Reads of credential stores by any command, in every place a path can hide in its words."""

from __future__ import annotations

import re

from agent.security.base import Env, deny, too_complex
from agent.security.bash import Script, SimpleCommand, Word, parse_script
from agent.security.commands import Budget
from agent.security.models import Decision
from agent.security.paths import check_read
from agent.security.rules import names
from agent.security.validators_feed import lists_paths
from agent.security.validators_fs import short_cluster
from agent.security.validators_read import SEARCHERS, searched
from agent.security.variables import SETTERS

_NAME_LISTS = {
    "sort": ("--files0-from",), "wc": ("--files0-from",), "du": ("--files0-from",),
    "tar": ("-T", "--files-from"), "bsdtar": ("-T", "--files-from"), "zip": ("-@", "--names-stdin"),
    "rsync": ("--files-from",), "find": ("-files0-from",), "cpio": ("-o", "--create", "-p", "--pass-through"),
    "git": ("--stdin-paths", "--pathspec-from-file"),
}
"""Options with which a tool reads the names of the files to open from a file or stdin."""
_CLUSTERED = frozenset({"tar", "bsdtar", "cpio", "zip"})
"""Of those tools, the ones whose one-letter options count inside a cluster."""


def name_list_problem(cmd: SimpleCommand) -> Decision | None:
    """``sort --files0-from=-``, ``tar -T names``, ``zip -@``, ``git hash-object --stdin-paths``:
    the files read are named by data the policy does not see (``printf '/etc/sh\\141dow'``)."""
    base = (cmd.name.value or "").rsplit("/", 1)[-1] if cmd.name is not None else ""
    options = _NAME_LISTS.get(base, ())
    letters = [o[1] for o in options if len(o) == 2] if base in _CLUSTERED else []  # `tar -cT names`
    for word in cmd.args:
        text = word.value or ""
        if text.partition("=")[0] in options or any(short_cluster(word, letter) for letter in letters):
            return deny("path.unchecked_read", f"`{base} {text}` reads the names of the files to open from a "
                                               "file or stdin, which cannot be checked; name the files.")
    return None


def argument_problems(cmd: SimpleCommand, env: Env) -> Decision | None:
    """Reads of credential stores, by any command: arguments, ``--opt=~/.ssh/key``, short values
    attached (``-T/root/.ssh/id_rsa``) and values assigned for later use (``F=~/.ssh/id_rsa``)."""
    listed = name_list_problem(cmd)
    if listed is not None:
        return listed
    values = [a.value for a in cmd.assignments if a.value is not None]
    base = (cmd.name.value or "").rsplit("/", 1)[-1] if cmd.name is not None else ""
    opens = base in FILE_READERS
    pattern = searched(cmd)[0] if base in SEARCHERS else None  # `grep "$pat" src`: text, not a file
    for word in (*cmd.args, *values):
        if env.budget.spent():
            return too_complex("it took too long to check")
        if word.value is None and env.data_vars and base in PATH_READERS and word is not pattern and \
                (held := uses(word.raw, env.data_vars)) is not None:
            return data_path_denial(base, word.raw, held)
        if opens and word.value is None and not _substituted_paths_listed(word.raw):
            return deny(
                "path.unchecked_read",
                f"`{cmd.name.raw if cmd.name else ''}` would open files named by the output of "
                f"`{word.raw[:40]}`, which cannot be checked for credential paths; list them with "
                "find, ls, git ls-files or grep -l, or name the files directly.",
            )
        for candidate in _read_candidates(word):
            for cwd in env.cwds:
                problem = check_read(candidate, cwd, env.context)
                if problem is not None:
                    return problem
    return None


FILE_READERS = names(
    "cat head tail less more wc xxd od hexdump strings base64 md5sum sha1sum sha256sum cmp tac nl "
    "cut paste jq file"
)
"""Commands that open every operand as a file (so a path built at run time is a read)."""


def _substituted_paths_listed(raw: str, budget: Budget | None = None) -> bool:
    """A word with no command substitution, or whose substitutions only list paths (a lister, then
    only line filters reading the pipe: ``$(ls src | head -1)``)."""
    if "$(" not in raw and "`" not in raw:
        return True
    script = parse_script(f": {raw}", budget)
    inner = script.commands[1:]
    return script.error is None and script.too_complex is None and bool(inner) and all(
        lists_paths(cmd) or (cmd.piped and _filters_lines(cmd)) for cmd in inner) and lists_paths(inner[0])


_LINE_FILTERS = names("head tail sort uniq")


def _filters_lines(cmd: SimpleCommand) -> bool:
    """``head -1``, ``sort -u``: keeps some of the lines it is piped, opens no file."""
    name = cmd.name.value if cmd.name is not None else None
    return name in _LINE_FILTERS and all((w.value or "x").startswith("-") for w in cmd.args)


PATH_READERS = FILE_READERS | names(
    "grep egrep fgrep rg sed awk gawk mawk cp sort uniq diff comm tar zip rsync scp source . python python3 "
    "node bash sh less vi vim nano"
)
"""Commands that open their operands as files: an operand whose value came from command output or
input (``f=$(cat list); cat "$f"``) cannot be checked, so it is refused."""
_REFERENCE = re.compile(r"\$\{?[#!]?([A-Za-z_][A-Za-z0-9_]*)")


def uses(raw: str, held: frozenset[str]) -> str | None:
    """The first variable in ``held`` that the source text ``raw`` expands."""
    return next((m.group(1) for m in _REFERENCE.finditer(raw) if m.group(1) in held), None)


def data_path_denial(command: str, raw: str, name: str) -> Decision:
    return deny(
        "path.unchecked_read",
        f"`{command} {raw[:40]}` opens a file named by `${name}`, which holds command output or input "
        "(read, mapfile, $(…), a loop over them) that cannot be checked for credential paths; fill "
        "it from find, ls, git ls-files or grep -l, or name the files directly.",
    )


def data_names(script: Script, budget: Budget) -> frozenset[str]:
    """Variables ``script`` fills from command output or input (``read``, ``mapfile``,
    ``printf -v``, ``x=$(cmd)``, ``for x in $(cmd)``, copies of those), except values that only
    list paths (``f=$(ls src)``, ``for f in $(git ls-files)``, ``find src | while read f``,
    ``while read f; do …; done < <(git ls-files)``): those are names the listing command found,
    and its own arguments are checked."""
    found: set[str] = set()
    sources: list[tuple[str, Word]] = []
    listed_reads = {index for index, producer in script.read_feeds
                    if _substituted_paths_listed(f"$({producer})", budget)}
    for index, cmd in enumerate(script.commands):
        name = cmd.name.value if cmd.name is not None else None
        if name in SETTERS and index not in listed_reads:
            named = [w.value.split("[", 1)[0] for w in cmd.args if w.value and not w.value.startswith("-")]
            found.update(named or (["REPLY"] if name == "read" else []))  # `read` alone fills $REPLY
        if name == "printf":
            found.update(b.value for a, b in zip(cmd.args, cmd.args[1:], strict=False)
                         if a.value == "-v" and b.value)
        sources += [(a.name, a.value) for a in cmd.assignments if a.value is not None and a.value.value is None]
        sources += [(w.raw.partition("=")[0], Word(w.raw.partition("=")[2])) for w in cmd.args
                    if name in _DECLARES and w.value is None and "=" in w.raw]
    sources += [(name, word) for name, looped in script.loop_sources for word in looped if word.value is None]
    listed = {id(word): _substituted_paths_listed(word.raw, budget) for _, word in sources}
    for _ in range(len(sources) + 1):  # copies of copies: `a=$(cat l); b=$a; cat $b`
        before = len(found)
        found.update(name for name, word in sources if not listed[id(word)] or uses(word.raw, frozenset(found)))
        if len(found) == before:
            break
    return frozenset(found)


_DECLARES = names("declare typeset local export readonly")


def _read_candidates(word: Word) -> list[Word]:
    text = word.value
    if text is not None and text.startswith("@") and len(text) > 1:  # a response file (gcc, javac, mypy)
        return [word, Word(text[1:], text[1:], tilde=text[1:2] == "~")]
    if text is None or not text.startswith("-"):
        return [word]
    if "=" in text:
        value = text.partition("=")[2]
        return [word, Word(value, value, tilde=value.startswith("~"))]
    at = next((i for i in range(2, len(text)) if text[i] in "/.") , None) if text[1:2] != "-" else None
    return [word] if at is None else [word, Word(text[at:], text[at:])]
