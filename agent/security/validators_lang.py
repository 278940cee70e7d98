"""Validators for language tooling: interpreters, package managers and package runners.

Inline code — ``python -c``, ``python3 - <<EOF`` (code on stdin), ``node -e/--eval/-p``,
``bun -e``, ``deno eval``, ``php -r``, ``perl -e``, ``ruby -e`` — follows
``[security].inline_code``:

* ``"project"`` (default): allowed when every directory the command may run in is inside the
  project. Such code has the same reach as a script the agent could write into the project and
  run, so denying it only costs round-trips. ``perl -e``/``ruby -e`` stay denied: one-liners
  in those languages are mostly in-place file surgery that would sidestep the path checks.
* ``"never"``: denied; the agent must write the code to a file in the project and run that.
* ``"always"``: allowed everywhere, perl and ruby included.

In every mode, code built from an expansion (``python -c "$(curl ...)"``) is denied, and so is
piping a download into an interpreter (see :mod:`agent.security.policy`).

Package installs run in the project (``pip install -r requirements.txt``, ``npm install``);
global installs (``pip --user``/``--break-system-packages``, ``npm -g``, ``yarn global``,
``uv tool install``, ``cargo install``, ``composer global``) are denied, and ``--prefix``/``-C``
style directories must be inside the project. Package runners (``npx``, ``uv run``, ...) live in
:mod:`agent.security.validators_run`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType

from agent.projectfs import read_project_file
from agent.security.base import (
    Env,
    Validator,
    allow,
    command_name,
    deny,
    dynamic_denial,
    ok,
    parse_options,
)
from agent.security.bash import SimpleCommand, Word
from agent.security.longopts import with_long_options
from agent.security.models import Decision
from agent.security.outputs import cache_clean_problem, output_problem
from agent.security.paths import is_inside
from agent.security.rules import names
from agent.security.validators_exec import is_inside_project
from agent.security.validators_fs import check_paths, recursive_read_problem
from agent.security.validators_pip import installs, npm_option, pip, pip_args
from agent.security.validators_remote import install_reach
from agent.security.validators_run import (
    NPX_FLAGS,
    NPX_VALUES,
    UV_FLAGS,
    UV_VALUES,
    arg_value,
    first_positional,
    npx,
    runner,
    subcommand_runner,
    uvx,
)

_GLOBAL_FLAGS = frozenset({"-g", "--global", "--location=global"})


def inline(cmd: SimpleCommand, env: Env, what: str, strict: bool = False, code: Word | None = None) -> Decision:
    """Apply ``[security].inline_code`` to inline code run by ``cmd`` (``code``: its text)."""
    if code is not None and code.value is None:
        return deny(
            "deny.inline_dynamic",
            f"`{what}` would run code built from an expansion (`{code.raw[:40]}`) that cannot be "
            "checked; write the code literally or into a file.",
        )
    mode = env.config.inline_code
    if mode == "always":
        return allow("allow.inline_code", f"`{what}` runs inline code (inline_code = always).")
    if mode == "never":
        return deny(
            "deny.inline_code",
            f"`{what}` runs inline code, which is disabled "
            "(inline_code = never); write it to a file in the "
            "project and run that.",
        )
    if strict:
        return deny(
            "deny.inline_code",
            f"`{what}` one-liners are only allowed with inline_code = always; write a script file instead.",
        )
    if all(is_inside(cwd, env.project) for cwd in env.cwds):
        return allow("allow.inline_code", f"`{what}` runs inline code inside the project.")
    return deny(
        "deny.inline_code",
        f"`{what}` runs inline code outside the project directory; run it from inside the project.",
    )


def python(cmd: SimpleCommand, env: Env) -> Decision:
    args, index = cmd.args, 0
    while index < len(args):
        text = args[index].value
        if text is None:
            return dynamic_denial(cmd, args[index])
        if text == "-":  # the program is stdin: the same as no script at all
            return inline(cmd, env, "python reading code from stdin") if cmd.stdin_fed else ok(cmd)
        if not text.startswith("-"):
            return ok(cmd)  # a script file
        if text == "--check-hash-based-pycs":
            index += 2
            continue
        for offset, letter in enumerate(text[1:] if not text.startswith("--") else "", start=2):
            if letter == "c":
                return inline(cmd, env, "python -c", code=_code(args, index, text[offset:]))
            if letter == "m":
                module = text[offset:] or arg_value(args, index + 1)
                rest = args[index + 1 :] if text[offset:] else args[index + 2 :]
                return _python_module(cmd, env, module, rest)
            if letter in "WX":
                index += not text[offset:]
                break
        index += 1
    return inline(cmd, env, "python reading code from stdin") if cmd.stdin_fed else ok(cmd)


def _code(args: tuple[Word, ...], index: int, attached: str) -> Word | None:
    """The code an inline-code option takes: attached (``-cCODE``) or the next word."""
    if attached:
        return Word(attached, attached)
    return args[index + 1] if index + 1 < len(args) else None


def _after(text: str, letters: str) -> str:
    """What follows the first of ``letters`` in an option (``-pe1`` → ``1``; ``--eval=x`` → ``x``)."""
    if text.startswith("--"):
        return text.partition("=")[2]
    position = next((i for i, char in enumerate(text) if i and char in letters), len(text))
    return text[position + 1 :]


_CODE_MODULES = frozenset({"timeit", "code"})
"""Standard-library modules that run Python statements from their arguments or stdin."""


def _python_module(cmd: SimpleCommand, env: Env, module: str | None, rest: tuple[Word, ...]) -> Decision:
    if module is None:
        return deny("deny.dynamic_argument", "`python -m` needs a literal module name.")
    if module == "pip":
        return cache_clean_problem(rest, "pip") or pip_args(cmd, env, rest)
    if module in _CODE_MODULES or (module == "pdb" and any(w.value in ("-c", "--command") for w in rest)):
        return inline(cmd, env, f"python -m {module}")  # it runs the statements it is given
    if module == "http.server":  # serves a directory tree to anyone on the port: a walk of it
        opts = parse_options(rest, "bd", ("--bind", "--directory", "--protocol", "--cgi"))
        served = opts.values("-d", "--directory") or [Word(".", ".")]
        return recursive_read_problem(served, env, "python -m http.server") or ok(cmd, " (module http.server)")
    if module == "venv":
        return check_paths(
            [w for w in rest if not (w.value or "-").startswith("-")], env, "python -m venv"
        ) or ok(cmd)
    return output_problem(replace(cmd, args=rest), env, module) or ok(cmd, f" (module {module})")


def uv(cmd: SimpleCommand, env: Env) -> Decision:
    index = first_positional(cmd.args)
    sub = arg_value(cmd.args, index)
    if sub == "run":
        return runner(cmd, env, index + 1, "uv run", UV_FLAGS, UV_VALUES)
    if sub == "tool":
        action = arg_value(cmd.args, index + 1)
        if action == "run":
            return runner(cmd, env, index + 2, "uv tool run", UV_FLAGS, UV_VALUES)
        if action in ("install", "upgrade"):
            return deny(
                "deny.global_install",
                "`uv tool install` installs a tool globally; add it to the project (`uv add --dev`).",
            )
        return ok(cmd)
    if sub == "pip":
        return pip_args(cmd, env, cmd.args[index + 1 :])
    return install_reach("uv", installs(cmd.args), env, npm_style=False) or ok(cmd)


def _directory_options(cmd: SimpleCommand, env: Env, options: tuple[str, ...]) -> Decision | None:
    """``--prefix DIR`` / ``-C DIR`` style options must name a directory inside the project."""
    args = cmd.args
    for index, word in enumerate(args):
        name, eq, value = (word.value or "").partition("=")
        if name not in options:
            continue
        target = Word(value, value) if eq else args[min(index + 1, len(args) - 1)]
        if not is_inside_project(target, env):
            return deny("path.outside", f"`{command_name(cmd)} {name} {target.raw}` works outside the project.")
    return None


def make(cmd: SimpleCommand, env: Env) -> Decision:
    """make runs the project's Makefile; `--eval`/`-E` would run text that is in no file."""
    opts = parse_options(cmd.args, "CfIjloWE", ("--directory", "--file", "--makefile", "--eval"))
    if opts.has("-E", "--eval"):
        return deny(
            "deny.make_eval", "`make --eval` runs a makefile given as text; write it to a Makefile instead."
        )
    return _directory_options(cmd, env, ("-C", "--directory")) or ok(cmd)


