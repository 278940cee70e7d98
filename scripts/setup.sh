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
echo "setup done: run .venv/bin/autocode --help"
