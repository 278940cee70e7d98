"""Which variables a command may set, by any means, and which values reach arithmetic.

bash sets variables in many ways besides ``NAME=value``: ``read``, ``printf -v``, ``for NAME in``,
``declare``/``export``/``local`` without ``=``, ``mapfile``, ``getopts``, ``select``. Every one of
them goes through :func:`settable`. Programs read their configuration from the environment, so the
rule is by *family*, not by name: a whole family is refused (every ``GIT_*``, every ``*_proxy``,
every ``PIP_*``, …) and only the few harmless members named in :data:`HARMLESS` are let through.
Path lists (``PATH``, ``PYTHONPATH``, ``NODE_PATH``) may only add directories inside the project.

Arithmetic (``(( ))``, ``$(( ))``, ``[[ a -eq b ]]``, ``let``, array subscripts, ``declare -i``)
evaluates a variable's *value* as an expression, and ``a[$(cmd)]`` in that value runs ``cmd``.
:func:`tainted` lists the variables a command line fills from data (a file, a command's output, a
file name, ``read``), and the policy refuses any of them in an arithmetic context.
"""

from __future__ import annotations

import re

from agent.security.commands import Script, SimpleCommand
from agent.security.models import Decision
from agent.security.words import Word

EXACT = frozenset({
    "PATH", "IFS", "CDPATH", "ENV", "BASH_ENV", "HOME", "PWD", "OLDPWD", "TMPDIR", "SHELL", "PS1", "PS2",
    "PS3", "PS4", "ZDOTDIR", "FPATH", "PSQLRC", "PGHOST", "PGHOSTADDR", "PGSERVICE", "PGSERVICEFILE",
    "PGSYSCONFDIR", "PGPASSFILE", "SQLITE_HISTORY", "MYSQL_HOST", "MYSQL_HISTFILE",
    "PROMPT_COMMAND", "SHELLOPTS", "BASHOPTS", "GLOBIGNORE", "HISTFILE", "HISTCONTROL", "INPUTRC",
    "EXECIGNORE", "FIGNORE", "POSIXLY_CORRECT", "CC", "CXX", "CPP", "LD", "AR", "MAKEFLAGS", "MAKEFILES",
    "MFLAGS", "GCONV_PATH", "LOCPATH", "NLSPATH", "HOSTALIASES", "RESOLV_HOST_CONF", "CURL_HOME",
    "WGETRC", "GNUPGHOME", "OPENSSL_CONF", "GLIBC_TUNABLES", "TERMINFO", "TERMINFO_DIRS", "EDITOR",
    "VISUAL", "PAGER", "BROWSER", "MANPAGER", "MANPATH", "SUDO_ASKPASS", "SSH_ASKPASS", "DISPLAY",
    "DOCKER_HOST", "KUBECONFIG", "OPENCODE_SERVER_PASSWORD", "NODE_OPTIONS", "NODE_PATH", "PYTHONPATH",
    "PERL5LIB", "PERLLIB", "RUBYLIB", "CLASSPATH", "TZDIR", "SSL_CERT_FILE", "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "BUN_INSTALL", "DENO_DIR",
    "GOPATH", "GOROOT", "GOBIN", "GOFLAGS", "GOPROXY", "GONOSUMDB", "GONOSUMCHECK", "GOPRIVATE",
    "GOINSECURE", "GOENV", "GOTOOLCHAIN", "GOCACHE", "GOMODCACHE", "GOEXPERIMENT", "GOSUMDB", "GOWORK",
})
PREFIXES = (
    "LD_", "DYLD_", "GIT_", "BASH", "PYTHON", "PIP_", "UV_", "POETRY_", "PDM_", "HATCH_", "CONDA",
    "NPM_", "YARN_", "PNPM_", "NODE_", "NVM_", "BUN_", "DENO_", "CARGO_", "RUST", "GEM_", "BUNDLE_",
    "RUBY", "PERL", "JAVA_", "JDK_", "MAVEN_", "GRADLE_", "XDG_", "LESS", "TAR_", "SSH_", "GPG_", "MALLOC_",
    "OPENCODE_", "AUTOCODE_", "HG", "SVN_", "CVS_", "DOCKER_", "KUBE", "AWS_", "GOOGLE_", "AZURE_",
    "PYTEST_", "COVERAGE_", "TOX_", "NOX_", "VIRTUAL_ENV", "PKG_CONFIG", "CMAKE_", "MAKE",
)
SUFFIXES = ("_PROXY", "_OPTIONS", "_OPTS", "FLAGS", "_HOME", "_PATH", "_CONFIG", "_RC", "_COMMAND",
            "_ASKPASS", "_PROGRAM", "_EDITOR", "_PAGER", "_SHELL", "_CMD", "_EXEC", "_PRELOAD")
