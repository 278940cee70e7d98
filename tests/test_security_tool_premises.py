"""The premises behind tests/test_security_gaps.py, proved against the real tools and bash in a temp
dir with a harmless payload (a file named MARK): which long-option prefixes the tools take, what
bash does with here-docs the parser misreads, how xargs splits, and what sqlite3 reads from stdin.
A missing tool is a skip."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.security.bash import parse_script
from agent.security.longopts import LONG_OPTIONS, expand


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8"}
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=30, check=False)


def _need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


@pytest.mark.parametrize(("tool", "command", "prefix", "full"), [
    ("sort", "sort --out=MARK /dev/null", "--out", "--output"),
    ("xargs", "echo MARK > list; xargs --arg-fi=list touch", "--arg-fi", "--arg-file"),
    ("wget", "wget -q --output-f=MARK http://127.0.0.1:9/", "--output-f", "--output-file"),
    ("curl", "echo hi > in; curl -s --upload-f in \"file://$PWD/MARK\"", "--upload-f", "--upload-file"),
])  # fmt: skip
def test_tools_take_unique_prefixes(tool: str, command: str, prefix: str, full: str, tmp_path: Path) -> None:
    _need(tool)
    assert expand(prefix, LONG_OPTIONS[tool]) == full
    _run(command, tmp_path)
    assert (tmp_path / "MARK").exists()


def test_curl_refuses_an_ambiguous_prefix(tmp_path: Path) -> None:
    _need("curl")
    assert expand("--outp", LONG_OPTIONS["curl"]) is None  # --output / --output-dir
    result = _run("curl -s --outp MARK file:///dev/null", tmp_path)
    assert result.returncode != 0 and not (tmp_path / "MARK").exists()


def test_pip_optparse_takes_prefixes() -> None:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    shown = subprocess.run([*pip, "--versi"], capture_output=True, text=True, timeout=60, check=False)
    assert shown.returncode == 0 and shown.stdout.startswith("pip ")
    assert expand("--break", LONG_OPTIONS["pip"]) == "--break-system-packages"
    ambiguous = subprocess.run([*pip, "install", "--pyth=x", "y"], capture_output=True, text=True,
                               timeout=60, check=False)
    assert ambiguous.returncode != 0 and "ambiguous" in ambiguous.stderr.lower()


def test_bash_passes_the_dash_the_parser_drops(tmp_path: Path) -> None:
    assert _run("printf '[%s]' - <<'X'\nX", tmp_path).stdout == "[-]"
    assert [w.value for w in parse_script("printf '[%s]' - <<'X'\nX\n").commands[0].args] == ["[%s]", "-"]


@pytest.mark.parametrize("script", [
    "bash <<'X'\ntouch MARK\nX",
    "bash -s <<'X'\ntouch MARK\nX",
    "bash <<< 'touch MARK'",
    "bash <<'X'\n\\\ntouch MARK\nX",  # tree-sitter shows this body as empty
    "bash <<X\n$(echo touch) MARK\nX",  # unquoted: expanded before bash reads it
])  # fmt: skip
def test_bash_runs_a_here_doc_as_its_script(script: str, tmp_path: Path) -> None:
    _run(script, tmp_path)
    assert (tmp_path / "MARK").exists()


def test_the_policy_sees_the_body_bash_runs() -> None:
    body = parse_script("bash <<'X'\n\\\ntouch MARK\nX\n").commands[0].stdin_text
    assert body is not None and body.value is not None and "touch MARK" in body.value


def test_sqlite3_runs_dot_commands_from_stdin_unless_safe(tmp_path: Path) -> None:
    _need("sqlite3")
    _run("sqlite3 -safe :memory: <<< '.shell touch MARK'", tmp_path)
    assert not (tmp_path / "MARK").exists()
    _run("sqlite3 :memory: <<< '.shell touch MARK'", tmp_path)
    assert (tmp_path / "MARK").exists()


def test_xargs_splits_on_blanks_unless_nul(tmp_path: Path) -> None:
    _need("xargs", "find")
    (tmp_path / "src" / "a MARK").mkdir(parents=True)
    (tmp_path / "src" / "a MARK" / "f.py").write_text("")
    split = ("find src -name '*.py' | xargs -n1 echo"
             " | while read -r w; do [ \"$w\" = MARK/f.py ] && touch MARK; done")
    _run(split, tmp_path)
    assert (tmp_path / "MARK").exists()  # a crafted directory name became a path of its own
    (tmp_path / "MARK").unlink()
    _run("find src -name '*.py' -print0 | xargs -0 -n1 echo | grep -qx MARK/f.py && touch MARK", tmp_path)
    assert not (tmp_path / "MARK").exists()


@pytest.mark.parametrize(("script", "expected"), [
    ("unset PORT; echo http://localhost:${PORT:-3000}/", "http://localhost:3000/"),
    ("PORT=@evil; echo http://localhost:${PORT:-3000}/", "http://localhost:@evil/"),
    ("for p in /a /b; do echo http://localhost:3000$p; done", "http://localhost:3000/a\nhttp://localhost:3000/b"),
])  # fmt: skip
def test_default_valued_ports_follow_the_command_line(script: str, expected: str, tmp_path: Path) -> None:
    assert _run(script, tmp_path).stdout.strip() == expected
