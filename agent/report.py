"""`autocode report`: one self-contained HTML page (inline SVG charts, no scripts, no network).

Charts: features passing after each session, and cumulative cost. Tables: per feature (sessions,
cost, verdicts) and every denied command. The data behind the charts is embedded as JSON
(``<script type="application/json" id="report-data">``) so programs can read it back.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from agent.cost import Ledger
from agent.errors import UsageError
from agent.state import StateStore


def report_data(project_dir: Path) -> dict[str, Any]:
    store = StateStore(project_dir)
    baseline = store.load_baseline() or []
    ledger = Ledger(store.cost_path)
    progress = store.progress()
    sessions: list[dict[str, Any]] = []
    passing: set[int] = set()
    for record in progress:
        if record.get("kind") == "session":
            sessions.append({"session": record["session"], "feature": record.get("feature"),
                             "stop": record.get("stop"), "cost": ledger.session_cost(record["session"]),
                             "passing": len(passing)})
        elif record.get("kind") == "verdict":
            passing.update(int(i) for i in record.get("accepted") or [])
            for item in sessions:
                if item["session"] == record.get("session"):
                    item["passing"], item["verdict"] = len(passing), record.get("verdict")
    cumulative = 0.0
    for item in sessions:
        cumulative += item["cost"]
        item["cumulative_cost"] = round(cumulative, 6)
    return {"project": str(project_dir), "features": _features(baseline, sessions, ledger),
            "sessions": sessions, "denied": store.denied(), "total_cost": round(ledger.total, 6),
            "tokens": ledger.tokens}


def _features(baseline: list[Any], sessions: list[dict[str, Any]], ledger: Ledger) -> list[dict[str, Any]]:
    rows = []
    for index, feature in enumerate(baseline):
        mine = [s for s in sessions if s.get("feature") == index]
        rows.append({"number": index + 1, "description": feature.description, "passes": feature.passes,
                     "sessions": len(mine), "cost": round(ledger.by_feature.get(index, 0.0), 6),
                     "verdicts": [s.get("verdict", s.get("stop")) for s in mine]})
    return rows


def _svg_line(values: list[float], title: str, fmt: str, top: float | None = None) -> str:
    width, height, pad = 640, 220, 64
    top = max(top or 0.0, max(values, default=0.0), 1e-9)
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    points = " ".join(f"{pad + i * step:.1f},{height - pad - v / top * (height - 2 * pad):.1f}"
                      for i, v in enumerate(values))
    dots = "".join(f'<circle cx="{pad + i * step:.1f}" cy="{height - pad - v / top * (height - 2 * pad):.1f}" '
                   f'r="3"><title>session {i + 1}: {fmt.format(v)}</title></circle>'
                   for i, v in enumerate(values))
    return (f'<figure><figcaption>{html.escape(title)}</figcaption>'
            f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" class="axis"/>'
            f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" class="axis"/>'
            f'<text x="{pad - 6}" y="{pad}" text-anchor="end">{fmt.format(top)}</text>'
            f'<text x="{pad - 6}" y="{height - pad}" text-anchor="end">0</text>'
            f'<text x="{width - pad}" y="{height - 10}" text-anchor="end">sessions ({len(values)})</text>'
            f'<polyline points="{points}" class="line"/>{dots}</svg></figure>')


def render_report(data: dict[str, Any]) -> str:
    sessions = data["sessions"]
    passing_chart = _svg_line([s["passing"] for s in sessions], "Features passing after each session",
                              "{:.0f}", top=len(data["features"]))
    cost_chart = _svg_line([s["cumulative_cost"] for s in sessions], "Cumulative cost (USD)", "${:.4f}")
    feature_rows = "".join(
        f"<tr><td>{f['number']}</td><td>{html.escape(f['description'])}</td>"
        f"<td>{'yes' if f['passes'] else 'no'}</td><td>{f['sessions']}</td><td>${f['cost']:.4f}</td>"
        f"<td>{html.escape(', '.join(str(v) for v in f['verdicts']))}</td></tr>" for f in data["features"])
    denied_rows = "".join(
        f"<tr><td>{html.escape(str(d.get('permission')))}</td><td><code>{html.escape(str(d.get('target')))}"
        f"</code></td><td>{html.escape(str(d.get('reason')))}</td></tr>" for d in data["denied"])
    passing = sum(1 for f in data["features"] if f["passes"])
    payload = json.dumps(data, default=str).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>autocode report</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 960px; color: #222; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 2em; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }}
svg .axis {{ stroke: #999; }} svg .line {{ fill: none; stroke: #2563eb; stroke-width: 2; }}
svg circle {{ fill: #2563eb; }} svg text {{ font-size: 11px; fill: #555; }}
figure {{ margin: 1em 0; }} figcaption {{ font-weight: bold; }}
</style></head><body>
<h1>autocode report</h1>
<p>{html.escape(data['project'])}: <b>{passing}/{len(data['features'])}</b> features passing after
{len(sessions)} sessions, total cost <b>${data['total_cost']:.4f}</b>, {len(data['denied'])} denied.</p>
{passing_chart}
{cost_chart}
<h2>Features</h2>
<table><tr><th>#</th><th>feature</th><th>passes</th><th>sessions</th><th>cost</th><th>verdicts</th></tr>
{feature_rows}</table>
<h2>Denied commands</h2>
<table><tr><th>permission</th><th>target</th><th>reason</th></tr>
{denied_rows or '<tr><td colspan="3">none</td></tr>'}</table>
<script type="application/json" id="report-data">{payload}</script>
</body></html>
"""


def write_report(project_dir: Path, output: Path | None = None) -> Path:
    target = output or StateStore(project_dir).root / "report.html"
    if not target.parent.is_dir():
        raise UsageError(f"cannot write the report to {target}: directory {target.parent} does not "
                         "exist; create it first or choose another --output")
    target.write_text(render_report(report_data(project_dir)), encoding="utf-8")
    return target
