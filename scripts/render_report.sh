#!/usr/bin/env bash
# Renders a build's HTML report in real headless Chromium (Debian package `chromium`) and saves a
# screenshot, to check the report displays as intended. Usage: scripts/render_report.sh PROJECT_DIR [OUT.png]
set -euo pipefail
project="${1:?usage: scripts/render_report.sh PROJECT_DIR [OUT.png]}"
out="${2:-$project/.autocode/report.png}"
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 2; }
report=$(.venv/bin/autocode report --project-dir "$project")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1000,1400 --screenshot="$out" "file://$report" 2>/dev/null
# the DOM as the browser built it: both charts and the tables must be there
dom=$(chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --user-data-dir="$profile" --dump-dom "file://$report" 2>/dev/null)
for needle in "<svg" "Features passing after each session" "Cumulative cost" "Denied commands"; do
  grep -q "$needle" <<<"$dom" || { echo "rendered report lacks: $needle" >&2; exit 1; }
done
echo "rendered $report -> $out"