HARMLESS = frozenset({
    "NODE_ENV", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "PYTHONIOENCODING",
    "PYTHONUTF8", "PYTHONWARNINGS", "PYTHONFAULTHANDLER", "LC_ALL", "LC_CTYPE", "LC_MESSAGES",
    "CGO_ENABLED", "RUST_BACKTRACE", "RUST_LOG", "LESSCHARSET",
})
"""Family members that only change output, locale or target, never which code runs."""
PATH_LISTS = frozenset({"PATH", "PYTHONPATH", "NODE_PATH"})
_OWN_VALUE = re.compile(r"^\$\{?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}?$")
_PROJECT_ENTRY = re.compile(r"^(\$\{?PWD\}?(/.*)?|\.(/.*)?|[A-Za-z0-9_][A-Za-z0-9_.\-/]*)$")


def family(name: str) -> bool:
    """True when ``name`` belongs to a family of variables programs read as configuration."""
    upper = name.upper()
    if name in HARMLESS:
        return False
    return upper in EXACT or upper.startswith(PREFIXES) or upper.endswith(SUFFIXES) or \
        upper.startswith("BASH_FUNC_")


def settable(name: str, raw_value: str | None) -> Decision | None:
    """A denial when a command may not set ``name`` (to ``raw_value``, its source text, if known)."""
    if name in PATH_LISTS and raw_value is not None and _project_path_list(name, raw_value):
        return None
    if not family(name):
        return None
    hint = ("add only directories inside the project, e.g. `export PATH=\"$PWD/node_modules/.bin:$PATH\"`"
            if name in PATH_LISTS else "pass the setting as a command-line option instead")
    return Decision(allowed=False, rule="deny.env_var",
                    reason=f"setting `{name}` is not allowed: programs read it as configuration "
                           f"(which code runs, where, or through which proxy); {hint}")


def _project_path_list(name: str, raw: str) -> bool:
    """``$PWD/node_modules/.bin:$PATH``, ``src``, ``./lib:$PYTHONPATH``: project dirs and the old value."""
    value = raw.strip().strip('"')
    if not value or "`" in value or "$(" in value:
        return False
    for entry in value.split(":"):
        own = _OWN_VALUE.match(entry)
        if own is not None and own.group("name") == name:
            continue
        if not _PROJECT_ENTRY.match(entry) or ".." in entry.split("/"):
            return False
    return True


SETTERS = frozenset({"read", "mapfile", "readarray", "getopts", "select"})
_DECLARE = frozenset({"declare", "typeset", "local", "readonly"})
_ARITH_RESULT = re.compile(r'^"?\$\(\((?:(?!\$\(|`).)*\)\)"?$'  # $((…)): always an integer
                           r'|^"?\$\{#[A-Za-z_][A-Za-z0-9_]*\}"?$|^"?\$[#?$!]"?$')
_POSITIONAL = frozenset({*"123456789", "@", "*"})
_OPTIONS_WITH_VALUE = {"read": frozenset("adinNptu"), "mapfile": frozenset("dnOsuCc"),
                       "readarray": frozenset("dnOsuCc")}


def set_names(cmd: SimpleCommand) -> tuple[list[str], str | None]:
    """The names ``cmd`` sets without ``NAME=value`` (``read x``, ``printf -v x``, ``getopts o x``),
    and the source text of an argument that would name a variable only at run time."""
    name = cmd.name.value if cmd.name is not None else None
    args = list(cmd.args)
    if name == "printf":
        for index, word in enumerate(args[:-1]):
            if word.value == "-v":
                target = args[index + 1]
                return ([target.value] if target.value else []), (None if target.value else target.raw)
        return [], None
    if name == "getopts":
        operands = [w for w in args if not (w.value or "").startswith("-")]
        return _named(operands[1] if len(operands) > 1 else None)
    if name in SETTERS:
        return _operands(name, args)
    if name in _DECLARE:
        names = [w.value for w in args if w.value and not w.value.startswith(("-", "+")) and "=" not in w.value]
        dynamic = next((w.raw for w in args if w.value is None), None)
        return names, dynamic
    return [], None


