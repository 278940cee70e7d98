"""Every way autocode stops, as one exception tree with one exit-code table.

    AutocodeError                      exit 1   unexpected / internal
    ├── UsageError                     exit 2   bad input, bad flags, missing setup
    │   ├── SetupError                          OpenCode/rg missing, wrong version
    │   ├── SpecError                           missing/empty/binary spec
    │   ├── LockedError                         another build holds the project lock
    │   └── FeatureListError                    feature_list.json invalid after retries
    ├── StopReason                              a build/run ended for a reason worth naming
    │   ├── BuildComplete              exit 0   every feature passes
    │   ├── LimitReached               exit 3   resumable: re-run (with a higher limit)
    │   │   ├── BudgetExceeded                  --max-budget-usd crossed
    │   │   ├── IterationLimit                  --max-iterations sessions run
    │   │   ├── NoProgress                      K sessions without progress on every feature left
    │   │   └── SessionLimit                    one session hit a per-session limit
    │   │       ├── TurnLimit                   --max-turns model steps
    │   │       ├── SessionBudgetExceeded       --max-session-usd
    │   │       ├── SessionTimeout              --session-timeout
    │   │       └── IdleTimeout                 --idle-timeout (no event for N s)
    │   ├── ModelMismatch              exit 4   the server used a model nobody asked for
    │   ├── CostNotFree                exit 4   --free-only and a step cost money
    │   ├── ProviderError              exit 5   model provider failed (auth, outage)
    │   │   └── AuthError                       401/403: check the API key, never retried
    │   ├── ServerFailure              exit 6   the OpenCode server died too often / unreachable
    │   ├── ReplayDiverged             exit 7   replay: a request did not match the recording
    │   └── Interrupted                exit 130 Ctrl-C / SIGTERM (state saved, resumable)

Session-level limits (``SessionLimit``) end one session; the build loop records them and goes
on with the next session. Everything else under ``StopReason`` ends the build; raised while a
session runs, it carries that session's result (``StopReason.result``), which the build records
before it stops (as ``SessionCancelled.result`` after Ctrl-C).
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.session_types import SessionResult


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    LIMIT = 3
    MODEL_MISMATCH = 4
    PROVIDER = 5
    SERVER = 6
    REPLAY_DIVERGED = 7
    INTERRUPTED = 130


class AutocodeError(Exception):
    """Base of every error autocode raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR
    kind: str = "error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message or self.__class__.__name__


class UsageError(AutocodeError):
    exit_code = ExitCode.USAGE
    kind = "usage"


class SetupError(UsageError):
    kind = "setup"


class SpecError(UsageError):
    kind = "spec"


class LockedError(UsageError):
    kind = "locked"


class FeatureListError(UsageError):
    kind = "feature_list"


class StopReason(AutocodeError):
    """``result``: the session this stop cut short (set by the session runner), for the build to record."""

    kind = "stopped"
    result: SessionResult | None = None


class BuildComplete(StopReason):
    exit_code = ExitCode.OK
    kind = "complete"


class LimitReached(StopReason):
    exit_code = ExitCode.LIMIT
    kind = "limit"


class BudgetExceeded(LimitReached):
    kind = "budget"


class IterationLimit(LimitReached):
    kind = "max_iterations"


class NoProgress(LimitReached):
    kind = "no_progress"


class SessionLimit(LimitReached):
    kind = "session_limit"


class TurnLimit(SessionLimit):
    kind = "max_turns"


class SessionBudgetExceeded(SessionLimit):
    kind = "session_budget"


class SessionTimeout(SessionLimit):
    kind = "session_timeout"


class IdleTimeout(SessionLimit):
    kind = "idle_timeout"


class ModelMismatch(StopReason):
    exit_code = ExitCode.MODEL_MISMATCH
    kind = "model_mismatch"


class CostNotFree(StopReason):
    exit_code = ExitCode.MODEL_MISMATCH
    kind = "not_free"


class ProviderError(StopReason):
    exit_code = ExitCode.PROVIDER
    kind = "provider"


class AuthError(ProviderError):
    kind = "auth"


class ServerFailure(StopReason):
    exit_code = ExitCode.SERVER
    kind = "server"


class ReplayDiverged(StopReason):
    exit_code = ExitCode.REPLAY_DIVERGED
    kind = "replay_diverged"


class Interrupted(StopReason):
    exit_code = ExitCode.INTERRUPTED
    kind = "interrupted"
