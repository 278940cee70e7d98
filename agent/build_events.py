"""The build's events: one small model per event, sent to the reporters (``ports.Reporter``).

Each model names its event in a fixed ``event`` field; reporters dispatch on the type
(``match event: case FeatureVerdict(): ...``). ``--json`` writes :meth:`BuildEvent.fields` after
``schema``, ``event`` and ``time``: exactly the fields the emitter set (a field left at its default
is absent from the line, as it always was), and ``worker`` only on a worker's event.
``autocode events-schema`` prints :func:`events_schema`, generated from these models.

Not to be confused with ``opencode/events.py``: the OpenCode server's SSE events.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter

from agent.forecast import Interval

JSON_SCHEMA_VERSION = 1
Outcome = Literal["accepted", "rejected", "not_done"]  # a feature's verdict


def _line_keys(schema: dict[str, JsonValue], cls: type[Any]) -> None:
    """The schema of one ``--json`` line: the JSON reporter puts ``schema`` and ``time`` around
    the event's fields, and ``event`` is always there."""
    props = schema.get("properties")
    required = schema.get("required") or []
    if not isinstance(props, dict) or "event" not in props or not isinstance(required, list):
        return
    event = props.pop("event")
    if isinstance(event, dict):
        event.pop("default", None)
    schema["properties"] = {
        "schema": {"const": JSON_SCHEMA_VERSION, "description": "the version of these lines"},
        "event": event,
        "time": {"type": "number", "description": "when it was written, epoch seconds"}, **props}
    schema["required"] = ["schema", "event", "time", *(r for r in required if r != "event")]


class BuildEvent(BaseModel):
    """What every build event has: its name."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_line_keys)

    event: str

    def fields(self) -> dict[str, Any]:
        """The fields as a ``--json`` line (and a transcript record) carries them, without ``event``:
        those the emitter set, with ``worker`` only when there is one."""
        data = self.model_dump(exclude_unset=True, exclude={"event"})
        if "worker" in data and data["worker"] is None:
            del data["worker"]
        return data


class SessionEvent(BuildEvent):
    """An event of one agent session (filed in its transcript)."""

    session: str = Field(description="the (root) OpenCode session id")


_WORKER = Field(default=None, description="the worker (--workers; absent on the serial path)")


# ---- the build -----------------------------------------------------------------------------------

class BuildStarted(BuildEvent):
    """The build begins (after any warnings about the project)."""

    event: Literal["build_started"] = "build_started"
    project: str
    model: str
    sandbox: str = Field(description="the OS sandbox in force: bwrap, none, external")
    server: str = Field(description="the OpenCode server's URL, or 'supervised'")
    pid: int = Field(description="autocode's process id")
    budget_usd: float = Field(description="--max-budget-usd (0: no limit)")
    spent_usd: float = Field(description="spent by earlier runs of this build")


class ServerReady(BuildEvent):
    """The OpenCode server answers (after each start or restart)."""

    event: Literal["server_ready"] = "server_ready"
    url: str
    version: str
    pid: int | None = Field(description="the server's process id (None: not started by autocode)")
    restarts: int


class ServerRestart(BuildEvent):
    """The OpenCode server failed and is restarted."""

    event: Literal["server_restart"] = "server_restart"
    attempt: int
    reason: str


class ModelInfoEvent(BuildEvent):
    """The model's prices per 1M tokens, when known."""

    event: Literal["model_info"] = "model_info"
    model: str
    price_in: float | None = Field(description="USD per 1M input tokens (None: unknown)")
    price_out: float | None = Field(description="USD per 1M output tokens (None: unknown)")
    priced: bool = Field(description="costs are real (false: shown as $0)")


class WarningEvent(BuildEvent):
    """Something people should know; the build goes on."""

    event: Literal["warning"] = "warning"
    message: str


class ErrorEvent(BuildEvent):
    """The build could not run (a usage, setup or spec error)."""

    event: Literal["error"] = "error"
    kind: str
    message: str
    exit_code: int


class Initialized(BuildEvent):
    """The initializer wrote a valid feature list."""

    event: Literal["initialized"] = "initialized"
    features: int = Field(description="how many features the list has")
    test_cmd: str | None = Field(description="the project's test command (None: none found)")


class FeatureListInvalid(BuildEvent):
    """The initializer's feature list is invalid; it is asked to fix it."""

    event: Literal["feature_list_invalid"] = "feature_list_invalid"
    problems: str
    attempt: int


class Resumed(BuildEvent):
    """A build continues where an earlier run stopped."""

    event: Literal["resumed"] = "resumed"
    passing: int
    total: int = Field(description="features in the list (0: not initialized yet)")
    spent_usd: float
    denied: int = Field(description="permission requests denied so far")
    sessions: int
    interrupted: int = Field(description="sessions cut off by a kill")
    recovered_usd: float = Field(description="spend of the interrupted sessions, counted now")


