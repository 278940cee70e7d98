"""The security policy: may OpenCode run this bash command, or touch this path?

:func:`decide` is a pure function of the command and a :class:`PolicyContext`. The command is
parsed with tree-sitter-bash (:mod:`agent.security.bash`); anything that does not parse
cleanly is denied. Every simple command found anywhere in the tree is then checked, in order:

1. prefix assignments (``LD_PRELOAD=…``, ``GIT_SSH_COMMAND=…`` and friends are denied);
2. the command name must be a literal word (no ``$X``, quoting or globbing in that position);
3. ``[security].deny`` names are denied, before anything else allows them;
4. the always-denied table (sudo, dd, mkfs, shutdown, chown, eval, exec, …);
5. a validator for the name, if there is one (paths, options, inner commands);
6. the allowlist (built-in names plus ``[security].allow``); everything else is denied.

Around that sit whole-line checks: function definitions may not shadow a known command or
call themselves (fork bombs), a download may never be piped into a shell or interpreter, and
every output redirection must target a file inside the project (or /dev/null and friends).

The policy is a guardrail against destructive or out-of-project commands, not a sandbox:
project code the agent writes (npm scripts, Makefiles, Python files) runs with the user's
rights. Run autocode in a container or VM when that matters.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from pydantic import ValidationError

from agent.errors import UsageError
from agent.security import validators_exec, validators_fs
from agent.security.base import (
    Env,
    Validator,
    allow,
    assignment_problem,
    canonical,
    deny,
    too_complex,
)
from agent.security.bash import START, Assignment, Redirect, Script, SimpleCommand, State, Word, parse_script
from agent.security.commands import COMMAND_NAME, Budget
from agent.security.density import operator_excess
from agent.security.escapes import escape_problem
from agent.security.models import DECISION_CACHE, Decision, DecisionMemo, PolicyContext, SecurityConfig
from agent.security.outputs import output_problem
from agent.security.paths import (
    CREDENTIAL_PATHS,
    PROTECTED_ANYWHERE,
    PROTECTED_ROOT_NAMES,
    check_read,
    check_write,
    decide_path,
)
from agent.security.reads import argument_problems, data_names, data_path_denial, uses
from agent.security.resources import WRITE_OPS, unbounded_writer
from agent.security.rules import DANGEROUS, DEFAULT_ALLOW, FETCHERS, NETWORK, NEVER, names
from agent.security.validators_feed import VALIDATORS as FEED_VALIDATORS
from agent.security.validators_feed import feeds
from agent.security.validators_find import VALIDATORS as FIND_VALIDATORS
from agent.security.validators_fs import check_reads, looped_words
from agent.security.validators_lang import VALIDATORS as LANG_VALIDATORS
from agent.security.validators_read import VALIDATORS as READ_VALIDATORS
from agent.security.validators_stdin import VALIDATORS as STDIN_VALIDATORS
from agent.security.validators_text import VALIDATORS as TEXT_VALIDATORS
from agent.security.validators_tools import VALIDATORS as TOOLS_VALIDATORS
from agent.security.variables import (
    arithmetic_problem,
    assigned_names,
    nameref_problem,
    set_names,
    settable,
)

__all__ = [
    "Decision",
    "PolicyContext",
    "SecurityConfig",
    "decide",
    "decide_path",
    "describe_policy",
    "load_security_config",
]

VALIDATORS: Mapping[str, Validator] = MappingProxyType({
    **validators_fs.VALIDATORS, **validators_exec.VALIDATORS, **LANG_VALIDATORS,
    **TEXT_VALIDATORS, **TOOLS_VALIDATORS, **STDIN_VALIDATORS, **FEED_VALIDATORS, **FIND_VALIDATORS,
    **READ_VALIDATORS,
})  # fmt: skip
"""Command name → validator; the name must still be allowed (network tools always are)."""

_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_INJECTION = re.compile(r"\[[^\]]*(\$\(|`)")
_WRAPPERS = names("env nice timeout nohup time command stdbuf xargs sudo doas exec")
_MAX_LENGTH = 100_000
DECISION_BUDGET_S = 2.0
"""Wall-clock budget of one decision; past it the command is denied as too complex to judge."""
DECISION_CPU_BUDGET_S = 0.040
"""CPU-time budget of one decision (the deciding thread's) on a command longer than
:data:`CPU_BUDGET_FROM_CHARS`: past it the command is denied as too complex to judge. Input dense
with syntax is refused before this by its size (:mod:`agent.security.density`); what the budget
still stops is many plain commands (about 0.25 ms each: a 130-line setup script of lists and
pipelines takes 25-30 ms, which the earlier 25 ms budget refused)."""
CPU_BUDGET_FROM_CHARS = 1024
"""Shorter commands have only the wall-clock backstop: their cost is bounded by their size (at most
about 25 ms of CPU for the worst 1 KB found), and a loaded machine, which inflates even CPU time
(caches), must not flip an ordinary command's verdict."""
_log = logging.getLogger(__name__)


def decide(command: str, context: PolicyContext, budget_s: float = DECISION_BUDGET_S,
           cpu_budget_s: float = DECISION_CPU_BUDGET_S) -> Decision:
    """Decide whether OpenCode may run the bash ``command`` in ``context``.

    Never raises: input that cannot be judged within ``budget_s`` seconds of wall-clock time and
    (past :data:`CPU_BUDGET_FROM_CHARS`) ``cpu_budget_s`` of CPU time, or at all, is denied.
    """
    memo = DECISION_CACHE.set(DecisionMemo())
    try:
        long = isinstance(command, str) and len(command) > CPU_BUDGET_FROM_CHARS
        return _decide(command, context, Budget(budget_s, cpu_budget_s if long else float("inf")))
    except RecursionError:
        return too_complex("it nests too deeply")
    except Exception:  # fail closed; the property tests assert this branch is never taken
        _log.exception("security policy failed on a command")
        return deny("internal.error", "The command could not be judged (an internal error); "
                                      "it is refused. Write it more simply.")
    finally:
        DECISION_CACHE.reset(memo)


def _decide(command: str, context: PolicyContext, budget: Budget) -> Decision:
    if not isinstance(command, str):
        return deny("parse.error", "The command is not text.")
    if not command.strip():
        return deny("parse.empty", "The command is empty: there is nothing to run.")
    if "\x00" in command:
        return deny("parse.error", "The command contains a NUL byte; bash cannot run it as written.")
    if len(command) > _MAX_LENGTH:
        return deny("parse.error", "The command is too long to check; split it up.")
    if not _is_utf8(command):
        return deny("parse.encoding", "The command is not valid UTF-8 text (a lone surrogate or an "
                                      "undecodable byte); write it as plain text.")
    env = Env(context, (context.effective_cwd,), frozenset(), 0, check_command, _check_script,
              budget=budget)
    decision = _check_script(command, env)
    if decision.allowed and budget.spent():
        return too_complex("it took too long to check")
    return decision


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_script(source: str, env: Env) -> Decision:
    if not source.strip():
        return allow("allow.empty", "The nested script is empty.")
    excess = operator_excess(source)  # before the parser, which is slowest on exactly this input
    if excess is not None:
        return too_complex(excess)
    script = parse_script(source, env.budget)
    if script.too_complex is not None:
        return too_complex(script.too_complex)
    if script.error is not None:
        return deny("parse.error", f"{script.error}; only complete, plain bash can be checked.")
    if script.hazard is not None:
        return deny("deny.hazard", f"{script.hazard}; not allowed.")
    if script.cd_unmodelled:
        return deny("deny.cd", "`cd` inside a loop or function cannot be followed; cd once, outside them.")
    assigned, loops, roots = assigned_names(script)
    env = replace(env, functions=env.functions | {f.name for f in script.functions},
                  assigned=env.assigned | assigned, loop_values=loops, feeds=feeds(script),
                  loop_roots=roots,
                  data_vars=env.data_vars | data_names(script, env.budget))
    for step in (_check_functions, _check_variables, _check_pipelines, _check_redirects, _check_commands):
        problem = step(script, env)
        if problem is not None:
            return problem
    if script.arith_output is not None:  # after the commands: their own verdict explains more
        return deny("deny.injection", f"{script.arith_output}; not allowed.")
    names = sorted({c.name.value for c in script.commands if c.name and c.name.value})
    shown = ", ".join(f"`{n}`" for n in names) or "plain assignments"
    return allow("allow.list", f"Allowed: {shown}.")


def _at(dirs: State, env: Env) -> Env:
    """``env`` with the directories a command runs in after the ``cd`` histories ``dirs``."""
    if dirs == START:
        return env
    found: dict[Path, None] = {}
    for base in env.cwds:
        for history in dirs:
            path = _after(base, history, env)
            if path is not None:
                found[path] = None
    return replace(env, cwds=tuple(found) or env.cwds)


def _after(base: Path, history: tuple[Word, ...], env: Env) -> Path | None:
    """Where the ``cd`` steps ``history`` lead from ``base``; each step resolved once per decision
    (histories share their beginnings: without this, checking every command in every directory
    cost the square of the number of `cd`s)."""
    if not history:
        return base
    memo = DECISION_CACHE.get()
    places = memo.places if memo is not None else {}
    key = (base, history)
    if key not in places:
        before = _after(base, history[:-1], env)
        places[key] = validators_fs.resolve_word(history[-1], before, env) if before is not None else None
    return places[key]


def _check_functions(script: Script, env: Env) -> Decision | None:
    known = DEFAULT_ALLOW | NETWORK | frozenset(DANGEROUS) | frozenset(VALIDATORS)
    for function in script.functions:
        if _recursive(function.name, script):
            return deny(
                "deny.fork_bomb",
                f"The function `{function.name}` calls itself, directly or through another function "
                "(the fork-bomb pattern); not allowed.",
            )
        if (
            not _FUNCTION_NAME.match(function.name)
            or function.name in known
            or (function.name in env.config.allow)
        ):
            return deny(
                "deny.function_shadow",
                f"Defining a function named `{function.name}` would shadow a command; pick another name.",
            )
    return None


def _recursive(name: str, script: Script) -> bool:
    calls = {f.name: f.calls for f in script.functions}
    seen: set[str] = set()
    pending = list(calls.get(name, ()))
    while pending:
        current = pending.pop()
        if current == name:
            return True
        if current in calls and current not in seen:
            seen.add(current)
            pending.extend(calls[current])
    return False


def _check_variables(script: Script, env: Env) -> Decision | None:
    """Variables set without ``NAME=value`` and data-filled values reaching arithmetic; the words a
    ``for`` loops over are read like arguments (``for f in ~/.ssh/*; do cat $f; done``)."""
    problem = check_reads(script.loop_words, env)
    if problem is not None:
        return problem
    for name, _ in script.loop_vars:
        problem = settable(name, None)
        if problem is not None:
            return problem
    for cmd in script.commands:
        problem = nameref_problem(cmd)
        if problem is not None:
            return problem
        names, dynamic = set_names(cmd)
        if dynamic is not None:
            return deny("deny.dynamic_argument",
                        f"`{dynamic}` names a variable only at run time, so any variable could be set; "
                        "write the name literally.")
        for name in names:
            problem = settable(name, None)
            if problem is not None:
                return problem
    return arithmetic_problem(script)


def _check_pipelines(script: Script, env: Env) -> Decision | None:
    for fed in script.fed:
        if _reads_program_from_stdin(fed, env):
            return deny(
                "deny.pipe_to_shell",
                "A shell or interpreter reading its program through a process substitution "
                "(`>(python3)`, `python3 < <(...)`) runs unchecked code; save the code to a file first.",
            )
    for stages in script.pipelines:
        fetched = False
        for stage in stages:
            if stage is None:
                continue
            if fetched and _reads_program_from_stdin(stage, env):
                return deny(
                    "deny.pipe_to_shell",
                    "Piping a download into a shell or interpreter runs unreviewed code and is never "
                    "allowed; save it to a file and read it first.",
                )
            fetched = fetched or bool(_effective_names(stage) & FETCHERS)
    return None


def _reads_program_from_stdin(stage: SimpleCommand, env: Env) -> bool:
    """Would this pipeline stage run its stdin as code (``sh``, ``python3``, ``env node``)?"""
    base = _effective_names(stage)
    if base & {"sudo", "doas"}:  # denied anyway; look through it for the clearer reason
        operands = [i for i, w in enumerate(stage.args) if not (w.value or "-").startswith("-")]
        return bool(operands) and _reads_program_from_stdin(stage.shift(operands[0]), env)
    config = env.config.model_copy(update={"inline_code": "never"})
    strict = replace(env, context=env.context.model_copy(update={"config": config}))
    piped = check_command(replace(stage, piped=True), strict)
    if piped.rule == "deny.shell_stdin":
        return True
    plain = replace(stage, piped=False, redirects=())
    return piped.rule == "deny.inline_code" and check_command(plain, strict).allowed


def _effective_names(cmd: SimpleCommand) -> frozenset[str]:
    name = cmd.name.value if cmd.name is not None else None
    if name is None:
        return frozenset()
    names = {canonical(name.rsplit("/", 1)[-1])}
    if names & _WRAPPERS:
        names |= {canonical(w.value.rsplit("/", 1)[-1]) for w in cmd.args if w.value}
    return frozenset(names)


def _check_redirects(script: Script, env: Env) -> Decision | None:
    places: dict[State, Env] = {}
    for redirect in script.redirects:
        if env.budget.spent():
            return too_complex("it took too long to check")
        if redirect.dirs not in places:
            places[redirect.dirs] = _at(redirect.dirs, env)
        for cwd in places[redirect.dirs].cwds:
            problem = _redirect_problem(redirect, cwd, env)
            if problem is not None:
                return problem
    return None


def _redirect_problem(redirect: Redirect, cwd: Path, env: Env) -> Decision | None:
    target = redirect.target
    if target is None or redirect.process:
        return None
    if target.raw.lstrip("\"'").startswith(("/dev/tcp/", "/dev/udp/")) and not env.config.allow_network:
        return deny("deny.network", f"`{redirect.op} {target.raw[:60]}` opens a network connection (bash's "
                                    "/dev/tcp), and network access is off (set allow_network = true in "
                                    "[security] of autocode.toml).")
    if redirect.op == "<":
        held = uses(target.raw, env.data_vars) if target.value is None else None
        return data_path_denial("<", target.raw, held) if held else check_read(target, cwd, env.context)
    if redirect.op not in WRITE_OPS:
        return None
    if target.value is not None and (target.value.isdigit() or target.value == "-"):
        return None  # 2>&1, >&-
    for looped in looped_words(target, env) or (target,):  # `for f in a b; do … > "$f"`: a, then b
        problem = check_write(looped, cwd, env.context, "redirection")
        if problem is not None:
            return problem
    return None


def _check_commands(script: Script, env: Env) -> Decision | None:
    judged: set[SimpleCommand] = set()  # `ls; ls`: the same words in the same directories, once
    places: dict[State, Env] = {}  # the directories after the same `cd`s, resolved once
    for cmd in script.commands:
        if cmd in judged:
            continue
        if env.budget.spent():
            return too_complex("it took too long to check")
        if cmd.dirs not in places:
            places[cmd.dirs] = _at(cmd.dirs, env)
        decision = check_command(cmd, places[cmd.dirs])
        if not decision.allowed:
            return decision
        judged.add(cmd)
    return None


def check_command(cmd: SimpleCommand, env: Env) -> Decision:
    """The full check of one simple command (also used for commands inside wrappers)."""
    problem = _assignment_problems(cmd) or unbounded_writer(cmd)
    if problem is not None:
        return problem
    if cmd.name is None:
        plain = allow("allow.assignment", "A plain variable assignment is allowed.")
        return argument_problems(cmd, env) or plain
    name = cmd.name.value
    if name is None or cmd.name.glob or not COMMAND_NAME.match(name):
        return deny(
            "deny.dynamic_command",
            f"`{cmd.name.raw}` in command position is not a plain command name; write the command literally.",
        )
    base = canonical(name.rsplit("/", 1)[-1])
    if base in env.config.deny or name in env.config.deny:
        return deny("deny.config", f"`{base}` is denied by [security].deny in autocode.toml.")
    problem = argument_problems(cmd, env)
    if problem is not None:
        return problem
    if base == "init.sh":
        return (
            validators_exec.init_script(cmd.name, env, name)
            if "/" in name
            else deny("deny.script", "Run the project's init script as `./init.sh`.")
        )
    if "/" not in name and name in env.functions:
        return allow("allow.function", f"`{name}` is a function defined (and checked) in this command.")
    return _by_name(cmd, env, base)


def _by_name(cmd: SimpleCommand, env: Env, base: str) -> Decision:
    if base in DANGEROUS and (base in NEVER or base not in env.config.allow):
        return deny(f"deny.{base}", f"`{base}` is not allowed: {DANGEROUS[base]}.")
    listed = base in DEFAULT_ALLOW or base in env.config.allow
    escape = escape_problem(cmd, base) if listed or base in NETWORK else None
    written = escape or (output_problem(cmd, env, base) if listed else None)
    if written is not None:
        return written
    validator = VALIDATORS.get(base)
    if validator is not None and (listed or base in NETWORK):
        return validator(cmd, env)
    if listed:
        return allow("allow.list", f"`{base}` is on the allowlist.")
    return deny(
        "deny.unknown",
        f"`{base}` is not on the allowlist; add it to [security].allow "
        "in autocode.toml if the project needs it.",
    )


_DECLARATIONS = names("declare typeset local export readonly")


def _assignment_problems(cmd: SimpleCommand) -> Decision | None:
    assignments = list(cmd.assignments)
    name = cmd.name.value if cmd.name is not None else None
    if name in _DECLARATIONS:  # `export "LD_PRELOAD=x"` assigns too
        for word in cmd.args:
            if word.value is None:
                return deny(
                    "deny.dynamic_argument",
                    f"`{name} {word.raw}` could set any variable; write the assignment literally.",
                )
            if not word.value.startswith(("-", "+")) and "=" in word.value:
                key, _, text = word.value.partition("=")
                assignments.append(Assignment(key.rstrip("+"), Word(text, text)))
    for assignment in assignments:
        value = assignment.value.value if assignment.value is not None else ""
        raw = assignment.value.raw if assignment.value is not None else ""
        if name == "read" and assignment.name == "IFS" and value is not None and assignment in cmd.assignments:
            continue  # `IFS= read -r line`: how that one read splits its line (bash restores IFS after)
        problem = assignment_problem(assignment.name, value, raw)
        if problem is None and value and _INJECTION.search(value):
            problem = _injection_denial(value)
        if problem is not None:
            return problem
    if name in _NAME_OPERANDS:  # a name operand `a[$(cmd)]`: bash evaluates the subscript
        hit = next((w.value for w in cmd.args if w.value and _INJECTION.search(w.value)), None)
        return _injection_denial(hit) if hit else None
    return None


_NAME_OPERANDS = frozenset({"printf", "let", "unset", "declare", "typeset", "local", "readonly", "export",
                            "read", "mapfile", "readarray", "getopts", "select", "test", "[", "wait"})
"""Builtins whose operands may be variable names (``test -v NAME``, ``read NAME``, ``wait -p NAME``)."""


def _injection_denial(value: str) -> Decision:
    return deny(
        "deny.injection",
        f"`{value[:40]}` looks like a command hidden in an array "
        "subscript (arithmetic injection); not allowed.",
    )


def load_security_config(project_dir: Path) -> SecurityConfig:
    """Read ``[security]`` from ``project_dir/autocode.toml`` over the defaults."""
    path = project_dir / "autocode.toml"
    if not path.is_file():
        return SecurityConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path} is not valid TOML: {error}") from None
    section = data.get("security", {})
    if not isinstance(section, dict):
        raise UsageError(f"{path}: `security` must be a table ([security])")
    try:
        return SecurityConfig.model_validate(section)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "security"
        raise UsageError(f"{path}: [security] {where}: {first['msg']}") from None


def describe_policy(config: SecurityConfig) -> dict[str, object]:
    """The effective policy as plain data (for `autocode policy show`)."""
    denied = set(config.deny)
    return {
        "allow": sorted((DEFAULT_ALLOW | set(config.allow)) - denied),
        "extra_allow": sorted(config.allow),
        "deny": sorted(denied),
        "always_denied": {
            name: reason
            for name, reason in sorted(DANGEROUS.items())
            if name in NEVER or name not in config.allow or name in denied
        },
        "validated": sorted(set(VALIDATORS) - denied),
        "allow_network": config.allow_network,
        "network_tools": sorted(NETWORK),
        "allow_git_push": config.allow_git_push,
        "inline_code": config.inline_code,
        "dev_server_names": list(config.dev_server_names),
        "protected_paths": [*PROTECTED_ROOT_NAMES, *(f"**/{n}" for n in PROTECTED_ANYWHERE)],
        "credential_paths": [f"~/{entry}" for entry in CREDENTIAL_PATHS],
        "settings": {name: field.description for name, field in SecurityConfig.model_fields.items()},
    }
