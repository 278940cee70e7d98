"""How much shell syntax a command holds, known before (operators) or right after (nodes) parsing.

A bash call an agent writes holds a handful of pipes, lists and redirects; input with hundreds of
them is generated, and the parser is at its slowest on exactly that: tree-sitter-bash takes 20 ms
for a 10 KB pipeline of 1,200 stages, and most of a second when such a pipeline has a syntax error,
before the policy has looked at a single command. :func:`operator_excess` counts operators in one
linear pass with a regular expression, so such input is refused as too complex to judge in well
under a millisecond; :data:`MAX_NODES` bounds the syntax tree of what gets past it.

Both only ever *deny*. The count skips what the parser would read as data (quoted text, escaped
characters, comments, here-doc bodies), so a 10 KB here-doc of code full of ``;`` and ``{`` is
judged as usual; where the scan misreads bash it can only count fewer operators than the text has
characters among ``|&;<>(){}``, so nothing with fewer of those than the limit is ever refused here
(a property test holds it to that), and an undercount only leaves the input to the parser and the
decision's time budget, as before.
"""

from __future__ import annotations

import re

MAX_OPERATORS = 500
"""Operators (each of ``|&;<>(){}`` outside quotes, comments and here-doc bodies) one bash call may
hold; 20 lines of ordinary pipelines, lists and redirects hold about 50."""

MAX_NODES = 5_000
"""Syntax-tree nodes one bash call may hold (tree-sitter's count, known without walking the tree):
a 60-line script of pipelines and lists is about 950; 10 KB of dense shell is 6,000-20,000."""

_TOKEN = re.compile(
    r"""
      '[^']*'?                              # single-quoted text (unclosed: to the end)
    | "(?:\\.|[^"\\])*"?                    # double-quoted text
    | \\.                                   # an escaped character
    | <<<                                   # a here-string: an operator, not a here-doc
    | <<(?P<dash>-?)[ \t]*(?P<delim>'[^'\n]*'|"[^"\n]*"|[^\s;&|<>()'"]+)   # a here-doc
    | (?<![^\s;&|()])\#[^\n]*               # a comment: a # that starts a word
    | (?P<newline>\n)
    | (?P<op>[|&;<>(){}])
    """,
    re.VERBOSE | re.DOTALL,
)


def operator_excess(source: str, limit: int = MAX_OPERATORS) -> str | None:
    """Why ``source`` holds too many shell operators to judge, or ``None``: the scan stops at the
    first operator past ``limit``."""
    count, pos, pending = 0, 0, []
    while (match := _TOKEN.search(source, pos)) is not None:
        pos = match.end()
        if match["op"] is not None or match.group(0) == "<<<":
            count += len(match.group(0))
            if count > limit:
                return f"more than {limit} shell operators (pipes, lists, redirects, brackets)"
        elif match["delim"] is not None:
            count += 2
            pending.append((_delimiter(match["delim"]), bool(match["dash"])))
        elif match["newline"] is not None and pending:
            pos = _after_bodies(source, pos, pending)
            pending = []
    return None


def _delimiter(word: str) -> str:
    """The line that ends a here-doc started with ``word`` (quotes and backslashes removed)."""
    return word.replace("\\", "").replace("'", "").replace('"', "")


def _after_bodies(source: str, pos: int, pending: list[tuple[str, bool]]) -> int:
    """Where the text goes on after the here-doc bodies that start at ``pos``, one per pending
    delimiter in order (a body without its end line runs to the end of the text)."""
    for word, dash in pending:
        end = re.compile(("^\t*" if dash else "^") + re.escape(word) + "$", re.MULTILINE).search(source, pos)
        if end is None:
            return len(source)
        pos = end.end()
    return pos
