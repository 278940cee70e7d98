"""Parse a bash command line with tree-sitter-bash into the simple commands it would run.

Strings are never split by hand: tree-sitter builds the syntax tree and :func:`parse_script`
walks the *whole* tree, so a command hidden in a list, pipeline, subshell, group, command or
process substitution, string, assignment, redirection target, expanded heredoc body, control
structure or function body is returned like any other. Each argument becomes a :class:`Word`
whose literal value is known only when it holds no expansion; unquoted brace expansion
(``src/{a,b}``) is performed here so validators see the words bash would pass.
"""

from __future__ import annotations

import functools
import itertools
import posixpath
import re
from dataclasses import dataclass, field, replace

import tree_sitter
import tree_sitter_bash

from agent.security.bash_tree import (
    REDIRECT_NODES,
    TooComplex,
    descendants,
    dropped_dash,
    dropped_word,
    outer_redirects,
    redirect,
    stray_backslash,
    text,
    text_between,
)
from agent.security.commands import (
    COMMAND_NAME,
    START,
    Assignment,
    Budget,
    FunctionDef,
    Redirect,
    Script,
    SimpleCommand,
    State,
)
from agent.security.density import MAX_NODES
from agent.security.words import SOURCE, Word, chars_of, make_word, node_bytes, words

__all__ = [
    "START",
    "Assignment",
    "FunctionDef",
    "Redirect",
    "Script",
    "SimpleCommand",
    "State",
    "Word",
    "parse_script",
]

_SCOPES = frozenset({"subshell", "command_substitution", "process_substitution"})
_LOOPS = frozenset({"while_statement", "for_statement", "c_style_for_statement", "until_statement"})
MAX_HISTORIES = 16
"""``cd`` histories tracked at once; each if/||/&& may double them, so past this: too complex."""
MAX_DEPTH = 150
"""Syntax-tree nesting walked; deeper input is denied rather than risking the recursion limit."""


MAX_CODE_POINT = 0x1FFFF
"""tree-sitter-bash's scanner reads out of bounds (and crashes the process) on some code points far
above the Basic Multilingual Plane (seen from U+80000); the BMP and plane 1 (emoji) are safe."""


@dataclass
class _Acc:
    commands: list[SimpleCommand] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    functions: list[FunctionDef] = field(default_factory=list)
    pipelines: list[tuple[SimpleCommand | None, ...]] = field(default_factory=list)
    in_body: list[int] = field(default_factory=list)  # indices of commands in function bodies
    in_body_redirects: list[int] = field(default_factory=list)
    states: set[tuple[Word, ...]] = field(default_factory=set)
    loops: int = 0
    functions_open: int = 0
    cd_unmodelled: bool = False
    hazard: str | None = None
    fed: list[SimpleCommand] = field(default_factory=list)
    budget: Budget = field(default_factory=Budget)  # past it the walk gives up
    depth: int = 0
    arithmetic: set[str] = field(default_factory=set)
    rescanned: int = 0  # end byte of the last expansion scanned for hidden substitutions
    arith_output: str | None = None
    loop_vars: list[tuple[str, bool]] = field(default_factory=list)
    loop_values: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    loop_words: list[Word] = field(default_factory=list)
    loop_sources: list[tuple[str, tuple[Word, ...]]] = field(default_factory=list)
    read_feeds: list[tuple[int, str]] = field(default_factory=list)  # see Script.read_feeds
    last_state: State | None = None  # the state last added to ``states`` (most nodes repeat it)

    def note(self, state: State) -> None:
        """Remember ``state`` among the cd histories seen (function bodies run in any of them)."""
        if state is not self.last_state:
            self.states |= state
            self.last_state = state

    def enter(self, state: State) -> None:
        """Check the budget before walking one more node."""
        if len(state) > MAX_HISTORIES:
            raise TooComplex(f"more than {MAX_HISTORIES} possible working directories (`cd` in branches)")
        if self.depth > MAX_DEPTH:
            raise TooComplex(f"nested more than {MAX_DEPTH} levels deep")
        if self.budget.spent():
            raise TooComplex("it took too long to take apart")


@functools.cache
def _language() -> tree_sitter.Language:
    """One Language object for the process: a new one per parse was freed while trees built with
    it still lived, and parsing then crashed at random (found by the property tests)."""
    return tree_sitter.Language(tree_sitter_bash.language())


