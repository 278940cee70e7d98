"""Validators for commands that run other commands, and for the kill family.

Wrappers (``env``, ``nice``, ``timeout``, ``nohup``, ``time``, ``stdbuf``, ``command``) are
unwrapped and the inner command gets the full check. ``xargs`` may only feed stdin words to
read-only commands (see also :mod:`agent.security.validators_feed`; ``find`` is in
:mod:`agent.security.validators_find`); ``bash -c STR`` parses STR recursively, a literal here-doc
into a shell likewise; a shell may run a script file only for the project's own ``init.sh``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from agent.security.base import (
    Env,
    Validator,
    assignment_problem,
    command_name,
    deny,
    dynamic_denial,
    ok,
    parse_options,
)
from agent.security.bash import SimpleCommand, Word
from agent.security.longopts import Operands, with_long_options
from agent.security.models import Decision
from agent.security.paths import is_inside, real
from agent.security.rules import XARGS_SAFE, names
from agent.security.validators_fs import check_paths, resolve_word

MAX_DEPTH = 8
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SIGNAL = re.compile(r"^-(\d+|(SIG)?(HUP|INT|QUIT|ILL|TRAP|ABRT|IOT|BUS|FPE|KILL|USR1|SEGV|USR2|PIPE|ALRM|TERM|"
                     r"STKFLT|CHLD|CONT|STOP|TSTP|TTIN|TTOU|URG|XCPU|XFSZ|VTALRM|PROF|WINCH|IO|POLL|PWR|SYS|"
                     r"RTMIN|RTMAX)([+-]\d+)?)$", re.IGNORECASE)
"""A signal option (``-9``, ``-TERM``, ``-SIGKILL``): named signals only, so that ``-v`` (pkill's
inverse match, which kills everything the pattern does NOT match) is no signal."""


def run_inner(cmd: SimpleCommand, env: Env, index: int | None) -> Decision:
    """Fully check ``args[index:]`` as a command of its own (nothing left → allowed)."""
    if index is None or index >= len(cmd.args):
        return ok(cmd)
    return check_inner(cmd.shift(index), env)


def check_inner(inner: SimpleCommand, env: Env) -> Decision:
    """Fully check a command found inside another one (one nesting level deeper)."""
    if env.depth >= MAX_DEPTH:
        return deny("deny.depth", "The command nests wrappers too deeply to check.")
    return env.inner(inner, replace(env, depth=env.depth + 1))


def env_wrapper(cmd: SimpleCommand, env: Env) -> Decision:
    args, index = cmd.args, 0
    while index < len(args):
        text = args[index].value
        if text is None:
            return dynamic_denial(cmd, args[index])
        if text in ("-i", "--ignore-environment", "-0", "--null", "-v", "--debug", "-", "--"):
            index += 1
        elif text in ("-u", "--unset"):
            index += 2
        elif text.startswith(("--unset=", "-u")):
            index += 1
        elif text.startswith("-"):
            return deny(
                "deny.env_option",
                f"`env {text}` is not allowed: it can split strings into commands or change directory.",
            )
        else:
            break
    problems: list[Decision] = []
    while index < len(args) and _ASSIGNMENT.match(args[index].value or args[index].raw):
        word = args[index]
        name, _, value = (word.value or word.raw).partition("=")
        problem = assignment_problem(name, value if word.literal else None, value)
        if problem is not None and not problems:
            problems.append(problem)
        index += 1
    inner = run_inner(cmd, env, index)
    return problems[0] if problems and inner.allowed else inner


def _stop_wrapper(short_values: str, long_values: tuple[str, ...], skip: int = 0) -> Validator:
    def validate(cmd: SimpleCommand, env: Env) -> Decision:
        opts = parse_options(cmd.args, short_values, long_values, stop_at_positional=True)
        index = opts.rest_index
        return run_inner(cmd, env, None if index is None else index + skip)

    return validate


def time_wrapper(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(cmd.args, "fo", ("--format", "--output"), stop_at_positional=True)
    problem = check_paths(opts.values("-o", "--output"), env, "time")
    return problem or run_inner(cmd, env, opts.rest_index)


def command_builtin(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(cmd.args, stop_at_positional=True)
    if opts.has("-v", "-V"):
        return ok(cmd, " (lookup only)")
    return run_inner(cmd, env, opts.rest_index)


_XARGS_FLAGS = names(
    "-0 -r -t -p -x -o -i -e -l --null --no-run-if-empty --verbose --interactive --exit "
    "--open-tty --show-limits --replace --eof --max-lines"
)
_XARGS_VALUES = ("--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars",
                 "--process-slot-var")  # fmt: skip


def xargs(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(cmd.args, "adEILnPs", _XARGS_VALUES, stop_at_positional=True)
    for flag, value in opts.flags:
        known = flag in _XARGS_FLAGS or (
            value is not None and flag in ("-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s", *_XARGS_VALUES)
        )
        if not known:
            return deny("deny.xargs_option", f"`xargs {flag}` is not a recognised option.")
    index = opts.rest_index
    if index is None or index >= len(cmd.args):
        return ok(cmd, " (it runs echo)")
    inner = cmd.args[index]
    name = (inner.value or "").rsplit("/", 1)[-1]
    if name not in XARGS_SAFE:
        return deny(
            "deny.xargs",
            f"`xargs {inner.raw}` would pass unchecked words from stdin to "
            f"`{inner.raw}`; give `{inner.raw}` its arguments directly (for deleting files, use find -delete).",
        )
    return run_inner(cmd, env, index)


def shell(cmd: SimpleCommand, env: Env) -> Decision:
    args, index, want_script, from_stdin = cmd.args, 0, False, False
    while index < len(args):
        text = args[index].value
        if text is None:
            break
        if text.partition("=")[0] in ("--rcfile", "--init-file"):
            return deny("deny.shell_startup", f"`{command_name(cmd)} {text}` runs that file first, "
                                              "unchecked; run its commands directly.")
        if text in ("-o", "+o", "-O", "+O"):
            index += 2
        elif text.startswith("--") and text != "--":
            index += 1
        elif text[:1] in "-+" and len(text) > 1 and text != "--":
            want_script = want_script or "c" in text
            from_stdin = from_stdin or (text[0] == "-" and "s" in text)
            index += 1
        else:
            index += text == "--"
            break
    name = command_name(cmd)
    rest = args[index:]
    if want_script:
        return _shell_string(cmd, env, rest)
    if rest and not from_stdin:
        return init_script(rest[0], env, f"{name} {rest[0].raw}")
    return _shell_stdin(cmd, env)


def _shell_stdin(cmd: SimpleCommand, env: Env) -> Decision:
    """A shell reading its script from stdin: a literal here-doc or here-string is judged like
    ``bash -c`` on the same text; a pipe, a file or an expanding here-doc cannot be."""
    name = command_name(cmd)
    fed = cmd.stdin_text
    if fed is None or fed.value is None:
        return deny(
            "deny.shell_stdin",
            f"`{name}` without -c would run commands from stdin that cannot be checked (a pipe, a "
            "file, or a here-doc with expansions); run the commands directly, or feed a quoted here-doc.",
        )
    if env.depth >= MAX_DEPTH:
        return deny("deny.depth", "The command nests shells too deeply to check.")
    return env.nested(fed.value, replace(env, depth=env.depth + 1))


def _shell_string(cmd: SimpleCommand, env: Env, rest: tuple[Word, ...]) -> Decision:
    name = command_name(cmd)
    if not rest or rest[0].value is None:
        return deny(
            "deny.shell_dynamic", f"`{name} -c` needs its script written literally so it can be checked."
        )
    if env.depth >= MAX_DEPTH:
        return deny("deny.depth", "The command nests shells too deeply to check.")
    return env.nested(rest[0].value, replace(env, depth=env.depth + 1))


def init_script(word: Word, env: Env, shown: str) -> Decision:
    """Allow running ``word`` only when it is the project's own ``init.sh``."""
    expected = real(env.project / "init.sh")
    if all(resolve_word(word, cwd, env) == expected for cwd in env.cwds):
        return Decision(allowed=True, reason=f"`{shown}` runs the project's init.sh.", rule="allow.init_sh")
    return deny(
        "deny.script",
        f"`{shown}` runs a script other than the project's ./init.sh; "
        "only the init.sh in the project root may be run this way.",
    )


