"""Validators for text tools that hide a small language: sed, awk, rg, sqlite3 and psql.

* ``sed``: the script is scanned; the ``e`` command and the ``s///e`` flag (they run shell
  commands) are denied, ``w``/``W`` targets and ``-i`` files are path-checked, ``-f`` script
  files are denied (their content cannot be checked).
* ``awk``: programs calling ``system()``, piping (``| getline``, ``print | "cmd"``) or
  redirecting ``print`` output are denied, as are ``-f``, ``@load`` and gawk's file-writing
  debug options; redirect the shell output instead.
* ``rg --pre`` runs a program per file and is denied.
* ``sqlite3``/``psql``: arguments holding shell escapes (``.shell``, ``.system``, ``\\!``,
  ``COPY ... PROGRAM``) are denied. SQL read from a file or stdin is not inspected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from agent.security.base import Env, Validator, command_name, deny, dynamic_denial, ok, parse_options
from agent.security.bash import SimpleCommand, Word
from agent.security.longopts import with_long_options
from agent.security.models import Decision
from agent.security.paths import is_inside, physical, read_bounded
from agent.security.rules import names
from agent.security.validators_fs import HERE, check_paths, check_reads, recursive_read_problem
from agent.security.validators_read import searched

_SED_SIMPLE = frozenset("=dDgGhHlnNpPxzF{}")


def _backup_outside(args: tuple[Word, ...]) -> str | None:
    """``-i`` with a backup suffix holding ``/``: GNU sed writes the backup to that path (``-i../*``
    puts a.c's at ``../a.c``), which cannot be checked as a suffix."""
    for word in args:
        text = word.value or ""
        if text == "--":
            return None
        suffix = text.partition("=")[2] if text.startswith("--in-place=") else \
            text[text.index("i") + 1:] if text.startswith("-") and not text.startswith("--") and "i" in text \
            and not any(c in text[1:text.index("i")] for c in "efl") else ""
        if "/" in suffix:
            return text
    return None


def sed(cmd: SimpleCommand, env: Env) -> Decision:
    backup = _backup_outside(cmd.args)
    if backup is not None:
        return deny("path.outside", f"`sed {backup}`: a backup suffix with `/` writes each backup to a path; "
                                    "use a plain suffix (`-i.bak`).")
    parsed = _sed_args(cmd.args)
    if parsed is None:
        return deny(
            "deny.sed_file", "`sed -f` runs a script file that cannot be checked; pass the script inline."
        )
    scripts, positionals, in_place = parsed
    if not scripts and positionals:
        scripts.append(positionals.pop(0))
    problem = _sed_scripts(cmd, env, scripts)
    if problem is None and in_place:
        problem = check_paths(positionals, env, "sed -i")
    return problem or ok(cmd)


def _sed_args(args: tuple[Word, ...]) -> tuple[list[Word], list[Word], bool] | None:
    """Scripts (-e), operands and whether -i is set; ``None`` when a script file is used."""
    scripts: list[Word] = []
    positionals: list[Word] = []
    in_place, index = False, 0
    while index < len(args):
        word, text = args[index], args[index].value
        index += 1
        if text is None or text == "-" or not text.startswith("-"):
            positionals.append(word)
        elif text == "--":
            positionals.extend(args[index:])
            break
        elif text.startswith("--"):
            name, eq, value = text.partition("=")
            if name == "--file":
                return None
            in_place = in_place or name == "--in-place"
            if name in ("--expression", "--line-length") and not eq:
                scripts.extend(args[index : index + 1] if name == "--expression" else [])
                index += 1
            elif name == "--expression":
                scripts.append(Word(value, value))
        else:
            for offset, letter in enumerate(text[1:], start=2):
                rest = text[offset:]
                if letter == "f":
                    return None
                if letter == "i":
                    in_place = True  # the rest of the cluster is the backup suffix
                    break
                if letter in "el":
                    if letter == "e":
                        scripts.append(Word(rest, rest) if rest else args[min(index, len(args) - 1)])
                    index += not rest
                    break
    return scripts, positionals, in_place


def _sed_scripts(cmd: SimpleCommand, env: Env, scripts: list[Word]) -> Decision | None:
    for script in scripts:
        if script.value is None:
            return dynamic_denial(cmd, script, "script")
        writes, issue = scan_sed(script.value)
        if issue is not None:
            return deny("deny.sed_exec", f"this sed script is not allowed: {issue}.")
        problem = check_paths([Word(w, w) for w in writes], env, "sed w")
        reads = [Word(r, r, tilde=r[:1] == "~") for r in sed_reads(script.value)]  # `1r FILE` inserts FILE
        problem = problem or check_reads(reads, env)
        if problem is not None:
            return problem
    return None


_SED_READ = re.compile(r"(?:^|[;\n{}])\s*(?:[0-9$]+|/(?:[^/\\]|\\.)*/)?(?:,\s*(?:[0-9$]+|/(?:[^/\\]|\\.)*/))?"
                       r"\s*!?\s*[rR]\s*([^\n;}]*)")