def parse_script(source: str, budget: Budget | None = None) -> Script:
    """Parse ``source``; ``Script.error`` is set when the tree has ERROR or MISSING nodes, and
    ``Script.too_complex`` when parsing or walking it would pass the budget (histories, depth,
    ``budget``)."""
    budget = budget if budget is not None else Budget()
    try:
        data = source.encode()
    except UnicodeEncodeError:
        return Script(error="the command is not valid UTF-8 text (a lone surrogate or undecodable byte)")
    if any(ord(ch) > MAX_CODE_POINT for ch in source):
        return Script(error=f"the command holds a character above U+{MAX_CODE_POINT:X} (rare CJK, tags or "
                            "private use), which the bash parser cannot take apart safely")
    tree = _parse(data, budget)
    if tree is None:
        return Script(too_complex="it took too long to parse")
    token = SOURCE.set(data)
    try:
        return _script(tree.root_node, data, budget)
    finally:
        SOURCE.reset(token)


def _script(root: tree_sitter.Node, data: bytes, budget: Budget) -> Script:
    if root.has_error:
        return Script(error=_error_text(root))
    if root.descendant_count > MAX_NODES:
        return Script(too_complex=f"more than {MAX_NODES:,} pieces of shell syntax")
    acc = _Acc(budget=budget)
    try:
        _walk(root, acc, False, START)  # first: the budget stops branchy or deep input early
        if b"\\" in data and stray_backslash(root, data, budget):
            return Script(error="a backslash between words means something else to bash than to the parser")
        if b"<<" in data and dropped_word(root, data, budget):
            return Script(error="a word before a here-doc that the parser drops (bash passes it)")
    except (TooComplex, RecursionError) as exc:
        return Script(too_complex=str(exc) or "nested too deeply")
    commands, redirects = list(acc.commands), list(acc.redirects)
    if any(len(history) for history in acc.states):
        everywhere = frozenset(acc.states)  # a function body runs wherever it is called
        for index in acc.in_body:
            commands[index] = replace(commands[index], dirs=everywhere)
        for index in acc.in_body_redirects:
            redirects[index] = replace(redirects[index], dirs=everywhere)
    return Script(
        tuple(commands),
        tuple(redirects),
        tuple(acc.functions),
        tuple(acc.pipelines),
        cd_unmodelled=acc.cd_unmodelled,
        hazard=acc.hazard,
        fed=tuple(acc.fed),
        arithmetic=frozenset(acc.arithmetic),
        arith_output=acc.arith_output,
        loop_vars=tuple(acc.loop_vars),
        loop_values=tuple(acc.loop_values),
        loop_words=tuple(acc.loop_words),
        loop_sources=tuple(acc.loop_sources),
        read_feeds=tuple(acc.read_feeds),
    )


def _parse(data: bytes, budget: Budget) -> tree_sitter.Tree | None:
    """tree-sitter's parse, halted when the budget is spent (``None``): the parser itself takes
    quadratic time on some input (a long pipeline with a syntax error: 8 KB, most of a second)."""
    parser = tree_sitter.Parser(_language())
    try:
        return parser.parse(lambda at, _point: data[at : at + 1024],
                            progress_callback=lambda _at, _error: budget.spent())
    except ValueError:  # "Parsing failed": halted by the callback
        return None


def _error_text(root: tree_sitter.Node) -> str:
    for node in descendants(root):
        if node.is_missing:
            return f"bash syntax is incomplete (missing `{node.type}`)"
        if node.is_error:
            snippet = text(node).strip().splitlines()[0][:40] if text(node).strip() else ""
            return f"bash could not parse the command near `{snippet}`"
    return "bash could not parse the command"


def _walk(node: tree_sitter.Node, acc: _Acc, piped: bool, state: State) -> tuple[State, State]:
    """Collect what ``node`` runs; return the cd histories after it succeeds / fails."""
    if not node.child_count:  # a token (word, operator, name): nothing in it runs or nests
        acc.note(state)
        return state, state
    acc.enter(state)
    acc.depth += 1
    try:
        return _walk_node(node, acc, piped, state)
    finally:
        acc.depth -= 1


