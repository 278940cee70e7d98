"""pip (optparse) and npm/yarn/pnpm (nopt) options: both parsers expand any unique prefix of a long
option (``--targ``, ``--break``, ``--glob``), so options are judged written out in full (pip) or
in every spelling that may reach a sensitive one (npm, whose option list is too long to keep)."""

from __future__ import annotations

from agent.security.base import Env, command_name, deny, dynamic_denial, ok, parse_options
from agent.security.bash import SimpleCommand, Word
from agent.security.longopts import normalise, prefix_of, unknown_option
from agent.security.models import Decision
from agent.security.rules import names
from agent.security.validators_exec import is_inside_project
from agent.security.validators_fs import check_paths
from agent.security.validators_remote import install_reach
from agent.security.validators_run import arg_value, first_positional


def pip(cmd: SimpleCommand, env: Env) -> Decision:
    return pip_args(cmd, env, cmd.args)


_PIP_WRITES = ("-t", "--target", "--prefix", "--root", "--src", "-d", "--dest", "-w", "--wheel-dir",
               "--log", "--report", "--cache-dir")  # fmt: skip
_PIP_VALUES = (*_PIP_WRITES[1:], "--python", "--editor", "--index-url", "--extra-index-url",
               "--requirement", "--constraint", "--editable", "--find-links", "--proxy", "--cert",
               "--client-cert", "--exists-action", "--platform", "--python-version", "--abi",
               "--implementation", "--config-settings", "--global-option", "--build-option",
               "--trusted-host", "--timeout", "--retries", "--progress-bar", "--keyring-provider",
               "--upgrade-strategy", "--use-feature", "--use-deprecated", "--root-user-action",
               "--only-binary", "--no-binary", "--format", "--exclude", "--path", "--algorithm")  # fmt: skip


def pip_args(cmd: SimpleCommand, env: Env, args: tuple[Word, ...]) -> Decision:
    """pip (optparse) takes any unique prefix of a long option and short values attached
    (``-t/dir``, ``-qt/dir``): judged on the options written out in full."""
    problem = install_reach(command_name(cmd), installs(args), env, npm_style=False)
    if problem is not None:
        return problem
    dynamic = next((w for w in args if w.value is None), None)
    if dynamic is not None:
        return dynamic_denial(cmd, dynamic)
    full = normalise("pip", args)
    if isinstance(full, str):
        return unknown_option("pip", full)
    opts = parse_options(full, "tdwrceif", _PIP_VALUES)
    hit = next((name for name in ("--user", "--break-system-packages", "--system") if opts.has(name)), None)
    if hit is not None:
        return deny(
            "deny.global_install",
            f"`{hit}` installs outside the project; use a virtualenv in the project (.venv).",
        )
    for name in ("--python", "--editor"):
        if any(not is_inside_project(word, env) for word in opts.values(name)):
            return deny("deny.pip_program", f"`pip {name}` runs a program outside the project.")
    problem = check_paths(opts.values(*_PIP_WRITES), env, "pip")
    if problem is not None:
        return problem
    values = [w.value for w in args]
    positionals = [v for v in values if v and not v.startswith("-")]
    if positionals[:1] == ["config"] and positionals[1:2] not in (["get"], ["list"], []):
        return deny(
            "deny.pip_config",
            "`pip config` changes may only be made in the project; use requirements/pyproject settings.",
        )
    return ok(cmd)


_INSTALLS = names("install i in add isntall update up upgrade ci download publish unpublish deprecate "
                  "undeprecate owner access hook token dist-tag star unstar team org adduser login logout "
                  "profile")


def installs(args: tuple[Word, ...]) -> tuple[Word, ...]:
    """The words after an install-like subcommand (empty when there is none)."""
    index = first_positional(args)
    return args[index:] if arg_value(args, index) in _INSTALLS else ()


_NPM_PROGRAMS = ("--script-shell", "--shell", "--git", "--editor", "--browser", "--viewer",
                 "--node-options", "--init-module", "--userconfig", "--globalconfig", "--node-gyp",
                 "--onload-script")  # fmt: skip
_NPM_SENSITIVE = (*_NPM_PROGRAMS, "--global", "--prefix", "--location", "--cache", "--registry",
                  "--dir", "--cwd")  # fmt: skip
"""npm/yarn/pnpm options that run a program, read another config, or move the install. npm's
option parser (nopt) expands any unique prefix (``--glob``, ``--pref``) and reads ``-global``
like ``--global``, so every spelling that may reach one of these counts as that option."""


def npm_option(cmd: SimpleCommand, env: Env) -> Decision | None:
    for word in cmd.args:
        text = word.value or ""
        if text == "--":
            return None
        name = text.partition("=")[0]
        long = name if name.startswith("--") else f"-{name}" if len(name) > 2 and name[:1] == "-" else ""
        hit = prefix_of(long, _NPM_SENSITIVE)
        if hit is None:
            continue
        if hit in _NPM_PROGRAMS:
            return deny("deny.npm_option", f"`{command_name(cmd)} {name}` ({hit}) runs a program or "
                                           "reads another config; not allowed.")
        if name != hit:
            return unknown_option(command_name(cmd), name)
        if hit == "--registry" and not env.config.allow_network:
            return deny("deny.network", f"`{command_name(cmd)} --registry` fetches from another "
                                        "registry, and network access is off.")
    return None