def _named(word: Word | None) -> tuple[list[str], str | None]:
    if word is None:
        return [], None
    return ([word.value], None) if word.value else ([], word.raw)


def _operands(name: str, args: list[Word]) -> tuple[list[str], str | None]:
    takes = _OPTIONS_WITH_VALUE.get(name, frozenset())
    names: list[str] = []
    skip = False
    for word in args:
        if skip:
            skip = False
            continue
        value = word.value
        if value is None:
            return names, word.raw
        if value.startswith("-") and len(value) > 1:
            skip = value[-1] in takes  # `-d ''`, `-p prompt`: the option's value follows
            continue
        names.append(value.split("[", 1)[0])
    return names, None


def tainted(script: Script) -> set[str]:
    """Names this command line fills from data: a file, a command's output, a file name, input."""
    found = {name for name, from_data in script.loop_vars if from_data}
    for cmd in script.commands:
        found.update(set_names(cmd)[0])
        for assignment in cmd.assignments:
            value = assignment.value
            if value is not None and value.value is None and not _ARITH_RESULT.match(value.raw):
                found.add(assignment.name)
        if cmd.name is not None and cmd.name.value in ("set", "shift") and cmd.args:
            found |= _POSITIONAL
    if script.functions:
        found |= _POSITIONAL  # a function's arguments come from its call sites
    return found


def arithmetic_problem(script: Script) -> Decision | None:
    """Refuse data-filled variables where bash evaluates them as arithmetic expressions."""
    hits = sorted((script.arithmetic | _command_arithmetic(script)) & tainted(script))
    if not hits:
        return None
    return Decision(allowed=False, rule="deny.injection",
                    reason=f"`{hits[0]}` is filled from data (read, a command's output, a file name) and "
                           "then used in arithmetic, where bash runs `a[$(…)]` inside a value as code; "
                           "compare it with single brackets (`[ \"$x\" -gt 0 ]`), which do not evaluate it")


