"""More tools that write where an option says (``agent/security/outputs.py``), and a server that
publishes a directory: the members of the output class left open in the last round.

- ``cargo vendor DIR``; ``deno compile -o``/``--coverage=``/``--junit-path=``/``install --root``;
  ``bun build --outdir``/``--outfile``; ``uv --directory``/``--project``/``-o``; ``poetry -C``/
  ``--directory``/``export -o``; gunicorn's log and pid files; node's profile, report and
  warning files; the JVM's ``-Xlog:…:PATH``, ``-Xloggc:``, ``-XX:HeapDumpPath=`` and kin,
  ``-XX:StartFlightRecording=filename=``; ``curl -w '%output{FILE}…'`` (curl 8.3+);
  ``wget --warc-file``/``--warc-tempdir``/``--rejected-log``.
- ``python -m http.server -d DIR`` serves DIR's whole tree on a port (then ``curl
  localhost:8000/.ssh/id_rsa``): judged as a walk of DIR, like ``grep -r``.

The tool-specific forms (the C linker's ``-Wl,-o``, pytest's ``--cov-report=html:DIR``, the JVM's)
are now each tool's own extractor (``Spec.extra``) instead of running for every tool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from agent.security import PolicyContext, decide
from agent.security.bash import Word
from agent.security.outputs import SPECS, _written
from tests.security_support import assert_decision

WRITES_OUTSIDE = [
    "cargo vendor /tmp/x",
    "cargo vendor --versioned-dirs ../vendor",
    "deno compile -o /tmp/x main.ts",
    "deno compile --output=/tmp/x main.ts",
    "deno test --coverage=/tmp/cov",
    "deno test --junit-path=/tmp/j.xml",
    "deno install --root /tmp/r jsr:@std/http/file-server",
    "bun build src/index.ts --outdir /tmp/x",
    "bun build src/index.ts --outfile=/tmp/x.js",
    "uv --directory /tmp/x sync",
    "uv sync --directory /tmp/x",
    "uv sync --project /tmp/x",
    "uv export -o /tmp/req.txt",
    "uv pip compile pyproject.toml -o /tmp/req.txt",
    "poetry -C /tmp/x install",
    "poetry --directory=/tmp/x install",
    "poetry export -o /tmp/req.txt",
    "gunicorn app:app --access-logfile /tmp/a.log",
    "gunicorn app:app --error-logfile=/tmp/e.log",
    "gunicorn app:app --pid /tmp/g.pid",
    "gunicorn app:app -p/tmp/g.pid",
    "node --cpu-prof --cpu-prof-dir=/tmp/p app.js",
    "node --diagnostic-dir=/tmp app.js",
    "node --report-on-signal --report-directory=/tmp app.js",
    "node --redirect-warnings=/tmp/w app.js",
    "node --redirect-warnings ../w app.js",
    "java -Xlog:gc:file=/tmp/gc.log -jar app.jar",
    "java -Xlog:gc*:/tmp/gc.log:time -jar app.jar",
    "java -Xloggc:/tmp/gc.log -jar app.jar",
    "java -XX:HeapDumpPath=/tmp/h.hprof -jar app.jar",
    "java -XX:ErrorFile=/tmp/err.log -jar app.jar",
    "java -XX:StartFlightRecording=duration=30s,filename=/tmp/r.jfr -jar app.jar",
    "curl -w '%output{/tmp/x}%{http_code}' http://localhost/",
    "curl -s -w'%output{>>/tmp/x}%{url}' http://localhost/",
    "curl --write-out '%output{../x}' http://localhost/",
    "wget --warc-file=/tmp/w http://localhost/",
    "wget --warc-file /tmp/w http://localhost/",
    "wget --rejected-log=/tmp/r http://localhost/",
]

WRITES_INSIDE = [
    "cargo vendor",
    "cargo vendor third_party",
    "deno compile -o bin/app main.ts",
    "deno test --coverage=cov",
    "bun build src/index.ts --outdir dist",
    "uv sync",
    "uv --directory . sync",
    "uv export -o requirements.txt",
    "poetry install",
    "poetry export -o requirements.txt",
    "gunicorn app:app --access-logfile logs/a.log --pid run/g.pid",
    "gunicorn app:app --access-logfile -",
    "node --redirect-warnings=logs/w.txt app.js",
    "node --cpu-prof app.js",
    "java -Xlog:gc -jar app.jar",
    "java -Xlog:gc:stdout -jar app.jar",
    "java -Xlog:gc:file=logs/gc.log -jar app.jar",
    "java -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath=dumps/h.hprof -jar app.jar",
    "curl -s -w '%{http_code}' http://localhost/",
    "curl -w '%output{logs/codes.txt}%{http_code}' http://localhost/",
    "wget --warc-file=archive/site http://localhost/",
    "gcc -Wl,-o,build/app main.c",
    "pytest --cov-report=html:cov",
]


@pytest.mark.parametrize("command", WRITES_OUTSIDE)
def test_an_output_option_outside_the_project_is_refused(command: str, ctx: PolicyContext) -> None:
    decision = decide(command, ctx)
    assert decision.allowed is False, decision.reason
    assert decision.rule.startswith(("path.", "deny.dynamic")), (decision.rule, decision.reason)


@pytest.mark.parametrize("command", WRITES_INSIDE)
def test_the_same_options_inside_the_project_are_allowed(command: str, ctx: PolicyContext) -> None:
    assert_decision(decide(command, ctx), True, "allow")


@pytest.mark.parametrize(("command", "allowed"), [
    ("python3 -m http.server -d ~ 8000", False),
    ("python3 -m http.server --directory=/ 8000", False),
    ("python3 -m http.server --directory /home 8000", False),
    ("python -m http.server -d \"$HOME\" 8000", False),
    ("python3 -m http.server -d \"$D\" 8000", False),
    ("python3 -m http.server 8000", True),
    ("python3 -m http.server -d dist 8000", True),
    ("python3 -m http.server --bind 127.0.0.1 --directory src 8000", True),
])
def test_a_served_directory_is_a_walk_of_it(command: str, allowed: bool, ctx: PolicyContext) -> None:
    decision = decide(command, ctx)
    assert decision.allowed is allowed, decision.reason
    if not allowed:
        assert decision.rule in ("path.credentials", "path.dynamic_walk"), decision.rule


def test_a_tools_own_path_forms_are_read_only_for_that_tool() -> None:
    """``-Wl,-o,PATH`` is the C compilers' form: for tsc it names nothing (and ``-Xlog:`` is java's)."""
    words = tuple(Word(t, t) for t in ("-Wl,-o,/tmp/x", "-Xlog:gc:/tmp/y", "--cov-report=html:/tmp/z"))
    assert [w.value for w in _written(words, SPECS["gcc"])] == ["/tmp/x"]
    assert [w.value for w in _written(words, SPECS["java"])] == ["/tmp/y"]
    assert "/tmp/z" in [w.value for w in _written(words, SPECS["pytest"])]
    assert "/tmp/x" not in [w.value for w in _written(words, SPECS["pytest"])]
    assert _written(words, SPECS["tsc"]) == []


@pytest.mark.parametrize("command", [
    "pip cache purge", "pip cache remove requests", "python3 -m pip cache purge", "pip3 cache purge",
    "npm cache clean --force", "yarn cache clean", "pnpm store prune", "go clean -cache",
    "go clean -modcache", "go clean -i -testcache ./...", "uv cache clean", "uv cache prune",
    "poetry cache clear --all pypi", "deno clean",
])
def test_deleting_the_users_package_cache_is_refused(command: str, ctx: PolicyContext) -> None:
    assert_decision(decide(command, ctx), False, "deny.cache_clean")


@pytest.mark.parametrize("command", ["pip cache list", "pip cache dir", "cargo clean", "go clean",
                                     "npm cache ls", "uv cache dir", "pip install -r requirements.txt"])
def test_reading_a_cache_or_cleaning_the_projects_build_is_allowed(command: str, ctx: PolicyContext) -> None:
    assert_decision(decide(command, ctx), True, "allow")


def test_premise_pips_cache_is_outside_the_project(tmp_path: Path) -> None:
    """``pip cache purge`` deletes under ``pip cache dir``: the user's cache, not the project."""
    import sys

    project, home = tmp_path / "proj", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    out = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], cwd=project, capture_output=True,
                         text=True, timeout=60, env={"HOME": str(home), "PATH": "/usr/bin:/bin"}, check=False)
    assert out.stdout.strip().startswith(str(home)), out.stdout + out.stderr