class FeatureStarted(BuildEvent):
    """A session begins on a feature (1-based)."""

    event: Literal["feature_started"] = "feature_started"
    feature: int
    total: int
    passing: int
    description: str
    attempt: int
    attempts: int = Field(description="attempts before the feature is skipped for this run")
    worker: int | None = _WORKER


class FeatureSkipped(BuildEvent):
    """A feature made no progress in its attempts: skipped for this run."""

    event: Literal["feature_skipped"] = "feature_skipped"
    feature: int
    attempts: int


class Stopped(BuildEvent):
    """The build ends (the last event)."""

    event: Literal["stopped"] = "stopped"
    reason: str = Field(description="the stop reason's kind (README: exit codes)")
    message: str
    exit_code: int
    passing: int
    cost_usd: float


class CostRecovered(BuildEvent):
    """After a crash: what the sessions started since ``since`` spent."""

    event: Literal["cost_recovered"] = "cost_recovered"
    usd: float
    since: float = Field(description="epoch seconds")


class ProviderBackoff(BuildEvent):
    """Sessions failed at the provider in a row: autocode waits before the next."""

    event: Literal["provider_backoff"] = "provider_backoff"
    seconds: float
    failures: int
    message: str


# ---- one session ---------------------------------------------------------------------------------

class SessionStarted(SessionEvent):
    """An agent session begins (``feature``: the 0-based index, None for the initializer)."""

    event: Literal["session_started"] = "session_started"
    title: str
    feature: int | None
    model: str
    prompt: str
    worker: int | None = _WORKER


class Prompt(SessionEvent):
    """A prompt sent to a session (the first, or a follow-up)."""

    event: Literal["prompt"] = "prompt"
    prompt: str


class StreamReconnect(SessionEvent):
    """The event stream was lost; autocode reconnects and catches up."""

    event: Literal["stream_reconnect"] = "stream_reconnect"
    reason: str


class ChildSession(SessionEvent):
    """The session started a sub-agent session."""

    event: Literal["child_session"] = "child_session"
    child: str


class Step(SessionEvent):
    """One model step was charged (``session`` is the session the step ran in)."""

    event: Literal["step"] = "step"
    cost: float = Field(description="USD of this step")
    total_usd: float = Field(description="USD of the whole build so far")
    session_usd: float = Field(description="USD of the root session so far")
    turns: int
    tokens: dict[str, int]


class Tool(SessionEvent):
    """A tool call changed state (running, completed, error)."""

    event: Literal["tool"] = "tool"
    tool: str
    status: str
    input: dict[str, Any]
    output: str = Field(description="the output's (or error's) last 2000 characters")


class Permission(SessionEvent):
    """A permission request and autocode's answer."""

    event: Literal["permission"] = "permission"
    permission: str
    patterns: list[str]
    allowed: bool
    reason: str
    rule: str


class ProviderRetry(SessionEvent):
    """OpenCode retries a failed model request."""

    event: Literal["provider_retry"] = "provider_retry"
    attempt: int
    message: str


class SessionErrorEvent(SessionEvent):
    """The session reported an error."""

    event: Literal["session_error"] = "session_error"
    name: str
    message: str
    status: int | None = Field(description="the HTTP status, when there was one")


class TextEvent(SessionEvent):
    """The agent's last words in a session."""

    event: Literal["text"] = "text"
    text: str


class SessionFinished(SessionEvent):
    """A session ended (``feature``: 1-based, None for the initializer)."""

    event: Literal["session_finished"] = "session_finished"
    feature: int | None
    stop: str = Field(description="idle, interrupted, error, or the limit that cut it short")
    message: str
    turns: int
    cost_usd: float
    duration_s: float
    worker: int | None = _WORKER


# ---- the verdict ---------------------------------------------------------------------------------

class IntegrityViolation(SessionEvent):
    """The agent changed the feature list beyond its marks: reverted."""

    event: Literal["integrity_violation"] = "integrity_violation"
    violations: list[str]
    worker: int | None = _WORKER


class CheckEvent(BuildEvent):
    """One check of a verdict (the feature's ``verify``, or the regression gate)."""

    event: Literal["check"] = "check"
    feature: int
    command: str | None = Field(description="None: no command to run")
    ok: bool
    output: str = Field(description="the output's last 1000 characters, or why nothing ran")
    duration_s: float | None = Field(default=None, description="absent when nothing ran")
    gate: bool = Field(default=False, description="the regression gate (the whole suite)")
    accepted_tests: list[str] = Field(default_factory=list,
                                      description="changed protected tests swapped back for the check")