def sed_reads(script: str) -> list[str]:
    """Files a sed script reads into its output (``r FILE``, ``R FILE``), as far as a line-start
    ``[address]r`` form shows them (a file name runs to the end of the line)."""
    return [m.group(1).strip() for m in _SED_READ.finditer(script) if m.group(1).strip()]


def scan_sed(script: str) -> tuple[list[str], str | None]:
    """Files a sed script writes (``w``), and why it is refused (``None`` when it is fine)."""
    writes: list[str] = []
    index, size = 0, len(script)
    while index < size:
        if script[index] in " \t\n;":
            index += 1
            continue
        if script[index] == "#":
            index = _line_end(script, index)
            continue
        index = _skip(script, _address(script, index), " \t!")
        if index < 0 or index >= size:
            return writes, "it could not be parsed"
        char = script[index]
        index += 1
        if char == "e":
            return writes, "the `e` command runs a shell command"
        if char in "wW":
            end = _line_end(script, index)
            writes.append(script[index:end].strip())
            index = end
        elif char in "aicrR:btTqQlLv":
            index = _argument_end(script, index, char)
        elif char in "sy":
            parsed = _substitution(script, index, char)
            if parsed is None:
                return writes, f"its `{char}` command could not be parsed"
            index, flags, target = parsed
            if "e" in flags:
                return writes, "the `e` flag runs the pattern space as a shell command"
            writes.extend([target] if target is not None else [])
        elif char not in _SED_SIMPLE:
            return writes, f"`{char}` is not a sed command it knows"
    return writes, None


def _skip(script: str, index: int, chars: str) -> int:
    while 0 <= index < len(script) and script[index] in chars:
        index += 1
    return index


def _line_end(script: str, index: int) -> int:
    end = script.find("\n", index)
    return len(script) if end < 0 else end


def _argument_end(script: str, index: int, command: str) -> int:
    if command in "aicrR":  # text or file name up to the end of the line (\ continues)
        while index < len(script) and script[index] != "\n":
            index += 2 if script[index] == "\\" else 1
        return index
    end = index
    while end < len(script) and script[end] not in ";\n}":
        end += 1
    return end


def _address(script: str, index: int) -> int:
    index = _one_address(script, index)
    if 0 <= index < len(script) and script[index] == ",":
        index = _skip(script, index + 1, " ")
        if index < len(script) and script[index] in "+~":
            return _skip(script, index + 1, "0123456789")
        index = _one_address(script, index)
    return index


def _one_address(script: str, index: int) -> int:
    if index < 0 or index >= len(script):
        return index
    char = script[index]
    if char.isdigit():
        index = _skip(script, index, "0123456789")
        return _skip(script, index + 1, "0123456789") if script[index : index + 1] == "~" else index
    if char == "$":
        return index + 1
    if char in "/\\":
        delim = "/" if char == "/" else script[index + 1 : index + 2]
        start = index + (1 if char == "/" else 2)
        end = _delimited(script, start, delim, regex=True) if delim else -1
        return -1 if end < 0 else _skip(script, end + 1, "IM")
    return index


def _substitution(script: str, index: int, command: str) -> tuple[int, str, str | None] | None:
    delim = script[index : index + 1]
    if not delim or delim in "\n\\":
        return None
    end = _delimited(script, index + 1, delim, regex=command == "s")
    end = _delimited(script, end + 1, delim, regex=False) if end >= 0 else -1
    if end < 0:
        return None
    index = end + 1
    if command == "y":
        return index, "", None
    start = index
    while index < len(script) and script[index] in "gpiImMe0123456789":
        index += 1
    flags = script[start:index]
    if script[index : index + 1] == "w":
        line_end = _line_end(script, index + 1)
        return line_end, flags, script[index + 1 : line_end].strip()
    return index, flags, None


