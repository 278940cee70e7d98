"""The `autocode` command line: thin typer commands that parse flags and call one function."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent import OPENCODE_VERSION, __version__
from agent.errors import AutocodeError, BuildComplete, ExitCode, StopReason, UsageError

if TYPE_CHECKING:
    from agent.ports import Reporter

HELP = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, context_settings=HELP,
                  help="Build whole applications autonomously with a real OpenCode server.")
prompts_app = typer.Typer(no_args_is_help=True, context_settings=HELP,
                          help="List, show and export the prompt templates.")
policy_app = typer.Typer(no_args_is_help=True, context_settings=HELP, help="Show and test the security policy.")
config_app = typer.Typer(no_args_is_help=True, context_settings=HELP, help="Show the effective configuration.")
app.add_typer(prompts_app, name="prompts")
app.add_typer(policy_app, name="policy")
app.add_typer(config_app, name="config")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"autocode {__version__} (OpenCode {OPENCODE_VERSION})")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", metavar="", callback=_version, is_eager=True,
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


ProjectDir = Annotated[Path, typer.Option("--project-dir", "-p", help="The project directory.",
                                          resolve_path=True)]
JsonFlag = Annotated[bool, typer.Option("--json", metavar="",
                                        help="Build events as JSON lines (schema: README).")]
MODEL, LIMITS, SERVER = "Model", "Limits (0 = no limit)", "OpenCode server and sandbox"
JsonDoc = Annotated[bool, typer.Option("--json", metavar="",
                                       help="Print this command's result as one JSON document.")]


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
    sandbox: Annotated[bool, typer.Option("--sandbox", metavar="",
                                          help="Print the sandbox command line.")] = False,
    project_dir: ProjectDir = Path("."),
    model: Annotated[str | None, typer.Option("--model", "-m", help="Check its provider.")] = None,
    base_url: Annotated[str | None, typer.Option(help="Also probe this OpenAI-compatible endpoint.")] = None,
    api_key_env: Annotated[str | None, typer.Option(help="Env var with that endpoint's key.")] = None,
) -> None:
    """Check python, OpenCode, rg, git, the sandbox, the state directory and the model's provider."""
    from agent.config import load_settings
    from agent.doctor import provider_check, run_checks, sandbox_command_line

    if sandbox:
        try:
            typer.echo(sandbox_command_line(project_dir, opencode_bin))
        except AutocodeError as exc:
            raise fail(exc) from None
        return
    checks = run_checks(home_dir(), opencode_bin)
    try:
        settings, _ = load_settings(project_dir, {"model": model, "base_url": base_url,
                                                  "api_key_env": api_key_env})
    except AutocodeError as exc:
        raise fail(exc) from None
    provider = provider_check(settings.model, settings.base_url, settings.api_key_env)
    checks += [provider] if provider else []
    for check in checks:
        mark = "ok " if check.ok else "BAD"
        line = f"[{mark}] {check.name:10} {check.detail}"
        typer.echo(line + (f"  -> fix: {check.fix}" if check.fix else ""))
    if not all(c.ok for c in checks):
        raise typer.Exit(int(ExitCode.USAGE))


