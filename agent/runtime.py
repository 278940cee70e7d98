"""The composition root: builds the real collaborators (server, client, gate, runner) for a run.

Everything the build loop and the harness use is constructed here and passed in, so the loop
itself stays free of httpx, rich and subprocess details.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
from pydantic import BaseModel, Field

from agent.build import BuildConfig, Builder, LoopSettings
from agent.build_events import BuildStarted, ModelInfoEvent, ServerReady, ServerRestart, WarningEvent
from agent.config import Endpoint, Settings
from agent.contain import CommandSandbox, Record, SandboxConfig
from agent.cost import Ledger, Limits
from agent.errors import ServerFailure, UsageError
from agent.estimate import ForecastWatch
from agent.gate import PolicyGate
from agent.git import Git, checked_git_dir
from agent.opencode.client import OpenCodeClient, OpenCodeHTTPError
from agent.opencode.config import (
    WARMUP_COMMAND,
    WARMUP_MODEL,
    WARMUP_PROMPT,
    CustomProvider,
    generate_config,
)
from agent.opencode.install import find_opencode
from agent.opencode.server import AttachedServer, OpenCodeServer, ServerSettings
from agent.ports import FanoutReporter, Reporter, SystemClock
from agent.probe import probe_endpoint
from agent.prompts import PromptBook
from agent.providers import DEFAULT_BASE_URL, ModelRef, api_key_vars, parse_model
from agent.recording import RecordingProxy, Redactor
from agent.sandbox import resolve_mode, sandbox_env, server_wrap
from agent.scripted_model import Scenario, Script, ScriptedModelServer, Step, Usage
from agent.security import SecurityConfig
from agent.session import SessionRunner
from agent.session_types import SessionRequest, SessionResult
from agent.state import BuildState, StateStore, user_state_dir
from agent.ui.transcript import TranscriptWriter
from agent.workers.worktrees import integration_base, worker_dirs, worktrees_base


class ServerOptions(Endpoint):
    """Which model and which OpenCode server a run uses."""

    model: str = Field(description="provider/model, pinned for every request")
    server_password: str | None = Field(default=None, description="password of server_url, if any")
    env: dict[str, str] = Field(default_factory=dict, description="extra env for the server")
    startup_timeout: float = Field(default=60.0, gt=0, description="seconds for the server to start")
    route_url: str | None = Field(default=None, description=(
        "local URL the model requests go to instead (the recording proxy or a replay server)"))

    def pinned(self) -> ModelRef:
        return parse_model(self.model)

    def allowed_models(self) -> frozenset[str]:
        names = {str(self.pinned())}
        if self.small_model:
            names.add(str(parse_model(self.small_model)))
        return frozenset(names)


def plan_build(settings: Settings, project_dir: Path) -> tuple[BuildConfig, ServerOptions]:
    """The build's configs from the merged settings (flags already applied)."""
    if not settings.model:
        raise UsageError("no model: pass --model provider/model (or set AUTOCODE_MODEL, or model = \"...\" "
                         "in autocode.toml)")
    parse_model(settings.model)
    limits = Limits(**settings.model_dump(include=set(Limits.model_fields)))
    system = None
    if settings.system_prompt is not None:
        try:
            system = settings.system_prompt.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read --system-prompt {settings.system_prompt}: {exc}") from None
    config = BuildConfig(project_dir=project_dir, model=settings.model, limits=limits,
                         **settings.model_dump(include=set(LoopSettings.model_fields)),
                         system_prompt=system)
    options = ServerOptions(**settings.model_dump(include=set(ServerOptions.model_fields)))
    return config, options


def opencode_config(options: ServerOptions, allow_network: bool = False,
                    warmup_url: str | None = None) -> dict[str, object]:
    model = options.pinned()
    small = parse_model(options.small_model) if options.small_model else None
    provider = None
    if options.base_url:
        provider = CustomProvider(base_url=options.route_url or options.base_url,
                                  api_key_env=options.api_key_env,
                                  price_in=options.price_in, price_out=options.price_out)
    elif options.price_in is not None or options.price_out is not None:
        raise UsageError("--price-in/--price-out need --base-url (built-in providers are priced by "
                         "OpenCode's catalog)")
    return generate_config(model, small, provider, allow_network=allow_network,
                           route_url=options.route_url, warmup_url=warmup_url)


