"""Containment that holds: agent commands AND autocode's own checks run in the command sandbox.

Each attack is a Python script the policy allows (``python3 attack.py``): the policy cannot judge
what a script does, so these tests prove the wall itself. Failures are asserted on the host
(canary files, a listening socket that must stay silent) and in what the attacker could record.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import string
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.sandbox import bwrap_works
from agent.state import StateStore, read_jsonl
from agent.status import build_status, render_status
from tests.e2e.conftest import ScriptedModel, feature_steps, init_script, run_direct

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not bwrap_works(), reason="bubblewrap unavailable")]

ATTACK = '''
import glob, json, os, socket, sys
where = sys.argv[1]
found = {"where": where}
def attempt(name, fn):
    try:
        found[name] = ["ok", str(fn())[:300]]
    except Exception as exc:
        found[name] = ["failed", repr(exc)[:300]]
def write(path):
    open(path, "w").write("escaped")
    return path
attempt("write_tmp", lambda: write("$tmp_mark-" + where))
attempt("write_home", lambda: write(os.path.expanduser("~/$home_name-" + where)))
found["secret_vars"] = sorted(k for k in os.environ
                              if any(w in k.upper() for w in ("KEY", "TOKEN", "PASSWORD", "SECRET")))
found["canary_in_env"] = "$canary" in json.dumps(dict(os.environ))
leaks = []
for path in glob.glob("/proc/[0-9]*/environ"):
    try:
        if b"$canary" in open(path, "rb").read() or b"OPENCODE_SERVER_PASSWORD" in open(path, "rb").read():
            leaks.append(path)
    except OSError:
        pass
found["environ_leaks"] = leaks
attempt("environ_of_autocode", lambda: open("/proc/$autocode_pid/environ", "rb").read().count(b"$canary"))
found["processes"] = [open(p).read().replace("\\0", " ")[:120] for p in glob.glob("/proc/[0-9]*/cmdline")]
for path in $auth_paths:
    attempt("auth:" + path, lambda: open(path).read())
def connect():
    s = socket.create_connection(("127.0.0.1", $host_port), timeout=3)
    s.sendall(b"escaped " + where.encode())
    s.close()
attempt("host_loopback", connect)
attempt("git_hook", lambda: write(".git/hooks/post-commit"))
open("report-" + where + ".json", "w").write(json.dumps(found))
'''


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP port on the host's loopback that records whoever reaches it."""
    server = socket.create_server(("127.0.0.1", 0))
    got: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                got.append(conn.recv(100))

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], got
    server.close()


def test_agent_code_cannot_get_out_from_commands_or_checks(
        scripted: ScriptedModel, project: Path, tmp_path: Path, listener: tuple[int, list[bytes]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("AUTOCODE_TEST_API_KEY", canary)  # a provider key the server inherits
    monkeypatch.setenv("AUTOCODE_TEST_TOKEN", canary)
    data_home = tmp_path / "xdg-data"
    (data_home / "opencode").mkdir(parents=True)
    (data_home / "opencode" / "auth.json").write_text(json.dumps({"p": {"key": canary}}))
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))  # `opencode auth login` put it here
    server_auth = StateStore(project).server_dir / "home" / ".local" / "share" / "opencode" / "auth.json"
    tmp_mark = Path("/tmp") / f"autocode-escape-{uuid.uuid4().hex}"
    home_name = f"autocode-escape-{uuid.uuid4().hex}"
    port, reached = listener
    auth_paths = repr([str(server_auth), str(data_home / "opencode" / "auth.json")])
    script = string.Template(ATTACK).substitute(tmp_mark=tmp_mark, home_name=home_name, canary=canary,
                                                autocode_pid=os.getpid(), auth_paths=auth_paths,
                                                host_port=port)
    features = [{"category": "functional", "description": "Attack", "steps": ["x"], "passes": False,
                 "verify": "python3 attack.py check"}]
    steps = [{"tool": "write", "args": {"filePath": "{cwd}/attack.py", "content": script}},
             {"tool": "bash", "args": {"command": "python3 attack.py agent", "description": "attack"}},
             *feature_steps(0)]
    scripted.set({"scripts": [init_script(features),
                              {"name": "attack", "match": "\nAttack\n", "steps": steps}]})
    try:
        events, stop = run_direct(project, scripted)
        assert stop is not None and stop.kind == "complete", stop
        assert server_auth.read_text().count(canary) == 1  # the server did get its copy
        for where in ("agent", "check"):
            assert not Path(f"{tmp_mark}-{where}").exists()
            assert not (Path.home() / f"{home_name}-{where}").exists()
            report = json.loads((project / f"report-{where}.json").read_text())
            _assert_contained(report, canary)
        assert reached == []
        assert not (project / ".git" / "hooks" / "post-commit").exists()
        assert next(e for e in events.named("check") if e["command"] == "python3 attack.py check")["ok"]
    finally:
        for where in ("agent", "check"):
            Path(f"{tmp_mark}-{where}").unlink(missing_ok=True)
            (Path.home() / f"{home_name}-{where}").unlink(missing_ok=True)


