#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs everything it needs (venv, package, the pinned
# OpenCode binary, ripgrep), then lint, types and pytest (unit + end-to-end with the real server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check agent tests scripts
.venv/bin/mypy
# pytest exits 5 when it collected no tests; set -e turns that (and any failure) into a red run.
# Two pytest workers (pytest-xdist): the end-to-end tests mostly wait on servers and subprocesses,
# so two at a time nearly halve the wall time on a 2-core machine. AUTOCODE_TEST_JOBS=0 runs serially.
.venv/bin/pytest -q -p no:cacheprovider -n "${AUTOCODE_TEST_JOBS:-2}" --dist worksteal "$@"
