"""Differential tests against the real bash (payload ``touch MARK`` in a temp dir): the premises
of the policy's leak classes 1-3 (tests/test_security_leaks.py) — what bash runs or sets that the
syntax tree does not show."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def _bash(script: str, tmp_path: Path, env_x: str | None = None) -> bool:
    """Run ``script`` in real bash inside ``tmp_path``; True when it created MARK."""
    bash = shutil.which("bash")
    assert bash is not None
    env = {"PATH": "/usr/bin:/bin", **({"x": env_x} if env_x is not None else {})}
    subprocess.run([bash, "-c", script], cwd=tmp_path, env=env, capture_output=True, timeout=10, check=False)
    return (tmp_path / "MARK").exists()


PAYLOAD = "a[$(touch MARK)]"


@pytest.mark.parametrize("script", [
    "echo ${X:-`touch MARK`}",
    "echo \"${X:-'$(touch MARK)'}\"",
    "X=abc; echo ${X#`touch MARK`}",
    "X=abc; echo ${X/a/`touch MARK`}",
])
def test_bash_runs_code_in_expansion_words(script: str, tmp_path: Path) -> None:
    assert _bash(script, tmp_path)


@pytest.mark.parametrize("script", [
    "(( x ))", ": $(( x ))", "[[ $x -eq 1 ]]", "let 'q = x'", "declare -i z; z=$x",
    "y=abc; : \"${y:x}\"", "a=(1 2); : \"${a[x]}\"", "a=(1 2); unset \"$x\"",
    "printf -v \"$x\" v", "read r <<< \"$x\"; : $(( r + 1 ))",
    "u='a[$(touch '; v='MARK)]'; : $(( $u$v ))",
])
def test_bash_evaluates_arithmetic_operands(script: str, tmp_path: Path) -> None:
    assert _bash(script, tmp_path, env_x=PAYLOAD)


@pytest.mark.parametrize("script", ['[ "$x" -eq 1 ]', 'test "$x" -gt 0', "[[ $x == 1 ]]"])
def test_bash_test_builtin_compares_without_evaluating(script: str, tmp_path: Path) -> None:
    assert not _bash(script, tmp_path, env_x=PAYLOAD)  # why `[ "$n" -gt 3 ]` stays allowed


@pytest.mark.parametrize("script", [
    "read -r v <<< MARK; touch \"$v\"",
    "printf -v v '%s' MARK; touch \"$v\"",
    "for v in MARK; do :; done; touch \"$v\"",
    "mapfile -t v <<< MARK; touch \"${v[0]}\"",
    "set -- -M; getopts M v; touch \"${v}ARK\"",
    "declare v; v=MARK; export v; bash -c 'touch \"$v\"'",
])
def test_bash_sets_variables_without_equals(script: str, tmp_path: Path) -> None:
    assert _bash(script, tmp_path)


def test_cdpath_moves_cd_elsewhere(tmp_path: Path) -> None:
    (tmp_path / "inner").mkdir()
    (tmp_path / "other" / "inner").mkdir(parents=True)
    out = subprocess.run(["bash", "-c", "cd inner >/dev/null; pwd"], cwd=tmp_path, capture_output=True,
                         text=True, env={"PATH": "/usr/bin:/bin", "CDPATH": str(tmp_path / "other")},
                         timeout=10, check=False)
    assert out.stdout.strip() == str(tmp_path / "other" / "inner")  # not ./inner
