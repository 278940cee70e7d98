"""Variables reached by another name, and names whose subscript holds a command.

- ``declare``/``typeset``/``local -n r=TARGET`` makes ``r`` another name of TARGET: ``declare -n
  r=CDPATH; r=/`` set CDPATH (``cd .ssh`` then reached the home), ``r=LD_PRELOAD; export r``
  exported a preload. The target must be written out and be a variable a command may set; a
  nameref with a target known only at run time (``local -n r=$1``) or none (bound by its first
  assignment) is refused.
- A name operand ``a[$(cmd)]`` runs cmd when bash evaluates the subscript: it was checked for
  ``printf -v``, ``let`` and ``unset`` only; now also ``test -v``/``[ -v``, ``read``, ``mapfile``,
  ``declare``/``local``/``typeset``/``readonly``/``export`` and ``wait -p``.
- ``${!x}`` takes x's value for a name, subscript and all: refused when x is filled from data
  (``read x < f``), like ``test -v "$x"``.
The premises run the real bash with a harmless payload."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.security import PolicyContext, decide
from tests.security_support import assert_decision, run_bash

Row = tuple[str, bool, str]

NAMEREFS: list[Row] = [
    ("declare -n r=CDPATH; r=/tmp; cd .ssh", False, "deny.env_var"),
    ("declare -n r=HOME; r=/; cat ~/etc/shadow", False, "deny.env_var"),
    ("declare -n r=PATH; r=./bin:/usr/bin; ls", False, "deny.env_var"),
    ("declare -n r=LD_PRELOAD; r=./x.so; export r; ls", False, "deny.env_var"),
    ("typeset -rn r=BASH_ENV", False, "deny.env_var"),
    ("local -n r=GIT_CONFIG_GLOBAL", False, "deny.env_var"),
    ("f() { local -n r=$1; r=x; }; f LD_PRELOAD", False, "deny.nameref"),
    ("declare -n r; r=CDPATH", False, "deny.nameref"),
    ("declare -n r=\"$T\"", False, "deny.nameref"),
    ("declare -n r='a[$(touch /tmp/x)]'", False, "deny"),
    ("declare -n r=result; r=5; echo $result", True, "allow.list"),
    ("declare -A m; m[a]=1; echo ${m[a]}", True, "allow.list"),
    ("declare -r VERSION=1", True, "allow.list"),
]

SUBSCRIPTS: list[Row] = [
    ("test -v 'a[$(touch /tmp/x)]'", False, "deny.injection"),
    ("[ -v 'a[$(touch /tmp/x)]' ]", False, "deny.injection"),
    ("[[ -v 'a[$(touch /tmp/x)]' ]]", False, "deny.injection"),
    ("read 'a[$(touch /tmp/x)]' <<< x", False, "deny.injection"),
    ("read -a 'a[`touch /tmp/x`]' <<< x", False, "deny.injection"),
    ("declare 'a[$(touch /tmp/x)]=1'", False, "deny.injection"),
    ("local 'a[`touch /tmp/x`]'", False, "deny.injection"),
    ("readonly 'a[$(touch /tmp/x)]'", False, "deny.injection"),
    ("declare -p 'a[$(touch /tmp/x)]'", False, "deny.injection"),
    ("wait -p 'a[$(touch /tmp/x)]'", False, "deny.injection"),
    ("mapfile 'a[$(touch /tmp/x)]' < src/a.py", False, "deny.injection"),
    ("test -v HOME && echo set", True, "allow.list"),
    ("[ -v PATH ] && echo set", True, "allow.list"),
    ("read -r line < src/a.py", True, "allow.list"),
    ("declare -a arr=(1 2 3)", True, "allow.list"),
]

INDIRECT: list[Row] = [
    ("read x < f; echo ${!x}", False, "deny.injection"),
    ("x=$(cat f); echo ${!x}", False, "deny.injection"),
    ("read x < f; y=${!x}", False, "deny.injection"),
    ("read x < f; test -v \"$x\"", False, "deny.injection"),
    ("read x < f; [ -v \"$x\" ]", False, "deny.injection"),
    ("x=HOME; echo ${!x}", True, "allow.list"),
    ("for v in A B; do echo ${!v}; done", True, "allow.list"),
    ("declare -A m; echo ${!m[@]}", True, "allow.list"),
    ("echo ${!BASH*}", True, "allow.list"),
    ("read x < f; echo \"$x\"", True, "allow.list"),
]


@pytest.mark.parametrize(("command", "allowed", "rule"), NAMEREFS + SUBSCRIPTS + INDIRECT)
def test_names(command: str, allowed: bool, rule: str, ctx: PolicyContext) -> None:
    assert_decision(decide(command, ctx), allowed, rule)


# ---- premises: the real bash (payload `touch MARK` in a temp dir) ---------------------------------

def _bash(script: str, cwd: Path) -> str:
    return run_bash(script, cwd).stdout


@pytest.mark.parametrize("script", [
    "test -v 'a[$(touch MARK)]'",
    "[ -v 'a[$(touch MARK)]' ]",
    "read 'a[$(touch MARK)]' <<< x",
    "declare 'a[$(touch MARK)]=1'",
    "printf 'a[$(touch MARK)]' > f; read x < f; echo ${!x}",
    "printf 'a[$(touch MARK)]' > f; read x < f; test -v \"$x\"",
])
def test_premise_bash_evaluates_the_subscript_of_a_name(script: str, tmp_path: Path) -> None:
    _bash(script, tmp_path)
    assert (tmp_path / "MARK").exists()


def test_premise_a_nameref_sets_its_target_and_export_exports_it(tmp_path: Path) -> None:
    out = _bash("declare -n r=TARGET_VAR; r=changed; export r; env | grep '^TARGET_VAR='", tmp_path)
    assert out.strip() == "TARGET_VAR=changed"


def test_premise_a_nameref_without_a_target_binds_at_its_first_assignment(tmp_path: Path) -> None:
    out = _bash("declare -n r; r=TARGET_VAR; r=value; echo \"$TARGET_VAR\"", tmp_path)
    assert out.strip() == "value"
