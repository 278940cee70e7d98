"""Configuration in one place: defaults < user config < project `autocode.toml` < `AUTOCODE_*` env
< command-line flags, merged by :func:`load_settings` into one pydantic model, each value with
where it came from (`autocode config show`).

Files are TOML with the settings as top-level keys (the project file's `[security]` table belongs
to the security policy). Unknown keys and wrong types are one-line errors naming the file.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.build import LoopSettings
from agent.cost import Limits
from agent.errors import UsageError

ENV_PREFIX = "AUTOCODE_"


class Endpoint(BaseModel):
    """Which model endpoint and which OpenCode server (shared by settings and server options)."""

    small_model: str | None = Field(default=None, description="explicit cheap model for small tasks")
    base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint for the model")
    api_key_env: str | None = Field(default=None, description="env var holding that endpoint's key")
    price_in: float | None = Field(default=None, ge=0, description="USD per 1M input tokens")
    price_out: float | None = Field(default=None, ge=0, description="USD per 1M output tokens")
    server_url: str | None = Field(default=None, description="attach to a running OpenCode server")
    opencode_bin: str | None = Field(default=None, description="OpenCode binary (default: found)")
    sandbox: Literal["auto", "bwrap", "none"] = Field(default="auto", description="OS sandbox for the server")
    network: Literal["none", "allowlist", "open"] = Field(
        default="allowlist", description="commands' network: none, allowlist (egress proxy) or open")
    allow_hosts: list[str] | None = Field(
        default=None, description="hosts commands may reach through the proxy (default: package registries)")
    sandbox_env: list[str] = Field(default_factory=list, description="env var names passed to commands")

    @field_validator("allow_hosts", "sandbox_env", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
    record: bool = Field(default=False, description="record every model exchange to .autocode/recordings/")


class Settings(Endpoint, Limits, LoopSettings):
    """Every setting a user can give autocode (file keys and env names are the field names)."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, description="provider/model, pinned for every request")
    idle_timeout: float = Field(default=300.0, ge=0, description="seconds without a session event")
    prompts_dir: Path | None = Field(default=None, description="prompt template overrides")
    system_prompt: Path | None = Field(default=None, description="file prepended to every session")


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autocode" / "config.toml"


def read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None


SANDBOX_TABLE = {"mode": "sandbox", "network": "network", "allow_hosts": "allow_hosts", "env": "sandbox_env"}


def _file_layer(path: Path) -> dict[str, Any]:
    data = {k: v for k, v in read_toml(path).items() if k != "security"}
    table = data.pop("sandbox") if isinstance(data.get("sandbox"), dict) else {}
    for key, value in table.items():  # [sandbox] mode/network/allow_hosts/env
        if key not in SANDBOX_TABLE:
            raise UsageError(f"{path}: unknown [sandbox] setting {key!r}")
        data[SANDBOX_TABLE[key]] = value
    unknown = sorted(set(data) - set(Settings.model_fields))
    if unknown:
        close = difflib.get_close_matches(unknown[0], Settings.model_fields, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; `autocode config show` lists them"
        raise UsageError(f"{path}: unknown setting {unknown[0]!r}{hint}")
    return data


def _env_layer(env: Mapping[str, str]) -> dict[str, Any]:
    return {name: env[ENV_PREFIX + name.upper()] for name in Settings.model_fields
            if ENV_PREFIX + name.upper() in env}


def load_settings(project_dir: Path | None, flags: Mapping[str, Any],
                  env: Mapping[str, str] | None = None,
                  user_file: Path | None = None) -> tuple[Settings, dict[str, str]]:
    """Merge every layer; return the settings and, per field, the layer it came from."""
    user = user_file or user_config_path()
    layers: list[tuple[str, dict[str, Any]]] = [
        (str(user), _file_layer(user)),
        ("autocode.toml", _file_layer(project_dir / "autocode.toml") if project_dir else {}),
        ("env", _env_layer(os.environ if env is None else env)),
        ("flag", {k: v for k, v in flags.items() if v is not None}),
    ]
    merged: dict[str, Any] = {}
    sources = dict.fromkeys(Settings.model_fields, "default")
    for name, layer in layers:
        merged.update(layer)
        sources.update(dict.fromkeys(layer, name))
    try:
        return Settings.model_validate(merged), sources
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        raise UsageError(f"{_where(field, sources.get(field, '?'))}: {err['msg']}") from None


def _where(field: str, source: str) -> str:
    """The name the user wrote: ``--max-turns``, ``AUTOCODE_MAX_TURNS`` or ``max_turns in FILE``."""
    if source == "flag":
        return "--" + field.replace("_", "-")
    if source == "env":
        return ENV_PREFIX + field.upper()
    return f"{field} in {source}" if source != "default" else f"setting {field!r}"
