"""Fakes for the loop's seams (``ports.Clock`` and ``Reporter``, the loop's ``Sessions``, the
checker) for unit tests without a server or a sandbox (git in a temp dir is fine); the fake
``OpenCodeAPI`` is ``tests/fake_opencode.py``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.baseline import Baseline
from agent.build_events import BuildEvent
from agent.cost import Ledger
from agent.errors import StopReason
from agent.features import FEATURE_FILE, parse_features
from agent.git import Git
from agent.opencode.events import (
    ErrorInfo,
)
from agent.session_types import SessionCancelled, SessionRequest, SessionResult
from agent.state import StateStore
from agent.verify import CheckResult

# ---- the clock and the reporter --------------------------------------------------------------


class FakeClock:
    """Time moves only when someone sleeps (``slept`` lists every wait, in seconds)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class RecordingReporter:
    """Keeps every event, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, event: BuildEvent) -> None:
        self.events.append((event.event, event.fields()))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def named(self, name: str) -> list[dict[str, Any]]:
        return [data for event, data in self.events if event == name]


# ---- the checker -----------------------------------------------------------------------------


class FakeChecker:
    """A checker (``command, cwd, timeout → CheckResult``): ``rule`` decides, default every check passes."""

    def __init__(self, rule: Callable[[str, Path], bool] | None = None) -> None:
        self.rule = rule or (lambda command, cwd: True)
        self.calls: list[str] = []

    def __call__(self, command: str, cwd: Path, timeout: float) -> CheckResult:
        self.calls.append(command)
        ok = self.rule(command, cwd)
        return CheckResult(command=command, ok=ok, exit_code=0 if ok else 1,
                           output="" if ok else f"{command}: FAILED", duration_s=0.0)


# ---- the loop's sessions ---------------------------------------------------------------------


class Turn(BaseModel):
    """One scripted session, as an agent would leave the project."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    features: list[dict[str, Any]] | None = Field(default=None, description="written as the feature list")
    test_cmd: str | None = Field(default=None, description="written to init.sh (with features)")
    mark: bool = Field(default=True, description="mark the requested feature passing")
    also_mark: list[int] = Field(default_factory=list, description="other features marked passing")
    files: dict[str, str | None] = Field(default_factory=dict, description="written (None: deleted)")
    cost: float = Field(default=0.01, description="charged to the ledger, USD")
    stop: str = "idle"
    error: ErrorInfo | None = None
    raises: StopReason | None = Field(default=None, description="a build-level stop, raised with the result")
    fails: StopReason | None = Field(default=None, description="raised before the session ran (no result)")
    hold: bool = Field(default=False, description="run until cancelled (then SessionCancelled)")


class FakeSessions:
    """The loop's ``Sessions``: plays ``turns`` in order, then ``Turn()`` (marks the feature) for ever."""

    def __init__(self, ledger: Ledger, turns: list[Turn] | None = None, recovered: float = 0.0) -> None:
        self.ledger, self.turns, self.recovered = ledger, list(turns or []), recovered
        self.requests: list[SessionRequest] = []
        self.drives: list[str] = []
        self.recovers: list[tuple[Path, float, int | None]] = []
        self.released: list[tuple[Path, int]] = []  # (directory, sessions run before)
        self.started = asyncio.Event()

    async def run(self, request: SessionRequest) -> SessionResult:
        self.requests.append(request)
        return await self._play(f"ses_{len(self.requests)}", request)

    async def drive(self, session_id: str, request: SessionRequest) -> SessionResult:
        self.requests.append(request)
        self.drives.append(session_id)
        return await self._play(session_id, request)

    async def recover(self, directory: Path, since: float, feature: int | None) -> float:
        self.recovers.append((directory, since, feature))
        return self.recovered

    async def release(self, directory: Path) -> None:
        self.released.append((directory, len(self.requests)))

    async def _play(self, sid: str, request: SessionRequest) -> SessionResult:
        turn = self.turns.pop(0) if self.turns else Turn()
        if turn.fails is not None:
            raise turn.fails
        self.ledger.observe(message_id=f"msg_{sid}_{len(self.requests)}", session_id=sid, root_session_id=sid,
                            cost=turn.cost, tokens={}, model="p/m", feature=request.feature, now=0.0)
        self.started.set()
        if turn.hold:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:  # as the runner: aborted, counted, then cancelled on
                raise SessionCancelled(SessionResult(session_id=sid, cost=turn.cost, stop="interrupted",
                                                     stop_message="interrupted")) from None
        _act(turn, request)
        result = SessionResult(session_id=sid, cost=turn.cost, turns=1, stop=turn.raises.kind if turn.raises
                               else turn.stop, stop_message=str(turn.raises or ""), error=turn.error)
        if turn.raises is not None:
            turn.raises.result = result
            raise turn.raises
        return result


def _act(turn: Turn, request: SessionRequest) -> None:
    directory = request.directory
    for name, text in turn.files.items():
        path = directory / name
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if turn.features is not None:
        (directory / FEATURE_FILE).write_text(json.dumps(turn.features))
        (directory / "init.sh").write_text(f"#!/bin/sh\n# autocode-test: {turn.test_cmd or 'true'}\n")
        return
    marks = ([request.feature] if turn.mark and request.feature is not None else []) + turn.also_mark
    if marks:
        path = directory / FEATURE_FILE
        features = json.loads(path.read_text())
        for index in marks:
            features[index]["passes"] = True
        path.write_text(json.dumps(features))


class Project:
    """A project as its initializer leaves it: git (``.autocode/`` ignored), the feature list saved
    as the baseline and in the tree (commit it after adding files)."""

    def __init__(self, project: Path, feature_list: list[dict[str, Any]]) -> None:
        self.project = project
        project.mkdir(parents=True)
        (project / "app_spec.txt").write_text("spec\n")
        self.store = StateStore(project)
        self.store.ensure()
        self.git = Git(project, self.store.root)
        self.git.init()
        self.git.ignore(".autocode/")
        self.baseline = Baseline(self.store)
        self.baseline.save(parse_features(json.dumps(feature_list)), project)


def features(*names: str, verify: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """A feature list as the initializer writes it (``verify``: index → the feature's own check)."""
    return [{"category": "functional", "description": name, "steps": ["works"], "passes": False,
             **({"verify": (verify or {})[i]} if i in (verify or {}) else {})} for i, name in enumerate(names)]