def _package_manager_scope(cmd: SimpleCommand, env: Env) -> Decision | None:
    """npm/yarn/pnpm: no global installs, no directory option outside the project, no remote specs."""
    problem = npm_option(cmd, env)
    if problem is not None:
        return problem
    if _global(cmd):
        return _global_denial(cmd)
    problem = install_reach(command_name(cmd), installs(cmd.args), env, npm_style=True)
    return problem or _directory_options(cmd, env, ("--prefix", "-C", "--dir", "--cwd"))


def npm(cmd: SimpleCommand, env: Env) -> Decision:
    problem = _package_manager_scope(cmd, env)
    if problem is not None:
        return problem
    index = first_positional(cmd.args)
    sub = arg_value(cmd.args, index)
    if sub in ("exec", "x"):
        return runner(cmd, env, index + 1, "npm exec", NPX_FLAGS, NPX_VALUES)
    action = arg_value(cmd.args, index + 1)
    project = any(w.value == "--location=project" for w in cmd.args)
    if ((sub in ("config", "c", "conf") and action in ("set", "delete", "edit", "fix")) or sub == "set") \
            and not project:
        return deny(
            "deny.npm_config",
            "`npm config set` changes your user config; use `--location=project` or the project's .npmrc.",
        )
    if sub in ("link", "ln"):
        return _global_denial(cmd)
    return _token_read(cmd, "npm", sub, index) or ok(cmd)