def _walk_node(node: tree_sitter.Node, acc: _Acc, piped: bool, state: State) -> tuple[State, State]:
    kind = node.type
    if kind in _ARITHMETIC_KINDS:
        _note_arithmetic(node, acc)
    acc.note(state)
    if kind == "list":
        return _walk_list(node, acc, state)
    if kind == "pipeline":
        _walk_pipeline(node, acc, state)
    elif kind == "negated_command":
        success, failure = _walk_children(node, acc, state)
        return failure, success
    elif kind == "redirected_statement":
        body = node.child_by_field_name("body")
        result, where = (state, state), state
        for child in node.children:
            if child != body:
                _walk(child, acc, False, where)
                continue
            start, feeds = len(acc.commands), len(acc.read_feeds)
            result = _walk(child, acc, piped, state)
            if _stdin_redirected(node):  # `ls | while read f; …; done < list`: the loop reads the file
                del acc.read_feeds[feeds:]
            producer = _substituted_stdin(node)
            if producer is not None:
                _note_read_feed(child, producer, acc, start)
            # `cd d && echo x > f`: the parser hangs `> f` on the whole list, bash on `echo` (which
            # runs in d): the redirection is checked in every directory a command of the body ran in
            where = frozenset(state.union(*(cmd.dirs for cmd in acc.commands[start:])))
        return result
    elif kind == "process_substitution" and text(node.children[0]) == ">(":
        _walk_feed(node, acc, state)
    elif kind in (
        "program",
        "compound_statement",
        "subshell",
        "command_substitution",
        "process_substitution",
        "do_group",
    ):
        outcome = _walk_sequence(node, acc, state)
        return (state, state) if kind in _SCOPES else outcome
    elif kind in ("command", "declaration_command", "unset_command"):
        return _walk_command(node, acc, piped, state)
    elif kind == "function_definition":
        acc.functions.append(_function(node))
        acc.functions_open += 1
        _walk_children(node, acc, state)
        acc.functions_open -= 1
    else:
        return _walk_other(node, acc, state)
    return state, state


def _walk_feed(node: tree_sitter.Node, acc: _Acc, state: State) -> None:
    """``>(cmd)``: cmd reads whatever the outer command writes, like a pipeline stage."""
    for child in node.children:
        if child.is_named:
            start = len(acc.commands)
            _walk(child, acc, True, state)
            acc.fed.extend(acc.commands[start : start + 1])


def _walk_other(node: tree_sitter.Node, acc: _Acc, state: State) -> tuple[State, State]:
    if node.type in ("variable_assignment", "variable_assignments") and _is_statement(node):
        _add_command(acc, SimpleCommand(None, assignments=_assignments(node), dirs=state))
    elif node.type == "expansion" and _prompt_expansion(node):
        acc.hazard = f"`{text(node)}` expands a prompt string, which runs command substitutions"
    elif node.type in _RESCANNED and node.end_byte > acc.rescanned and _rescan(node, acc):
        acc.hazard = (f"`{text(node)[:60]}` holds a command substitution the parser does not show "
                      "as one (bash would run it)")
    elif node.type in REDIRECT_NODES:
        if node.type == "heredoc_redirect" and _heredoc_hidden(node):
            acc.hazard = ("a here-doc body holds a command substitution the parser does not show as one "
                          "(bash would run it); quote the delimiter (<<'EOF') for literal text")
        if acc.functions_open:
            acc.in_body_redirects.append(len(acc.redirects))
        acc.redirects.append(redirect(node, state))
    if node.type == "for_statement":
        _note_loop(node, acc)
    loop = node.type in _LOOPS
    acc.loops += loop
    total = state  # if/case/loops/tests: every branch may or may not run
    for child in node.children:
        success, failure = _walk(child, acc, False, total)
        total = total | success | failure
    acc.loops -= loop
    return total, total


_ARITH_TESTS = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})
_ARITHMETIC_KINDS = frozenset({"arithmetic_expansion", "compound_statement", "c_style_for_statement",
                               "expansion", "subscript", "binary_expression", "unary_expression"})
