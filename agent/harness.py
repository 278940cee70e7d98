"""The Python API: run OpenCode from your own agent loops, with autocode's guard rails.

    from agent.harness import run
    result = run("Add a /health endpoint", model="openrouter/qwen/qwen3-coder", cwd="./repo",
                 max_turns=30, max_budget_usd=0.50)

The same model guard, security policy and limits as ``autocode build`` apply. ``Harness`` keeps one
supervised OpenCode server for many runs (a context manager, sync or async), so a loop does not pay
the server start for every call. ``record=True`` sends every model request through the recording
proxy (as ``autocode build --record``) into ``PROJECT/.autocode/recordings/``. ``schema`` (a
pydantic model class, or ``list[Model]``) asks the agent for JSON; the answer is taken from the
output file if the agent wrote one, else from its final message (a fenced block or bare JSON),
trivial damage is repaired, and only when neither validates is the same session re-prompted with
the exact validation error.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import shutil
import tempfile
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, TypeAdapter

from agent.contain import CommandSandbox
from agent.cost import Ledger, Limits
from agent.errors import BudgetExceeded, SessionLimit, StopReason, UsageError
from agent.gate import PolicyGate
from agent.opencode.client import OpenCodeClient
from agent.opencode.server import AttachedServer, OpenCodeServer
from agent.output import Source, StructuredOutputError, fix_prompt, instructions, read_output, schema_adapter
from agent.ports import NullReporter, Reporter, SystemClock
from agent.runtime import ServerOptions, make_server, preflight, recorded, sandbox_config
from agent.sandbox import SandboxMode
from agent.security import SecurityConfig, load_security_config
from agent.session import SessionRunner
from agent.session_types import SessionRequest, SessionResult
from agent.state import atomic_write

T = TypeVar("T", bound=BaseModel)
OUTPUT_FILE = ".autocode-output.json"


class RunResult(BaseModel, Generic[T]):
    """What one run did. ``output`` is an instance of ``schema`` when one was given."""

    text: str = Field(description="the agent's final text")
    output: T | None = Field(default=None, description="the validated structured output")
    output_source: Source | None = Field(default=None, description="where it came from: file or text")
    cost: float = Field(description="USD, every step of the run (children included)")
    tokens: dict[str, int] = Field(description="input/output/reasoning/cache tokens")
    turns: int = Field(description="model steps")
    session_id: str
    models: list[str] = Field(description="the models that actually answered")
    files_changed: list[str] = Field(description="paths relative to the project directory")
    stop_reason: str = Field(description="completed, max_turns, budget, session_budget, timeouts, error")
    stop_message: str = ""
    denied: list[dict[str, Any]] = Field(default_factory=list, description="refused commands/paths")


def _snapshot(root: Path, limit: int = 20_000) -> dict[str, tuple[int, int]]:
    seen: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in (".git", ".autocode", "node_modules", ".venv")]
        for name in filenames:
            path = Path(dirpath) / name
            try:
                st = path.stat()
            except OSError:
                continue
            seen[str(path.relative_to(root))] = (st.st_mtime_ns, st.st_size)
            if len(seen) >= limit:
                return seen
    return seen


def _changed(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p) and p != OUTPUT_FILE)


class Harness:
    """One supervised (or attached) OpenCode server for many runs with one pinned model."""

    def __init__(self, model: str, *, base_url: str | None = None, api_key_env: str | None = None,
                 price_in: float | None = None, price_out: float | None = None,
                 env: Mapping[str, str] | None = None, opencode_bin: str | None = None,
                 server_url: str | None = None, server_password: str | None = None,
                 security: SecurityConfig | None = None, reporter: Reporter | None = None,
                 cwd: str | Path | None = None, project_dir: str | Path | None = None,
                 sandbox: SandboxMode = "auto", record: bool = False) -> None:
        self.options = ServerOptions(model=model, base_url=base_url, api_key_env=api_key_env,
                                     price_in=price_in, price_out=price_out, server_url=server_url,
                                     server_password=server_password,
                                     opencode_bin=None if opencode_bin in (None, "opencode") else opencode_bin,
                                     env=dict(env or {}), sandbox=sandbox, record=record)
        self.options.pinned()
        if record and server_url:
            raise UsageError("record=True needs autocode's own server: an attached server (server_url) "
                             "sends model requests with its own provider config, past the recording proxy")
        self.security = security
        self.reporter = reporter or NullReporter()
        self._state_dir = Path(tempfile.mkdtemp(prefix="autocode-harness-"))
        self._cwd = Path(cwd or os.getcwd()).resolve()
        self._root = Path(project_dir).resolve() if project_dir else self._cwd  # writable in the sandbox
        self._server: OpenCodeServer | AttachedServer | None = None
        self._client: OpenCodeClient | None = None
        self._box: CommandSandbox | None = None
        self._recording = contextlib.ExitStack()  # the recording proxy, with record=True
        self._egress_denied: list[dict[str, Any]] = []  # refusals of the egress proxy, every run
        self._checked = False
        self.priced = True  # after the first run: False when the model has no prices (cost reads $0)

    # ---- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Harness:
        try:
            self._box = CommandSandbox(sandbox_config(self.options), self._root, self._egress_denied.append,
                                       hidden=[self._state_dir])
            self._box.start()
            routed = self._recording.enter_context(recorded(self.options, self._root))
            self._server = make_server(routed, self._state_dir, self._root, box=self._box)
            await asyncio.to_thread(self._server.start)
        except BaseException:
            await self.aclose()  # nothing left running: sandbox, recording proxy, server
            raise
        self._client = OpenCodeClient(self._server.url, self._server.password)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._server is not None:
            await asyncio.to_thread(self._server.stop)
            self._server = None
        if self._box is not None:
            self._box.stop()
            self._box = None
        self._recording.close()
        shutil.rmtree(self._state_dir, ignore_errors=True)

    # ---- one run --------------------------------------------------------------------------------

    async def arun(self, prompt: str, *, cwd: str | Path | None = None, project_dir: str | Path | None = None,
                   max_turns: int = 30, max_budget_usd: float | None = None, system_prompt: str | None = None,
                   schema: Any = None, session_timeout: float = 0.0, idle_timeout: float = 300.0,
                   output_retries: int = 2, title: str | None = None) -> RunResult[Any]:
        adapter = schema_adapter(schema) if schema is not None else None
        if self._client is None:
            raise UsageError("Harness is not started: use `async with Harness(...)` or run()")
        out_dir = Path(cwd or self._cwd).resolve()
        directory = Path(project_dir).resolve() if project_dir else out_dir
        if not directory.is_dir():
            raise UsageError(f"{directory} is not a directory")
        if directory != self._root and self._root not in directory.parents:
            raise UsageError(f"{directory} is outside this Harness's project {self._root}: "
                             "pass project_dir= to Harness(...) (the sandbox makes only it writable)")
        if not self._checked:
            info = await preflight(self._client, self.options, directory, free_only=False)
            self.priced = info.priced or info.free
            self._checked = True
        limits = Limits(max_turns=max_turns, max_budget_usd=max_budget_usd or 0.0,
                        session_timeout=session_timeout, idle_timeout=idle_timeout)
        denied: list[dict[str, Any]] = []
        egress_seen = len(self._egress_denied)
        gate = PolicyGate(self.security or load_security_config(directory), denied.append, home=Path.home())
        ledger = Ledger()
        runner = SessionRunner(self._client, self.options.pinned(), ledger, limits, gate, self.reporter,
                               SystemClock(), self.options.allowed_models())
        full_prompt = prompt + (instructions(adapter, OUTPUT_FILE) if adapter is not None else "")
        (directory / OUTPUT_FILE).unlink(missing_ok=True)
        before = _snapshot(directory)
        request = SessionRequest(directory=directory, title=title or "autocode harness run",
                                 prompt=full_prompt, system=system_prompt)
        result, halt = await _ran(runner.run(request))
        denied += self._egress_denied[egress_seen:]
        output, source = None, None
        if adapter is not None and result.stop == "idle":
            result, halt, output, source = await self._structured(runner, request, result, adapter,
                                                                  output_retries)
        if halt is not None and not _resumable(halt):
            raise halt
        run = RunResult[Any](text=result.text, output=output, output_source=source, cost=ledger.total,
                             tokens=dict(ledger.tokens),
                             turns=result.turns, session_id=result.session_id, models=result.models,
                             files_changed=_changed(before, _snapshot(directory)),
                             stop_reason="completed" if result.stop == "idle" else result.stop,
                             stop_message=result.stop_message, denied=denied)
        (directory / OUTPUT_FILE).unlink(missing_ok=True)
        atomic_write(out_dir / ".autocode" / "runs" / f"{result.session_id}.json",
                     run.model_dump_json(indent=2))
        return run

    async def _structured(self, runner: SessionRunner, request: SessionRequest, result: SessionResult,
                          adapter: TypeAdapter[Any], retries: int
                          ) -> tuple[SessionResult, StopReason | None, Any, Source]:
        """The answer from the file or the final text; re-prompt only when neither validates."""
        path = request.directory / OUTPUT_FILE
        halt: StopReason | None = None
        for attempt in range(1, retries + 2):
            output, source, problem = read_output(path, result.text, adapter)
            if output is not None and source is not None:
                return result, halt, output, source
            if attempt > retries or result.stop != "idle":
                break
            fix = request.model_copy(update={"prompt": fix_prompt(problem, OUTPUT_FILE, attempt, retries)})
            result, halt = await _ran(runner.drive(result.session_id, fix))
        raise StructuredOutputError(f"structured output invalid after {retries} re-prompts: {problem}")

    def run(self, prompt: str, **kwargs: Any) -> RunResult[Any]:
        """Synchronous one-off: start a server, run, stop it (use ``arun`` to share a server)."""
        async def once() -> RunResult[Any]:
            async with self:
                return await self.arun(prompt, **kwargs)

        return asyncio.run(once())


async def _ran(session: Awaitable[SessionResult]) -> tuple[SessionResult, StopReason | None]:
    """A session's result, and the stop reason it ended with (raised by the runner with the result)."""
    try:
        return await session, None
    except StopReason as stop:
        if stop.result is None:
            raise
        return stop.result, stop