def _delimited(script: str, index: int, delim: str, regex: bool) -> int:
    while index < len(script):
        char = script[index]
        if char == "\\":
            index += 2
            continue
        if char == delim:
            return index
        if regex and char == "[":
            index = _bracket_end(script, index)
            if index < 0:
                return -1
        index += 1
    return -1


def _bracket_end(script: str, index: int) -> int:
    index += 1
    index += script[index : index + 1] == "^"
    index += script[index : index + 1] == "]"
    while index < len(script):
        if script[index] == "[" and script[index + 1 : index + 2] in (":", "=", "."):
            close = script.find(script[index + 1] + "]", index + 2)
            if close < 0:
                return -1
            index = close + 2
            continue
        if script[index] == "]":
            return index
        index += 1
    return -1


_AWK_DANGER = (
    (re.compile(r"\bsystem\s*\("), "system() runs shell commands"),
    (re.compile(r"\|\s*&|\|\s*getline"), "pipes run shell commands"),
    (re.compile(r"@(load|include)\b"), "it loads extensions"),
)
_AWK_BAD_OPTIONS = names(
    "-f --file -E --exec -i --include -l --load -o --pretty-print -p --profile -d --dump-variables -D --debug"
)


def awk(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(
        cmd.args, "Fvfeiold", ("--field-separator", "--assign", "--file", "--source", "--include", "--load")
    )
    bad = next((flag for flag in opts.names() if flag in _AWK_BAD_OPTIONS), None)
    if bad is not None:
        return deny(
            "deny.awk",
            f"`awk {bad}` is not allowed: it loads program files or writes files; pass the program inline.",
        )
    programs = opts.values("-e", "--source") or list(opts.positionals[:1])
    for program in programs:
        if program.value is None:
            return dynamic_denial(cmd, program, "program")
        found = [why for pattern, why in _AWK_DANGER if pattern.search(program.value)]
        if _print_redirects(program.value):
            found.append("print redirection writes files or runs commands")
        if found:
            return deny(
                "deny.awk", f"this awk program is not allowed: {found[0]}; redirect the shell output instead."
            )
        if _AWK_FILE_SWAP.search(program.value):
            return deny("deny.awk", "this awk program sets ARGV or ARGC (the files it reads) at run time; "
                                    "name the files as arguments instead.")
        reads = [Word(m["path"], m["path"], tilde=m["path"][:1] == "~")
                 for m in _AWK_GETLINE.finditer(program.value)]
        problem = check_reads(reads, env)
        if problem is not None:
            return problem
        if _AWK_GETLINE_VAR.search(program.value):  # `getline < f` with f computed
            return deny("deny.awk", "this awk program reads a file named at run time (`getline < expression`); "
                                    "name the file literally.")
    return ok(cmd)


_AWK_GETLINE = re.compile(r'getline(?:\s+[A-Za-z_][A-Za-z0-9_]*)?\s*<\s*"(?P<path>[^"]*)"')
_AWK_GETLINE_VAR = re.compile(r"getline(?:\s+[A-Za-z_][A-Za-z0-9_]*)?\s*<\s*[^\s\"]")
_AWK_FILE_SWAP = re.compile(r"\bARG[VC]\s*(?:\[[^\]]*\])?\s*(?:[-+*/]?=(?!=)|\+\+|--)"
                            r"|\b(?:delete|split)\b[^;]*\bARGV\b")


def _print_redirects(program: str) -> bool:
    """``print > "file"`` / ``print | "cmd"``: a ``>`` or ``|`` outside parentheses and strings."""
    for match in re.finditer(r"\bprintf?\b", program):
        depth, quoted, index = 0, False, match.end()
        while index < len(program) and (quoted or program[index] not in ";}\n"):
            char = program[index]
            if quoted and char == "\\":
                index += 1
            elif char == '"':
                quoted = not quoted
            elif not quoted and char in "([":
                depth += 1
            elif not quoted and char in ")]":
                depth -= 1
            elif not quoted and char in ">|" and depth <= 0:
                return True
            index += 1
    return False


def rg(cmd: SimpleCommand, env: Env) -> Decision:
    for word in cmd.args:
        name = (word.value or "").partition("=")[0]
        if name == "--pre":
            return deny("deny.rg_pre", "`rg --pre` runs a program for every file; not allowed.")
    return _searcher_paths(cmd, env) or ok(cmd)


def _searcher_paths(cmd: SimpleCommand, env: Env) -> Decision | None:
    """rg and ag always recurse: their paths must not hold a home, / or /root."""
    return recursive_read_problem(searched(cmd)[1] or [HERE], env, command_name(cmd))


_PSQL_SHELL = re.compile(r"\\!|\\[og]\s*\||\bprogram\b|^\|", re.IGNORECASE)
_SQLITE_DOT = re.compile(r"(?:^|[\n;])[ \t]*\.([^\s;]*)")
_SQLITE_SAFE_DOTS = names(
    "tables schema headers header mode dump indexes indices quit exit help databases width "
    "nullvalue separator timer show print echo changes bail stats eqp fullschema lint"
)
"""Dot-commands that neither run programs, load code nor read or write other files.

sqlite3 takes any prefix of a dot-command (`.sh` is `.shell`), so only these names, written
out in full, pass."""
_SQLITE_FUNCTIONS = re.compile(r"\b(writefile|readfile|load_extension|edit|fts3_tokenizer)\s*\(", re.I)


def _sqlite_problem(text: str) -> bool:
    if _SQLITE_FUNCTIONS.search(text):
        return True
    return any(name.lower() not in _SQLITE_SAFE_DOTS for name in _SQLITE_DOT.findall(text))


_SQL_FILE = re.compile(
    r"\bATTACH\s+(?:DATABASE\s+)?(['\"])(?P<attach>[^'\"]*)\1|\bVACUUM\s+(?:\w+\s+)?INTO\s+(['\"])(?P<into>[^'\"]*)\3",
    re.IGNORECASE)
_PSQL_FILE = re.compile(r"\\(?:i|ir|include|include_relative|o|out|w|write|g|gx|s|copy\b.*?\b(?:to|from))\s+"
                        r"(['\"]?)(?P<path>[^'\"\s|;]+)\1", re.IGNORECASE)


def _sql_files(text: str, psql: bool) -> list[str]:
    """Files SQL text opens: sqlite's ``ATTACH 'f'`` and ``VACUUM INTO 'f'``; psql's ``\\i``,
    ``\\o``, ``\\w``, ``\\g``, ``\\s`` and ``\\copy … to|from 'f'`` (checked as writes, the stricter)."""
    found = [m["attach"] or m["into"] for m in _SQL_FILE.finditer(text)]
    if psql:
        found += [m["path"] for m in _PSQL_FILE.finditer(text) if m["path"].lower() not in ("stdin", "stdout")]
    return [f for f in found if f and f != ":memory:"]


_LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1", "[::1]"})


def _psql_remote_host(args: tuple[Word, ...]) -> str | None:
    """The host psql would reach when it is not this machine (``-h``, ``--host``, ``host=`` in a
    connection string, ``postgres://…@host/``); a socket directory (``/…``) is local."""
    hosts: list[str] = []
    for index, word in enumerate(args):
        text = word.value or ""
        if text in ("-h", "--host") and index + 1 < len(args):
            hosts.append(args[index + 1].value or "?")
        elif text.startswith(("--host=", "-h")) and text not in ("-h", "--help"):
            hosts.append(text.partition("=")[2] if text.startswith("--") else text[2:])
        hosts += re.findall(r"\bhost\s*=\s*([^\s]+)", text)
        url = re.match(r"postgres(?:ql)?://(?:[^@/]*@)?([^/:?]*)", text)
        if url:
            hosts.append(url.group(1))
    return next((h for h in hosts if h.lower() not in _LOCAL_HOSTS and not h.startswith("/")), None)


_SQLITE_VALUES = names(
    "-cmd -init -separator -newline -nullvalue -vfs -maxsize -mmap -heap -lookaside -pagecache"
)


def sqlite_database(args: tuple[Word, ...]) -> int | None:
    """The index of the database file argument (its name is no command)."""
    index = 0
    while index < len(args):
        text = args[index].value or ""
        if text.startswith("-"):
            index += 2 if text.lstrip("-") in {v[1:] for v in _SQLITE_VALUES} else 1
            continue
        return index
    return None


def _database_path(word: Word) -> Word:
    """The file a sqlite3 database operand opens (``file:PATH?mode=…`` URIs included)."""
    text = word.value
    if text is None or not text.startswith("file:"):
        return word
    path = text[5:].partition("?")[0].partition("#")[0]
    path = path[len("//localhost"):] if path.startswith("//localhost") else path
    return Word(path, path)


_MAX_SQL_SCRIPT = 256 * 1024
_PSQL_INCLUDE = re.compile(r"\\(?:i|ir|include|include_relative)\s+(['\"]?)(?P<path>[^'\"\s;]+)\1",
                           re.IGNORECASE)


def _sql_scripts(cmd: SimpleCommand, env: Env, psql: bool) -> Decision | None:
    """SQL the client reads from a file (``sqlite3 -init F``, ``psql -f F``, ``\\i F`` in ``-c``):
    judged like SQL given inline (a ``\\!`` or ``.shell`` in it runs programs). The file must be
    the project's and readable now; nested includes are followed three deep."""
    values = [w.value or "" for w in cmd.args]
    named: list[str] = []
    for index, text in enumerate(values):
        if text in (("-f", "--file") if psql else ("-init",)) and index + 1 < len(values):
            named.append(values[index + 1])
        elif psql and text.startswith("--file="):
            named.append(text.partition("=")[2])
        elif psql and text.startswith("-f") and len(text) > 2:
            named.append(text[2:])
        if psql:
            named += [m["path"] for m in _PSQL_INCLUDE.finditer(text)]
    tool = "psql" if psql else "sqlite3"
    for name in named:
        problem = _sql_script_problem(name, env, psql, tool, depth=0)
        if problem is not None:
            return problem
    return None


def _sql_script_problem(name: str, env: Env, psql: bool, tool: str, depth: int) -> Decision | None:
    if name == "-":
        return deny("deny.sql_stdin", f"`{tool}` would read SQL from stdin, which cannot be checked.")
    for cwd in env.cwds:
        path = physical(name, cwd)
        text = read_bounded(path, _MAX_SQL_SCRIPT) if is_inside(path, env.project) else None
        if text is None or depth > 3:
            return deny("deny.sql_shell", f"`{tool}` would run the SQL in `{name}`, which is not a readable "
                                          "project file (or nests includes too deeply): it cannot be checked.")
        bad = _PSQL_SHELL.search(text) if psql else _sqlite_problem(text)
        if bad:
            return deny("deny.sql_shell", f"`{name}` holds a shell escape, a dot-command or a function that "
                                          f"runs programs or touches other files; `{tool}` would run it.")
        for inner in (_PSQL_INCLUDE.finditer(text) if psql else ()):
            problem = _sql_script_problem(inner["path"], env, psql, tool, depth + 1)
            if problem is not None:
                return problem
    return None


def sql_client(cmd: SimpleCommand, env: Env) -> Decision:
    tool = (cmd.name.value or "") if cmd.name is not None else ""
    psql = tool.endswith("psql")
    database = None if psql else sqlite_database(cmd.args)
    if database is not None and cmd.args[database].value not in (":memory:", "") and \
            not any(w.value == "-readonly" for w in cmd.args[:database]):
        problem = check_paths([_database_path(cmd.args[database])], env, "sqlite3")  # it creates or writes it
        if problem is not None:
            return problem
    for index, word in enumerate(cmd.args):
        if index == database:
            continue
        if word.value is None:
            return dynamic_denial(cmd, word)
        if not psql and _sqlite_problem(word.value):
            return deny(
                "deny.sql_shell",
                f"`{tool}` argument `{word.raw[:40]}` uses a dot-command or SQL function that runs "
                "programs, loads code or touches other files; only plain SQL and read-only "
                "dot-commands (.tables, .schema, .mode, .headers, .dump) are allowed.",
            )
    script = _sql_scripts(cmd, env, psql)
    if script is not None:
        return script
    files = [path for word in cmd.args for path in _sql_files(word.value or "", psql)]
    problem = check_paths([Word(path, path, tilde=path[:1] == "~") for path in files], env, tool)
    if problem is not None:  # ATTACH / VACUUM INTO, psql \o \w \g \i \copy: files opened by SQL text
        return problem
    if not psql:
        return ok(cmd)
    host = _psql_remote_host(cmd.args)
    if host is not None and not env.config.allow_network:
        return deny("deny.network", f"`psql` would connect to {host}, and network access is off (set "
                                    "allow_network = true in [security] of autocode.toml); localhost is fine.")
    pattern = _PSQL_SHELL
    for word in cmd.args:
        value = (
            (word.value or "").partition("=")[2] if (word.value or "").startswith("--") else (word.value or "")
        )
        if pattern.search(value) or pattern.search(word.value or ""):
            return deny(
                "deny.sql_shell",
                f"`{tool}` argument `{word.raw[:40]}` uses a shell escape or writes files; not allowed.",
            )
    return ok(cmd)


VALIDATORS: Mapping[str, Validator] = MappingProxyType({
    "sed": with_long_options("sed", sed), "awk": awk, "rg": rg, "sqlite3": sql_client,
    "psql": sql_client,
})  # fmt: skip