"""The node kinds :func:`_arithmetic_region` can find arithmetic in (the others are skipped fast)."""
_NAME_TESTS = frozenset({"-v", "-R"})
_SUBSCRIPT_CODE = re.compile(r"\[[^\]]*(\$\(|`)")
_IDENTIFIER = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_]*|(?<=\$)[0-9@*]|(?<=\$\{)[0-9@*])")
_NUMERIC_OUTPUT = frozenset({"wc", "nproc", "date", "getconf"})
_ARITH_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _note_arithmetic(node: tree_sitter.Node, acc: _Acc) -> None:
    """Arithmetic subscript injection: record every name whose value bash will evaluate as an
    expression (``a[$(cmd)]`` in such a value runs ``cmd``); a command's output used there, or a
    name computed at run time (``[[ -v $x ]]``), is a hazard outright."""
    region = _arithmetic_region(node)
    if region is None:
        return
    for inner in region:
        if node.type == "unary_expression" and _SUBSCRIPT_CODE.search(text(inner)):
            acc.arith_output = (f"`{text(node)[:60]}` tests a name whose subscript holds a command "
                                "(`-v 'a[$(…)]'` runs it)")
        for sub in descendants(inner):
            if sub.type == "command_substitution" and _command_word(sub) not in _NUMERIC_OUTPUT:
                acc.arith_output = (f"`{text(node)[:60]}` evaluates a command's output as arithmetic, "
                                    "where `a[$(…)]` in that output would run as code")
        acc.arithmetic.update(m.group(1) for m in _IDENTIFIER.finditer(text(inner)))


def _arithmetic_region(node: tree_sitter.Node) -> list[tree_sitter.Node] | None:
    kind = node.type
    if kind == "arithmetic_expansion" or (kind == "compound_statement" and node.children
                                          and text(node.children[0]) == "(("):
        return [node]
    if kind == "c_style_for_statement":
        return [c for c in node.children if c.type != "do_group"]
    if kind == "expansion":  # `${s:offset:length}`: both are arithmetic
        operators = [i for i, c in enumerate(node.children) if not c.is_named and text(c) == ":"]
        return [c for c in node.children[operators[0] + 1:] if c.is_named] if operators else None
    if kind == "subscript":
        index = node.child_by_field_name("index")
        return [index] if index is not None else [c for c in node.named_children[1:]]
    if kind == "binary_expression" and _in_test(node) and _operator(node) in _ARITH_TESTS:
        return [c for c in node.named_children if c.type != "test_operator"]
    if kind == "unary_expression" and _in_test(node, "[[", "[") and _operator(node) in _NAME_TESTS:
        return [c for c in node.named_children if c.type != "test_operator"]
    return None


def _in_test(node: tree_sitter.Node, *openers: str) -> bool:
    """Inside a ``[[ … ]]`` test (or one opened by any of ``openers``)."""
    parent = node.parent
    while parent is not None and parent.type in ("binary_expression", "unary_expression",
                                                 "parenthesized_expression", "negated_expression"):
        parent = parent.parent
    return parent is not None and parent.type == "test_command" and bool(parent.children) and \
        text(parent.children[0]) in (openers or ("[[",))


def _operator(node: tree_sitter.Node) -> str:
    return next((text(c) for c in node.children if c.type == "test_operator"), "")


def _command_word(node: tree_sitter.Node) -> str:
    for sub in descendants(node):
        if sub.type == "command_name":
            return text(sub).rsplit("/", 1)[-1]
    return ""


_RESCANNED = frozenset({"expansion", "arithmetic_expansion", "subscript"})
_SUBSTITUTIONS = frozenset({"command_substitution", "process_substitution"})
_OPENERS = (b"$(", b"`", b"<(", b">(")


def _rescan(node: tree_sitter.Node, acc: _Acc) -> bool:
    """Scan ``node`` once: nested expansions lie inside its text, which this scan covers (keeps
    deeply nested ``${X:-${X:-…}}`` linear instead of quadratic)."""
    acc.rescanned = node.end_byte
    return _hidden_substitution(node)


def _hidden_substitution(node: tree_sitter.Node) -> bool:
    """Parser trust: inside ``${…}`` (operator words, quotes that bash does not treat as quotes
    there) tree-sitter can show plain text where bash runs code. Every opener in the raw text must
    lie inside a substitution node that the walk visits; anything else is a hidden command."""
    data = node_bytes(node)
    walked, arithmetic = _substitution_spans(node)
    for opener in _OPENERS:
        at = data.find(opener)
        while at != -1:
            if at not in arithmetic and not any(start <= at < end for start, end in walked):
                return True
            at = data.find(opener, at + 1)
    return False


