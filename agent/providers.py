"""Everything autocode knows about model names and providers, in one place.

A model is named ``provider/model`` or ``provider/vendor/model`` (OpenRouter style, e.g.
``openrouter/meta-llama/llama-3.3-70b-instruct``): the provider id is everything before the first
slash, the model id everything after it. OpenCode wants it as ``{"providerID", "modelID"}`` in
every prompt body; a string or top-level ``providerID``/``modelID`` keys are dropped or rejected
by OpenCode 1.18 (see README, "Why not the opencode-ai SDK").
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from agent.errors import UsageError

_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*$")

API_KEY_ENV: dict[str, tuple[str, ...]] = {
    "anthropic": ("ANTHROPIC_API_KEY",),
    "openai": ("OPENAI_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "google": ("GOOGLE_GENERATIVE_AI_API_KEY", "GEMINI_API_KEY"),
    "groq": ("GROQ_API_KEY",),
    "mistral": ("MISTRAL_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "xai": ("XAI_API_KEY",),
    "together": ("TOGETHER_API_KEY", "TOGETHER_AI_API_KEY"),
    "fireworks": ("FIREWORKS_API_KEY",),
    "cerebras": ("CEREBRAS_API_KEY",),
    "opencode": ("OPENCODE_API_KEY",),
}
"""API-key environment variables OpenCode reads for each built-in provider."""

DEFAULT_BASE_URL: dict[str, str] = {
    "anthropic": "https://api.anthropic.com/v1",
    "openai": "https://api.openai.com/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "groq": "https://api.groq.com/openai/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "mistral": "https://api.mistral.ai/v1",
    "xai": "https://api.x.ai/v1",
}
"""The endpoint each built-in provider talks to (what ``--record`` forwards to)."""

PASSTHROUGH_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
                   "AWS_PROFILE", "AZURE_API_KEY", "AZURE_RESOURCE_NAME",
                   "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "VERTEX_LOCATION")
"""Other provider credentials forwarded to the isolated server when set."""


class ModelRef(BaseModel):
    """A pinned model: the provider id and the model id inside that provider."""

    model_config = ConfigDict(frozen=True)

    provider_id: str
    model_id: str

    def __str__(self) -> str:
        return f"{self.provider_id}/{self.model_id}"

    def body(self) -> dict[str, str]:
        """The shape OpenCode honours in a prompt body's ``model`` key."""
        return {"providerID": self.provider_id, "modelID": self.model_id}

    def matches(self, provider_id: str | None, model_id: str | None) -> bool:
        return provider_id == self.provider_id and model_id == self.model_id


def parse_model(name: str) -> ModelRef:
    """Parse ``provider/model`` (or ``provider/vendor/model``); raise a one-line UsageError."""
    text = name.strip()
    provider, sep, model = text.partition("/")
    parts = model.split("/") if sep else []
    if not sep or not provider or not model or not all(_PART.match(p) for p in [provider, *parts]):
        raise UsageError(
            f"bad model {name!r}: expected provider/model, e.g. anthropic/claude-sonnet-4-5 "
            "or openrouter/qwen/qwen3-coder"
        )
    return ModelRef(provider_id=provider, model_id=model)


def api_key_vars(provider_id: str) -> tuple[str, ...]:
    return API_KEY_ENV.get(provider_id, (f"{provider_id.upper().replace('-', '_')}_API_KEY",))