_SECRET_KEY = re.compile(r"auth|token|password|_pass|cred|secret", re.IGNORECASE)


def _token_read(cmd: SimpleCommand, tool: str, sub: str | None, index: int) -> Decision | None:
    """``npm config get //registry…/:_authToken``, ``yarn config get npmAuthToken --no-redacted``:
    a registry credential printed (the lists npm/yarn print redact them unless told not to)."""
    if sub not in ("config", "c", "conf", "get"):
        return None
    words = [w.value or w.raw for w in cmd.args[index + 1:]]
    if any(w in ("--no-redacted", "--json") for w in words) or any(_SECRET_KEY.search(w) for w in words):
        return deny("path.credentials", f"`{tool} config` would print a registry credential; it must not be "
                                        "read.")
    return None


_CONFIG_WRITES = frozenset({"set", "delete", "unset", "edit"})


def _pm_config_write(cmd: SimpleCommand, name: str, sub: str | None, index: int) -> Decision | None:
    """``pnpm config set`` writes the user's ``~/.config/pnpm/rc`` unless ``--location project``
    (pnpm's docs); ``yarn config set`` the user's ``~/.yarnrc`` in yarn 1 and the project's
    ``.yarnrc.yml`` in yarn 2+ (``-H`` the user's): which yarn runs is not known here, so it is
    refused, and the project's file can be edited instead."""
    if sub not in ("config", "c") or arg_value(cmd.args, index + 1) not in _CONFIG_WRITES:
        return None
    words = [w.value for w in cmd.args]
    project = "--location=project" in words or ("--location", "project") in pairwise(words)
    if name == "pnpm" and project and not {"-g", "--global"} & set(words):
        return None
    target = ".npmrc (or pass --location project)" if name == "pnpm" else ".yarnrc.yml"
    return deny("deny.npm_config", f"`{name} config {arg_value(cmd.args, index + 1)}` may change your user "
                                   f"config; edit the project's {target} instead.")


def bundle(cmd: SimpleCommand, env: Env) -> Decision:
    """``bundle exec X`` is judged as X. ``bundle config set|unset KEY …`` (and the older ``bundle
    config KEY VALUE``) write the user's ``~/.bundle/config`` unless ``--local`` (Bundler's docs):
    refused without it; reading settings is allowed."""
    index = first_positional(cmd.args)
    if arg_value(cmd.args, index) == "config":
        rest = [w.value for w in cmd.args[index + 1:]]
        values = [w for w in rest if w is not None and not w.startswith("-")]
        writes = bool(values) and (values[0] in ("set", "unset") or (values[0] not in ("get", "list")
                                                                       and len(values) >= 2))
        if writes and "--local" not in rest:
            return deny("deny.user_config", "`bundle config` without --local changes your user config "
                                            "(~/.bundle/config); pass --local (the project's .bundle/config).")
    return _BUNDLE_EXEC(cmd, env)


_BUNDLE_EXEC = subcommand_runner("exec", "--keep-file-descriptors", "--gemfile")


_PM_VALUES = frozenset({"--filter", "-F", "--dir", "-C", "--cwd", "--reporter", "--loglevel", "--workspace",
                        "--test-pattern", "--changed-files-ignore-pattern", "--modules-folder",
                        "--cache-folder"})


