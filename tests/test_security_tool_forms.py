"""Allowed tools with a second way to do what the policy refuses (red-team round 3).

- ``cmake -E TOOL``: cmake's portable file tools (``rm``, ``copy``, ``rename``, ``create_symlink``,
  ``env``, ``tar``, …) are each judged as the command they stand for; ``chdir`` and unknown
  tools are refused, and ``cmake -P FILE`` (a script of commands) like ``bash FILE``.
- Configuration outside the project: ``npm set``/``npm conf set`` (aliases of the refused ``npm
  config set``), ``go env -w`` (GOFLAGS=-toolexec=… runs a program on every build), ``git
  maintenance start`` (cron jobs, the user's git config), ``git hook run``, ``pre-commit
  install`` (.git/hooks), ``ZDOTDIR``/``FPATH`` (zsh start-up files); global links: ``npm link``,
  ``yarn link``, ``bun link``, ``pnpm setup``; ``pnpm config set`` (the user's rc unless
  ``--location project``), ``yarn config set|unset`` (yarn 1: ~/.yarnrc), ``bundle config
  set|unset`` without ``--local`` (~/.bundle/config).
- ``sed -i`` with a backup suffix that holds ``/`` writes each backup to a path (``-i../*``).
- Programs run from an option: ``gcc -wrapper PROG,…``, ``rustc -C linker=PROG``.
- ``pkill -v`` kills every process the pattern does NOT match (``-v`` was taken for a signal).
- Registry credentials printed: ``pnpm config get //…/:_authToken``, ``yarn config get
  npmAuthToken --no-redacted``; more credential stores (~/.claude, ~/.codex, ~/.s3cfg, …).
- More writes through an option: ``python -m cProfile -o``, ``python -m ensurepip --root``,
  ``python -m trace --coverdir``; cache cleans of ``pre-commit``.
Premises run the real tools where they are installed (cmake, sed, pkill's man page is not)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from agent.security import PolicyContext, decide
from tests.security_support import assert_decision

Row = tuple[str, bool, str]

CMAKE: list[Row] = [
    ("cmake -E rm -rf /", False, "path.outside"),
    ("cmake -E rm -rf .git", False, "path.protected"),
    ("cmake -E remove_directory ../other", False, "path.outside"),
    ("cmake -E rename .git x", False, "path.protected"),
    ("cmake -E copy src/a /tmp/x", False, "path.outside"),
    ("cmake -E copy_directory ~/.aws src/", False, "path.credentials"),
    ("cmake -E touch /tmp/x", False, "path.outside"),
    ("cmake -E make_directory /tmp/x", False, "path.outside"),
    ("cmake -E create_symlink ~/.ssh k", False, "path.credentials"),
    ("cmake -E chdir /tmp touch x", False, "deny.cmake_tool"),
    ("cmake -E env rm -rf /tmp/x", False, "path.outside"),
    ("cmake -E server", False, "deny.cmake_tool"),
    ("cmake -P build.cmake", False, "deny.cmake_script"),
    ("cmake -E make_directory build", True, "allow.list"),
    ("cmake -E rm -rf build", True, "allow.list"),
    ("cmake -E copy src/a.py build/", True, "allow.list"),
    ("cmake -E echo hi", True, "allow.list"),
    ("cmake -S . -B build", True, "allow.list"),
    ("cmake --build build", True, "allow.list"),
]

CONFIG_AND_GLOBAL: list[Row] = [
    ("npm set script-shell ./x", False, "deny.npm_config"),
    ("npm conf set x y", False, "deny.npm_config"),
    ("npm link", False, "deny.global_install"),
    ("npm ln ../lib", False, "deny.global_install"),
    ("yarn link", False, "deny.global_install"),
    ("bun link", False, "deny.global_install"),
    ("pnpm setup", False, "deny.global_install"),
    ("go env -w GOFLAGS=-toolexec=./x", False, "deny.env_var"),
    ("go env -u GOPROXY", False, "deny.env_var"),
    ("git maintenance start", False, "deny.git_config"),
    ("git maintenance register", False, "deny.git_config"),
    ("git hook run pre-commit", False, "deny.git_exec"),
    ("pre-commit install", False, "path.protected"),
    ("pre-commit clean", False, "deny.cache_clean"),
    ("ZDOTDIR=. zsh -c true", False, "deny.env_var"),
    ("npm config set x y --location=project", True, "allow.list"),
    # pnpm's default is the user's rc file; yarn 1 writes ~/.yarnrc (yarn 2+ the project's file, or
    # the user's with -H: which yarn runs is not known); bundler writes ~/.bundle/config without --local
    ("pnpm config set script-shell ./x", False, "deny.npm_config"),
    ("pnpm c set node-options=--require=./x", False, "deny.npm_config"),
    ("pnpm config delete registry", False, "deny.npm_config"),
    ("pnpm config set x y --location project -g", False, "deny.global_install"),
    ("pnpm --dir . config set x y", False, "deny.npm_config"),
    ("yarn config set script-shell ./x", False, "deny.npm_config"),
    ("yarn config set x y --location project", False, "deny.npm_config"),
    ("yarn config unset npmRegistryServer", False, "deny.npm_config"),
    ("bundle config set path /tmp/gems", False, "deny.user_config"),
    ("bundle config set --global build.nokogiri --x", False, "deny.user_config"),
    ("bundle config unset path", False, "deny.user_config"),
    ("bundle config gemfile ../Gemfile", False, "deny.user_config"),
    ("pnpm config set x y --location project", True, "allow.list"),
    ("pnpm config set x y --location=project", True, "allow.list"),
    ("pnpm config get registry", True, "allow.list"),
    ("pnpm config list", True, "allow.list"),
    ("yarn config get npmRegistryServer", True, "allow.list"),
    ("bundle config set --local path vendor/bundle", True, "allow.list"),
    ("bundle config unset --local path", True, "allow.list"),
    ("bundle config", True, "allow.list"),
    ("bundle config get path", True, "allow.list"),
    ("bundle config path", True, "allow.list"),
    ("bundle install", True, "allow.list"),
    ("npm config get registry", True, "allow.list"),
    ("go env GOPATH", True, "allow.list"),
    ("git maintenance run", True, "allow.list"),
    ("pre-commit run --all-files", True, "allow.list"),
]

OTHER_FORMS: list[Row] = [
    ("sed -i../* s/x/y/ a", False, "path.outside"),
    ("sed -i/tmp/* s/x/y/ a", False, "path.outside"),
    ("sed --in-place=../x s/a/b/ f", False, "path.outside"),
    ("sed -ni../* s/x/y/p a", False, "path.outside"),
    ("sed -i.bak s/a/b/ f", True, "allow.list"),
    ("sed -i s/a/b/ f", True, "allow.list"),
    ("sed -e s/a/b/ -i f", True, "allow.list"),
    ("gcc -wrapper rm,-rf,/tmp/x a.c", False, "deny.runs_program"),
    ("clang -wrapper sh,-c,x a.c", False, "deny.runs_program"),
    ("rustc -C linker=rm a.rs", False, "deny.runs_program"),
    ("rustc -Clinker=rm a.rs", False, "deny.runs_program"),
    ("rustc --codegen linker=rm a.rs", False, "deny.runs_program"),
    ("rustc --codegen=linker=rm a.rs", False, "deny.runs_program"),
    ("rustc -C opt-level=2 a.rs", True, "allow.list"),
    ("pkill -x -v node", False, "deny.pkill"),
    ("pkill -v -f 'node server.js'", False, "deny.pkill"),
    ("pkill --inverse node", False, "deny.pkill"),
    ("pkill -TERM -f 'node server.js'", True, "allow.list"),
    ("pkill -9 -f 'node server.js'", True, "allow.list"),
    ("pnpm config get //registry.npmjs.org/:_authToken", False, "path.credentials"),
    ("yarn config get npmAuthToken --no-redacted", False, "path.credentials"),
    ("npm config get //registry.npmjs.org/:_authToken", False, "path.credentials"),
    ("cat ~/.claude/credentials.json", False, "path.credentials"),
    ("cat ~/.codex/auth.json", False, "path.credentials"),
    ("cat ~/.s3cfg", False, "path.credentials"),
    ("cat ~/.config/rclone/rclone.conf", False, "path.credentials"),
    ("python3 -m cProfile -o /tmp/x app.py", False, "path.outside"),
    ("python3 -m ensurepip --root /tmp/r", False, "path.outside"),
    ("python3 -m trace --count --coverdir=/tmp/c app.py", False, "path.outside"),
    ("python3 -m cProfile -o prof.out app.py", True, "allow.list"),
]


@pytest.mark.parametrize(("command", "allowed", "rule"), CMAKE + CONFIG_AND_GLOBAL + OTHER_FORMS)
def test_tool_form(command: str, allowed: bool, rule: str, ctx: PolicyContext) -> None:
    assert_decision(decide(command, ctx), allowed, rule)


# ---- premises ------------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("cmake") is None, reason="no cmake here")
def test_premise_cmake_e_is_a_file_tool(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    subprocess.run(["cmake", "-E", "touch", "../MARK"], cwd=tmp_path / "proj", check=False, timeout=30)
    assert (tmp_path / "MARK").exists()


def test_premise_a_sed_backup_suffix_with_a_slash_is_a_path(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "a").write_text("x\n")
    subprocess.run(["sed", "-i../MARK-*", "s/x/y/", "a"], cwd=tmp_path / "proj", check=False, timeout=30)
    assert (tmp_path / "MARK-a").read_text() == "x\n"


@pytest.mark.parametrize(("body", "command", "allowed", "rule"), [
    ("cat ~/.ssh/id_rsa\n", "source env.sh", False, "path.credentials"),
    ("cat ~/.ssh/id_rsa\n", ". ./env.sh", False, "path.credentials"),
    ("cat ~/.ssh/id_rsa\n", "bash -c 'source env.sh'", False, "path.credentials"),
    ("source env.sh\n", "source env.sh", False, "deny.depth"),
    ("PORT=@example.com\n", "source env.sh; curl http://localhost:${PORT:-3000}/", False, "deny.network"),
    ("export NODE_ENV=development\necho ready\n", "source env.sh", True, "allow.list"),
])
def test_a_sourced_file_is_judged_as_if_typed_here(body: str, command: str, allowed: bool, rule: str,
                                                  ctx: PolicyContext) -> None:
    """``source FILE`` runs FILE's commands in this shell (``bash FILE`` is refused outright): its
    text is judged like ``bash -c`` text; a file that is not readable now (made later in the same
    line) is refused; a virtualenv's ``bin/activate`` is sourced as before."""
    (ctx.project_dir / "env.sh").write_text(body)
    assert_decision(decide(command, ctx), allowed, rule)


@pytest.mark.parametrize("command", ["source .venv/bin/activate", ". venv/bin/activate && pytest"])
def test_a_virtualenv_activation_is_sourced(command: str, ctx: PolicyContext) -> None:
    for venv in (".venv", "venv"):
        (ctx.project_dir / venv / "bin").mkdir(parents=True)
        (ctx.project_dir / venv / "bin" / "activate").write_text("export VIRTUAL_ENV=x\n")
    assert_decision(decide(command, ctx), True, "allow.list")


def test_a_missing_sourced_file_is_refused(ctx: PolicyContext) -> None:
    assert_decision(decide("printf 'cat ~/.ssh/id_rsa' > x.sh; source x.sh", ctx), False, "deny.source")
