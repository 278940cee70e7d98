#!/usr/bin/env bash
# One-command setup on a fresh machine: virtualenv, autocode itself (with dev tools),
# the pinned OpenCode binary (npm package opencode-ai), ripgrep and bubblewrap where possible.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
.venv/bin/autocode setup
# bubblewrap: the OS sandbox around the agent (optional; autocode warns when it is missing).
if ! command -v bwrap >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get install -y -qq bubblewrap >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1; }) \
    || echo "note: could not install bubblewrap; builds will run without the OS sandbox"
fi
echo "setup done: run .venv/bin/autocode --help"