def upstream_url(options: ServerOptions) -> str:
    """Where the model requests really go: ``--base-url``, or the built-in provider's endpoint."""
    provider = options.pinned().provider_id
    url = options.base_url or DEFAULT_BASE_URL.get(provider)
    if url is None:
        raise UsageError(f"--record: autocode does not know {provider!r}'s endpoint; pass its "
                         "--base-url (recording covers OpenAI-compatible and Anthropic endpoints)")
    return url


@contextlib.contextmanager
def recorded(options: ServerOptions, directory: Path) -> Iterator[ServerOptions]:
    """With ``options.record``: a recording proxy for the run, and the options routed through it.

    The recording's header keeps what a replay needs: the model, whether it was a custom endpoint,
    the prices, the project path (normalised away when comparing requests) and the spec.
    """
    if not options.record or options.route_url:
        yield options
        return
    run = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    path = directory / ".autocode" / "recordings" / f"{run}.jsonl"
    spec = directory / "app_spec.txt"
    head = {"run": run, "model": options.model, "base_url": bool(options.base_url),
            "price_in": options.price_in, "price_out": options.price_out, "project": str(directory),
            "spec": spec.read_text(encoding="utf-8", errors="replace") if spec.is_file() else None}
    with RecordingProxy(upstream_url(options), path, head, secret_values(options)) as proxy:
        yield options.model_copy(update={"route_url": proxy.url})


def secret_values(options: ServerOptions) -> Redactor:
    """A redactor that also knows the values of every API-key variable this run could use."""
    names = {*api_key_vars(options.pinned().provider_id), *(filter(None, [options.api_key_env]))}
    values = [os.environ.get(n, "") for n in names] + [options.env.get(n, "") for n in names]
    return Redactor(tuple(v for v in values if v))


def sandbox_config(options: ServerOptions) -> SandboxConfig:
    """The command sandbox's config: the resolved mode plus the ``[sandbox]`` settings."""
    hosts = {} if options.allow_hosts is None else {"allow_hosts": options.allow_hosts}
    return SandboxConfig(mode=resolve_mode(options.sandbox), network=options.network,
                         env=options.sandbox_env, set_env=options.env, **hosts)


def make_server(options: ServerOptions, state_dir: Path, cwd: Path, allow_network: bool = False,
                box: CommandSandbox | None = None, writable: list[Path] | None = None,
                warmup_url: str | None = None) -> OpenCodeServer | AttachedServer:
    """The server; with ``box`` its bash tool runs every command in that command sandbox;
    ``writable`` adds dirs its sandbox lets it write (the workers' worktrees), ``warmup_url`` the
    workers' warm-up model (``warmup_model``)."""
    if options.server_url:
        return AttachedServer(options.server_url, options.server_password)
    runtime = [box.shell.parent, *{Path(s).parent for s in box.routes.values()}] if box is not None else []
    wrap = server_wrap(options.sandbox, cwd, state_dir, find_opencode(options.opencode_bin), runtime, writable)
    env = {**sandbox_env(state_dir), **options.env} if wrap else dict(options.env)
    if box is not None:
        env["SHELL"] = str(box.shell)
    settings = ServerSettings(state_dir=state_dir, config=opencode_config(options, allow_network, warmup_url),
                              opencode_bin=options.opencode_bin, cwd=cwd, env=env,
                              startup_timeout=options.startup_timeout, wrap=wrap)
    return OpenCodeServer(settings)


RunnerFactory = Callable[[OpenCodeClient], SessionRunner]
T = TypeVar("T")