def _substitution_spans(node: tree_sitter.Node) -> tuple[list[tuple[int, int]], set[int]]:
    """Inside ``node`` (offsets from its start): the substitutions the walk visits, and where an
    arithmetic expansion starts (its own ``$((`` opener is no substitution)."""
    inner = list(descendants(node))
    walked = [(d.start_byte - node.start_byte, d.end_byte - node.start_byte)
              for d in inner if d.type in _SUBSTITUTIONS]
    return walked, {d.start_byte - node.start_byte for d in inner if d.type == "arithmetic_expansion"}


def _heredoc_hidden(node: tree_sitter.Node) -> bool:
    """An unquoted here-doc's body: bash runs every ```…``` and ``$(…)`` in it (not escaped with a
    backslash). tree-sitter shows some as text: a backquote always, and ``$(…)`` on a line that
    ``<<-`` strips of tabs. Each opener in the raw body must lie inside a substitution node."""
    start = next((c for c in node.children if c.type == "heredoc_start"), None)
    if start is None or any(q in text(start) for q in "'\"\\"):
        return False  # a quoted delimiter: the body is literal
    end = next((c for c in node.children if c.type == "heredoc_end"), None)
    data = node_bytes(node)
    begin = data.find(b"\n", start.end_byte - node.start_byte) + 1
    stop = (end.start_byte if end is not None else node.end_byte) - node.start_byte
    if begin <= 0 or (b"`" not in data[begin:stop] and b"$(" not in data[begin:stop]):
        return False
    walked, arithmetic = _substitution_spans(node)
    at = begin
    while at < stop:
        if data[at:at + 1] == b"\\":
            at += 2
            continue
        if (data[at:at + 1] == b"`" or data[at:at + 2] == b"$(") and at not in arithmetic and \
                not any(first <= at < last for first, last in walked):
            return True
        at += 1
    return False


def _note_loop(node: tree_sitter.Node, acc: _Acc) -> None:
    """``for NAME in WORDS``: NAME comes from data unless every word is a plain literal."""
    variable = node.child_by_field_name("variable")
    if variable is None:
        return
    values = [c for c in node.children_by_field_name("value")]
    literal = all(c.type in ("word", "number", "raw_string") and not any(ch in text(c) for ch in "*?[$`\\")
                  for c in values) and bool(values)
    acc.loop_vars.append((text(variable), not literal))
    looped = tuple(word for value in values for word in words(value))
    acc.loop_words.extend(looped)
    acc.loop_sources.append((text(variable), looped))
    if literal:
        acc.loop_values.append((text(variable), tuple(text(c).strip("'") for c in values)))


def _prompt_expansion(node: tree_sitter.Node) -> bool:
    operators = [text(c) for c in node.children if not c.is_named]
    return any(a == "@" and b.startswith("P") for a, b in itertools.pairwise(operators))


def _walk_children(node: tree_sitter.Node, acc: _Acc, state: State) -> tuple[State, State]:
    result = (state, state)
    for child in node.children:
        result = _walk(child, acc, False, state)
    return result


def _walk_sequence(node: tree_sitter.Node, acc: _Acc, state: State) -> tuple[State, State]:
    current = state
    children = node.children
    for index, child in enumerate(children):
        if not child.is_named:
            continue
        success, failure = _walk(child, acc, False, current)
        following = children[index + 1] if index + 1 < len(children) else None
        if following is None or following.type != "&":  # `cmd &` runs in a subshell
            current = success | failure
    return current, current


def _walk_list(node: tree_sitter.Node, acc: _Acc, state: State) -> tuple[State, State]:
    """``a && b || c``: the right side of ``&&`` runs after success, of ``||`` after failure."""
    chain: list[tuple[str, tree_sitter.Node]] = []
    left = node
    while left.type == "list" and len(named := [c for c in left.children if c.is_named]) == 2:
        chain.append((next((text(c) for c in left.children if not c.is_named), "&&"), named[1]))
        left = named[0]  # lists nest to the left; walk the spine without recursing
    success, failure = _walk(left, acc, False, state)
    for operator, right in reversed(chain):
        if operator == "||":
            right_success, failure = _walk(right, acc, False, failure)
            success = success | right_success
        else:
            success, right_failure = _walk(right, acc, False, success)
            failure = failure | right_failure
        acc.enter(success | failure)  # `cd a || cd b || …`: the side not walked grows too
    return success, failure


