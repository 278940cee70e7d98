"""Benchmark section 8: what the recording proxy (``build --record``) adds per model step.

One model step is one streamed chat request to the scripted model (text plus a tool call: 10 SSE
chunks in the OpenAI format, 15 in Anthropic's), timed from sending the request to reading the
last byte. The same requests go directly to the scripted model and through
:class:`~agent.recording.RecordingProxy` (which forwards, streams back chunk by chunk and
appends the exchange to its JSONL file), taking turns so machine load hits both alike. Per wire
format (OpenAI chat completions, Anthropic Messages): p50 and p99 per step, and what was added.
"""

from __future__ import annotations

import http.client
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROUTES = {"openai": "/chat/completions", "anthropic": "/messages"}


def _scenario() -> dict[str, Any]:
    step = {"text": "Reading the project first. " * 12,
            "tool": "bash", "args": {"command": "ls -la && cat README.md", "description": "look"}}
    return {"scripts": [{"name": "bench", "match": "bench", "steps": [step]}]}


def _body(wire: str) -> bytes:
    tools = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]
    if wire == "anthropic":
        tools = [{"name": "bash", "input_schema": {"type": "object"}}]
    return json.dumps({"model": "model-a", "stream": True, "max_tokens": 1000, "tools": tools,
                       "messages": [{"role": "user", "content": "bench step " + "x" * 2000}]}).encode()


def _step(base: str, wire: str, body: bytes) -> float:
    parts = urlsplit(base)
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        conn.request("POST", parts.path + ROUTES[wire], body=body,
                     headers={"Content-Type": "application/json", "Authorization": "Bearer sk-bench-000000"})
        response = conn.getresponse()
        data = response.read()
        if response.status != 200 or b"bash" not in data:
            raise RuntimeError(f"unexpected answer {response.status}: {data[:200]!r}")
    finally:
        conn.close()
    return time.perf_counter() - started


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def _compare(bases: dict[str, str], wire: str, repeats: int) -> dict[str, list[float]]:
    """Seconds per step for each base URL, the bases taking turns (after one warm-up step each)."""
    body = _body(wire)
    times: dict[str, list[float]] = {name: [] for name in bases}
    for base in bases.values():
        _step(base, wire, body)
    for _ in range(repeats):
        for name, base in bases.items():
            times[name].append(_step(base, wire, body))
    return times


def section_record(repeats: int) -> dict[str, Any]:
    from agent.recording import RecordingProxy, read_recording
    from agent.scripted_model import Scenario, ScriptedModelServer

    result: dict[str, Any] = {"repeats": repeats}
    with tempfile.TemporaryDirectory(prefix="autocode-bench-record-") as tmp, \
            ScriptedModelServer(Scenario.model_validate(_scenario())) as model:
        for wire in ROUTES:
            path = Path(tmp) / f"{wire}.jsonl"
            with RecordingProxy(model.url, path) as proxy:
                times = _compare({"direct": model.url, "proxy": proxy.url}, wire, repeats)
            _, exchanges = read_recording(path)
            direct, proxied = times["direct"], times["proxy"]
            result[wire] = {
                "direct_p50_ms": _pct(direct, 0.5), "direct_p99_ms": _pct(direct, 0.99),
                "proxy_p50_ms": _pct(proxied, 0.5), "proxy_p99_ms": _pct(proxied, 0.99),
                "added_p50_ms": round(_pct(proxied, 0.5) - _pct(direct, 0.5), 2),
                "added_p99_ms": round(_pct(proxied, 0.99) - _pct(direct, 0.99), 2),
                "added_mean_ms": round((statistics.fmean(proxied) - statistics.fmean(direct)) * 1000, 2),
                "recorded_exchanges": len(exchanges),
                "chunks_per_step": len(exchanges[-1]["response"].get("chunks") or []) if exchanges else 0}
    return result


def print_record(console: Any, table: Callable[..., Any], fmt: Callable[[Any], str],
                 data: dict[str, Any]) -> None:
    wires = [w for w in ROUTES if w in data]
    t = table(f"8. Recording proxy (build --record): time per model step, {data['repeats']} streamed "
              "steps each way", "what", *wires)
    for key, label in (("direct_p50_ms", "direct p50 (ms)"), ("proxy_p50_ms", "through the proxy p50 (ms)"),
                       ("added_p50_ms", "added p50 (ms)"), ("direct_p99_ms", "direct p99 (ms)"),
                       ("proxy_p99_ms", "through the proxy p99 (ms)"), ("added_p99_ms", "added p99 (ms)"),
                       ("added_mean_ms", "added mean (ms)"), ("chunks_per_step", "SSE chunks per step"),
                       ("recorded_exchanges", "exchanges recorded")):
        t.add_row(label, *(fmt(data[w][key]) for w in wires))
    console.print(t)


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.stdout.write(json.dumps(section_record(int(sys.argv[1]) if len(sys.argv) > 1 else 50), indent=2) + "\n")
