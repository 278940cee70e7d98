"""The OpenCode configuration autocode generates (passed as ``OPENCODE_CONFIG_CONTENT``).

It pins ``model`` and ``small_model``, enables only the chosen provider(s), pins the model of
every built-in agent (title, summary, compaction, subagents), disables title generation, denies
the tools autocode cannot supervise (``question``, ``task``, ``webfetch``), and makes every other
tool call *ask*, so autocode's security policy answers each ``permission.asked`` event.
``.opencode.json.example`` shows the result, annotated.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agent.providers import ModelRef

PINNED_AGENTS = ("build", "plan", "general", "explore", "title", "summary", "compaction")
NATIVE_PROVIDERS = frozenset({"anthropic"})
"""Providers whose own OpenCode implementation (wire format) is kept when given a base URL."""
WARMUP_MODEL = ModelRef(provider_id="autocode-warmup", model_id="warmup")
"""(``--workers``) The local, free model of the worker dirs' warm-up prompts (``runtime.warmup_model``)."""
WARMUP_PROMPT = "warm-up"
"""(``--workers``) The text of a warm-up prompt."""
WARMUP_COMMAND = "pwd"
"""(``--workers``) The one bash call of a warm-up prompt: the warm-up model asks for it, and only
the warm-up session's own permission rule allows it (no agent session has that rule)."""


class CustomProvider(BaseModel):
    """An OpenAI-compatible endpoint declared for the pinned model (``--base-url``)."""

    base_url: str = Field(description="the endpoint's base URL, e.g. http://localhost:11434/v1")
    api_key_env: str | None = Field(default=None, description="env var holding the API key")
    price_in: float | None = Field(default=None, description="USD per 1M input tokens")
    price_out: float | None = Field(default=None, description="USD per 1M output tokens")
    price_cache_read: float | None = Field(default=None, description="USD per 1M cache-read tokens")
    price_cache_write: float | None = Field(default=None, description="USD per 1M cache-write tokens")
    context: int = Field(default=128_000, description="context window, tokens")
    max_output: int = Field(default=8_192, description="max output tokens per step")


def generate_config(model: ModelRef, small_model: ModelRef | None = None,
                    provider: CustomProvider | None = None, *, allow_network: bool = False,
                    api_key: str | None = None, route_url: str | None = None,
                    warmup_url: str | None = None) -> dict[str, Any]:
    """The whole OpenCode config for one build: deterministic, and nothing left to defaults.

    ``route_url`` sends a built-in provider's requests to a local proxy (``--record``) instead of
    its own endpoint; a custom ``provider`` already carries the URL it should use. ``warmup_url``
    (``--workers``) adds :data:`WARMUP_MODEL` at that local endpoint, free; no agent is pinned
    to it: only autocode's warm-up prompts name it.
    """
    small = small_model or model
    providers = sorted({model.provider_id, small.provider_id})
    config: dict[str, Any] = {
        "$schema": "https://opencode.ai/config.json",
        "model": str(model),
        "small_model": str(small),
        "enabled_providers": providers,
        "autoupdate": False,
        "share": "disabled",
        "snapshot": False,
        "formatter": False,
        "lsp": False,
        "permission": _permissions(allow_network),
        "agent": {name: {"model": str(small if name == "title" else model)}
                  for name in PINNED_AGENTS},
    }
    config["agent"]["title"]["disable"] = True
    if provider is not None:
        config["provider"] = {model.provider_id: _provider_block(model, provider, api_key)}
    elif route_url is not None:
        config["provider"] = {model.provider_id: {"options": {"baseURL": route_url}}}
    if warmup_url is not None:
        config["enabled_providers"] = sorted({*providers, WARMUP_MODEL.provider_id})
        config.setdefault("provider", {})[WARMUP_MODEL.provider_id] = _provider_block(
            WARMUP_MODEL, CustomProvider(base_url=warmup_url, price_in=0.0, price_out=0.0), None)
    return config


def _permissions(allow_network: bool) -> dict[str, Any]:
    # Every tool call asks: autocode's gate answers each one, which also gives the limits a
    # checkpoint before every further model call (the budget can stop a session between steps).
    return {
        "*": "ask",
        "bash": "ask",
        "edit": "ask",
        "external_directory": "ask",
        "question": "deny",
        "task": "deny",
        "webfetch": "allow" if allow_network else "deny",
        "websearch": "deny",
        "codesearch": "deny",
    }


def _provider_block(model: ModelRef, provider: CustomProvider, api_key: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": model.model_id, "tool_call": True,
                             "limit": {"context": provider.context, "output": provider.max_output}}
    if provider.price_in is not None or provider.price_out is not None:
        entry["cost"] = {"input": provider.price_in or 0.0, "output": provider.price_out or 0.0}
        for key, price in (("cache_read", provider.price_cache_read),
                           ("cache_write", provider.price_cache_write)):
            if price is not None:
                entry["cost"][key] = price
    options: dict[str, Any] = {"baseURL": provider.base_url}
    if provider.api_key_env:
        options["apiKey"] = "{env:" + provider.api_key_env + "}"
    else:
        options["apiKey"] = api_key or "autocode-no-key"
    block = {"name": f"{model.provider_id} (autocode)", "options": options,
             "models": {model.model_id: entry}}
    if model.provider_id in NATIVE_PROVIDERS:  # OpenCode's own provider (its wire), at this URL
        return block
    return {"npm": "@ai-sdk/openai-compatible"} | block