class SupervisedSessions:
    """Sessions that survive the OpenCode server dying: restart it and run the session again.

    A crash shows up as a broken event stream or refused connections. The server is restarted
    (same isolated state dir, so earlier sessions are still there), a new client and runner are
    made, and the interrupted call is repeated. More than ``max_restarts`` crashes in a row is a
    clean :class:`ServerFailure` stop.
    """

    def __init__(self, server: OpenCodeServer | AttachedServer, make_runner: RunnerFactory,
                 reporter: Reporter, max_restarts: int = 3) -> None:
        self.server = server
        self.make_runner = make_runner
        self.reporter = reporter
        self.max_restarts = max_restarts
        self.crashes = 0
        self.client: OpenCodeClient | None = None
        self.runner: SessionRunner | None = None

    async def __aenter__(self) -> SupervisedSessions:
        await asyncio.to_thread(self.server.start)
        self._connect()
        return self

    def _announce(self) -> None:
        pid = self.server.pid if isinstance(self.server, OpenCodeServer) else None
        self.reporter.emit(ServerReady(url=self.server.url, version=self.server.version, pid=pid,
                                       restarts=self.server.restarts))

    async def __aexit__(self, *exc: object) -> None:
        if self.client is not None:
            await self.client.aclose()
        await asyncio.to_thread(self.server.stop)

    def _connect(self) -> None:
        self._announce()
        self.client = OpenCodeClient(self.server.url, self.server.password)
        self.runner = self.make_runner(self.client)

    async def run(self, request: SessionRequest) -> SessionResult:
        return await self._supervised(lambda runner: runner.run(request))

    async def drive(self, session_id: str, request: SessionRequest) -> SessionResult:
        return await self._supervised(lambda runner: runner.drive(session_id, request))

    async def recover(self, directory: Path, since: float, feature: int | None) -> float:
        return await self._supervised(lambda runner: runner.recover(directory, since, feature))

    async def release(self, directory: Path) -> None:
        """Dispose of the directory's instance on the server autocode started (``--workers``: the
        project's, once the sessions run in the trees). Measured (``scripts/bench_workers.py``
        style, 4 workers, 8 x 3 steps at 1 s, six runs each, alternating): coding 10.43 s on average
        (10.0-11.0) with the instance kept, 10.02 s (9.87-10.2) with it disposed. Never on an attached
        server (its owner may have the directory open); a failure only leaves the instance up."""
        if not isinstance(self.server, OpenCodeServer) or self.client is None:
            return
        with contextlib.suppress(httpx.HTTPError, OpenCodeHTTPError):
            await self.client.dispose_instance(directory)

    async def _supervised(self, call: Callable[[SessionRunner], Awaitable[T]]) -> T:
        while True:
            assert self.runner is not None
            try:
                result = await call(self.runner)
            except (ServerFailure, httpx.TransportError, OpenCodeHTTPError) as exc:
                if self._healthy(exc) or (isinstance(exc, ServerFailure) and exc.result is not None):
                    raise  # (with a result: the session ran and gave up on the server; the build stops)
                await self._restart(exc)
                continue
            self.crashes = 0
            return result

    def _healthy(self, exc: Exception) -> bool:
        if isinstance(exc, OpenCodeHTTPError) and exc.status < 500:
            return True
        return isinstance(self.server, OpenCodeServer) and self.server.alive() and not isinstance(
            exc, ServerFailure)

    async def _restart(self, exc: Exception) -> None:
        self.crashes += 1
        if self.crashes > self.max_restarts:
            raise ServerFailure(f"the OpenCode server failed {self.crashes} times in a row ({exc}); "
                                f"see {self.server.log_path}") from None
        self.reporter.emit(ServerRestart(attempt=self.crashes, reason=str(exc)[:200]))
        if self.client is not None:
            await self.client.aclose()
        await asyncio.to_thread(self.server.restart)
        self._connect()


class ModelInfo(BaseModel):
    """The pinned model as the server knows it: its prices (USD per 1M tokens), if any."""

    model: str
    price_in: float | None = None
    price_out: float | None = None

    @property
    def priced(self) -> bool:
        return self.price_in is not None and self.price_out is not None

    @property
    def free(self) -> bool:
        return self.priced and self.price_in == 0 and self.price_out == 0


