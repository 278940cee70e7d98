"""Building blocks of ``scripts/bench.py``: scenarios, measured runs, timings read back from OpenCode.

Nothing here prints. Every child process runs in its own process group with a timeout and is
killed (the whole group) if it overruns; every server started here is stopped in a ``finally``.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from agent.opencode.messages import Message

REPO = Path(__file__).resolve().parent.parent
MODEL = "scripted/bench-coder"
JSON = dict[str, Any]


# ---- the benchmark application -----------------------------------------------------------------

def fid(index: int) -> str:
    return f"f{index + 1:04d}"


def bench_features(n: int) -> list[JSON]:
    """``n`` small features; every third depends on the one before; each has its own check."""
    features: list[JSON] = []
    for i in range(n):
        name = fid(i)
        feature: JSON = {
            "id": name, "category": "functional",
            "description": f"Benchmark feature {i + 1}: module {name} prints its number",
            "steps": [f"python3 src/{name}.py prints {i + 1}",
                      f"src/{name}.py exists and runs without arguments"],
            "verify": f"test -f src/{name}.py", "passes": False}
        if i % 3 == 2:
            feature["depends_on"] = [fid(i - 1)]
        features.append(feature)
    return features


def bench_spec(features: list[JSON]) -> str:
    """A spec of realistic shape: overview, constraints, then one paragraph per feature."""
    head = """# Benchmark application

## Overview
A small command-line application made of independent Python modules under `src/`. Each module
is a script that prints one number and exits 0. The application has no dependencies beyond the
Python 3 standard library; it never reads the network and never writes outside its directory.

## Technical constraints
- Python 3.11+, standard library only; every module runs as `python3 src/<id>.py`.
- Each module is small, documented and tested; tests run without network access.
- Output is exactly one line: the module's number, followed by a newline.
- The project keeps a changelog of what was done in `autocode-progress.md`.

