"""Reads of credential stores by any command, in every place a path can hide in its words."""

from __future__ import annotations

import time

from agent.security.base import Env, too_complex
from agent.security.bash import SimpleCommand, Word
from agent.security.models import Decision
from agent.security.paths import check_read


def argument_problems(cmd: SimpleCommand, env: Env) -> Decision | None:
    """Reads of credential stores, by any command: arguments, ``--opt=~/.ssh/key``, short values
    attached (``-T/root/.ssh/id_rsa``) and values assigned for later use (``F=~/.ssh/id_rsa``)."""
    values = [a.value for a in cmd.assignments if a.value is not None]
    for word in (*cmd.args, *values):
        if time.monotonic() > env.deadline:
            return too_complex("it took too long to check")
        for candidate in _read_candidates(word):
            for cwd in env.cwds:
                problem = check_read(candidate, cwd, env.context)
                if problem is not None:
                    return problem
    return None


def _read_candidates(word: Word) -> list[Word]:
    text = word.value
    if text is None or not text.startswith("-"):
        return [word]
    if "=" in text:
        value = text.partition("=")[2]
        return [word, Word(value, value, tilde=value.startswith("~"))]
    at = next((i for i in range(2, len(text)) if text[i] in "/.") , None) if text[1:2] != "-" else None
    return [word] if at is None else [word, Word(text[at:], text[at:])]