def _after_global_options(args: tuple[Word, ...]) -> int:
    """The index of the subcommand after yarn's/pnpm's global options, their values skipped
    (``pnpm --filter web exec …``: ``web`` is no subcommand)."""
    index = 0
    while index < len(args):
        text = args[index].value or ""
        if not text.startswith("-"):
            return index
        index += 2 if text in _PM_VALUES else 1
    return len(args)


def yarn_pnpm(cmd: SimpleCommand, env: Env) -> Decision:
    problem = _package_manager_scope(cmd, env)
    if problem is not None:
        return problem
    index = _after_global_options(cmd.args)
    sub = arg_value(cmd.args, index)
    name = command_name(cmd)
    if sub == "global" or sub == "link" or (name == "pnpm" and sub == "setup"):
        return _global_denial(cmd)  # `yarn link`: registered globally; `pnpm setup`: edits shell rc files
    token = _token_read(cmd, name, sub, index) or _pm_config_write(cmd, name, sub, index)
    if token is not None:
        return token
    if sub in ("dlx", "exec"):
        return runner(cmd, env, index + 1, f"{name} {sub}", NPX_FLAGS, NPX_VALUES)
    if sub in ("run", "run-script"):
        return _script_or_binary(cmd, env, index + 1, f"{name} {sub}")
    rest = _in_workspaces(cmd.args, index, name)
    if rest is not None:  # `yarn workspace web tsc …`, `pnpm -r tsc …`: the same command, elsewhere
        return yarn_pnpm(replace(cmd, args=rest), env) if rest else ok(cmd)
    if sub is not None and sub not in _PM_BUILTINS[name]:
        return _script_or_binary(cmd, env, index, name)
    return ok(cmd)


_PM_BUILTINS = {
    "yarn": names(
        "add audit autoclean bin cache check config constraints create dedupe dlx exec explain "
        "generate-lock-entry global help import info init install licenses link list login logout npm "
        "outdated owner pack patch patch-commit plugin policies publish rebuild remove run search set "
        "stage tag team unlink unplug up upgrade upgrade-interactive version versions why workspace "
        "workspaces"),
    "pnpm": names(
        "add install i update up upgrade remove rm uninstall un link ln unlink import rebuild rb prune "
        "fetch patch patch-commit patch-remove audit list ls ll la outdated why licenses publish pack run "
        "run-script exec dlx create init store env setup server root bin config c get set deploy doctor "
        "recursive multi m cat-file cat-index find-hash self-update approve-builds ignored-builds dedupe "
        "help"),
    "bun": names(
        "run test x repl exec install i add a remove rm update outdated link unlink pm build init create "
        "c upgrade publish patch patch-commit audit info why completions help"),
}
"""The subcommands of each package manager; any other word (``yarn tsc``, ``pnpm eslint``,
``bun vite``) runs the package.json script of that name or, without one, the binary of that name
from node_modules/.bin (``yarn node -e …`` is ``node -e …``). ``test``/``start`` are scripts."""


_FOREACH_VALUES = frozenset({"--include", "--exclude", "--from", "-j", "--jobs", "--since"})


def _in_workspaces(args: tuple[Word, ...], index: int, name: str) -> tuple[Word, ...] | None:
    """The command ``yarn workspace NAME …``, ``yarn workspaces foreach [opts] …``/``yarn
    workspaces run …`` and ``pnpm recursive|multi|m …`` run in each workspace (None: not one)."""
    sub = arg_value(args, index)
    if name == "pnpm" and sub in ("recursive", "multi", "m"):
        return args[index + 1:]
    if name != "yarn":
        return None
    if sub == "workspace":
        return args[index + 2:]
    if sub != "workspaces":
        return None
    action = arg_value(args, index + 1)
    if action == "run":
        return args[index + 1:]
    if action != "foreach":
        return None
    at = index + 2
    while at < len(args) and (args[at].value or "").startswith("-"):
        at += 2 if args[at].value in _FOREACH_VALUES else 1
    return args[at:]


