"""Package runners: ``npx``, ``pnpx``, ``bunx``, ``uvx``, ``npm exec``, ``pnpm dlx``,
``yarn dlx``, ``uv run``, ``poetry run``, ``bundle exec``, ``pipx run``, ``hatch run``,
``pdm run``, ``rye run``.

The command a runner starts gets the full check. An inner name the policy does not know is
taken to be a package binary and allowed (``npx create-vite``, ``uv run alembic``), unless it
is a shell, an interpreter or another system tool (:data:`~agent.security.rules.SYSTEM_TOOLS`)
or a path to a script. Unknown runner options are denied, so an option value can never be
mistaken for the command.
"""

from __future__ import annotations

from agent.security.base import Env, Validator, allow, canonical, command_name, deny, dynamic_denial, ok
from agent.security.bash import SimpleCommand, Word
from agent.security.models import Decision
from agent.security.rules import SYSTEM_TOOLS, names
from agent.security.validators_exec import check_inner, is_inside_project


def arg_value(args: tuple[Word, ...], index: int) -> str | None:
    return args[index].value if index < len(args) else None


def first_positional(args: tuple[Word, ...]) -> int:
    return next((i for i, w in enumerate(args) if not (w.value or "").startswith("-")), len(args))


def npx(cmd: SimpleCommand, env: Env) -> Decision:
    return runner(cmd, env, 0, command_name(cmd), NPX_FLAGS, NPX_VALUES)


def uvx(cmd: SimpleCommand, env: Env) -> Decision:
    return runner(cmd, env, 0, "uvx", UV_FLAGS, UV_VALUES)


def subcommand_runner(sub: str, flags: str, values: str, global_subs: str = "") -> Validator:
    """``poetry run X`` / ``bundle exec X`` / ``pipx run X``: check X like any other command;
    ``global_subs`` (``pipx install``, ``rye install``) install outside the project: refused."""
    outside = names(global_subs)

    def validate(cmd: SimpleCommand, env: Env) -> Decision:
        index = first_positional(cmd.args)
        action = arg_value(cmd.args, index)
        if action in outside:
            return deny("deny.global_install", f"`{command_name(cmd)} {action}` installs a tool outside "
                                               "the project; add it to the project instead.")
        if action != sub:
            return ok(cmd)
        via = f"{command_name(cmd)} {sub}"
        return runner(cmd, env, index + 1, via, names(flags), names(values))

    return validate


NPX_FLAGS = names(
    "-y --yes --no -q --quiet --no-install --ignore-existing --prefer-offline --prefer-online "
    "--offline -s --silent --bun -b -r --recursive --parallel"
)
NPX_VALUES = names("-p --package --workspace -w --registry --cache --filter")
UV_FLAGS = names(
    "--frozen --locked --no-sync --isolated --all-extras --no-dev --active --no-project "
    "--script -s -q --quiet -v --verbose --offline --no-cache --exact --all-packages "
    "--no-default-groups --only-dev --no-editable --refresh --upgrade -U --native-tls "
    "--preview --no-progress --compile-bytecode --all-groups -n -m --module"
)
UV_VALUES = names(
    "--with --with-editable --with-requirements --python -p --project --directory --env-file "
    "--group --extra --package --index --index-url --extra-index-url --default-index "
    "--no-group --only-group --from --python-preference --upgrade-package --config-file "
    "--cache-dir --color --refresh-package"
)
_PATH_VALUES = frozenset({"--project", "--directory", "-C", "--dir", "--gemfile"})


def runner(
    cmd: SimpleCommand,
    env: Env,
    start: int,
    via: str,
    flags: frozenset[str],
    values: frozenset[str],
) -> Decision:
    """Check the command a package runner (npx, uv run, ...) would start."""
    args, index, module = cmd.args, start, False
    while index < len(args):
        word = args[index]
        text = word.value
        if text is None:
            return dynamic_denial(cmd, word)
        name, eq, attached = text.partition("=")
        if text == "--" or not text.startswith("-"):
            index += text == "--"
            break
        if name in ("-c", "--call"):
            script = attached if eq else arg_value(args, index + 1)
            return _runner_script(env, via, script)
        if name in values:
            target = Word(attached, attached) if eq else args[min(index + 1, len(args) - 1)]
            if name in _PATH_VALUES and not is_inside_project(target, env):
                return deny("path.outside", f"`{via} {name}` must name a directory inside the project.")
            index += 1 if eq else 2
        elif name in flags:
            module = module or name in ("-m", "--module")
            index += 1
        else:
            return deny("deny.runner_option", f"`{via} {name}` is not a recognised option.")
    return _runner_inner(cmd, env, index, via, module)


def _runner_script(env: Env, via: str, script: str | None) -> Decision:
    if script is None:
        return deny("deny.shell_dynamic", f"`{via} -c` needs its script written literally.")
    return env.nested(script, env)


def _runner_inner(cmd: SimpleCommand, env: Env, index: int, via: str, module: bool) -> Decision:
    if index >= len(cmd.args):
        return ok(cmd)
    inner = cmd.shift(index)
    if module:
        inner = SimpleCommand(Word("python", "python"), (Word("-m", "-m"), *cmd.args[index:]))
    decision = check_inner(inner, env)
    name = inner.name.value if inner.name is not None else None
    if decision.allowed or decision.rule != "deny.unknown" or name is None:
        return decision
    if ("/" in name and not name.endswith(".py")) or canonical(name) in SYSTEM_TOOLS:
        return decision
    return allow("allow.package", f"`{name}` runs a package binary through `{via}`.")