def _assert_contained(report: dict[str, Any], canary: str) -> None:
    where = report["where"]
    assert report["secret_vars"] == [], where
    assert report["canary_in_env"] is False, where
    assert report["environ_leaks"] == [], where
    assert report["environ_of_autocode"][0] == "failed", where  # no such pid in its namespace
    processes = " ".join(report["processes"])
    assert "opencode" not in processes and "pytest" not in processes, (where, processes)
    auth = [v for k, v in report.items() if k.startswith("auth:")]
    assert len(auth) == 2 and all(v[0] == "failed" for v in auth), (where, auth)
    assert report["host_loopback"][0] == "failed", where
    assert canary not in json.dumps(report)


def test_a_dev_server_started_in_one_command_is_reached_by_the_next(scripted: ScriptedModel,
                                                                   project: Path) -> None:
    serve = ("import http.server, os\n"
             "os.makedirs('site', exist_ok=True)\nopen('site/hello.txt', 'w').write('hello from dev')\n"
             "http.server.ThreadingHTTPServer(('127.0.0.1', 8765), lambda *a: "
             "http.server.SimpleHTTPRequestHandler(*a, directory='site')).serve_forever()\n")
    steps = [{"tool": "write", "args": {"filePath": "{cwd}/serve.py", "content": serve}},
             {"tool": "bash", "args": {"command": "python3 serve.py > dev.log 2>&1 &", "description": "dev"}},
             {"tool": "bash", "args": {"command": "sleep 1", "description": "wait"}},
             {"tool": "bash", "args": {"command": "curl -s http://localhost:8765/hello.txt -o got.txt",
                                       "description": "curl"}},
             *feature_steps(0)]
    scripted.set({"scripts": [init_script([{"category": "functional", "description": "Dev",
                                            "steps": ["x"], "passes": False}]),
                              {"name": "dev", "match": "\nDev\n", "steps": steps}]})
    _events, stop = run_direct(project, scripted)
    assert stop is not None and stop.kind == "complete", stop
    assert (project / "got.txt").read_text() == "hello from dev"
    with pytest.raises(OSError):  # the dev server lives in the sandbox's network, not the host's
        socket.create_connection(("127.0.0.1", 8765), timeout=1).close()


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from {self.server.server_address[1]}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


FETCH = '''
import os, sys, urllib.request
for name in ("NO_PROXY", "no_proxy"):  # loopback is normally direct; here it stands for the internet
    os.environ.pop(name)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": os.environ["HTTP_PROXY"]}))
results = []
for port in sys.argv[1:]:
    try:
        results.append(opener.open(f"http://127.0.0.1:{port}/", timeout=10).read().decode())
    except Exception as exc:
        results.append("refused: " + str(exc))
open("fetched.txt", "w").write("\\n".join(results))
'''