def _script_or_binary(cmd: SimpleCommand, env: Env, index: int, via: str) -> Decision:
    """``yarn X …``, ``pnpm run X …``, ``bun run X …``: the project's own script X (its code, like
    ``npm run X``), else the binary X with its arguments, judged like any command (as ``npx X``):
    ``yarn tsc --outDir /x`` writes where ``tsc --outDir /x`` would."""
    target = arg_value(cmd.args, index)
    if target is None or target.startswith("-"):
        return ok(cmd)
    if _is_script_everywhere(target, env):
        return ok(cmd)
    return runner(cmd, env, index, via, NPX_FLAGS, NPX_VALUES)


def _is_script_everywhere(name: str, env: Env) -> bool:
    """``name`` is a script in the package.json every directory the command may run in uses (the
    nearest one up to the project root; read without following links)."""
    return all(name in _scripts_for(cwd, env.project) for cwd in env.cwds)


def _scripts_for(cwd: Path, project: Path) -> frozenset[str]:
    here = cwd
    while is_inside(here, project):
        text = read_project_file(here, "package.json")
        if text is not None:
            try:
                scripts = json.loads(text).get("scripts")
            except (ValueError, AttributeError):
                return frozenset()
            return frozenset(k for k in scripts if isinstance(k, str)) if isinstance(scripts, dict) \
                else frozenset()
        if here == project:
            break
        here = here.parent
    return frozenset()


def bun(cmd: SimpleCommand, env: Env) -> Decision:
    flag = next((i for i, w in enumerate(cmd.args) if w.value in ("-e", "--eval", "-p", "--print")), None)
    if flag is not None:
        return inline(cmd, env, "bun --eval", code=_code(cmd.args, flag, ""))
    if _global(cmd):
        return _global_denial(cmd)
    index = first_positional(cmd.args)
    sub = arg_value(cmd.args, index)
    if sub == "link":
        return _global_denial(cmd)
    if sub == "x":
        return runner(cmd, env, index + 1, "bun x", NPX_FLAGS, NPX_VALUES)
    if sub == "exec":  # Bun's shell runs the string: judged like `bash -c`
        script = arg_value(cmd.args, index + 1)
        if script is None:
            return deny("deny.shell_dynamic", "`bun exec` needs its script written literally.")
        return env.nested(script, env)
    problem = _remote_code(cmd, env, "bun")
    if problem is not None:
        return problem
    if sub == "run":
        index, sub = index + 1, arg_value(cmd.args, index + 1)
    elif sub in _PM_BUILTINS["bun"]:
        return ok(cmd)
    if sub is None or "/" in sub or sub.rsplit(".", 1)[-1] in _BUN_FILES:
        return ok(cmd)  # a project file: its own code, like `node app.js`
    return _script_or_binary(cmd, env, index, "bun run")


_BUN_FILES = frozenset({"js", "mjs", "cjs", "ts", "mts", "cts", "tsx", "jsx", "sh"})


def deno(cmd: SimpleCommand, env: Env) -> Decision:
    index = first_positional(cmd.args)
    sub = arg_value(cmd.args, index)
    if sub == "eval":
        return inline(cmd, env, "deno eval", code=_code(cmd.args, index, ""))
    if sub == "install" and _global(cmd):
        return _global_denial(cmd)
    return _remote_code(cmd, env, "deno") or ok(cmd)


def _remote_code(cmd: SimpleCommand, env: Env, tool: str) -> Decision | None:
    """A URL operand (``deno run https://…``, ``bun add https://…/x.tgz``, ``cargo add --git URL``)
    fetches code from the network: it follows ``allow_network``."""
    if env.config.allow_network:
        return None
    hit = next((w for w in cmd.args if _url_like(w.value)), None)
    if hit is None:
        return None
    return deny("deny.network", f"`{tool}` would fetch `{hit.raw[:60]}` over the network, and network access "
                                "is off (set allow_network = true in [security] of autocode.toml).")


def _url_like(text: str | None) -> bool:
    """``https://…``, ``git+…``, ``git@host:…``, ``ssh://…`` (also as an ``--opt=`` value)."""
    value = (text or "").lower()
    if value.startswith("--") and "=" in value:
        value = value.partition("=")[2]
    return value.startswith(("http://", "https://", "git+", "git@", "ssh://"))