async def preflight(client: OpenCodeClient, options: ServerOptions, directory: Path,
                    free_only: bool) -> ModelInfo:
    """Check the pinned model exists and is usable before any session; return its prices."""
    model = options.pinned()
    catalog = await client.providers(directory)
    provider = next((p for p in catalog.get("providers", []) if p.get("id") == model.provider_id), None)
    if provider is None:
        keys = " or ".join(api_key_vars(model.provider_id))
        raise UsageError(f"provider {model.provider_id!r} is not available: set {keys} (or run "
                         "`opencode auth login`), or pass --base-url for an OpenAI-compatible endpoint")
    models = provider.get("models") or {}
    if model.model_id not in models:
        known = ", ".join(sorted(models)[:8])
        raise UsageError(f"unknown model {model}: {model.provider_id} has {known or 'no models'}"
                         f"{' ...' if len(models) > 8 else ''}")
    if options.base_url:  # a custom endpoint is priced by the user's flags, or not at all
        info = ModelInfo(model=str(model), price_in=options.price_in, price_out=options.price_out)
    else:  # OpenCode's catalog
        cost = models[model.model_id].get("cost") or {}
        info = ModelInfo(model=str(model), price_in=cost.get("input"), price_out=cost.get("output"))
    if free_only and not info.free:
        raise UsageError(f"--free-only: {model} is {'unpriced' if not info.priced else 'not free'} "
                         f"(input ${info.price_in}, output ${info.price_out} per 1M tokens)")
    return info


def budget_warnings(limits: Limits, info: ModelInfo) -> list[str]:
    """Say it loudly when nothing caps the spend: no budget, or a model whose cost is unknown."""
    if not info.priced and not info.free:
        if limits.max_budget_usd or limits.max_session_usd:
            return [f"{info.model} is unpriced: its cost counts as $0, so the budget CANNOT be enforced "
                    "(pass --price-in/--price-out)"]
        return [f"{info.model} is unpriced and there is no budget: spend is neither counted nor capped"]
    if not limits.max_budget_usd and not info.free:
        return ["no --max-budget-usd: spend is UNLIMITED (set a budget, e.g. --max-budget-usd 5)"]
    return []


async def run_build(config: BuildConfig, options: ServerOptions, security: SecurityConfig,
                    reporter: Reporter, prompts_dir: Path | None = None) -> BuildState:
    """One `autocode build`: lock, server, session runner, builder. Raises its stop reason."""
    store = StateStore(config.project_dir)
    reporter = ForecastWatch(FanoutReporter(reporter, TranscriptWriter(store.sessions_dir)), store)
    prompts = PromptBook([d for d in (prompts_dir, store.prompts_dir) if d is not None])
    prompts.validate()
    box_config = sandbox_config(options)
    if options.base_url:  # seconds, not minutes of provider retries, for a wrong URL or key
        await asyncio.to_thread(probe_endpoint, options.base_url, options.api_key_env)
    with store.locked(), recorded(options, config.project_dir) as options:
        Git(config.project_dir).init()  # before the sandbox starts: its .git is bound read-only
        if store.migrate_server_dir():  # an older autocode kept the server's HOME in the project
            reporter.emit(WarningEvent(message=f"moved the server's state out of {store.old_server_dir} "
                                       f"to {store.server_dir} (its auth.json copy removed)"))
        trees = worktrees_dir(config)
        with CommandSandbox(box_config, config.project_dir, store.record_denied,
                            hidden=[store.server_dir]) as box, \
                worker_sandboxes(config, box_config, store, box), \
                integration_sandbox(config, box_config, store) as merge_box, \
                warmup_model(config, options) as warmup:
            sandbox = "external" if options.server_url else box_config.mode
            config = config.model_copy(update={"sandbox": sandbox})
            ledger = Ledger(store.cost_path)
            gate = PolicyGate(security, store.record_denied, home=Path.home(),
                              private_tmp=box_config.mode != "none" and not options.server_url)
            server = make_server(options, store.server_dir, config.project_dir, security.allow_network, box,
                                 trees, warmup)
            for gap in uncontained(options, box):
                reporter.emit(WarningEvent(message=gap))
            reporter.emit(BuildStarted(project=str(config.project_dir), model=options.model,
                                       sandbox=config.sandbox, server=options.server_url or "supervised",
                                       pid=os.getpid(), budget_usd=config.limits.max_budget_usd,
                                       spent_usd=round(ledger.total, 6)))
            def make_runner(client: OpenCodeClient) -> SessionRunner:
                return SessionRunner(client, options.pinned(), ledger, config.limits, gate, reporter,
                                     SystemClock(), options.allowed_models())

            async with SupervisedSessions(server, make_runner, reporter) as sessions, \
                    warming_workers(sessions, config, warmup):
                assert sessions.client is not None
                info = await preflight(sessions.client, options, config.project_dir, config.limits.free_only)
                reporter.emit(ModelInfoEvent(model=info.model, price_in=info.price_in, price_out=info.price_out,
                                             priced=info.priced))
                for warning in budget_warnings(config.limits, info):
                    reporter.emit(WarningEvent(message=warning))
                config = config.model_copy(update={"priced": info.priced or info.free})
                # serial: the agent's leftover processes are stopped before each check of a verdict;
                # workers: verdicts run in merge_box, out of the agents' reach (their jobs live on)
                checker = box.check if merge_box else box.judging_check
                builder = Builder(config, sessions, store, ledger, reporter, SystemClock(), checker, prompts,
                                  merge_box.check if merge_box else None,
                                  box.protect_project if merge_box else None)
                return await builder.run()


