"""Shell words: quote removal, ANSI-C strings and brace expansion over tree-sitter nodes.

A word's literal value is known only when it holds no expansion (``$X``, ``$(...)``, ...);
each character remembers whether it was quoted, so unquoted globs, tildes and braces keep
their meaning and quoted ones do not.
"""

from __future__ import annotations

import itertools
import re
from contextvars import ContextVar
from dataclasses import dataclass

import tree_sitter

Chars = tuple[tuple[str, bool], ...]
"""Characters of a word after quote removal, each with "was quoted"."""

MAX_BRACE_WORDS = 256
MAX_WORD_PARTS = 1024
"""Parts of one word taken apart (``{a,b}{a,b}…`` over 10 KB has 6,000): a longer word's value
counts as unknown, like an expansion's, instead of costing the decision's budget in one step."""
_GLOB_CHARS = frozenset("*?[")
_ANSI_SIMPLE = {
    "n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
    "e": "\x1b", "E": "\x1b", "\\": "\\", "'": "'", '"': '"', "?": "?",
}  # fmt: skip
_ANSI_RE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|[0-7]{1,3}|c.|.)")
_SEQ_RE = re.compile(r"^(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.-?\d+)?$")


@dataclass(frozen=True)
class Word:
    """One shell word: its source text and, when it has no expansion, its literal value."""

    raw: str
    value: str | None = None
    glob: bool = False
    tilde: bool = False

    @property
    def literal(self) -> bool:
        return self.value is not None


SOURCE: ContextVar[bytes] = ContextVar("autocode_bash_source", default=b"")
"""The bytes of the command line whose syntax tree is being walked (set by ``parse_script``): the
tree is parsed through a read callback (so a slow parse can be halted), and such a tree does not
keep its source, so a node's text is cut from these bytes."""


def node_bytes(node: tree_sitter.Node) -> bytes:
    return SOURCE.get()[node.start_byte : node.end_byte]


def node_text(node: tree_sitter.Node) -> str:
    return SOURCE.get()[node.start_byte : node.end_byte].decode(errors="replace")


def words(node: tree_sitter.Node) -> list[Word]:
    """The words bash would produce for one argument node (brace expansion applied)."""
    raw = node_text(node)
    if node.type == "word" and "\\" not in raw and "{" not in raw:  # the common case, fast
        return [Word(raw, raw, not _GLOB_CHARS.isdisjoint(raw), raw[:1] == "~")]
    if node.child_count > MAX_WORD_PARTS:
        return [Word(raw)]  # its value counts as unknown, as for an expansion
    chars = chars_of(node)
    if chars is None:
        return [Word(raw)]
    expanded = _brace_expand(chars)
    if len(expanded) > MAX_BRACE_WORDS:
        return [Word(raw)]
    return [make_word(raw, item) for item in expanded]


def make_word(raw: str, chars: Chars) -> Word:
    value = "".join(c for c, _ in chars)
    glob = any(c in _GLOB_CHARS and not quoted for c, quoted in chars)
    tilde = bool(chars) and chars[0] == ("~", False)
    return Word(raw, value, glob, tilde)


def chars_of(node: tree_sitter.Node) -> Chars | None:
    kind, text = node.type, node_text(node)
    if kind == "word":
        return _unescape_word(text)
    if kind in ("number", "brace_expression"):
        return tuple((c, False) for c in text)
    if kind == "raw_string":
        return tuple((c, True) for c in text[1:-1])
    if kind == "ansi_c_string":
        return tuple((c, True) for c in decode_ansi_c(text[2:-1]))
    if kind in ("string", "translated_string"):
        return _string_chars(node)
    if kind == "concatenation":
        parts = [chars_of(child) for child in node.children]
        if any(part is None for part in parts):
            return None
        return tuple(c for part in parts if part is not None for c in part)
    return None


def _string_chars(node: tree_sitter.Node) -> Chars | None:
    out: list[tuple[str, bool]] = []
    for child in node.children:
        if child.type == "string_content":
            out.extend((c, True) for c in _unescape_double(node_text(child)))
        elif child.is_named:
            return None  # $VAR, ${...}, $(...), `...`, $((...))
        elif node_text(child) not in ('"', '$"'):
            out.extend((c, True) for c in node_text(child))
    return tuple(out)


def _unescape_word(text: str) -> Chars:
    out: list[tuple[str, bool]] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            if text[index + 1] != "\n":
                out.append((text[index + 1], True))
            index += 2
            continue
        out.append((char, False))
        index += 1
    return tuple(out)


def _unescape_double(text: str) -> str:
    return re.sub(r'\\([\\$`"\n])', lambda m: "" if m.group(1) == "\n" else m.group(1), text)


def decode_ansi_c(body: str) -> str:
    """Decode the inside of a ``$'...'`` string the way bash does (common escapes)."""

    def one(match: re.Match[str]) -> str:
        esc = match.group(1)
        if esc[0] in "xuU" and len(esc) > 1:
            return chr(min(int(esc[1:], 16), 0x10FFFF))
        if esc[0].isdigit():
            return chr(int(esc, 8))
        if esc[0] == "c" and len(esc) == 2:
            return chr(ord(esc[1]) & 0x1F)
        return _ANSI_SIMPLE.get(esc, "\\" + esc)

    return _ANSI_RE.sub(one, body)


_MAX_BRACE_GROUPS = 9
"""Brace groups expanded along one word: past it the word counts as too many (each group usually
doubles the words, and the copy per level made long brace chains quadratic)."""


def _brace_expand(chars: Chars, depth: int = 0) -> list[Chars]:
    if depth > _MAX_BRACE_GROUPS:
        return [chars] * (MAX_BRACE_WORDS + 1)  # fail closed: the caller treats the word as dynamic
    for start, (char, quoted) in enumerate(chars):
        if char != "{" or quoted:
            continue
        close, commas = _match_brace(chars, start)
        if close is None:
            continue
        inner = chars[start + 1 : close]
        alternatives = _split(inner, commas, start + 1) if commas else _sequence(inner)
        if alternatives is None:
            continue
        out: list[Chars] = []
        for alternative in alternatives:
            out.extend(_brace_expand(chars[:start] + alternative + chars[close + 1 :], depth + 1))
            if len(out) > MAX_BRACE_WORDS:
                return out
        return out
    return [chars]


def _match_brace(chars: Chars, start: int) -> tuple[int | None, list[int]]:
    depth, commas = 0, list[int]()
    for index in range(start, len(chars)):
        char, quoted = chars[index]
        if quoted:
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index, commas
        elif char == "," and depth == 1:
            commas.append(index)
    return None, []


def _split(inner: Chars, commas: list[int], offset: int) -> list[Chars]:
    bounds = [offset - 1, *commas, offset + len(inner)]
    return [inner[a - offset + 1 : b - offset] for a, b in itertools.pairwise(bounds)]


def _sequence(inner: Chars) -> list[Chars] | None:
    text = "".join(c for c, _ in inner)
    match = _SEQ_RE.match(text)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if first.lstrip("-").isdigit() and last.lstrip("-").isdigit():
        low, high = sorted((int(first), int(last)))
        values = [str(v) for v in range(low, min(high, low + MAX_BRACE_WORDS) + 1)]
    elif first.isalpha() and last.isalpha():
        low, high = sorted((ord(first), ord(last)))
        values = [chr(v) for v in range(low, high + 1)]
    else:
        return None
    return [tuple((c, False) for c in value) for value in values]
