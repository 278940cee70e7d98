"""Fixtures for end-to-end tests: the real OpenCode server against the scripted model server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.build_events import BuildEvent
from agent.opencode.config import CustomProvider, generate_config
from agent.opencode.install import find_opencode
from agent.opencode.server import OpenCodeServer, ServerSettings
from agent.providers import ModelRef, parse_model
from agent.sandbox import sandbox_env, server_wrap
from agent.scripted_model import Scenario, ScriptedModelServer, read_log

LEAN_PYTEST = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"


@pytest.fixture(autouse=True)
def _lean_project_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generated apps' own pytest runs (checks, test-id listings) start without autoloaded
    plugins. autocode's Python is first on the commands' PATH, and this venv carries the suite's
    plugins (hypothesis, xdist, timeout): loading them made each run of a five-test app take 3.6 s
    instead of about 1 s here. The variable reaches the commands as a user's would: named in
    ``AUTOCODE_SANDBOX_ENV`` (``run_direct`` names it in its ``ServerOptions``)."""
    monkeypatch.setenv(LEAN_PYTEST, "1")
    monkeypatch.setenv("AUTOCODE_SANDBOX_ENV", LEAN_PYTEST)


@pytest.fixture(autouse=True)
def _needs_opencode() -> None:
    try:
        find_opencode()
    except Exception as exc:  # the whole e2e suite needs the binary
        pytest.fail(f"OpenCode binary missing ({exc}); run bash scripts/setup.sh")


class ScriptedModel:
    """A running scripted model server plus helpers to read what it was asked."""

    def __init__(self, server: ScriptedModelServer, log: Path) -> None:
        self.server = server
        self.log = log

    @property
    def url(self) -> str:
        return self.server.url

    def set(self, scenario: dict[str, Any]) -> None:
        self.server.scenario = Scenario.model_validate(scenario)

    def requests(self) -> list[dict[str, Any]]:
        return read_log(self.log)

    def models(self) -> set[str]:
        return {r["model"] for r in self.requests()}


@pytest.fixture
def scripted(tmp_path: Path) -> Iterator[ScriptedModel]:
    log = tmp_path / "model-requests.jsonl"
    server = ScriptedModelServer(Scenario.model_validate({"scripts": []}), log)
    with server:
        yield ScriptedModel(server, log)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path.resolve()


ServerFactory = Callable[..., OpenCodeServer]


@pytest.fixture
def opencode(tmp_path: Path, scripted: ScriptedModel, project: Path) -> Iterator[ServerFactory]:
    """Start real OpenCode servers pointed at the scripted model; all stopped at teardown."""
    started: list[OpenCodeServer] = []

    def start(model: str = "scripted/model-a", *, price_in: float | None = None,
              price_out: float | None = None, extra_config: dict[str, Any] | None = None,
              env: dict[str, str] | None = None, cwd: Path | None = None,
              prices: dict[str, float] | None = None) -> OpenCodeServer:
        ref: ModelRef = parse_model(model)
        provider = CustomProvider(base_url=scripted.url, price_in=price_in, price_out=price_out,
                                  **(prices or {}))
        config = generate_config(ref, provider=provider)
        config.update(extra_config or {})
        state = tmp_path / f"server-{len(started)}"
        wrap = server_wrap("auto", project, state, find_opencode())  # sandboxed wherever bwrap works
        server_env = {**(sandbox_env(state) if wrap else {}), **(env or {})}
        server = OpenCodeServer(ServerSettings(state_dir=state, config=config, env=server_env,
                                               cwd=cwd or project, wrap=wrap))
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2))


class EventLog:
    """A reporter that keeps every event (tests assert on the story a build tells)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, event: BuildEvent) -> None:
        self.events.append((event.event, event.fields()))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [data for event, data in self.events if event == name]


def build_args(project: Path, scripted: ScriptedModel, model: str = "scripted/model-a",
               spec_text: str | None = None, **extra: Any) -> list[str]:
    """Arguments for `autocode build` against the scripted model."""
    if spec_text is not None:
        (project / "app_spec.txt").write_text(spec_text)
    args = ["build", "--project-dir", str(project), "--model", model, "--base-url", scripted.url]
    for key, value in extra.items():
        flag = "--" + key.replace("_", "-")
        args += [flag] if value is True else [flag, str(value)]
    return args


def run_direct(project: Path, scripted: ScriptedModel, *, spec_text: str = "spec",
               limits: dict[str, Any] | None = None, price_in: float | None = None,
               price_out: float | None = None, server: dict[str, Any] | None = None,
               **config: Any) -> tuple[EventLog, BaseException | None]:
    """`autocode build` in-process through runtime.run_build, returning its events and stop."""
    import asyncio

    from agent.build import BuildConfig
    from agent.cost import Limits
    from agent.runtime import ServerOptions, run_build
    from agent.security import SecurityConfig

    (project / "app_spec.txt").write_text(spec_text)
    options = ServerOptions(model="scripted/model-a", base_url=scripted.url, price_in=price_in,
                            price_out=price_out, **{"sandbox_env": [LEAN_PYTEST], **(server or {})})
    build = BuildConfig(project_dir=project, model="scripted/model-a",
                        limits=Limits(**(limits or {})), **config)
    events = EventLog()
    try:
        asyncio.run(run_build(build, options, SecurityConfig(), events))
    except BaseException as exc:  # the stop reason is the result
        return events, exc
    return events, None


def mark_command(index: int, extra: str = "") -> str:
    """A bash command that runs ``extra`` and then marks feature ``index`` passing, as an agent would."""
    return (f"{extra}python3 -c \"import json; p='feature_list.json'; d=json.load(open(p)); "
            f"d[{index}]['passes']=True; open(p,'w').write(json.dumps(d))\"")


def feature_steps(index: int, extra: str = "touch done.txt && ") -> list[dict[str, Any]]:
    """A session that marks feature ``index`` passing (after running ``extra``)."""
    return [{"tool": "bash", "args": {"command": mark_command(index, extra), "description": "mark"}},
            {"text": "done"}]


def init_script(features: list[dict[str, Any]], test_cmd: str = "true") -> dict[str, Any]:
    from agent.demo import initializer_script

    return initializer_script(features, f"#!/bin/sh\n# autocode-test: {test_cmd}\n", name="init")


def simple_features(*names: str) -> list[dict[str, Any]]:
    return [{"category": "functional", "description": name, "steps": ["works"], "passes": False}
            for name in names]