# ---- premises: the real tools write where the option says (harmless, in a temp dir) --------------

def _run(args: list[str], cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, timeout=60)


@pytest.mark.skipif(shutil.which("node") is None, reason="no node here")
def test_premise_node_writes_its_warnings_to_the_named_file(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    _run(["node", "--redirect-warnings=../MARK", "-e", "process.emitWarning('x')"], tmp_path / "proj")
    assert (tmp_path / "MARK").is_file()


@pytest.mark.skipif(shutil.which("java") is None, reason="no java here")
@pytest.mark.parametrize("form", ["-Xlog:gc:file=../MARK", "-Xlog:gc:../MARK"])
def test_premise_the_jvm_writes_its_log_to_the_named_file(form: str, tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    _run(["java", form, "-version"], tmp_path / "proj")
    assert (tmp_path / "MARK").is_file()


@pytest.mark.skipif(shutil.which("wget") is None, reason="no wget here")
def test_premise_wget_writes_its_warc_file(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    _run(["wget", "-q", "--tries=1", "--timeout=2", "--warc-file=../MARK", "http://127.0.0.1:9/"],
         tmp_path / "proj")
    assert (tmp_path / "MARK.warc.gz").is_file()


def test_premise_http_server_serves_the_named_directory(tmp_path: Path) -> None:
    """``python -m http.server -d DIR`` answers with DIR's files (a stand-in secret in a temp dir)."""
    import sys
    import urllib.request

    served = tmp_path / "served"
    served.mkdir()
    (served / "secret.txt").write_text("MARKER\n")
    (tmp_path / "proj").mkdir()
    server = [sys.executable, "-u", "-m", "http.server", "-d", str(served), "--bind", "127.0.0.1", "0"]
    proc = subprocess.Popen(server, cwd=tmp_path / "proj", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N (http://127.0.0.1:N/) ..."
        port = int(line.split(" port ")[1].split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/secret.txt", timeout=10) as response:
            assert response.read() == b"MARKER\n"
    finally:
        proc.kill()
        proc.wait(timeout=10)
