"""Package managers that run a binary by name: ``yarn X``, ``pnpm X``, ``bun X`` and their ``run``.

yarn, pnpm and bun treat a word that is not one of their subcommands as the package.json script
of that name or, without one, as the binary of that name in node_modules/.bin (yarn's and bun's
documented behaviour; pnpm falls back to ``pnpm exec``). ``yarn tsc --outDir /x`` is therefore
``npx tsc --outDir /x``, which was refused while the yarn form was allowed. Now such a word is
judged as the command it runs unless the package.json the command's directory uses has a script
of that name (the project's own code, like ``npm run X``). The same holds inside ``yarn
workspace NAME …``, ``yarn workspaces foreach|run …`` and ``pnpm -r|recursive …``, and ``bun exec
STR`` (Bun's shell) is judged like ``bash -c STR``. No yarn, pnpm or bun is installed here, so
there is no premise test with the real tools."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.security import PolicyContext, decide
from tests.security_support import assert_decision

Row = tuple[str, bool, str]

RUNS_A_BINARY: list[Row] = [
    ("yarn tsc --outDir /tmp/x", False, "path.outside"),
    ("yarn run tsc --outDir /tmp/x", False, "path.outside"),
    ("yarn eslint --fix /tmp/x.js", False, "path.outside"),
    ("yarn prettier --write ../other.js", False, "path.outside"),
    ("yarn --cwd . tsc --outDir /tmp/x", False, "path.outside"),
    ("pnpm tsc --outDir /tmp/x", False, "path.outside"),
    ("pnpm run tsc --outDir /tmp/x", False, "path.outside"),
    ("pnpm --filter web tsc --outDir /tmp/x", False, "path.outside"),
    ("pnpm -r tsc --outDir /tmp/x", False, "path.outside"),
    ("pnpm recursive exec tsc --outDir /tmp/x", False, "path.outside"),
    ("bun run tsc --outDir /tmp/x", False, "path.outside"),
    ("bun tsc --outDir /tmp/x", False, "path.outside"),
    ("yarn workspace web tsc --outDir /tmp/x", False, "path.outside"),
    ("yarn workspaces foreach -A --include web tsc --outDir /tmp/x", False, "path.outside"),
    ("yarn workspaces run tsc --outDir /tmp/x", False, "path.outside"),
    ("yarn workspace web global add left-pad", False, "deny.global_install"),
    ("yarn cat ~/.ssh/id_rsa", False, "path.credentials"),
    ("pnpm sh -c 'cat ~/.ssh/id_rsa'", False, "path.credentials"),
    ("bun exec 'cat ~/.ssh/id_rsa'", False, "path.credentials"),
    ("bun exec 'echo x > /tmp/x'", False, "path.outside"),
    ("yarn rm -rf ../other", False, "path.outside"),
]

PROJECT_WORK: list[Row] = [
    ("yarn", True, "allow.list"),
    ("yarn --version", True, "allow.list"),
    ("yarn install --frozen-lockfile", True, "allow.list"),
    ("yarn add lodash", True, "allow.list"),
    ("yarn workspace web add lodash", True, "allow.list"),
    ("pnpm install", True, "allow.list"),
    ("yarn tsc --noEmit", True, "allow.list"),
    ("yarn tsc --outDir dist", True, "allow.list"),
    ("pnpm eslint src", True, "allow.list"),
    ("yarn vite build", True, "allow.list"),
    ("bun exec 'echo hi'", True, "allow.list"),
    ("bun src/index.ts", True, "allow.list"),
    ("bun run src/index.ts", True, "allow.list"),
    ("bun test", True, "allow.list"),
    ("yarn workspaces foreach -Apt run build", True, "allow.list"),
]


@pytest.mark.parametrize(("command", "allowed", "rule"), RUNS_A_BINARY + PROJECT_WORK)
def test_package_manager_binary(command: str, allowed: bool, rule: str, ctx: PolicyContext) -> None:
    assert_decision(decide(command, ctx), allowed, rule)


def _scripts(where: Path, **scripts: str) -> None:
    (where / "package.json").write_text(json.dumps({"name": "app", "scripts": scripts}))


def test_a_script_of_that_name_is_the_projects_own_code(ctx: PolicyContext) -> None:
    """With a ``tsc`` script, ``yarn tsc …`` runs that script (the project's code, as ``npm run``
    would), so its arguments are not judged as tsc's; without it, they are."""
    command = "yarn tsc --outDir /tmp/x"
    assert not decide(command, ctx).allowed
    _scripts(ctx.project_dir, tsc="tsc -p .", build="vite build")
    assert decide(command, ctx).allowed
    assert decide("pnpm run build --outDir /tmp/x", ctx).allowed  # a script: its arguments are its own
    assert not decide("pnpm run vite --outDir /tmp/x", ctx).allowed  # no such script: the binary


def test_the_nearest_package_json_of_every_directory_decides(ctx: PolicyContext) -> None:
    """``cd src && yarn tsc …`` uses src's own package.json when it has one (yarn looks upwards)."""
    _scripts(ctx.project_dir, tsc="tsc -p .")
    assert decide("cd src && yarn tsc --outDir /tmp/x", ctx).allowed  # src has none: the root's
    _scripts(ctx.project_dir / "src", build="vite build")
    assert not decide("cd src && yarn tsc --outDir /tmp/x", ctx).allowed


def test_a_linked_or_broken_package_json_names_no_script(ctx: PolicyContext, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.json"
    outside.write_text(json.dumps({"scripts": {"tsc": "x"}}))
    (ctx.project_dir / "package.json").symlink_to(outside)
    assert not decide("yarn tsc --outDir /tmp/x", ctx).allowed
    (ctx.project_dir / "package.json").unlink()
    (ctx.project_dir / "package.json").write_text("{not json")
    assert not decide("yarn tsc --outDir /tmp/x", ctx).allowed
