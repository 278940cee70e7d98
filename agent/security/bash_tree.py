"""The parts of the bash syntax tree tree-sitter gets wrong or leaves implicit, read back from the
source: words it drops (a lone ``-`` before a here-doc, a stray backslash), here-doc bodies
(it empties one that starts with a backslash), and each redirection with what it feeds."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import tree_sitter

from agent.security.commands import START, Budget, Redirect, State
from agent.security.words import SOURCE, Word, node_bytes, node_text, words

REDIRECT_NODES = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})
_OPAQUE = frozenset({"string", "raw_string", "ansi_c_string", "translated_string", "heredoc_body", "comment"})


class TooComplex(Exception):
    """The command is past the decision budget; ``str()`` says which part."""


def stray_backslash(root: tree_sitter.Node, data: bytes, budget: Budget) -> bool:
    """True when a backslash between tokens would change the words bash sees.

    tree-sitter drops a lone ``\\ `` (bash: a one-space argument) and splits ``r\\<newline>m``
    (bash: ``rm``); either way the parser's words would not be bash's words.
    """
    for count, node in enumerate(descendants(root)):
        if count % 512 == 0 and budget.spent():
            raise TooComplex("it took too long to take apart")
        if node.type in _OPAQUE:
            continue
        for before, after in itertools.pairwise(node.children):
            gap = data[before.end_byte : after.start_byte]
            cleaned = gap.replace(b"\\\n", b"")
            if b"\\" in cleaned or (b"\\\n" in gap and not cleaned):
                return True
    return False


def dropped_word(root: tree_sitter.Node, data: bytes, budget: Budget) -> bool:
    """True when text between a command's parts belongs to no node: tree-sitter drops a lone
    ``-`` just before a here-doc (``make -f - <<X``, ``cd - <<X``), which bash passes on."""
    for count, node in enumerate(descendants(root)):
        if count % 512 == 0 and budget.spent():
            raise TooComplex("it took too long to take apart")
        if node.type not in ("command", "redirected_statement"):
            continue
        for before, after in itertools.pairwise(node.children):
            gap = data[before.end_byte : after.start_byte].replace(b"\\\n", b"").strip()
            if gap and not (gap == b"-" and before.type == "command"):  # `_simple` restores that `-`
                return True
    return False


def dropped_dash(node: tree_sitter.Node, parent: tree_sitter.Node | None) -> bool:
    """The lone ``-`` tree-sitter drops between a command and its here-doc (see `_dropped_word`)."""
    if parent is None or parent.type != "redirected_statement":
        return False
    after = node.next_sibling
    if after is None:
        return False
    gap = SOURCE.get()[node.end_byte : after.start_byte]
    return gap.replace(b"\\\n", b"").strip() == b"-"


def descendants(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def text(node: tree_sitter.Node) -> str:
    return node_text(node)


def text_between(first: tree_sitter.Node, last: tree_sitter.Node) -> str:
    """The source from the start of ``first`` to the end of ``last`` (siblings, in order)."""
    return SOURCE.get()[first.start_byte : last.end_byte].decode(errors="replace")


def outer_redirects(parent: tree_sitter.Node | None, budget: Budget) -> list[Redirect]:
    if parent is None or parent.type != "redirected_statement":
        return []
    found: list[Redirect] = []
    for index, child in enumerate(parent.children):
        if index % 256 == 255 and budget.spent():  # thousands of redirections
            raise TooComplex("it took too long to take apart")
        if child.type in REDIRECT_NODES:
            found.append(redirect(child))
    return found


def redirect(node: tree_sitter.Node, dirs: State = START) -> Redirect:
    """The redirection ``node``, made where the cd histories ``dirs`` may have led."""
    if node.type == "herestring_redirect":
        fed = node.named_children[-1] if node.named_children else None
        found = words(fed) if fed is not None else []
        number = node.child_by_field_name("descriptor")
        return Redirect("<<<", fd=text(number) if number is not None else None, dirs=dirs,
                        body=found[0] if len(found) == 1 else Word(text(fed) if fed is not None else ""))
    if node.type != "file_redirect":
        return heredoc(node, dirs)
    fd_node = node.child_by_field_name("descriptor")
    ops = [text(c) for c in node.children if not c.is_named]
    target = node.child_by_field_name("destination")
    fd = text(fd_node) if fd_node is not None else None
    op = ops[0] if ops else ">"
    if target is None:
        return Redirect(op, None, fd, dirs=dirs)
    if target.type == "process_substitution":
        return Redirect(op, Word(text(target)), fd, process=True, dirs=dirs)
    found = words(target)
    return Redirect(op, found[0] if len(found) == 1 else Word(text(target)), fd, dirs=dirs)


def heredoc(node: tree_sitter.Node, dirs: State = START) -> Redirect:
    """``<<X`` / ``<<'X'``: the body is literal when the delimiter is quoted, or when it holds no
    ``$``, backtick or backslash (bash expands those in an unquoted here-doc)."""
    start = next((c for c in node.children if c.type == "heredoc_start"), None)
    end = next((c for c in node.children if c.type == "heredoc_end"), None)
    body = heredoc_text(node, start, end)
    quoted = start is not None and any(q in text(start) for q in "'\"\\")
    literal = quoted or not any(char in body for char in "$`\\")
    fd = node.child_by_field_name("descriptor")
    return Redirect("<<", fd=text(fd) if fd is not None else None, dirs=dirs,
                    body=Word(body, body if literal else None))


def heredoc_text(node: tree_sitter.Node, start: tree_sitter.Node | None, end: tree_sitter.Node | None) -> str:
    """The body as bash reads it: the lines after the ``<<X`` line up to the delimiter, from the
    source (tree-sitter turns a body that starts with a backslash into words and an empty body)."""
    data = node_bytes(node)
    begin = data.find(b"\n", (start.end_byte if start is not None else node.start_byte) - node.start_byte)
    stop = (end.start_byte if end is not None else node.end_byte) - node.start_byte
    body = data[begin + 1 : stop].decode(errors="replace") if begin >= 0 else ""
    if any(text(c) == "<<-" for c in node.children):
        body = "\n".join(line.lstrip("\t") for line in body.split("\n"))
    return body
