"""Probing an OpenAI-compatible endpoint before anything starts: reachable, and the key accepted.

Without it, an unreachable ``--base-url`` shows up only as minutes of provider retries inside
OpenCode. One ``GET {base_url}/models`` answers both questions in seconds.
"""

from __future__ import annotations

import os

import httpx

from agent.errors import AuthError, ProviderError, UsageError

PROBE_TIMEOUT_S = 5.0


def endpoint_key(api_key_env: str | None) -> str | None:
    """The key from ``--api-key-env``'s variable; a named but unset variable is a usage error."""
    if not api_key_env:
        return None
    key = os.environ.get(api_key_env)
    if not key:
        raise UsageError(f"--api-key-env {api_key_env}: the environment variable {api_key_env} is not set")
    return key


def probe_endpoint(base_url: str, api_key_env: str | None, timeout: float = PROBE_TIMEOUT_S,
                   transport: httpx.BaseTransport | None = None) -> str:
    """GET the endpoint's model list; returns a one-line description or raises ProviderError/AuthError."""
    key = endpoint_key(api_key_env)
    url = base_url.rstrip("/") + "/models"
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            response = client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise ProviderError(f"cannot reach the model endpoint {base_url} ({type(exc).__name__}: "
                            f"{exc or 'no answer'}); check --base-url and that the server runs") from None
    if response.status_code in (401, 403):
        where = f"the key in ${api_key_env}" if api_key_env else "requests without a key (--api-key-env VAR)"
        raise AuthError(f"the model endpoint {base_url} refused {where} (HTTP {response.status_code})")
    if response.status_code in (404, 405, 501):  # a server without a model list: it answers
        return f"{base_url} answers (no model list at {url}: HTTP {response.status_code})"
    if response.status_code >= 500:
        raise ProviderError(f"the model endpoint {base_url} is failing (HTTP {response.status_code} "
                            f"for {url}); try again later")
    return f"{base_url} answers (HTTP {response.status_code})"