_IDENT = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_]*)|\$\{?([0-9@*])")


def _command_arithmetic(script: Script) -> set[str]:
    """Names evaluated by ``let EXPR`` and by ``declare -i NAME=EXPR``."""
    found: set[str] = set()
    integer: set[str] = set()  # names given the integer attribute: every later assignment is arithmetic
    for cmd in script.commands:
        name = cmd.name.value if cmd.name is not None else None
        texts: list[str] = []
        if name in ("let", "unset"):  # `unset "$p"` evaluates a subscript inside p's value
            texts = [w.raw for w in cmd.args]
        elif name in _DECLARE | {"export"} and any((w.value or "").startswith("-") and "i" in (w.value or "")
                                                  for w in cmd.args):
            texts = [w.raw.partition("=")[2] for w in cmd.args] + \
                [a.value.raw for a in cmd.assignments if a.value is not None]
            integer.update((w.value or "").partition("=")[0] for w in cmd.args
                           if not (w.value or "-").startswith(("-", "+")))
            integer.update(a.name for a in cmd.assignments)
        elif name == "test" and any(w.value in ("-v", "-R") for w in cmd.args):  # `test -v "$x"`
            texts = [w.raw for w in cmd.args if w.value not in ("-v", "-R")]
        for text in texts:
            found.update(a or b for a, b in _IDENT.findall(text))
        sources = [w.raw for w in cmd.args] + [a.value.raw for a in cmd.assignments if a.value is not None]
        found.update(m.group(1) for raw in sources for m in _INDIRECT.finditer(raw))
    for cmd in script.commands:  # `declare -i z; z=$v` and `read z` evaluate the value
        for assignment in cmd.assignments:
            if assignment.name in integer and assignment.value is not None:
                found.update(a or b for a, b in _IDENT.findall(assignment.value.raw))
    return found | integer


_ASSIGNMENT_WORD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\+?=")
_INDIRECT = re.compile(r"\$\{!([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_\[*@])")
"""``${!x}``: x's value is taken for a name, subscript and all (``a[$(cmd)]`` runs cmd); not
``${!x[@]}`` (x's keys) or ``${!prefix*}`` (names)."""


ANY_NAME = "*"
"""In ``assigned_names``: a command may set variables the policy cannot name (``source f``, a
``declare -n`` reference)."""


def _sets_unknown(cmd: SimpleCommand) -> bool:
    name = cmd.name.value if cmd.name is not None else None
    if name in ("source", "."):
        return True
    flags = [w.value or "-n" for w in cmd.args if (w.value or "-").startswith("-")]
    return name in _DECLARE and any("n" in flag for flag in flags)


LoopRoots = tuple[tuple[str, tuple[Word, ...]], ...]


def assigned_names(script: Script) -> tuple[frozenset[str], tuple[tuple[str, tuple[str, ...]], ...], LoopRoots]:
    """Every variable ``script`` may set, by any means (``NAME=``, ``env NAME=``, ``read``,
    ``printf -v``, ``declare``, ``for``); the literal values of those set only by one
    ``for NAME in a b`` over plain words (which a URL check may substitute); and the words of
    those set only by one ``for`` loop (:func:`_loop_roots`)."""
    by_commands = _set_by_commands(script)
    found = set(by_commands)
    loops = [name for name, _ in script.loop_vars]
    found.update(name for name, from_data in script.loop_vars if from_data)
    found.update(name for name in loops if loops.count(name) > 1)
    literal = tuple((name, values) for name, values in script.loop_values if name not in found)
    names = frozenset(found | {name for name, _ in script.loop_values if name in found})
    return names, literal, _loop_roots(script, by_commands)


def _set_by_commands(script: Script) -> set[str]:
    """The variables ``script``'s commands may set (``ANY_NAME`` when one sets a name only known
    at run time); ``for`` loops are not commands."""
    found: set[str] = set()
    for cmd in script.commands:
        if _sets_unknown(cmd):
            found.add(ANY_NAME)
        found.update(a.name for a in cmd.assignments)
        found.update(set_names(cmd)[0])
        found.update(m.group(1) for w in cmd.args if w.value and (m := _ASSIGNMENT_WORD.match(w.value)))
    return found


def _loop_roots(script: Script, by_commands: set[str]) -> LoopRoots:
    """The variables only one ``for NAME in WORDS`` sets (no command sets them, no other loop):
    NAME holds one of WORDS' values, so a walk of ``$NAME`` starts where one of them names."""
    if ANY_NAME in by_commands:
        return ()
    loops = [name for name, _ in script.loop_sources]
    return tuple((name, words) for name, words in script.loop_sources
                 if loops.count(name) == 1 and name not in by_commands)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def nameref_problem(cmd: SimpleCommand) -> Decision | None:
    """``declare``/``typeset``/``local -n NAME=TARGET`` makes NAME another name of TARGET: later
    assignments to NAME (``export NAME``) set TARGET, so ``declare -n r=CDPATH; r=/`` sets CDPATH.
    TARGET must be written out and be a variable a command may set; a nameref without one takes
    its target from its first assignment, which is refused too."""
    name = cmd.name.value if cmd.name is not None else None
    if name not in _DECLARE:
        return None
    options = [w.value for w in cmd.args if w.value and w.value.startswith("-") and w.value != "--"]
    if not any("n" in option[1:] for option in options):
        return None
    pairs = [(a.name + "=" + (a.value.raw if a.value is not None else ""),
              a.value.value if a.value is not None else None) for a in cmd.assignments]
    for word in cmd.args:
        if word.value is None or not word.value.startswith(("-", "+")):
            value = word.value
            pairs.append((word.raw, value.partition("=")[2] if value is not None and "=" in value else None))
    for raw, target in pairs:
        if target is None or not _NAME.fullmatch(target):
            return Decision(allowed=False, rule="deny.nameref",
                            reason=f"`{name} -n {raw[:40]}` makes a name refer to a variable not "
                                   "written out here; any variable could be set through it.")
        problem = settable(target, None)
        if problem is not None:
            return problem
    return None
