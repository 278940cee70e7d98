"""The `autocode` command line: thin typer commands that parse flags and call one function."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent import OPENCODE_VERSION, __version__
from agent.errors import AutocodeError, BuildComplete, ExitCode, StopReason, UsageError

if TYPE_CHECKING:
    from agent.build import BuildConfig
    from agent.runtime import ServerOptions

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


ProjectDir = Annotated[Path, typer.Option("--project-dir", "-p", help="The project directory.",
                                           resolve_path=True)]
JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON object per event/line on stdout.")]


@app.command()
def build(
    project_dir: ProjectDir,
    model: Annotated[str, typer.Option("--model", "-m", help="provider/model, pinned for every request.")],
    spec: Annotated[Path | None, typer.Option(help="The app spec (copied to DIR/app_spec.txt).")] = None,
    max_iterations: Annotated[int, typer.Option(help="Coding sessions this run (0 = no limit).")] = 0,
    max_budget_usd: Annotated[float, typer.Option(help="Whole-build budget in USD (0 = none).")] = 0.0,
    max_session_usd: Annotated[float, typer.Option(help="Per-session budget in USD (0 = none).")] = 0.0,
    max_turns: Annotated[int, typer.Option(help="Model steps per session (0 = no limit).")] = 0,
    session_timeout: Annotated[float, typer.Option(help="Seconds per session (0 = none).")] = 0.0,
    idle_timeout: Annotated[float, typer.Option(help="Abort a session after N s without events.")] = 300.0,
    free_only: Annotated[bool, typer.Option(help="Refuse models with a price; stop on any cost.")] = False,
    small_model: Annotated[str | None, typer.Option(help="An explicit cheap model for small tasks.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint for --model.")] = None,
    api_key_env: Annotated[str | None, typer.Option(help="Env var holding that endpoint's key.")] = None,
    price_in: Annotated[float | None, typer.Option(help="USD per 1M input tokens (--base-url).")] = None,
    price_out: Annotated[float | None, typer.Option(help="USD per 1M output tokens (--base-url).")] = None,
    server_url: Annotated[str | None, typer.Option(help="Attach to a running OpenCode server.")] = None,
    server_password: Annotated[str | None, typer.Option(envvar="OPENCODE_SERVER_PASSWORD",
                                                        help="Password of --server-url.")] = None,
    opencode_bin: Annotated[str | None, typer.Option(help="OpenCode binary to run.")] = None,
    test_cmd: Annotated[str | None, typer.Option(help="Project test command (default: init.sh).")] = None,
    prompts_dir: Annotated[Path | None, typer.Option(help="Prompt template overrides.")] = None,
    system_prompt: Annotated[Path | None, typer.Option(help="File prepended to every session.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Build (or resume building) the application in PROJECT_DIR from its spec."""
    from agent.build import BuildConfig
    from agent.cost import Limits
    from agent.runtime import ServerOptions

    limits = Limits(max_budget_usd=max_budget_usd, max_session_usd=max_session_usd, max_turns=max_turns,
                    session_timeout=session_timeout, idle_timeout=idle_timeout,
                    max_iterations=max_iterations, free_only=free_only)
    options = ServerOptions(model=model, small_model=small_model, base_url=base_url,
                            api_key_env=api_key_env, price_in=price_in, price_out=price_out,
                            server_url=server_url, server_password=server_password,
                            opencode_bin=opencode_bin)
    system = _read_text(system_prompt) if system_prompt else None
    config = BuildConfig(project_dir=project_dir, model=model, limits=limits, test_cmd=test_cmd,
                         system_prompt=system)
    raise typer.Exit(_run_build(config, options, spec, prompts_dir, json_out))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(UsageError(f"cannot read {path}: {exc}")) from None


def _run_build(config: BuildConfig, options: ServerOptions, spec: Path | None,
               prompts_dir: Path | None, json_out: bool) -> int:
    from agent.project import prepare_project
    from agent.providers import parse_model
    from agent.runtime import run_build
    from agent.security import load_security_config
    from agent.signals import run_interruptible
    from agent.ui.reporters import JsonReporter, PlainReporter

    reporter = JsonReporter() if json_out else PlainReporter()
    try:
        parse_model(options.model)
        for warning in prepare_project(config.project_dir, spec):
            reporter.emit("warning", message=warning)
        security = load_security_config(config.project_dir)
        run_interruptible(run_build(config, options, security, reporter, prompts_dir))
    except StopReason as stop:
        if not isinstance(stop, BuildComplete):
            typer.echo(f"autocode: {stop}", err=True)
        return int(stop.exit_code)
    except AutocodeError as exc:
        reporter.emit("error", kind=exc.kind, message=str(exc), exit_code=int(exc.exit_code))
        typer.echo(f"autocode: {exc}", err=True)
        return int(exc.exit_code)
    except OSError as exc:  # disk full, permissions: what was recorded before is intact
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"autocode: cannot write {where}{exc.strerror or exc}; free space or fix "
                   "permissions, then re-run (state so far is intact)", err=True)
        return int(ExitCode.ERROR)
    return 0


@app.command()
def status(project_dir: ProjectDir, json_out: JsonFlag = False) -> None:
    """Features passing, sessions, time, cost and the last verdicts of a build."""
    import json

    from agent.status import build_status, render_status

    if not project_dir.is_dir():
        raise fail(UsageError(f"{project_dir} is not a directory"))
    info = build_status(project_dir)
    typer.echo(json.dumps(info, indent=2) if json_out else render_status(info))


@app.command()
def demo(
    project_dir: Annotated[Path, typer.Option("--project-dir", "-p", resolve_path=True,
                                              help="Where to build the demo app.")] = Path("autocode-demo"),
    json_out: JsonFlag = False,
) -> None:
    """Offline demo: build the bundled todo-CLI spec with a SCRIPTED model through real OpenCode."""
    import tempfile

    from agent.build import BuildConfig
    from agent.demo import DEMO_MODEL, demo_scenario, demo_spec
    from agent.runtime import ServerOptions
    from agent.scripted_model import Scenario, ScriptedModelServer

    def say(text: str) -> None:
        typer.echo(text, err=json_out)

    say("autocode demo: the model is SCRIPTED (a local fake that replays a fixed scenario), no API "
        "key, no network; OpenCode and every check are real.")
    project_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "app_spec.txt"
        spec.write_text(demo_spec())
        log = project_dir / ".autocode" / "scripted-model.jsonl"
        log.parent.mkdir(parents=True, exist_ok=True)
        with ScriptedModelServer(Scenario.model_validate(demo_scenario()), log) as model_server:
            options = ServerOptions(model=DEMO_MODEL, base_url=model_server.url, price_in=3.0,
                                    price_out=15.0)
            config = BuildConfig(project_dir=project_dir, model=DEMO_MODEL)
            code = _run_build(config, options, spec, None, json_out)
    if code == 0:
        say(f"demo complete: every feature verified by running the generated app's tests in "
            f"{project_dir} (prices are pretend: $3/$15 per 1M tokens). Try: autocode status -p {project_dir}")
    raise typer.Exit(code)


def main() -> None:
    app()
