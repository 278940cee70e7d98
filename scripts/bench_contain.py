"""Benchmark section 6: what the command sandbox adds per bash command and per check.

A bash command is timed as OpenCode runs it (``SHELL -c COMMAND``, detached, stdin ignored, two
pipes) with plain ``bash`` and with autocode's SHELL wrapper; a check as ``verify.run_check`` on
the host and as ``CommandSandbox.check``. Medians of N runs of ``true`` (the pure overhead).
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET_MS = 30.0


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    run()  # warm up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


def _as_opencode(shell: str, cwd: Path) -> None:
    proc = subprocess.Popen([shell, "-c", "true"], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    proc.communicate(timeout=60)


def section_contain(repeats: int) -> dict[str, Any]:
    from agent.contain import CommandSandbox, SandboxConfig
    from agent.sandbox import bwrap_works
    from agent.verify import run_check

    modes = ["none", "bwrap"] if bwrap_works() else ["none"]
    with tempfile.TemporaryDirectory(prefix="autocode-bench-contain-") as tmp:
        project = Path(tmp)
        result: dict[str, Any] = {"repeats": repeats, "target_ms": TARGET_MS,
                                  "plain_bash_ms": _median_ms(lambda: _as_opencode("bash", project), repeats),
                                  "host_check_ms": _median_ms(lambda: run_check("true", project, 60), repeats)}
        for mode in modes:
            started = time.perf_counter()
            config = SandboxConfig(mode=mode)  # type: ignore[arg-type]
            with CommandSandbox(config, project, lambda _r: None) as box:
                start_ms = round((time.perf_counter() - started) * 1000, 2)
                command = _median_ms(lambda: _as_opencode(str(box.shell), project), repeats)
                check = _median_ms(lambda: box.check("true", project, 60), repeats)
            result[mode] = {"start_ms": start_ms, "command_ms": command, "check_ms": check,
                            "added_ms_per_command": round(command - result["plain_bash_ms"], 2),
                            "added_ms_per_check": round(check - result["host_check_ms"], 2)}
    return result


def print_contain(console: Any, table: Callable[..., Any], fmt: Callable[[Any], str],
                  data: dict[str, Any]) -> None:
    modes = [m for m in ("none", "bwrap") if m in data]
    t = table(f"6. Command sandbox cost (median of {data['repeats']} runs of `true`; "
              f"target < {data['target_ms']:.0f} ms added per command)", "what", *modes)
    t.add_row("sandbox start (ms)", *(fmt(data[m]["start_ms"]) for m in modes))
    t.add_row(f"bash command (ms; plain bash {fmt(data['plain_bash_ms'])})",
              *(fmt(data[m]["command_ms"]) for m in modes))
    t.add_row("added per bash command (ms)", *(fmt(data[m]["added_ms_per_command"]) for m in modes))
    t.add_row(f"check (ms; on the host {fmt(data['host_check_ms'])})",
              *(fmt(data[m]["check_ms"]) for m in modes))
    t.add_row("added per check (ms)", *(fmt(data[m]["added_ms_per_check"]) for m in modes))
    console.print(t)


if __name__ == "__main__":
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    sys.stdout.write(json.dumps(section_contain(repeats), indent=2) + "\n")