def test_the_egress_allowlist_holds_and_refusals_are_logged(scripted: ScriptedModel, project: Path) -> None:
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    allowed, other = (s.server_address[1] for s in servers)
    steps = [{"tool": "write", "args": {"filePath": "{cwd}/fetch.py", "content": FETCH}},
             {"tool": "bash", "args": {"command": f"python3 fetch.py {allowed} {other}",
                                       "description": "fetch"}},
             *feature_steps(0)]
    scripted.set({"scripts": [init_script([{"category": "functional", "description": "Fetch",
                                            "steps": ["x"], "passes": False}]),
                              {"name": "fetch", "match": "\nFetch\n", "steps": steps}]})
    try:
        _events, stop = run_direct(project, scripted, server={"allow_hosts": [f"127.0.0.1:{allowed}"]})
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert stop is not None and stop.kind == "complete", stop
    first, second = (project / "fetched.txt").read_text().splitlines()
    assert first == f"hello from {allowed}"
    assert second.startswith("refused:") and "403" in second
    egress = [r for r in read_jsonl(project / ".autocode" / "denied.jsonl") if r.get("kind") == "egress"]
    assert [r["target"] for r in egress] == [f"127.0.0.1:{other}"]
    status = build_status(project)
    assert status["denied"] == 1 and status["egress_denied"] == [f"127.0.0.1:{other}"]
    assert f"127.0.0.1:{other}" in render_status(status)


def test_without_bubblewrap_commands_still_get_a_scrubbed_env_and_the_gaps_are_named(
        scripted: ScriptedModel, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOCODE_TEST_API_KEY", "canary-no-bwrap")
    features = [{"category": "functional", "description": "Env", "steps": ["x"], "passes": False,
                 "verify": "env > check-env.txt"}]
    steps = [{"tool": "bash", "args": {"command": "env > agent-env.txt", "description": "env"}},
             *feature_steps(0)]
    scripted.set({"scripts": [init_script(features), {"name": "env", "match": "\nEnv\n", "steps": steps}]})
    events, stop = run_direct(project, scripted, server={"sandbox": "none"})
    assert stop is not None and stop.kind == "complete", stop
    for name in ("agent-env.txt", "check-env.txt"):
        text = (project / name).read_text()
        assert "canary-no-bwrap" not in text and "OPENCODE_SERVER_PASSWORD" not in text
        assert "PATH=" in text
    warnings = " ".join(e["message"] for e in events.named("warning"))
    assert "no OS sandbox for commands and checks" in warnings
    assert "no OS sandbox around the OpenCode server" in warnings
    assert events.named("build_started")[0]["sandbox"] == "none"
    assert "WARNING: no OS sandbox" in render_status(build_status(project))


def test_python_api_runs_are_contained_too(scripted: ScriptedModel, project: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.harness import run

    monkeypatch.setenv("AUTOCODE_TEST_API_KEY", "canary-harness")
    tmp_mark = f"/tmp/autocode-harness-escape-{uuid.uuid4().hex}"
    command = f"env > env.txt; touch {tmp_mark}; ls -d /proc/[0-9]* | wc -l > procs.txt"
    scripted.set({"scripts": [{"name": "env", "match": "look", "steps": [
        {"tool": "write", "args": {"filePath": "{cwd}/look.py",
                                   "content": f"import subprocess\nsubprocess.run({command!r}, shell=True)\n"}},
        {"tool": "bash", "args": {"command": "python3 look.py", "description": "look"}},
        {"text": "done"}]}]})
    try:
        run("look around", model="scripted/model-a", cwd=project, base_url=scripted.url)
        assert not Path(tmp_mark).exists()
    finally:
        Path(tmp_mark).unlink(missing_ok=True)
    env = (project / "env.txt").read_text()
    assert "canary-harness" not in env and "OPENCODE_SERVER_PASSWORD" not in env and "PATH=" in env
    assert int((project / "procs.txt").read_text()) < 10  # its own pid namespace