@contextlib.contextmanager
def warmup_model(config: BuildConfig, options: ServerOptions) -> Iterator[str | None]:
    """``--workers`` on a server autocode starts: a local, free model (``agent.scripted_model``,
    :func:`warmup_scenario`) for the worker dirs' warm-up prompts (``warm_worker_dirs``); its
    URL, or None."""
    if config.workers <= 1 or options.server_url:
        yield None
        return
    with ScriptedModelServer(warmup_scenario()) as model:
        yield model.url


def warmup_scenario() -> Scenario:
    """The warm-up model's replies: to a warm-up prompt, one :data:`WARMUP_COMMAND` bash call, then
    "ready"; to anything else (no agent is pinned to it), "ready". No tokens counted."""
    call = Step(tool="bash", args={"command": WARMUP_COMMAND, "description": "autocode warm-up"})
    script = Script(name="warm-up", match=re.escape(WARMUP_PROMPT), steps=[call, Step(text="ready")])
    return Scenario(usage=Usage(prompt_tokens=0, completion_tokens=0), fallback=Step(text="ready"),
                    scripts=[script])


@contextlib.asynccontextmanager
async def warming_workers(sessions: SupervisedSessions, config: BuildConfig,
                          warmup: str | None) -> AsyncIterator[None]:
    """The worker dirs warmed (``warm_worker_dirs``) from the server's start on, beside the
    preflight and the initializer; whatever is left is cancelled when the build ends."""
    assert sessions.client is not None
    warming = asyncio.create_task(warm_worker_dirs(sessions.client, config,
                                                   WARMUP_MODEL if warmup else None))
    try:
        yield
    finally:
        warming.cancel()


async def warm_worker_dirs(client: OpenCodeClient, config: BuildConfig, model: ModelRef | None) -> None:
    """``--workers``: what OpenCode makes for a directory at its first prompt, made for every
    worker dir from the server's start on, beside the preflight and the initializer session: the
    instance (a v1 request), then one prompt answered by ``model`` (``warmup_model``: local, free;
    the session is deleted afterwards), which boots the dir's services (tools, file watcher,
    project copies, location services: about 1.8 s of the server's one thread per dir, one dir
    after the other, on a quiet machine). The services are the ones the workers' first prompts use:
    OpenCode keeps them per directory, and a worker's tree is always the same directory (emptied, never
    replaced), still empty here on a fresh build, a checkout on a resumed one; the boot a prompt
    made in an empty dir is not made again once the dir is a checkout (measured). Measured against
    OpenCode 1.18.33 (``scripts/bench_workers.py``, 4 workers, 8 features x 3 steps at 1 s, load
    about 1): from ``initialized`` until every worker's first step 12.8 s -> 2.2-3.4 s, coding
    24.5 s -> 10.4-11.9 s (10 steps: 36.4 s -> 27.5-28.7 s); in a diagnostic run (load 2.5)
    the last warm-up prompt ended 8.9 s before ``initialized`` and no worker dir was booted again
    at its first prompt (the server log). The prompt's one bash call (``pwd``, allowed by the
    warm-up session's own rule) takes the path each worker's first command takes (the bash tool
    in that dir, the server's SHELL, the worker's command sandbox): without it, the first wave's
    first command took 0.4-1.0 s from its permission to its result instead of 0.1-0.2 s, and
    coding took 10.6 s on average instead of 10.3 s (4 runs each, 4 workers, 8 x 3 steps).
    Tried and dropped: a v2 read (``GET /api/agent``) boots a services map of the HTTP API that
    the prompt loop does not use (booted again at the first prompt); a prompt that fails (an
    unknown model), ``noReply`` and a ``/shell`` call leave it unbooted; making the repository's
    root commit and the trees before the server starts, so that each dir is warmed as the
    checkout it becomes, made no difference to the prompt warm-up (coding time 10.0-11.0 s
    either way, two runs each). Without ``model`` (an attached server, whose config is not
    autocode's) only the instance is made. Best effort: a failed request only leaves that dir to
    its first prompt."""
    dirs = worker_dirs(config.project_dir, config.workers) if config.workers > 1 else []
    await asyncio.gather(*(client.warm(d, model) for d in dirs if d.is_dir()), return_exceptions=True)