def kill(cmd: SimpleCommand, env: Env) -> Decision:
    pids: list[int] = []
    signal_seen = jobs = False
    skip = False
    for word in cmd.args:
        text = word.value
        if text is None and word.raw in ("$!", '"$!"', "${!}", '"${!}"'):
            jobs = True  # the last job this command line started in the background: its own child
            continue
        if text is None:
            return dynamic_denial(cmd, word, "pid")
        if skip:
            skip = False
        elif text in ("-l", "-L", "--list", "--table"):
            return ok(cmd, " (it lists signals)")
        elif text in ("-s", "-n", "--signal"):
            skip = signal_seen = True
        elif _SIGNAL.match(text) and not signal_seen and not pids:
            signal_seen = True
        elif text.startswith("%"):
            jobs = True
        elif text.isdigit() and int(text) > 1:
            pids.append(int(text))
        elif text != "--":
            return deny(
                "deny.kill",
                f"`kill {text}` is not allowed: only plain pids of processes started for this project.",
            )
    return _kill_pids(cmd, env, pids, jobs)


def _kill_pids(cmd: SimpleCommand, env: Env, pids: list[int], jobs: bool) -> Decision:
    if not pids and not jobs:
        return deny("deny.kill", "`kill` needs the pid of a process started for this project.")
    started = env.context.started_pids
    foreign = [pid for pid in pids if pid not in started]
    if foreign:
        known = ", ".join(map(str, sorted(started))) or "none yet"
        return deny(
            "deny.kill",
            f"`kill {foreign[0]}` targets a process this project did not "
            f"start (started pids: {known}); use `pkill -f <dev server>`.",
        )
    return ok(cmd)