def _walk_command(node: tree_sitter.Node, acc: _Acc, piped: bool, state: State) -> tuple[State, State]:
    cmd = _simple(node, piped, state, acc.budget)
    _add_command(acc, cmd)
    if any(r.op == "<" and r.process for r in cmd.redirects):  # `cmd < <(producer)`
        acc.fed.append(cmd)
    for child in node.children:
        _walk(child, acc, False, state)
    target = _cd_target(cmd)
    if target is None:
        return state, state
    if acc.loops or acc.functions_open:
        acc.cd_unmodelled = True
    return frozenset(_moved(history, target) for history in state), state


def _moved(history: tuple[Word, ...], target: Word) -> tuple[Word, ...]:
    """``history`` followed by ``cd target``, with plain relative steps folded lexically as bash's
    default (logical) ``cd`` does: ``cd a; cd ..`` is where it started. Keeps the states few."""
    value = target.value or ""
    if not _plain_relative(value) or (history and not _plain_relative(history[-1].value or "")):
        return (*history, target)
    base = history[-1].value if history else "."
    folded = posixpath.normpath(posixpath.join(base or ".", value))
    if folded.startswith("../") or folded == "..":  # above where the history starts: keep as is
        return (*history[:-1], Word(folded, folded)) if history else (Word(folded, folded),)
    kept = history[:-1]
    return kept if folded == "." else (*kept, Word(folded, folded))


def _plain_relative(value: str) -> bool:
    return bool(value) and value != "-" and not value.startswith(("/", "~", "-")) and "$" not in value


def _add_command(acc: _Acc, cmd: SimpleCommand) -> None:
    if acc.functions_open:
        acc.in_body.append(len(acc.commands))
    acc.commands.append(cmd)


def _cd_target(cmd: SimpleCommand) -> Word | None:
    if cmd.name is None or cmd.name.value != "cd":
        return None
    operands = [w for w in cmd.args if not (w.value or "").startswith("-") or w.value == "-"]
    return operands[0] if operands and operands[0].literal else None


def _walk_pipeline(node: tree_sitter.Node, acc: _Acc, state: State) -> None:
    headless = bool(node.children) and not node.children[0].is_named  # `<<EOF | sh` heredoc tail
    stages = [c for c in node.children if c.is_named and c.type != "comment"]
    found: list[SimpleCommand | None] = []
    for index, stage in enumerate(stages):
        before = len(acc.commands)
        _walk(stage, acc, headless or index > 0, state)  # each stage runs in a subshell
        if index and not headless:
            _note_read_feed(stage, text_between(stages[0], stages[index - 1]), acc, before)
        found.append(_stage_command(stage, acc.commands[before] if len(acc.commands) > before else None))
    acc.pipelines.append(tuple(found))


def _note_read_feed(loop: tree_sitter.Node, producer: str, acc: _Acc, first: int) -> None:
    """``producer | while read x; do …``, ``while read x; do …; done < <(producer)``: the loop's
    condition (the first command walked from ``first``) reads the producer's lines."""
    condition = loop.child_by_field_name("condition") if loop.type == "while_statement" else None
    if condition is None or condition.type != "command" or first >= len(acc.commands):
        return
    read = acc.commands[first]
    other_fd = any((w.value or "-u")[:1] == "-" and (w.value or "-u")[1:2] != "-" and "u" in (w.value or "u")
                   for w in read.args)  # `read -u 3 f`: another descriptor (or unknown), not the feed
    if read.name is not None and read.name.value == "read" and not other_fd:
        acc.read_feeds.append((first, producer))


_STDIN_OPERATORS = frozenset({"<", "<&", "<>", "<<", "<<-", "<<<"})


def _stdin_redirected(node: tree_sitter.Node) -> bool:
    """A redirection of the statement's standard input (fd 0): it replaces a pipe into it."""
    for child in node.children:
        if child.type not in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
            continue
        descriptor = child.child_by_field_name("descriptor")
        operators = [text(c) for c in child.children if not c.is_named]
        operator = operators[0] if operators else ("<<" if child.type == "heredoc_redirect" else "")
        if operator in _STDIN_OPERATORS and (descriptor is None or text(descriptor) == "0"):
            return True
    return False