class TestsCollected(BuildEvent):
    """The test ids collected on the session's tree."""

    __test__ = False  # not a pytest class
    event: Literal["tests_collected"] = "tests_collected"
    feature: int
    runner: str
    command: str | None
    ok: bool
    count: int
    before: int | None = Field(description="the count at the last acceptance")
    duration_s: float


class TestsRefused(BuildEvent):
    """Protected tests removed, emptied or weakened: refused and restored."""

    __test__ = False  # not a pytest class
    event: Literal["tests_refused"] = "tests_refused"
    feature: int
    refused: list[str]
    restored: list[str]
    claimed: bool = Field(description="the agent marked the feature done")
    ids: bool = Field(default=False, description="refused for collected test ids that are gone")


class Regression(BuildEvent):
    """The regression gate failed: the accepted features it belongs to."""

    event: Literal["regression"] = "regression"
    feature: int
    owners: list[int]
    restored: list[str]


class CheckRecord(BaseModel):
    """One check a verdict ran."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: str
    ok: bool
    gate: bool
    duration_s: float


class Gate(BaseModel):
    """The regression gate's result and time in a verdict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ok: bool
    duration_s: float


class FeatureVerdict(SessionEvent):
    """autocode's verdict on a feature, with its evidence (a worker's not-done verdict has none)."""

    event: Literal["feature_verdict"] = "feature_verdict"
    feature: int
    verdict: Outcome
    accepted: list[int] = Field(description="the features accepted by this verdict (1-based)")
    passing: int
    total: int
    violations: list[str]
    tests_refused: list[str]
    tests_changed: list[str]
    checks: list[CheckRecord] = Field(default_factory=list)
    gate: Gate | None = None
    tests_before: int | None = None
    tests_after: int | None = None
    test_runner: str | None = None
    listing_s: float | None = Field(default=None, description="seconds the test listing took")
    ids_refused: list[str] = Field(default_factory=list)
    regression_of: list[int] = Field(default_factory=list)
    regressed_restored: list[str] = Field(default_factory=list)
    worker: int | None = _WORKER


# ---- forecast ------------------------------------------------------------------------------------

class Forecast(BuildEvent):
    """After a verdict: the cost and time to finish, with 90% intervals."""

    event: Literal["forecast"] = "forecast"
    passing: int
    total: int
    spent_usd: float
    budget_usd: float
    remaining_usd: Interval
    total_usd: float
    total_low_usd: float
    total_high_usd: float
    per_feature_usd: float
    prior_usd: float | None
    remaining_s: Interval | None
    features_left: int


class BudgetWarning(BuildEvent):
    """The likely total passes the budget (once per crossing)."""

    event: Literal["budget_warning"] = "budget_warning"
    forecast_usd: float
    high_usd: float
    budget_usd: float
    spent_usd: float
    features_left: int
    message: str


# ---- workers and replay --------------------------------------------------------------------------

class MergeConflict(BuildEvent):
    """A worker's feature conflicts with main: back to the queue."""

    event: Literal["merge_conflict"] = "merge_conflict"
    worker: int
    feature: int
    files: list[str]


class Merged(BuildEvent):
    """A worker's feature was squashed onto main."""

    event: Literal["merged"] = "merged"
    worker: int
    feature: int
    commit: str


class ReplayDivergence(BuildEvent):
    """``autocode replay``: a request did not match the recording."""

    event: Literal["replay_divergence"] = "replay_divergence"
    session: int = Field(description="the recording's session number")
    step: int
    seq: int
    served: bool = Field(description="the recorded answer was served anyway")
    diff: str


AnyEvent = Annotated[
    BuildStarted | ServerReady | ServerRestart | ModelInfoEvent | WarningEvent | ErrorEvent | Initialized
    | FeatureListInvalid | Resumed | FeatureStarted | FeatureSkipped | Stopped | CostRecovered
    | ProviderBackoff | SessionStarted | Prompt | StreamReconnect | ChildSession | Step | Tool
    | Permission | ProviderRetry | SessionErrorEvent | TextEvent | SessionFinished
    | IntegrityViolation | CheckEvent | TestsCollected | TestsRefused | Regression | FeatureVerdict
    | Forecast | BudgetWarning | MergeConflict | Merged | ReplayDivergence,
    Field(discriminator="event")]


def parse_event(record: dict[str, Any]) -> BuildEvent:
    """An event from its JSON form (``event`` plus its fields; ``schema`` and ``time`` ignored)."""
    data = {k: v for k, v in record.items() if k not in ("schema", "time")}
    event: BuildEvent = TypeAdapter(AnyEvent).validate_python(data)
    return event


def events_schema() -> dict[str, Any]:
    """The JSON Schema of a ``--json`` line: one of the events, told apart by ``event``."""
    schema = TypeAdapter(AnyEvent).json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"autocode build --json line (schema {JSON_SCHEMA_VERSION})", **schema}
