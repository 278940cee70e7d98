"""The premises behind the class rows, proved against the real tools in a temp dir.

Each test runs the tool with a harmless payload (`touch MARK`, a hard link, a copied template)
and shows the abbreviation or escape does what the policy assumes. A missing tool is a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.security.longopts import LONG_OPTIONS, expand


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )


def _need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


@pytest.mark.parametrize("tool", sorted(LONG_OPTIONS))
def test_long_option_lists_cover_the_tools_help(tool: str) -> None:
    _need(tool)
    shown = subprocess.run([tool, "--help"], capture_output=True, text=True, check=False).stdout
    listed = set(re.findall(r"--[a-zA-Z][a-zA-Z0-9-]*", shown))
    assert listed <= set(LONG_OPTIONS[tool]), listed - set(LONG_OPTIONS[tool])


def test_tar_runs_an_abbreviated_to_command(tmp_path: Path) -> None:
    _need("tar")
    assert expand("--to-comm", LONG_OPTIONS["tar"]) == "--to-command"
    _run("echo hi > f && tar -cf a.tar f", tmp_path)
    _run("tar -xf a.tar --to-comm='touch MARK'", tmp_path)
    assert (tmp_path / "MARK").exists()


def test_tar_refuses_an_ambiguous_prefix(tmp_path: Path) -> None:
    _need("tar")
    assert expand("--co", LONG_OPTIONS["tar"]) is None
    assert _run("echo hi > f && tar --co -f a.tar f", tmp_path).returncode != 0


def test_sed_edits_in_place_through_a_prefix(tmp_path: Path) -> None:
    _need("sed")
    (tmp_path / "f").write_text("a\n")
    _run("sed --in-pl 's/a/b/' f", tmp_path)
    assert (tmp_path / "f").read_text() == "b\n"


def test_make_evaluates_an_abbreviated_eval(tmp_path: Path) -> None:
    _need("make")
    _run("make -f /dev/null --ev='x: ; touch MARK' x", tmp_path)
    assert (tmp_path / "MARK").exists()


def test_cp_makes_a_hard_link_through_a_prefix(tmp_path: Path) -> None:
    _need("cp")
    (tmp_path / "secret").write_text("s")
    _run("cp --li secret copy", tmp_path)
    assert (tmp_path / "secret").stat().st_nlink == 2


def test_mv_target_prefix_moves_elsewhere(tmp_path: Path) -> None:
    _need("mv")
    (tmp_path / "out").mkdir()
    (tmp_path / "f").write_text("x")
    _run("mv --t=out f", tmp_path)
    assert (tmp_path / "out" / "f").exists()


def test_git_takes_prefixes_of_its_long_options(tmp_path: Path) -> None:
    _need("git")
    template = tmp_path / "tpl"
    (template / "hooks").mkdir(parents=True)
    (template / "hooks" / "post-commit").write_text("#!/bin/sh\ntouch MARK\n")
    _run(f"git init -q --templ={template} repo", tmp_path)
    assert (tmp_path / "repo" / ".git" / "hooks" / "post-commit").exists()
    _run("git init -q --templ=../nowhere other", tmp_path)
    assert (tmp_path / "other" / ".git").is_dir()  # accepted: the prefix is an option, not an error


def test_git_separate_git_dir_prefix_puts_the_repository_elsewhere(tmp_path: Path) -> None:
    _need("git")
    _run("git init -q --sep=elsewhere repo", tmp_path)
    assert (tmp_path / "elsewhere" / "HEAD").exists()


@pytest.mark.parametrize("dot", [".sh", ".shell", ".system", ".sy"])
def test_sqlite_runs_shell_dot_command_prefixes(dot: str, tmp_path: Path) -> None:
    _need("sqlite3")
    _run(f"sqlite3 :memory: '{dot} touch MARK'", tmp_path)
    assert (tmp_path / "MARK").exists()


def test_sqlite_writefile_writes(tmp_path: Path) -> None:
    _need("sqlite3")
    _run("sqlite3 :memory: \"select writefile('MARK', 'x')\"", tmp_path)
    assert (tmp_path / "MARK").exists()


def test_find_exec_runs(tmp_path: Path) -> None:
    _need("find")
    _run("find . -maxdepth 0 -exec touch MARK \\;", tmp_path)
    assert (tmp_path / "MARK").exists()


def test_grep_directories_recurse_is_recursive(tmp_path: Path) -> None:
    _need("grep")
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "e" / "f").write_text("needle\n")
    assert "needle" in _run("grep -d recurse needle d", tmp_path).stdout


def test_a_relative_symlink_counts_from_its_own_directory(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x")
    _run("ln -s ../src/a.py src/b.py", tmp_path)
    assert (tmp_path / "src" / "b.py").resolve() == (tmp_path / "src" / "a.py").resolve()


def test_pgrep_patterns_are_regexes_searched_in_the_name(tmp_path: Path) -> None:
    _need("pgrep", "sleep")
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        found = subprocess.run(["pgrep", "-f", "sl.ep 3"], capture_output=True, text=True, check=False)
        assert str(sleeper.pid) in found.stdout.split()
        found = subprocess.run(["pgrep", "lee"], capture_output=True, text=True, check=False)
        assert str(sleeper.pid) in found.stdout.split()
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("program", ["python3 -", "python3 /dev/stdin"])
def test_python_runs_its_stdin_as_the_program(program: str, tmp_path: Path) -> None:
    _need("python3")
    _run(f'echo \'open("MARK", "w")\' | {program}', tmp_path)
    assert (tmp_path / "MARK").exists()