def _resumable(stop: StopReason) -> bool:
    """Limits end a run with a stop reason; anything else (model mismatch, auth...) is raised."""
    return isinstance(stop, SessionLimit | BudgetExceeded)


def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The options for the server (``Harness(...)``) and those for the run (``arun``)."""
    harness_keys = set(inspect.signature(Harness.__init__).parameters) - {"self", "model", "cwd", "project_dir"}
    return ({k: v for k, v in kwargs.items() if k in harness_keys},
            {k: v for k, v in kwargs.items() if k not in harness_keys})


async def arun(prompt: str, *, model: str, cwd: str | Path | None = None, **kwargs: Any) -> RunResult[Any]:
    """One run with its own server (async). Options as :meth:`Harness.arun` plus the server's."""
    if kwargs.get("schema") is not None:
        schema_adapter(kwargs["schema"])  # a wrong schema is a TypeError before any server starts
    server_kwargs, run_kwargs = _split(kwargs)
    async with Harness(model, cwd=cwd, project_dir=run_kwargs.get("project_dir"), **server_kwargs) as harness:
        return await harness.arun(prompt, cwd=cwd, **run_kwargs)


def run(prompt: str, *, model: str, cwd: str | Path | None = None, project_dir: str | Path | None = None,
        max_turns: int = 30, max_budget_usd: float | None = None, env: Mapping[str, str] | None = None,
        system_prompt: str | None = None, schema: Any = None,
        opencode_bin: str = "opencode", server_url: str | None = None, base_url: str | None = None,
        **kwargs: Any) -> RunResult[Any]:
    """One run with its own server (sync). See the module docstring."""
    return asyncio.run(arun(prompt, model=model, cwd=cwd, project_dir=project_dir, max_turns=max_turns,
                            max_budget_usd=max_budget_usd, env=env, system_prompt=system_prompt,
                            schema=schema, opencode_bin=opencode_bin, server_url=server_url,
                            base_url=base_url, **kwargs))