_PKILL_FLAGS = names(
    "-f --full -x --exact -n --newest -o --oldest -e --echo -c --count -i --ignore-case "
    "-q --quiet -w --wait -I --interactive"
)
"""Not ``-v``/``--inverse``: it kills every process the pattern does NOT match (autocode too)."""


def pkill(cmd: SimpleCommand, env: Env) -> Decision:
    names: list[str] = []
    full = skip = False
    for word in cmd.args:
        text = word.value
        if text is None:
            return dynamic_denial(cmd, word, "pattern")
        if skip:
            skip = False
        elif text in ("-s", "--signal"):
            skip = True
        elif text in _PKILL_FLAGS or text.startswith("--signal=") or _SIGNAL.match(text):
            full = full or text in ("-f", "--full")
        elif text.startswith("-"):
            return deny("deny.pkill", f"`{command_name(cmd)} {text}` is not allowed.")
        else:
            names.append(text)
    return _kill_names(cmd, env, names, full)


def _kill_names(cmd: SimpleCommand, env: Env, names: list[str], full: bool) -> Decision:
    tool = command_name(cmd)
    if not names or (tool == "pkill" and len(names) > 1):
        return deny("deny.pkill", f"`{tool}` needs exactly one dev-server name.")
    allowed = env.config.dev_server_names
    for pattern in names:
        if _matches_harness(pattern, tool, full):
            return deny(
                "deny.pkill",
                f"`{tool} {pattern}` would also match autocode, OpenCode or the sandbox (python, "
                "node, bun, bwrap); name the dev server's own script, e.g. `pkill -f 'node server.js'`.",
            )
        head = pattern.split()[0] if full and pattern.split() else pattern
        if head.rsplit("/", 1)[-1] not in allowed:
            return deny("deny.pkill", f"`{tool} {pattern}` may only target dev servers ({', '.join(allowed)}).")
    return ok(cmd)


_HARNESS_NAMES = ("python", "python3", "bwrap", "opencode", "autocode", ".opencode")
_HARNESS_LINES = (
    "/usr/bin/python3 -m agent build", ".venv/bin/autocode build", "opencode serve --port 4096",
    "node /usr/lib/node_modules/opencode-ai/bin/opencode serve", "bwrap --unshare-all bash -c",
)  # fmt: skip
"""Names and command lines of the harness's own processes: a kill pattern must match none.

pkill matches a regex anywhere in the process name (with -f, in the command line); killall
compares whole names. So `killall node` passes (no harness process is named node) while
`pkill -f node` is refused (OpenCode's npm launcher runs under node)."""


def _matches_harness(pattern: str, tool: str, full: bool) -> bool:
    if tool == "killall":
        return pattern.rsplit("/", 1)[-1] in _HARNESS_NAMES
    try:
        compiled = re.compile(pattern)
    except re.error:
        return True
    lines = _HARNESS_NAMES + (_HARNESS_LINES if full else ())
    return any(compiled.search(line) for line in lines)


VALIDATORS: Mapping[str, Validator] = MappingProxyType({
    "env": env_wrapper, "nice": _stop_wrapper("n", ("--adjustment",)),
    "timeout": _stop_wrapper("sk", ("--signal", "--kill-after"), skip=1),
    "nohup": _stop_wrapper("", ()), "time": time_wrapper,
    "stdbuf": _stop_wrapper("ioe", ("--input", "--output", "--error")),
    "command": command_builtin,
    "xargs": with_long_options("xargs", xargs, Operands("adEILnPs", frozenset(_XARGS_VALUES))),
    "bash": shell, "sh": shell, "zsh": shell, "dash": shell, "ksh": shell,
    "kill": kill, "pkill": pkill, "killall": pkill,
})  # fmt: skip


def is_inside_project(word: Word, env: Env) -> bool:
    """True when ``word`` names a path inside the project from every possible cwd."""
    return all(
        (path := resolve_word(word, cwd, env)) is not None and is_inside(path, env.project) for cwd in env.cwds
    )