def node(cmd: SimpleCommand, env: Env) -> Decision:
    args, index = cmd.args, 0
    while index < len(args):
        text = args[index].value
        if text is None:
            return dynamic_denial(cmd, args[index])
        name = text.partition("=")[0]
        short = text.startswith("-") and not text.startswith("--")
        if text == "-":  # the program is stdin
            return inline(cmd, env, "node reading code from stdin") if cmd.stdin_fed else ok(cmd)
        if name in ("--eval", "--print") or (short and set(text[1:]) & set("ep")):
            return inline(cmd, env, "node --eval", code=_code(args, index, _after(text, "ep=")))
        if not text.startswith("-"):
            return ok(cmd)  # a script file
        value = text.partition("=")[2] if "=" in text else arg_value(args, index + 1) or ""
        if name in ("-r", "--require", "--import", "--loader", "--experimental-loader") and \
                value.lower().startswith("data:"):  # a module written out in the URL is inline code
            return inline(cmd, env, f"node {name} data:", code=Word(value, value))
        takes_value = name in (
            "-r",
            "--require",
            "--import",
            "--loader",
            "--input-type",
            "--experimental-loader",
            "-C",
            "--conditions",
            "--env-file",
        )
        index += 2 if takes_value and "=" not in text else 1
    return inline(cmd, env, "node reading code from stdin") if cmd.stdin_fed else ok(cmd)


def _flag_inline(letters: str, what: str, strict: bool) -> Validator:
    """perl/ruby/php: a short option holding one of ``letters`` runs inline code."""

    def validate(cmd: SimpleCommand, env: Env) -> Decision:
        for index, word in enumerate(cmd.args):
            text = word.value
            if text is None:
                return dynamic_denial(cmd, word)
            if not text.startswith("-") or text == "--":
                return ok(cmd)
            if not text.startswith("--") and set(text[1:]) & set(letters):
                return inline(cmd, env, what, strict, _code(cmd.args, index, _after(text, letters)))
        return inline(cmd, env, what, strict) if cmd.stdin_fed else ok(cmd)

    return validate


def cargo(cmd: SimpleCommand, env: Env) -> Decision:
    if arg_value(cmd.args, first_positional(cmd.args)) == "install":
        return _global_denial(cmd)
    return _remote_code(cmd, env, "cargo") or ok(cmd)


def composer(cmd: SimpleCommand, env: Env) -> Decision:
    if arg_value(cmd.args, first_positional(cmd.args)) == "global":
        return _global_denial(cmd)
    return ok(cmd)


def _global(cmd: SimpleCommand) -> bool:
    """``-g``, ``--global``, ``--location=global``, and short clusters such as ``-gS``."""
    return any(w.value in _GLOBAL_FLAGS or _short_cluster_has(w.value, "g") for w in cmd.args)


def _short_cluster_has(text: str | None, letter: str) -> bool:
    return bool(text) and text is not None and text[:1] == "-" and text[1:2] != "-" and 2 < len(text) < 6 \
        and text[1:].isalpha() and letter in text[1:]


def _global_denial(cmd: SimpleCommand) -> Decision:
    return deny(
        "deny.global_install",
        f"`{command_name(cmd)}` global installs change the "
        "machine, not the project; add the package to the "
        "project instead.",
    )


VALIDATORS: Mapping[str, Validator] = MappingProxyType({
    "python": python, "pip": pip, "uv": uv, "uvx": uvx, "npm": npm, "npx": npx, "bunx": npx,
    "yarn": yarn_pnpm, "pnpm": yarn_pnpm, "bun": bun, "deno": deno, "node": node,
    "php": _flag_inline("rRBE", "php -r", strict=False),
    "perl": _flag_inline("eE", "perl -e", strict=True),
    "ruby": _flag_inline("e", "ruby -e", strict=True),
    "cargo": cargo, "composer": composer, "make": with_long_options("make", make),
    "poetry": subcommand_runner("run", "-q --quiet -v --verbose -n --no-interaction --no-ansi",
                                "-C --directory -P --project"),
    "bundle": bundle,
    "pnpx": npx,
    "pipx": subcommand_runner("run", "--no-cache --pypackages -q --quiet -v --verbose",
                              "--spec --python --pip-args --index-url --backend",
                              "install install-all inject upgrade upgrade-all reinstall reinstall-all "
                              "uninstall uninstall-all ensurepath upgrade-shared pin unpin"),
    "hatch": subcommand_runner("run", "-q --quiet -v --verbose", "-e --env"),
    "pdm": subcommand_runner("run", "-q --quiet -v --verbose -s --site-packages",
                             "-p --project"),
    "rye": subcommand_runner("run", "-q --quiet -v --verbose", "--pyproject", "install uninstall tools"),
})  # fmt: skip
