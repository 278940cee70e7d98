"""`autocode report`: one self-contained HTML page (inline SVG charts, no scripts, no network).

Charts: features passing after each session, and cumulative cost. Tables: per feature (sessions,
cost, verdicts) and every denied command. The data behind the charts is embedded as JSON
(``<script type="application/json" id="report-data">``) so programs can read it back.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

from agent.cost import Ledger
from agent.errors import UsageError
from agent.estimate import prior_for
from agent.features import unmet_dependencies
from agent.forecast import describe_forecast, forecast
from agent.guard import evidence_lines
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
                             "duration_s": float(record.get("duration_s") or 0), "passing": len(passing),
                             **{k: record[k] for k in ("worker", "end") if k in record}})
        elif record.get("kind") == "verdict":
            passing.update(int(i) for i in record.get("accepted") or [])
            for item in sessions:
                if item["session"] == record.get("session"):
                    item["passing"], item["verdict"] = len(passing), record.get("verdict")
                    item["evidence"] = evidence_lines(record)
    cumulative = 0.0
    for item in sessions:
        cumulative += item["cost"]
        item["cumulative_cost"] = round(cumulative, 6)
    state = store.load() if store.state_path.exists() else None
    features = _features(baseline, sessions, ledger, state.last_failure if state else {})
    fc = forecast(progress, len(baseline), len(state.passing) if state else 0, ledger.total,
                  prior_for(project_dir)) if baseline else None
    return {"project": str(project_dir), "features": features, "initializer": _initializer(sessions, ledger),
            "sessions": sessions, "denied": store.denied(), "total_cost": round(ledger.total, 6),
            "tokens": ledger.tokens, "summary": _summary(state), "forecast": fc}


def _summary(state: Any) -> dict[str, Any]:
    if state is None:
        return {}
    return {"model": state.model, "started_at": state.started_at, "elapsed_s": state.elapsed_s,
            "stop_reason": state.stop_reason, "stop_message": state.stop_message,
            "sessions": state.sessions, "interrupted_sessions": state.interrupted_sessions,
            "priced": state.priced}


def _initializer(sessions: list[dict[str, Any]], ledger: Ledger) -> dict[str, Any]:
    """The sessions outside any feature (the initializer): their row makes the cost column add up."""
    mine = [s for s in sessions if s.get("feature") is None]
    return {"sessions": len(mine), "cost": round(ledger.total - sum(ledger.by_feature.values()), 6),
            "duration_s": round(sum(s["duration_s"] for s in mine), 1)}


def _features(baseline: list[Any], sessions: list[dict[str, Any]], ledger: Ledger,
              failures: dict[int, str]) -> list[dict[str, Any]]:
    rows = []
    passing = {i for i, f in enumerate(baseline) if f.passes}
    unmet = unmet_dependencies(baseline, passing)
    for index, feature in enumerate(baseline):
        mine = [s for s in sessions if s.get("feature") == index]
        rows.append({"number": index + 1, "description": feature.description, "passes": feature.passes,
                     "sessions": len(mine), "cost": round(ledger.by_feature.get(index, 0.0), 6),
                     "duration_s": round(sum(s["duration_s"] for s in mine), 1),
                     "verdicts": [_verdict(s) for s in mine],
                     "evidence": [f"{s['session']}: {line}" for s in mine for line in s.get("evidence", [])],
                     "blocked_by": [i + 1 for i in unmet.get(index, [])],
                     "failure": "" if feature.passes else failures.get(index, "")[-1500:]})
    return rows


def _verdict(session: dict[str, Any]) -> str:
    """The verdict, with why the session ended when it was cut short (``not_done (max_turns)``)."""
    verdict, stop = session.get("verdict"), session.get("stop")
    if verdict is None:
        return str(stop)
    return f"{verdict} ({stop})" if verdict != "accepted" and stop not in ("idle", None) else str(verdict)


def _feature_row(f: dict[str, Any]) -> str:
    verdicts = ", ".join(str(v) for v in f["verdicts"])
    if f["blocked_by"]:
        verdicts += f" (waits for {', '.join(f'#{n}' for n in f['blocked_by'])})"
    failure = (f"<details><summary>failing check</summary><pre>{html.escape(f['failure'])}</pre></details>"
               if f["failure"] else "")
    if f.get("evidence"):
        failure += (f"<details><summary>evidence</summary><pre>{html.escape(chr(10).join(f['evidence']))}"
                    "</pre></details>")
    return (f"<tr><td>{f['number']}</td><td>{html.escape(f['description'])}{failure}</td>"
            f"<td>{'yes' if f['passes'] else 'no'}</td><td>{f['sessions']}</td><td>{f['duration_s']:.0f}s</td>"
            f"<td>${f['cost']:.4f}</td><td>{html.escape(verdicts)}</td></tr>")


def _unpriced(data: dict[str, Any]) -> str:
    priced = (data.get("summary") or {}).get("priced", True)
    return "" if priced else " <b>(UNPRICED model: the real cost is unknown)</b>"


def _summary_html(data: dict[str, Any]) -> str:
    summary = data.get("summary") or {}
    if not summary:
        return ""
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(summary["started_at"])) if summary[
        "started_at"] else "?"
    minutes, seconds = divmod(int(summary["elapsed_s"]), 60)
    stop = f"{summary['stop_reason']}: {summary['stop_message']}" if summary["stop_reason"] else "running"
    return (f"<p>model <b>{html.escape(summary['model'])}</b>, started {started}, "
            f"run time {minutes}m{seconds:02d}s, "
            f"{summary['sessions']} sessions ({summary['interrupted_sessions']} interrupted); "
            f"last stop: {html.escape(stop)}</p>")


def _forecast_html(data: dict[str, Any]) -> str:
    """The forecast to finish (remaining cost and time with their 90% intervals), while features are left."""
    fc = data.get("forecast")
    if not fc or not fc.get("features_left"):
        return ""
    cost, time_left = fc["remaining_usd"], fc.get("remaining_s") or {}
    rows = [("remaining cost", f"${cost['likely']:.4f}", f"${cost['low']:.4f} to ${cost['high']:.4f}"),
            ("total cost", f"${fc['total_usd']:.4f}",
             f"${fc.get('total_low_usd', fc['total_usd']):.4f} to ${fc['total_high_usd']:.4f}")]
    if time_left:
        rows.append(("remaining time", f"{time_left['likely'] / 60:.1f} min",
                     f"{time_left['low'] / 60:.1f} to {time_left['high'] / 60:.1f} min"))
    body = "".join(f"<tr><td>{a}</td><td>{b}</td><td>{c}</td></tr>" for a, b, c in rows)
    return (f'<h2>Forecast to finish</h2><p id="forecast">{html.escape(describe_forecast(fc))}</p>'
            f"<table><tr><th></th><th>likely</th><th>90% interval</th></tr>{body}</table>")


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


def _svg_timeline(sessions: list[dict[str, Any]]) -> str:
    """``--workers``: one row per worker, one bar per session (green: its feature was accepted)."""
    bars = [s for s in sessions if s.get("worker") and s.get("end")]
    if not bars:
        return ""
    start = min(float(s["end"]) - s["duration_s"] for s in bars)
    span = max(max(float(s["end"]) for s in bars) - start, 1e-9)
    workers = sorted({int(s["worker"]) for s in bars})
    width, row, pad = 640, 24, 64
    height = pad + row * len(workers)
    rects = []
    for s in bars:
        x = pad + (float(s["end"]) - s["duration_s"] - start) / span * (width - 2 * pad)
        w = max(s["duration_s"] / span * (width - 2 * pad), 1.0)
        y = pad / 2 + row * workers.index(int(s["worker"]))
        cls = "ok" if s.get("verdict") == "accepted" else "no"
        label = (f"worker {s['worker']}: feature {int(s['feature']) + 1}, {s['duration_s']:.0f}s, "
                 f"{s.get('verdict')}")
        rects.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{row - 6}" class="{cls}">'
                     f'<title>{html.escape(label)}</title></rect>')
    labels = "".join(f'<text x="{pad - 6}" y="{pad / 2 + row * i + row / 2:.1f}" text-anchor="end">w{w}</text>'
                     for i, w in enumerate(workers))
    return (f'<figure><figcaption>Workers over time ({span:.0f}s)</figcaption>'
            f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
            f'{labels}{"".join(rects)}</svg></figure>')


def render_report(data: dict[str, Any]) -> str:
    sessions = data["sessions"]
    passing_chart = _svg_line([s["passing"] for s in sessions], "Features passing after each session",
                              "{:.0f}", top=len(data["features"]))
    cost_chart = _svg_line([s["cumulative_cost"] for s in sessions], "Cumulative cost (USD)", "${:.4f}")
    init = data["initializer"]
    feature_rows = (f"<tr><td>-</td><td>initializer (feature list, skeleton)</td><td>-</td>"
                    f"<td>{init['sessions']}"
                    f"</td><td>{init['duration_s']:.0f}s</td><td>${init['cost']:.4f}</td><td></td></tr>"
                    + "".join(_feature_row(f) for f in data["features"]))
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
svg circle {{ fill: #2563eb; }} svg .ok {{ fill: #16a34a; }} svg .no {{ fill: #d97706; }}
svg text {{ font-size: 11px; fill: #555; }}
figure {{ margin: 1em 0; }} figcaption {{ font-weight: bold; }}
</style></head><body>
<h1>autocode report</h1>
<p>{html.escape(data['project'])}: <b>{passing}/{len(data['features'])}</b> features passing after
{len(sessions)} sessions, total cost <b>${data['total_cost']:.4f}</b>{_unpriced(data)},
{len(data['denied'])} denied.</p>
{_summary_html(data)}
{_forecast_html(data)}
{passing_chart}
{cost_chart}
{_svg_timeline(sessions)}
<h2>Features</h2>
<table><tr><th>#</th><th>feature</th><th>passes</th><th>sessions</th><th>time</th><th>cost</th><th>verdicts</th></tr>
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