def worktrees_dir(config: BuildConfig) -> list[Path]:
    """``--workers N``: the dir of the workers' worktrees and one empty dir per worker (made now:
    the server's sandbox binds the first, each worker's command sandbox its own tree)."""
    if config.workers <= 1:
        return []
    path = worktrees_base(config.project_dir)
    path.mkdir(mode=0o700, exist_ok=True)
    for tree in worker_dirs(config.project_dir, config.workers):
        tree.mkdir(mode=0o700, exist_ok=True)
    return [path]


@contextlib.contextmanager
def worker_sandboxes(config: BuildConfig, box_config: SandboxConfig, store: StateStore,
                     box: CommandSandbox) -> Iterator[list[CommandSandbox]]:
    """``--workers N``: one command sandbox per worker, rooted at its tree. There only that tree
    (and a private ``/tmp``) is writable; autocode's state dir (every sibling's tree, the
    integration tree, the server's dirs) is an empty tmpfs, main's checkout too (its ``.git``
    stays readable for the tree's git). ``box`` (the server's ``SHELL``) sends each command to the
    sandbox of the worker whose tree holds its working directory."""
    if config.workers <= 1:
        yield []
        return
    project = config.project_dir.resolve()
    with contextlib.ExitStack() as stack:
        boxes = []
        for tree in worker_dirs(project, config.workers):
            boxes.append(stack.enter_context(worker_sandbox(box_config, project, user_state_dir(project),
                                                            tree, store.record_denied)))
            box.route(tree, boxes[-1])
        yield boxes


def worker_sandbox(box_config: SandboxConfig, project: Path, state: Path, tree: Path,
                   record: Record) -> CommandSandbox:
    """The command sandbox of the worker whose tree is ``tree`` (under ``state``, hidden around it)."""
    return CommandSandbox(box_config, tree, record, covered=[state, project],
                          readable=[checked_git_dir(project)])


@contextlib.contextmanager
def integration_sandbox(config: BuildConfig, box_config: SandboxConfig,
                        store: StateStore) -> Iterator[CommandSandbox | None]:
    """``--workers N``: a second command sandbox for the merge queue's checks, rooted at the
    integration tree (the agents' sandbox sees that tree read-only: no session can change a
    worker's work while it is verified)."""
    if config.workers <= 1:
        yield None
        return
    root = integration_base(config.project_dir)
    root.mkdir(mode=0o700, exist_ok=True)
    with CommandSandbox(box_config, root, store.record_denied,
                        hidden=[store.server_dir, store.root]) as box:
        yield box


def uncontained(options: ServerOptions, box: CommandSandbox) -> list[str]:
    """What this run does not contain, in plain words (the live view shows each as a warning)."""
    gaps = box.describe()
    if options.server_url:
        gaps.append("attached server (--server-url): the agent's commands run wherever that server runs, "
                    "outside autocode's command sandbox (checks are still sandboxed)")
    elif resolve_mode(options.sandbox) == "none":
        gaps.append("no OS sandbox around the OpenCode server: only the command policy guards its tools")
    return gaps