def _substituted_stdin(node: tree_sitter.Node) -> str | None:
    """The commands of ``< <(…)`` on a redirected statement (its stdin), as source text."""
    for child in node.children_by_field_name("redirect"):
        operator = child.child(0)
        target = child.child_by_field_name("destination")
        if operator is not None and text(operator) == "<" and target is not None and \
                target.type == "process_substitution" and text(target).startswith("<("):
            inner = [c for c in target.children if c.is_named]
            return text_between(inner[0], inner[-1]) if inner else None
    return None


def _stage_command(stage: tree_sitter.Node, walked: SimpleCommand | None) -> SimpleCommand | None:
    """The stage as one simple command (``walked``: the first command its walk found, which is
    the stage's own: a command is recorded before the substitutions in its words)."""
    body = stage.child_by_field_name("body") if stage.type == "redirected_statement" else stage
    if body is None or body.type != "command" or walked is None:
        return None
    return SimpleCommand(walked.name, walked.args, walked.assignments, walked.redirects)


def _is_statement(node: tree_sitter.Node) -> bool:
    parent = node.parent
    return parent is None or parent.type not in ("command", "variable_assignments", "declaration_command")


def _simple(node: tree_sitter.Node, piped: bool, state: State, budget: Budget) -> SimpleCommand:
    if node.type in ("declaration_command", "unset_command"):
        return _declaration(node, piped, state)
    name: Word | None = None
    args: list[Word] = []
    assignments: list[Assignment] = []
    redirects: list[Redirect] = []
    for index, child in enumerate(node.children):
        if index % 256 == 255 and budget.spent():  # thousands of words or redirections
            raise TooComplex("it took too long to take apart")
        role = node.field_name_for_child(index)
        if role == "name":
            name = _command_name(child)
        elif role == "argument":
            args.extend(words(child) if child.is_named else [Word(text(child))])
        elif child.type == "variable_assignment":
            assignments.extend(_assignments(child))
        elif child.type in REDIRECT_NODES:
            redirects.append(redirect(child))
    parent = node.parent
    redirects.extend(outer_redirects(parent, budget))
    if dropped_dash(node, parent):
        args.append(Word("-", "-"))
    return SimpleCommand(name, tuple(args), tuple(assignments), tuple(redirects), piped, state)


def _declaration(node: tree_sitter.Node, piped: bool, state: State) -> SimpleCommand:
    keyword = text(node.children[0]) if node.children else ""
    args: list[Word] = []
    assignments: list[Assignment] = []
    for child in node.children[1:]:
        if child.type == "variable_assignment":
            assignments.extend(_assignments(child))
        elif child.type == "variable_name":
            args.append(Word(text(child), text(child)))
        elif child.is_named:
            args.extend(words(child))
    return SimpleCommand(Word(keyword, keyword), tuple(args), tuple(assignments), (), piped, state)


def _command_name(node: tree_sitter.Node) -> Word:
    inner = node.named_children[0] if node.named_children else node
    raw = text(inner)
    if inner.type == "word" and COMMAND_NAME.match(raw):
        return Word(raw, raw)
    return Word(raw)  # quoted, escaped, expanded or globbed names are never trusted


def _assignments(node: tree_sitter.Node) -> tuple[Assignment, ...]:
    if node.type == "variable_assignments":
        return tuple(a for c in node.named_children for a in _assignments(c))
    target = node.child_by_field_name("name")
    value = node.child_by_field_name("value")
    name = text(target) if target is not None else ""
    if target is not None and target.type == "subscript":
        base = target.child_by_field_name("name")
        name = text(base) if base is not None else name
    return (Assignment(name, _assignment_value(value)),)


def _assignment_value(node: tree_sitter.Node | None) -> Word | None:
    if node is None:
        return None
    chars = chars_of(node)
    return Word(text(node)) if chars is None else make_word(text(node), chars)


def _function(node: tree_sitter.Node) -> FunctionDef:
    name_node = node.child_by_field_name("name")
    body = node.child_by_field_name("body")
    calls: set[str] = set()
    for inner in descendants(body) if body is not None else iter(()):
        if inner.type == "command_name":
            calls.add(text(inner))
    return FunctionDef(text(name_node) if name_node is not None else "", frozenset(calls))
