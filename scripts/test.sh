#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs everything it needs (venv, package, the pinned
# OpenCode binary, ripgrep), then lint, types and pytest (unit + end-to-end with the real server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check agent tests scripts
.venv/bin/mypy
# pytest exits 5 when it collected no tests; set -e turns that (and any failure) into a red run.
.venv/bin/pytest -q -p no:cacheprovider "$@"
