"""The composition root: builds the real collaborators (server, client, gate, runner) for a run.

Everything the build loop and the harness use is constructed here and passed in, so the loop
itself stays free of httpx, rich and subprocess details.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import BaseModel, Field

from agent.build import Builder, BuildConfig
from agent.cost import Ledger, Limits
from agent.errors import UsageError
from agent.gate import PolicyGate
from agent.opencode.client import OpenCodeClient
from agent.opencode.config import CustomProvider, generate_config
from agent.opencode.server import AttachedServer, OpenCodeServer, ServerSettings
from agent.ports import Reporter, SystemClock
from agent.prompts import PromptBook
from agent.providers import ModelRef, parse_model
from agent.security import SecurityConfig
from agent.session import SessionRunner
from agent.state import BuildState, StateStore
from agent.verify import run_check


class ServerOptions(BaseModel):
    """Which model and which OpenCode server a run uses."""

    model: str = Field(description="provider/model, pinned for every request")
    small_model: str | None = Field(default=None, description="explicit cheap model for titles etc.")
    base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint for the model")
    api_key_env: str | None = Field(default=None, description="env var with that endpoint's key")
    price_in: float | None = Field(default=None, ge=0, description="USD per 1M input tokens")
    price_out: float | None = Field(default=None, ge=0, description="USD per 1M output tokens")
    server_url: str | None = Field(default=None, description="attach to this running server")
    server_password: str | None = Field(default=None, description="its password, if any")
    opencode_bin: str | None = Field(default=None, description="OpenCode binary (default: found)")
    env: dict[str, str] = Field(default_factory=dict, description="extra env for the server")
    startup_timeout: float = Field(default=60.0, gt=0, description="seconds for the server to start")

    def pinned(self) -> ModelRef:
        return parse_model(self.model)

    def allowed_models(self) -> frozenset[str]:
        names = {str(self.pinned())}
        if self.small_model:
            names.add(str(parse_model(self.small_model)))
        return frozenset(names)


def opencode_config(options: ServerOptions, allow_network: bool = False) -> dict[str, object]:
    model = options.pinned()
    small = parse_model(options.small_model) if options.small_model else None
    provider = None
    if options.base_url:
        provider = CustomProvider(base_url=options.base_url, api_key_env=options.api_key_env,
                                  price_in=options.price_in, price_out=options.price_out)
    elif options.price_in is not None or options.price_out is not None:
        raise UsageError("--price-in/--price-out need --base-url (built-in providers are priced by "
                         "OpenCode's catalog)")
    return generate_config(model, small, provider, allow_network=allow_network)


def make_server(options: ServerOptions, state_dir: Path, cwd: Path,
                allow_network: bool = False) -> OpenCodeServer | AttachedServer:
    if options.server_url:
        return AttachedServer(options.server_url, options.server_password)
    settings = ServerSettings(state_dir=state_dir, config=opencode_config(options, allow_network),
                              opencode_bin=options.opencode_bin, cwd=cwd, env=options.env,
                              startup_timeout=options.startup_timeout)
    return OpenCodeServer(settings)


@contextlib.asynccontextmanager
async def connected(server: OpenCodeServer | AttachedServer) -> AsyncIterator[OpenCodeClient]:
    """Start (or check) the server in a thread, then yield a client; stop it on the way out."""
    await asyncio.to_thread(server.start)
    client = OpenCodeClient(server.url, server.password)
    try:
        yield client
    finally:
        await client.aclose()
        server.stop()


async def run_build(config: BuildConfig, options: ServerOptions, security: SecurityConfig,
                    reporter: Reporter, prompts_dir: Path | None = None) -> BuildState:
    """One `autocode build`: lock, server, session runner, builder. Raises its stop reason."""
    store = StateStore(config.project_dir)
    prompts = PromptBook([d for d in (prompts_dir, store.prompts_dir) if d is not None])
    prompts.validate()
    with store.locked():
        ledger = Ledger(store.cost_path)
        gate = PolicyGate(security, store.record_denied, home=Path.home())
        server = make_server(options, store.server_dir, config.project_dir, security.allow_network)
        reporter.emit("build_started", project=str(config.project_dir), model=options.model,
                      server=options.server_url or "supervised", pid=os.getpid())
        async with connected(server) as client:
            runner = SessionRunner(client, options.pinned(), ledger, config.limits, gate, reporter,
                                   SystemClock(), options.allowed_models())
            builder = Builder(config, runner, store, ledger, reporter, SystemClock(), run_check, prompts)
            return await builder.run()
