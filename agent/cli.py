"""The `autocode` command line: thin typer commands that parse flags and call one function."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from agent import OPENCODE_VERSION, __version__
from agent.errors import AutocodeError, ExitCode

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Build whole applications autonomously with a real OpenCode server.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"autocode {__version__} (OpenCode {OPENCODE_VERSION})")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """autocode drives OpenCode through long runs of coding sessions."""


def home_dir() -> Path:
    """autocode's own state root (``$AUTOCODE_HOME``, default ``~/.local/share/autocode``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(os.environ.get("AUTOCODE_HOME") or Path(base) / "autocode")


def fail(exc: AutocodeError) -> typer.Exit:
    typer.echo(f"autocode: {exc}", err=True)
    return typer.Exit(int(exc.exit_code))


@app.command()
def setup() -> None:
    """Install the pinned OpenCode binary (npm package opencode-ai) where autocode finds it."""
    from agent.opencode.install import install_opencode

    try:
        binary = install_opencode()
    except AutocodeError as exc:
        raise fail(exc) from None
    typer.echo(f"OpenCode {OPENCODE_VERSION} ready at {binary}")


@app.command()
def doctor(
    opencode_bin: Annotated[str | None, typer.Option(help="OpenCode binary to check.")] = None,
) -> None:
    """Check python, the OpenCode binary and version, rg, git and the state directory."""
    from agent.doctor import run_checks

    checks = run_checks(home_dir(), opencode_bin)
    for check in checks:
        mark = "ok " if check.ok else "BAD"
        line = f"[{mark}] {check.name:10} {check.detail}"
        typer.echo(line + (f"  -> fix: {check.fix}" if check.fix else ""))
    if not all(c.ok for c in checks):
        raise typer.Exit(int(ExitCode.USAGE))


def main() -> None:
    app()