## Features
"""
    body = "".join(
        f"\n### {f['description']}\n{f['steps'][0]}. {f['steps'][1]}. The module has a docstring, "
        "handles being run from any working directory, and its test checks the exact output.\n"
        for f in features)
    return head + body


def mark_command(index: int) -> str:
    """What an agent runs to mark feature ``index`` passing and leave a note."""
    return ("python3 -c \"import json; p='feature_list.json'; d=json.load(open(p)); "
            f"d[{index}]['passes']=True; open(p,'w').write(json.dumps(d, indent=2))\" "
            f"&& echo '- {fid(index)}: implemented, tested and marked passing' >> autocode-progress.md")


def coding_script(index: int, feature: JSON, short: bool) -> JSON:
    """One coding session: write, (test,) mark, final text — 4 model turns (3 if ``short``)."""
    name = fid(index)
    steps: list[JSON] = [
        {"text": f"Implementing {name}.", "tool": "write",
         "args": {"filePath": f"{{cwd}}/src/{name}.py", "content": f"print({index + 1})\n"}}]
    if not short:
        steps.append({"tool": "bash", "args": {"command": f"python3 src/{name}.py && test -f src/{name}.py",
                                               "description": "run the feature's test"}})
    steps += [{"tool": "bash", "args": {"command": mark_command(index), "description": "mark it"}},
              {"text": f"Feature {name} implemented, tested and marked."}]
    return {"name": f"feature-{name}", "match": "\n" + re.escape(str(feature["description"])) + "\n",
            "steps": steps}


INIT_SH = "#!/usr/bin/env bash\n# Prepare the benchmark app.\n# autocode-test: true\nset -e\nmkdir -p src\n"


def bench_scenario(features: list[JSON], latency_s: float = 0.0, short: bool = False) -> JSON:
    from agent.demo import initializer_script

    init = initializer_script(features, INIT_SH, {"src/README.md": "One module per feature.\n"})
    return {"latency_s": latency_s, "usage": {"prompt_tokens": 1200, "completion_tokens": 80},
            "scripts": [init, *(coding_script(i, f, short) for i, f in enumerate(features))],
            "fallback": {"text": "Nothing more to do."}}


# ---- measured child processes -------------------------------------------------------------------

@dataclass
class ProcRun:
    """One child process: wall time, exit code (None: killed at its timeout), output, peak RSS."""

    wall_s: float
    exit_code: int | None
    stdout: str
    stderr: str
    max_rss_kb: int  # wait4: the process or any of its reaped descendants (OpenCode's server too)
    started_epoch: float
    own_peak_rss_kb: int = 0  # VmHWM of the process itself, sampled from /proc while it ran
    child_peak_rss_kb: int = 0  # the largest VmHWM among its descendants (e.g. the OpenCode server)
    own_cpu_s: float = 0.0  # user + system CPU of the process itself (last 0.1 s sample before it ended)
    children_cpu_s: float = 0.0  # the same, summed over its descendants (sampled once a second)


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without the user's autocode/OpenCode settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOCODE_", "OPENCODE"))}
    env.update(extra or {})
    return env


def _vm_hwm_kb(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo and len(found) < 200:
        current = todo.pop()
        with contextlib.suppress(OSError, ValueError):
            for task in Path(f"/proc/{current}/task").iterdir():
                kids = [int(k) for k in (task / "children").read_text().split()]
                found += kids
                todo += kids
    return found


def run_measured(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> ProcRun:
    """Run ``cmd`` in its own process group; reap it with wait4 to get its peak RSS.

    The watch must not take the CPU it measures: the process's own counters are read every 0.1 s
    (two small files), its descendants' once a second (a walk of every thread's children list;
    VmHWM only grows, so a late sample still holds the peak; a descendant's CPU misses at most its
    last second, and processes shorter than a second are missed, as they mostly were before).
    Reading every descendant ten times a second took ~1.5 s of CPU in a 12 s 4-worker coding
    window. wait4's own CPU total cannot stand in: the sandboxed server's CPU never reaches it (its
    PID namespace's init is gone before it is reaped)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started_epoch = time.time()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)
        status: int | None = None
        rss = hwm = 0
        cpu = 0.0
        children_hwm: dict[int, int] = {}
        children_cpu: dict[int, float] = {}
        try:
            deadline = t0 + timeout
            next_own = next_tree = 0.0
            while (now := time.perf_counter()) < deadline:
                if now >= next_own:
                    hwm = max(hwm, _vm_hwm_kb(proc.pid))
                    cpu = max(cpu, _cpu_s(proc.pid))
                    next_own = now + 0.1
                if now >= next_tree:
                    for child in _descendants(proc.pid):
                        children_hwm[child] = max(children_hwm.get(child, 0), _vm_hwm_kb(child))
                        children_cpu[child] = max(children_cpu.get(child, 0.0), _cpu_s(child))
                    next_tree = now + 1.0
                pid, st, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    status, rss = st, usage.ru_maxrss
                    break
                time.sleep(0.01)
        finally:
            if status is None:  # timed out (or interrupted): kill the whole group, then reap
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    _, st, usage = os.wait4(proc.pid, 0)
                    rss = usage.ru_maxrss
            # the child is reaped: tell Popen so it never waits for it again
            proc.returncode = os.waitstatus_to_exitcode(status) if status is not None else -9
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return ProcRun(wall_s=wall, exit_code=None if status is None else proc.returncode,
                       stdout=out.read().decode(errors="replace"), stderr=err.read().decode(errors="replace"),
                       max_rss_kb=int(rss), started_epoch=started_epoch, own_peak_rss_kb=hwm,
                       child_peak_rss_kb=max(children_hwm.values(), default=0), own_cpu_s=round(cpu, 3),
                       children_cpu_s=round(sum(children_cpu.values()), 3))


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` itself (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def autocode_build(project: Path, spec: Path, base_url: str, timeout: float, xdg: Path,
                   sandbox: str = "auto", extra: list[str] | None = None) -> ProcRun:
    """`python -m agent build ... --json` against the scripted model, as a user would run it."""
    cmd = [sys.executable, "-m", "agent", "build", "--project-dir", str(project), "--spec", str(spec),
           "--model", MODEL, "--base-url", base_url, "--json", "--sandbox", sandbox, *(extra or [])]
    return run_measured(cmd, REPO, clean_env({"XDG_CONFIG_HOME": str(xdg)}), timeout)


def json_events(stdout: str) -> list[JSON]:
    events: list[JSON] = []
    for line in stdout.splitlines():
        with contextlib.suppress(ValueError):
            item = json.loads(line)
            if isinstance(item, dict) and "event" in item:
                events.append(item)
    return events


def first_time(events: list[JSON], name: str) -> float | None:
    return next((float(e["time"]) for e in events if e["event"] == name), None)


def last_time(events: list[JSON], name: str) -> float | None:
    found = [float(e["time"]) for e in events if e["event"] == name]
    return found[-1] if found else None


# ---- `opencode run`, the way simpler harnesses drive OpenCode -----------------------------------

def _asks_allowed(rules: Any) -> Any:
    """The permission rules with every "ask" turned into "allow" (denials stay denials)."""
    if isinstance(rules, dict):
        return {key: _asks_allowed(value) for key, value in rules.items()}
    return "allow" if rules == "ask" else rules


def opencode_run_env(state_dir: Path, project: Path, base_url: str) -> dict[str, str]:
    """The isolated env autocode gives its server, but asks allowed (nobody answers them)."""
    from agent.opencode.config import CustomProvider, generate_config
    from agent.opencode.server import ServerSettings, server_env
    from agent.providers import parse_model

    config = generate_config(parse_model(MODEL), provider=CustomProvider(base_url=base_url))
    config["permission"] = _asks_allowed(config.get("permission"))  # `opencode run` would auto-reject asks
    settings = ServerSettings(state_dir=state_dir, config=config, cwd=project)
    for sub in (".config", ".local/share", ".cache", ".local/state"):
        (state_dir / "home" / sub).mkdir(parents=True, exist_ok=True)
    env = server_env(settings, "unused")
    env.pop("OPENCODE_SERVER_PASSWORD", None)
    env["PWD"] = str(project)  # OpenCode takes its directory from $PWD, not from getcwd()
    return env


def opencode_run(binary: Path, prompt: str, project: Path, env: dict[str, str], timeout: float) -> ProcRun:
    cmd = [str(binary), "run", "--format", "json", "--model", MODEL, prompt]
    return run_measured(cmd, project, env, timeout)


def run_session_id(stdout: str) -> str | None:
    for line in stdout.splitlines():
        with contextlib.suppress(ValueError):
            item = json.loads(line)
            if isinstance(item, dict) and item.get("sessionID"):
                return str(item["sessionID"])
    return None


# ---- timings as OpenCode itself recorded them ---------------------------------------------------

@dataclass
class SessionTiming:
    """One session from OpenCode's message timestamps (ms since the epoch)."""

    session_id: str
    start_ms: float  # the first user message was created
    end_ms: float  # the last assistant message completed
    turns: int  # assistant messages (model steps)
    turn_ms: float  # sum over assistant messages of completed - created
    tool_ms: dict[str, list[float]] = field(default_factory=dict)  # tool -> run times (start..end)
    tool_starts: dict[str, list[float]] = field(default_factory=dict)  # tool -> start times (ms), in order

    @property
    def span_ms(self) -> float:
        return self.end_ms - self.start_ms


def session_timing(session_id: str, messages: list[Message]) -> SessionTiming:
    from agent.opencode.events import ToolUpdated

    turns = [step for message in messages if (step := message.assistant) is not None]
    ends = [float(step.completed_ms) for step in turns if step.completed_ms is not None]
    tools: dict[str, list[float]] = {}
    tool_starts: dict[str, list[float]] = {}
    for part in (part for message in messages for part in message.parts):
        if isinstance(part, ToolUpdated) and part.started_ms is not None and part.ended_ms is not None:
            tools.setdefault(part.tool, []).append(float(part.ended_ms - part.started_ms))
            tool_starts.setdefault(part.tool, []).append(float(part.started_ms))
    return SessionTiming(session_id=session_id,
                         start_ms=float(min((m.created_ms for m in messages if m.created_ms), default=0)),
                         end_ms=max(ends, default=0.0), turns=len(turns),
                         turn_ms=sum(float(s.completed_ms - s.created_ms) for s in turns
                                     if s.completed_ms is not None and s.created_ms),
                         tool_ms=tools, tool_starts={k: sorted(v) for k, v in tool_starts.items()})


class OpenCodeReader:
    """A read-only view of an OpenCode state dir, through a real server started on it."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.get_messages_s: list[float] = []  # how long each GET /session/{id}/message took

    def messages(self, session_id: str, directory: Path) -> list[Message]:
        r = self.http.get(f"/session/{session_id}/message", params={"directory": str(directory)})
        r.raise_for_status()
        from agent.opencode.messages import parse_messages

        return parse_messages(r.json())

    def sse_connect_s(self, directory: Path) -> float:
        """Seconds from opening ``GET /event`` to its first event (what each session waits for)."""
        t0 = time.perf_counter()
        with self.http.stream("GET", "/event", params={"directory": str(directory)}, timeout=10.0) as r:
            for line in r.iter_lines():
                if line.startswith("data:"):
                    break
        return time.perf_counter() - t0

    def create_session_s(self, directory: Path) -> float:
        """Seconds of one ``POST /session`` (a titled session, as autocode creates them)."""
        t0 = time.perf_counter()
        r = self.http.post("/session", params={"directory": str(directory)}, json={"title": "bench probe"})
        r.raise_for_status()
        return time.perf_counter() - t0

    def timing(self, session_id: str, directory: Path) -> SessionTiming:
        t0 = time.perf_counter()
        messages = self.messages(session_id, directory)
        self.get_messages_s.append(time.perf_counter() - t0)
        return session_timing(session_id, messages)


@contextlib.contextmanager
def opencode_reader(state_dir: Path, config: dict[str, Any], cwd: Path) -> Iterator[OpenCodeReader]:
    import httpx

    from agent.opencode.server import OpenCodeServer, ServerSettings

    server = OpenCodeServer(ServerSettings(state_dir=state_dir, config=config, cwd=cwd))
    try:
        server.start()
        auth = httpx.BasicAuth("opencode", server.password)
        with httpx.Client(base_url=server.url, auth=auth, timeout=30.0) as http:
            yield OpenCodeReader(http)
    finally:
        server.stop()


def autocode_server_config(base_url: str) -> dict[str, Any]:
    """The config autocode generates for the benchmark build (to reopen its state dir)."""
    from agent.runtime import ServerOptions, opencode_config

    return opencode_config(ServerOptions(model=MODEL, base_url=base_url))


# ---- project history: what an agent would re-read at the start of each session ------------------

def git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, timeout=60).stdout


def reread_bytes(repo: Path, commit: str) -> dict[str, int]:
    """Spec + feature list + notes + `git log --oneline -20`, as the project was at ``commit``."""
    sizes = {name: len(git(repo, "show", f"{commit}:{path}")) for name, path in
             (("spec", "app_spec.txt"), ("feature_list", "feature_list.json"),
              ("notes", "autocode-progress.md"))}
    sizes["git_log"] = len(git(repo, "log", "--oneline", "-20", commit))
    sizes["total"] = sum(sizes.values())
    return sizes


def session_start_commits(repo: Path) -> list[str]:
    """The commit each coding session started from: the skeleton, then each accepted feature."""
    lines = git(repo, "log", "--reverse", "--format=%H %s").decode().splitlines()
    commits = [line.split(" ", 1) for line in lines if " " in line]
    initial = [c for c, s in commits if s.startswith("autocode: initial")]
    features = [c for c, s in commits if s.startswith("autocode: feature")]
    return initial[:1] + features


# ---- small statistics ---------------------------------------------------------------------------

def timed(fn: Callable[[], object], repeats: int, budget_s: float = 5.0) -> float:
    """Best (minimum) seconds of ``fn`` over ``repeats`` runs (fewer if the budget runs out; at
    least 1). Other load on the machine only ever adds time, so the minimum is the stable number."""
    samples: list[float] = []
    stop = time.perf_counter() + budget_s
    for _ in range(max(repeats, 1)):
        gc.collect()  # a collection left over from the previous sample is not this one's cost
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
        if time.perf_counter() > stop:
            break
    return min(samples)


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


# ---- synthetic state for the scale measurements -------------------------------------------------

def write_synthetic_state(project: Path, n_features: int, n_sessions: int) -> JSON:
    """A project as a long build leaves it: ``n_features`` features (98 % passing) and the
    progress, cost and denied logs of ``n_sessions`` sessions. Written directly (no fsync)."""
    from agent.cost import StepRecord
    from agent.features import FEATURE_FILE, dump_features, parse_features, with_verdicts
    from agent.state import BuildState, StateStore

    store = StateStore(project)
    store.root.mkdir(parents=True, exist_ok=True)
    raw = bench_features(n_features)
    (project / "app_spec.txt").write_text(bench_spec(raw[:20]), encoding="utf-8")
    features = parse_features(json.dumps(raw))
    failing = list(range(n_features - max(n_features // 50, 1), n_features))
    passing = sorted(set(range(n_features)) - set(failing))
    text = dump_features(with_verdicts(features, set(passing)))
    (project / FEATURE_FILE).write_text(text, encoding="utf-8")
    store.baseline_path.write_text(text, encoding="utf-8")
    now = time.time()
    state = BuildState(model=MODEL, initialized=True, passing=passing, sessions=n_sessions,
                       attempts=dict.fromkeys(failing, 1), elapsed_s=n_sessions * 300.0,
                       last_failure={i: f"$ test -f src/{fid(i)}.py\n" + "E assert failed\n" * 150
                                     for i in failing[:5]},
                       started_at=now - n_sessions * 300, test_cmd="true")
    store.state_path.write_text(state.model_dump_json(indent=2) + "\n", encoding="utf-8")
    progress: list[str] = []
    costs: list[str] = []
    for s in range(n_sessions):
        sid = f"ses_bench{s:06d}"
        feature = s % n_features
        progress.append(json.dumps({"time": now, "kind": "session", "session": sid, "feature": feature,
                                    "stop": "idle", "cost": 0.0123, "turns": 10, "duration_s": 240.5,
                                    "denied": 0}))
        progress.append(json.dumps({"time": now, "kind": "verdict", "session": sid, "feature": feature,
                                    "verdict": "accepted", "accepted": [feature], "violations": [],
                                    "cost": 0.0123}))
        for step in range(10):
            costs.append(StepRecord(message_id=f"msg_{s:06d}_{step:02d}", session_id=sid, root_session_id=sid,
                                    feature=feature, model=MODEL, cost=0.00123, input=12000, output=400,
                                    cache_read=8000, time=now).model_dump_json())
    store.progress_path.write_text("\n".join(progress) + "\n", encoding="utf-8")
    store.cost_path.write_text("\n".join(costs) + "\n", encoding="utf-8")
    denied = [json.dumps({"time": now, "kind": "bash", "command": "curl http://example.com",
                          "reason": "network access is not allowed"}) for _ in range(n_sessions // 10)]
    store.denied_path.write_text("\n".join(denied) + "\n", encoding="utf-8")
    files = [project / FEATURE_FILE, store.state_path, store.progress_path, store.cost_path, store.denied_path]
    return {"features": n_features, "passing": len(passing), "sessions": n_sessions,
            "bytes": {p.name: p.stat().st_size for p in files}}


def scale_worker(project: Path, repeats: int) -> JSON:
    """Time autocode's own state operations on ``project`` (run in a fresh process: clean RSS)."""
    import resource

    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from agent.cost import Ledger
    from agent.features import FEATURE_FILE, check_integrity, dump_features, next_feature, with_verdicts
    from agent.prompts import PromptBook
    from agent.state import StateStore, append_jsonl, atomic_write
    from agent.status import build_status

    rss_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    store = StateStore(project)
    state = store.load()
    baseline = store.load_baseline()
    assert baseline is not None, "synthetic baseline missing"
    passing = set(state.passing)
    target = next_feature(baseline, passing, set())
    assert target is not None, "synthetic state has no next feature"
    agent_text = dump_features(with_verdicts(baseline, passing | {target}))  # the agent's mark
    prompts = PromptBook([])
    notes = "\n".join(f"- {fid(i)}: implemented, tested and marked passing" for i in range(12))
    commits = [f"abc{i:04d} autocode: feature {i} passes: Benchmark feature {i}" for i in range(3)]
    scratch = project / ".autocode" / "scratch"

    def render(failure: bool = True) -> str:
        return prompts.render("coding", project_dir=str(project), passing=len(passing), total=len(baseline),
                              recent_commits=commits, notes=notes, dirty=False, number=target + 1,
                              feature=baseline[target],
                              last_failure=state.last_failure.get(target, "") if failure else "",
                              test_cmd=state.test_cmd or "")

    def bookkeeping() -> None:
        """What Builder does around one coding session, minus git, the check and the server."""
        b = store.load_baseline() or []  # _next
        next_feature(b, passing, set())
        b = store.load_baseline() or []  # _code
        render()
        store.save(state)  # _session, before
        append_jsonl(scratch / "progress.jsonl", {"kind": "session"})
        store.save(state)  # _session, after
        b = store.load_baseline() or []  # _judge
        check_integrity(with_verdicts(b, passing), agent_text)
        verdicts = with_verdicts(b, passing)
        atomic_write(scratch / FEATURE_FILE, dump_features(verdicts))
        atomic_write(scratch / "features.json", dump_features(verdicts))
        append_jsonl(scratch / "progress.jsonl", {"kind": "verdict"})
        store.save(state)

    state_json = state.model_dump_json(indent=2) + "\n"
    ops: dict[str, Callable[[], object]] = {
        "status_in_process": lambda: build_status(project),
        "load_baseline": store.load_baseline,
        "next_feature": lambda: next_feature(baseline, passing, set()),
        "check_integrity": lambda: check_integrity(with_verdicts(baseline, passing), agent_text),
        "state_save": lambda: store.save(state),
        "state_write_no_fsync": lambda: (scratch / "state.json").write_text(state_json),
        "save_baseline": lambda: store.save_baseline(baseline),
        "ledger_load": lambda: Ledger(store.cost_path),
        "progress_read": store.progress,
        "render_coding_prompt": render,
        "append_jsonl_event": lambda: append_jsonl(scratch / "events.jsonl", {"event": "tool", "x": 1}),
        "session_bookkeeping": bookkeeping,
    }
    scratch.mkdir(parents=True, exist_ok=True)
    results = {name: timed(fn, repeats) for name, fn in ops.items()}
    return {"ops_s": results, "prompt_chars": len(render(failure=False)),
            "prompt_chars_with_last_failure": len(render()),
            "rss_kb_start": rss_start, "rss_kb_after_imports": rss_imports,
            "rss_kb_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
