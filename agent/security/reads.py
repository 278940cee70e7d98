"""Reads of credential stores by any command, in every place a path can hide in its words."""

from __future__ import annotations

from agent.security.base import Env, deny, too_complex
from agent.security.bash import SimpleCommand, Word, parse_script
from agent.security.models import Decision
from agent.security.paths import check_read
from agent.security.rules import names
from agent.security.validators_feed import lists_paths


def argument_problems(cmd: SimpleCommand, env: Env) -> Decision | None:
    """Reads of credential stores, by any command: arguments, ``--opt=~/.ssh/key``, short values
    attached (``-T/root/.ssh/id_rsa``) and values assigned for later use (``F=~/.ssh/id_rsa``)."""
    values = [a.value for a in cmd.assignments if a.value is not None]
    opens = cmd.name is not None and (cmd.name.value or "").rsplit("/", 1)[-1] in FILE_READERS
    for word in (*cmd.args, *values):
        if env.budget.spent():
            return too_complex("it took too long to check")
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


def _substituted_paths_listed(raw: str) -> bool:
    """A word with no command substitution, or whose substitutions only list paths."""
    if "$(" not in raw and "`" not in raw:
        return True
    script = parse_script(f": {raw}")
    inner = script.commands[1:]
    return script.error is None and bool(inner) and all(lists_paths(cmd) for cmd in inner)


def _read_candidates(word: Word) -> list[Word]:
    text = word.value
    if text is None or not text.startswith("-"):
        return [word]
    if "=" in text:
        value = text.partition("=")[2]
        return [word, Word(value, value, tilde=value.startswith("~"))]
    at = next((i for i in range(2, len(text)) if text[i] in "/.") , None) if text[1:2] != "-" else None
    return [word] if at is None else [word, Word(text[at:], text[at:])]