@app.command()
def build(
    project_dir: ProjectDir = Path("."),
    model: Annotated[str | None, typer.Option("--model", "-m", rich_help_panel=MODEL,
                                              help="provider/model, pinned for every request.")] = None,
    spec: Annotated[Path | None, typer.Option(help="The app spec (copied to DIR/app_spec.txt).")] = None,
    max_budget_usd: Annotated[float | None, typer.Option(
        rich_help_panel=LIMITS, help="Whole-build budget, USD. (default: 0 = UNLIMITED)")] = None,
    max_session_usd: Annotated[float | None, typer.Option(
        rich_help_panel=LIMITS, help="Per-session budget, USD. (default: 0 = no limit)")] = None,
    max_iterations: Annotated[int | None, typer.Option(
        rich_help_panel=LIMITS, help="Coding sessions this run. (default: 0 = no limit)")] = None,
    max_turns: Annotated[int | None, typer.Option(
        rich_help_panel=LIMITS, help="Model steps per session. (default: 0 = no limit)")] = None,
    session_timeout: Annotated[float | None, typer.Option(
        rich_help_panel=LIMITS, help="Seconds per session. (default: 0 = no limit)")] = None,
    idle_timeout: Annotated[float | None, typer.Option(
        rich_help_panel=LIMITS, help="Abort a session after N s without events. (default: 300)")] = None,
    free_only: Annotated[bool | None, typer.Option("--free-only", metavar="", rich_help_panel=LIMITS,
                                                   help="Stop if any step costs money.")] = None,
    max_provider_retries: Annotated[int | None, typer.Option(rich_help_panel=LIMITS, help=(
        "Abort a session after N provider retries. (default: 0 = OpenCode's own, ~72 s)"))] = None,
    small_model: Annotated[str | None, typer.Option(rich_help_panel=MODEL,
                                                    help="An explicit cheap model.")] = None,
    base_url: Annotated[str | None, typer.Option(rich_help_panel=MODEL,
                                                 help="OpenAI-compatible endpoint for --model.")] = None,
    api_key_env: Annotated[str | None, typer.Option(rich_help_panel=MODEL,
                                                    help="Env var with that endpoint's key.")] = None,
    price_in: Annotated[float | None, typer.Option(rich_help_panel=MODEL, help="USD per 1M input tokens "
                                                   "(--base-url only; unpriced = cost unknown).")] = None,
    price_out: Annotated[float | None, typer.Option(rich_help_panel=MODEL,
                                                    help="USD per 1M output tokens.")] = None,
    server_url: Annotated[str | None, typer.Option(rich_help_panel=SERVER,
                                                   help="Attach to a running OpenCode server.")] = None,
    server_password: Annotated[str | None, typer.Option(envvar="OPENCODE_SERVER_PASSWORD",
                                                        rich_help_panel=SERVER,
                                                        help="Password of --server-url.")] = None,
    opencode_bin: Annotated[str | None, typer.Option(rich_help_panel=SERVER,
                                                     help="OpenCode binary to run. (default: found)")] = None,
    sandbox: Annotated[str | None, typer.Option(
        rich_help_panel=SERVER, help="OS sandbox: auto | bwrap | none. (default: auto)")] = None,
    network: Annotated[str | None, typer.Option(
        rich_help_panel=SERVER, help="Commands' network: none | allowlist | open.")] = None,
    test_cmd: Annotated[str | None, typer.Option(help="Project test command. (default: from init.sh)")] = None,
    regression: Annotated[str | None, typer.Option(
        help="Regression gate: suite | features | none.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Features in flight at once, each in its own git worktree. (default: 1)")] = None,
    strict_tests: Annotated[bool | None, typer.Option(
        "--strict-tests", metavar="", rich_help_panel=LIMITS,
        help="Refuse any change to a protected test, even one that still passes.")] = None,
    prompts_dir: Annotated[Path | None, typer.Option(help="Prompt template overrides.")] = None,
    system_prompt: Annotated[Path | None, typer.Option(help="File prepended to every session.")] = None,
    record: Annotated[bool | None, typer.Option(
        "--record", help="Record every model exchange to .autocode/recordings/ (autocode replay).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Build (or resume building) the application in PROJECT_DIR from its spec."""
    flags = {k: v for k, v in locals().items()
             if k not in ("project_dir", "spec", "json_out", "server_password")}
    raise typer.Exit(run_build_command(project_dir, flags, spec, json_out, server_password))


def run_build_command(project_dir: Path, flags: dict[str, Any], spec: Path | None, json_out: bool,
                      server_password: str | None = None, overrides: dict[str, Any] | None = None,
                      watch: Callable[[Reporter], Reporter] | None = None) -> int:
    """Everything `build`, `demo` and `replay` share: settings, checks, the run, the exit code.

    ``overrides`` update the server options; ``watch`` wraps the reporter (replay's divergences).
    """
    from agent.build_events import ErrorEvent, WarningEvent
    from agent.config import load_settings
    from agent.project import prepare_project
    from agent.runtime import plan_build, run_build
    from agent.security import load_security_config
    from agent.signals import run_interruptible
    from agent.ui.reporters import make_reporter

    reporter = make_reporter(json_out)
    sink: Reporter = watch(reporter) if watch else reporter
    try:
        settings, _ = load_settings(project_dir, flags)
        config, options = plan_build(settings, project_dir)
        options = options.model_copy(update={"server_password": server_password} | (overrides or {}))
        for warning in prepare_project(project_dir, spec):
            sink.emit(WarningEvent(message=warning))
        security = load_security_config(project_dir)
        run_interruptible(run_build(config, options, security, sink, settings.prompts_dir))
    except StopReason as stop:
        if not isinstance(stop, BuildComplete):
            typer.echo(f"autocode: {stop}", err=True)
        return int(stop.exit_code)
    except AutocodeError as exc:
        reporter.emit(ErrorEvent(kind=exc.kind, message=str(exc), exit_code=int(exc.exit_code)))
        typer.echo(f"autocode: {exc}", err=True)
        return int(exc.exit_code)
    except OSError as exc:  # disk full, permissions: what was recorded before is intact
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"autocode: cannot write {where}{exc.strerror or exc}; free space or fix "
                   "permissions, then re-run (state so far is intact)", err=True)
        return int(ExitCode.ERROR)
    finally:
        reporter.close()
    return 0


@app.command()
def replay(
    recording: Annotated[Path, typer.Argument(help="A recording (.autocode/recordings/RUN.jsonl).",
                                              resolve_path=True)],
    project_dir: ProjectDir,
    spec: Annotated[Path | None, typer.Option(help="The spec (default: the recorded one).")] = None,
    on_divergence: Annotated[str, typer.Option(help="stop | continue at a request that differs.")] = "stop",
    prompts_dir: Annotated[Path | None, typer.Option(help="Prompt template overrides.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Run a recorded build again, offline: the recorded model answers, everything else is real."""
    from agent.replay import run_replay

    if on_divergence not in ("stop", "continue"):
        raise fail(UsageError("--on-divergence must be stop or continue"))
    try:
        code = run_replay(recording, project_dir, spec, on_divergence, prompts_dir, json_out,
                          run_build_command)
    except AutocodeError as exc:
        raise fail(exc) from None
    raise typer.Exit(code)


@app.command()
def status(project_dir: ProjectDir = Path("."), json_out: JsonDoc = False,
           watch: Annotated[float, typer.Option("--watch", "-w", help=(
               "Print again every N seconds while a build runs. (default: 0 = once)"))] = 0.0) -> None:
    """Features passing, sessions, time, cost and the last verdicts of a build."""
    import time

    from agent.status import build_status, render_status

    if not project_dir.is_dir():
        raise fail(UsageError(f"{project_dir} is not a directory"))
    while True:
        info = build_status(project_dir)
        typer.echo(json.dumps(info, indent=2) if json_out else render_status(info))
        if watch <= 0 or not info.get("running"):
            return
        time.sleep(watch)
        typer.echo("")


@app.command()
def estimate(
    project_dir: ProjectDir = Path("."),
    price_in: Annotated[float | None, typer.Option(
        help="USD per 1M input tokens (default: the build's).")] = None,
    price_out: Annotated[float | None, typer.Option(help="USD per 1M output tokens.")] = None,
    json_out: JsonDoc = False,
) -> None:
    """Forecast cost, turns and time to finish: priors after the initializer, refined by the ledger."""
    from agent.estimate import estimate_project, render_estimate

    try:
        result = estimate_project(project_dir, price_in, price_out)
    except AutocodeError as exc:
        raise fail(exc) from None
    typer.echo(result.model_dump_json(indent=2) if json_out else render_estimate(result))


@app.command()
def logs(
    project_dir: ProjectDir = Path("."),
    session: Annotated[str | None, typer.Option(help="Show this session's transcript.")] = None,
    feature: Annotated[int | None, typer.Option(help="Show every session of feature N.")] = None,
    follow_: Annotated[bool, typer.Option("--follow", "-f", metavar="", help=(
        "Print transcripts as they are written, until the build stops."))] = False,
) -> None:
    """List sessions, or show transcripts (prompt, tool calls, results, costs)."""
    import time

    from agent.cost import Ledger
    from agent.state import StateStore
    from agent.status import build_running
    from agent.ui.transcript import follow, render_logs

    store = StateStore(project_dir)
    if not store.root.is_dir():
        raise fail(UsageError(f"{project_dir} has no autocode build (.autocode/ is missing)"))
    if follow_:
        store.sessions_dir.mkdir(exist_ok=True)
        follow(store.sessions_dir, lambda: build_running(project_dir), typer.echo, time.sleep)
        return
    try:
        typer.echo(render_logs(store.sessions_dir, store.progress(), Ledger(store.cost_path), session, feature))
    except AutocodeError as exc:
        raise fail(exc) from None


@app.command()
def report(
    project_dir: ProjectDir = Path("."),
    output: Annotated[Path | None, typer.Option("--output", "-o", help="HTML file to write.")] = None,
) -> None:
    """Write a self-contained HTML report: charts, per-feature table, denied commands."""
    from agent.report import write_report

    if not (project_dir / ".autocode").is_dir():
        raise fail(UsageError(f"{project_dir} has no autocode build (.autocode/ is missing)"))
    try:
        typer.echo(str(write_report(project_dir, output)))
    except AutocodeError as exc:
        raise fail(exc) from None


@app.command("events-schema")
def events_schema() -> None:
    """Print the JSON Schema of `build --json` lines: one model per event, keyed on `event`."""
    from agent.build_events import events_schema as schema

    typer.echo(json.dumps(schema(), indent=2))


@app.command()
def tournament(
    project_dir: ProjectDir,
    models: Annotated[str, typer.Option(help="Comma-separated provider/model names.")],
    task: Annotated[Path, typer.Option(help="File with the task for every candidate.")],
    max_budget_usd: Annotated[float, typer.Option(help="Total budget, split evenly (USD).")],
    score_cmd: Annotated[str | None, typer.Option(help="Scores a candidate (exit code, N passed).")] = None,
    apply: Annotated[bool, typer.Option("--apply", metavar="", help="Merge the winner's branch.")] = False,
    max_turns: Annotated[int, typer.Option(help="Model steps per candidate.")] = 30,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint for every model.")] = None,
    price_in: Annotated[float | None, typer.Option(help="USD per 1M input tokens.")] = None,
    price_out: Annotated[float | None, typer.Option(help="USD per 1M output tokens.")] = None,
    json_out: JsonDoc = False,
) -> None:
    """Run several models on one task, each in its own git worktree under a share of one budget."""
    import asyncio

    from agent.project import read_spec
    from agent.tournament import run_tournament

    try:
        text = read_spec(task)
        result = asyncio.run(run_tournament(
            project_dir, [m.strip() for m in models.split(",") if m.strip()], text, max_budget_usd,
            score_cmd, apply, max_turns, base_url=base_url, price_in=price_in, price_out=price_out))
    except AutocodeError as exc:
        raise fail(exc) from None
    if json_out:
        typer.echo(result.model_dump_json(indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"tournament (share ${result.share_usd:.4f} each)")
    for column in ("model", "score", "ok", "cost", "turns", "stop", "diff", "branch"):
        table.add_column(column)
    for c in sorted(result.candidates, key=lambda c: c.rank_key(), reverse=True):
        cost = f"${c.cost:.4f}" if c.priced else f"${c.cost:.4f} UNPRICED"
        table.add_row(c.model, f"{c.score:g}", "yes" if c.score_ok else "no", cost, str(c.turns),
                      c.error[:40] or c.stop_reason, c.diff_stat or "-", c.branch if c is result.winner else "")
    Console().print(table)
    if result.winner is not None:
        verb = "merged" if result.applied else "kept (use --apply to merge)"
        typer.echo(f"winner: {result.winner.model}, branch {result.winner.branch} {verb}")


@app.command()
def demo(
    project_dir: Annotated[Path, typer.Option("--project-dir", "-p", resolve_path=True,
                                              help="Where to build the demo app.")] = Path("autocode-demo"),
    json_out: JsonFlag = False,
) -> None:
    """Offline demo: build the bundled todo-CLI spec with a SCRIPTED model through real OpenCode."""
    import tempfile

    from agent.demo import DEMO_MODEL, demo_scenario, demo_spec
    from agent.scripted_model import Scenario, ScriptedModelServer

    def say(text: str) -> None:
        typer.echo(text, err=json_out)

    say("autocode demo: the model is SCRIPTED (a local fake that replays a fixed scenario), no API "
        "key, no network; OpenCode, the security policy and every check are real.")
    project_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "app_spec.txt"
        spec.write_text(demo_spec())
        log = project_dir / ".autocode" / "scripted-model.jsonl"
        log.parent.mkdir(parents=True, exist_ok=True)
        with ScriptedModelServer(Scenario.model_validate(demo_scenario()), log) as model_server:
            flags = {"model": DEMO_MODEL, "base_url": model_server.url, "price_in": 3.0,
                     "price_out": 15.0, "max_budget_usd": 1.0}
            # the demo app's tests need no pytest plugins, and the commands' python is autocode's
            # own: without this each of its test runs loads the dev tools' plugins (68 s -> 26 s)
            lean = {"env": {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}}
            code = run_build_command(project_dir, flags, spec, json_out, overrides=lean)
    if code == 0:
        say(f"demo complete: every feature verified by running the generated app's tests in "
            f"{project_dir} (prices are pretend: $3/$15 per 1M tokens, budget $1). "
            f"Next: autocode status -p {project_dir}")
    raise typer.Exit(code)


@config_app.command("show")
def config_show(project_dir: ProjectDir = Path("."), json_out: JsonDoc = False) -> None:
    """Print the effective settings and where each came from (default, file, env, flag)."""
    from agent.config import load_settings

    try:
        settings, sources = load_settings(project_dir, {})
    except AutocodeError as exc:
        raise fail(exc) from None
    values = settings.model_dump(mode="json")
    if json_out:
        typer.echo(json.dumps({k: {"value": v, "source": sources[k]} for k, v in values.items()}, indent=2))
        return
    for key, value in values.items():
        typer.echo(f"{key:22} {json.dumps(value):28} ({sources[key]})")


@prompts_app.command("list")
def prompts_list(project_dir: ProjectDir = Path("."),
                 prompts_dir: Annotated[Path | None, typer.Option()] = None) -> None:
    """Each template and the file it comes from (flag > project > built-in)."""
    from agent.prompts import VARIABLES, PromptBook
    from agent.state import StateStore

    book = PromptBook([d for d in (prompts_dir, StateStore(project_dir).prompts_dir) if d])
    for name in VARIABLES:
        typer.echo(f"{name:16} {book.locate(name)}  vars: {', '.join(sorted(VARIABLES[name]))}")


@prompts_app.command("show")
def prompts_show(name: str, project_dir: ProjectDir = Path("."),
                 prompts_dir: Annotated[Path | None, typer.Option()] = None) -> None:
    """Print one template as it would be used."""
    from agent.prompts import PromptBook
    from agent.state import StateStore

    try:
        typer.echo(PromptBook([d for d in (prompts_dir, StateStore(project_dir).prompts_dir) if d])
                   .source(name), nl=False)
    except AutocodeError as exc:
        raise fail(exc) from None


@prompts_app.command("export")
def prompts_export(project_dir: ProjectDir = Path(".")) -> None:
    """Copy the built-in templates to DIR/.autocode/prompts/ for editing (existing files kept)."""
    from agent.prompts import VARIABLES, builtin_dir
    from agent.state import StateStore

    target = StateStore(project_dir).prompts_dir
    target.mkdir(parents=True, exist_ok=True)
    for name in VARIABLES:
        dest = target / f"{name}.md"
        if dest.exists():
            typer.echo(f"kept     {dest}")
        else:
            dest.write_text((builtin_dir() / f"{name}.md").read_text())
            typer.echo(f"exported {dest}")


@policy_app.command("show")
def policy_show(project_dir: ProjectDir = Path(".")) -> None:
    """Print the effective security policy (defaults merged with autocode.toml [security])."""
    from agent.security import describe_policy, load_security_config

    try:
        typer.echo(json.dumps(describe_policy(load_security_config(project_dir)), indent=2, default=str))
    except AutocodeError as exc:
        raise fail(exc) from None


@policy_app.command("check")
def policy_check(
    project_dir: ProjectDir = Path("."),
    jsonl: Annotated[bool, typer.Option("--jsonl", help='Read {"command": ...} lines from stdin.')] = False,
    command: Annotated[str | None, typer.Argument(help="A command to judge.")] = None,
) -> None:
    """Judge commands: one argument, or JSON lines on stdin with --jsonl."""
    import sys

    from agent.security import PolicyContext, decide, load_security_config

    try:
        context = PolicyContext(project_dir=project_dir, config=load_security_config(project_dir))
    except AutocodeError as exc:
        raise fail(exc) from None
    if not jsonl:
        if command is None:
            raise fail(UsageError("give a command, or --jsonl with JSON lines on stdin"))
        decision = decide(command, context)
        typer.echo(f"{'allowed' if decision.allowed else 'denied'}: {decision.reason} [{decision.rule}]")
        raise typer.Exit(0 if decision.allowed else 1)
    errors = 0
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        result = _judge_line(raw.removeprefix(b"\xef\xbb\xbf") if number == 1 else raw, context)
        if result is None:
            continue
        if "error" in result:
            errors += 1
            typer.echo(f"autocode: stdin line {number}: {result['error']}", err=True)
        typer.echo(json.dumps({"line": number, **result}, ensure_ascii=True))
    if errors:
        raise typer.Exit(2)


def _judge_line(raw: bytes, context: Any) -> dict[str, Any] | None:
    """One ``--jsonl`` line judged, or ``{"error": ...}``; None for a blank line."""
    from agent.security import decide

    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {"error": f"not valid UTF-8 (byte {exc.start})"}
    if not line.strip():
        return None
    try:
        item = json.loads(line)
    except RecursionError:
        return {"error": "JSON nested too deeply"}
    except ValueError as exc:
        return {"error": f"not valid JSON: {exc}"}
    if not isinstance(item, dict) or not isinstance(item.get("command"), str):
        return {"error": 'expected an object {"command": "..."} with a string command'}
    decision = decide(item["command"], context)
    return {"command": item["command"], "allowed": decision.allowed, "reason": decision.reason,
            "rule": decision.rule}


def main() -> None:
    app()
