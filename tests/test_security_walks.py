"""Recursive walks whose start is not written out: a variable, a command's output, a pattern.

A recursive read (grep -r, cp -r, tar, zip, rsync, du, ls -R, tree, find and its -exec) of a
literal directory was already refused when credential stores lie below it (``grep -r . ~``). The
same walk through an expansion was allowed: ``d=$HOME; grep -r . $d``, ``cp -r $HOME src/``,
``find $HOME -name '*.pem' -exec cat {} +`` (find even took ``$HOME`` for its expression) and
patterns (``grep -r x /*``). Now a walk starts only where the policy knows: a literal path, the
literal directory before a pattern, ``$PWD``/``$HOME`` (no command may set them) or a variable that
one ``for`` loop alone fills (each of its words); anything else is refused by its kind, and so is
a pattern that can match ``..``. The premises are shown with the real bash and find."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.security import PolicyContext, decide
from tests.security_support import assert_decision, run_bash

Row = tuple[str, bool, str]

DYNAMIC = "path.dynamic_walk"
CREDENTIALS = "path.credentials"

REFUSED: list[Row] = [
    # a variable whose value the policy does not follow
    ("d=$HOME; grep -r . $d", False, DYNAMIC),
    ("d=~; grep -rl key \"$d\"", False, DYNAMIC),
    ("h=$HOME; cp -r $h src/", False, DYNAMIC),
    ("d=\"$HOME\"; tar czf src/x.tgz $d", False, DYNAMIC),
    ("d=$HOME; zip -r src/h.zip \"$d\"", False, DYNAMIC),
    ("d=$HOME; cp -a \"$d/\" src/h/", False, DYNAMIC),
    ("d=$HOME; du -a $d", False, DYNAMIC),
    ("d=$HOME; ls -R $d", False, DYNAMIC),
    ("d=$HOME; tree $d", False, DYNAMIC),
    ("d=$HOME; diff -r $d src", False, DYNAMIC),
    ("cp -r $USER src/", False, DYNAMIC),
    ("cp -r $OLDPWD src/", False, DYNAMIC),
    ("grep -r x ${SOME_DIR:-/}", False, DYNAMIC),
    ("export D=/; grep -r x $D", False, DYNAMIC),
    # a command's output
    ("cp -r $(echo ~) src/", False, DYNAMIC),
    ("cp -r \"$(dirname \"$PWD\")\" src/", False, DYNAMIC),
    ("grep -r x `echo ~`", False, DYNAMIC),
    ("d=$(pwd); grep -r x \"$d\"", False, DYNAMIC),
    ("for d in $(ls ~); do cp -r \"$d\" src/; done", False, DYNAMIC),
    # $HOME and $PWD are followed: the home holds the stores, the project's parent may
    ("cp -r $HOME src/", False, CREDENTIALS),
    ("grep -r . \"${HOME}\"", False, CREDENTIALS),
    ("tar czf src/x.tgz $HOME", False, CREDENTIALS),
    ("zip -r src/x.zip $HOME/", False, CREDENTIALS),
    ("cp -r $PWD/../.. src/", False, CREDENTIALS),
    # patterns: the walk starts below the literal directory before them
    ("grep -r x /*", False, CREDENTIALS),
    ("grep -r x ~/*", False, CREDENTIALS),
    ("grep -r x /home/*", False, CREDENTIALS),
    ("tar czf src/x.tgz /ro*", False, CREDENTIALS),
    ("du -a /*/", False, CREDENTIALS),
    ("grep -r x src/.*", False, DYNAMIC),  # `.*` matches `..` (globskipdots off)
    ("for d in /*; do grep -r x \"$d\"; done", False, CREDENTIALS),
    ("for d in ~/*; do cp -r \"$d\" src/; done", False, CREDENTIALS),
    ("for d in src ~; do grep -r x \"$d\"; done", False, CREDENTIALS),
    ("for d in src/*; do grep -r x \"$d/../../..\"; done", False, DYNAMIC),  # `..` after a pattern
    # find: an expansion before the expression is a start path, not part of the expression
    ("find $HOME -name '*.pem' -exec cat {} +", False, "deny.dynamic_argument"),
    ("t=$HOME; find $t -name id_rsa", False, "deny.dynamic_argument"),
    ("find \"$D\" -type f", False, "deny.dynamic_argument"),
    # the followed variables cannot be set
    ("PWD=/; grep -r x $PWD", False, "deny.env_var"),
    ("export PWD=/etc; grep -r x \"$PWD\"", False, "deny.env_var"),
    ("OLDPWD=/; cd -", False, "deny"),
    ("declare HOME=/; grep -r x $HOME", False, "deny.env_var"),
]

ALLOWED: list[Row] = [
    ("grep -rn foo $PWD", True, "allow.list"),
    ("grep -rn foo \"$PWD/src\"", True, "allow.list"),
    ("cp -r \"${PWD}/src\" build/", True, "allow.list"),
    ("for d in src/*; do grep -r TODO \"$d\"; done", True, "allow.list"),
    ("for d in src tests; do grep -rn x \"$d\"; done", True, "allow.list"),
    ("for d in src/*/; do du -sh \"$d\"; done", True, "allow.list"),
    ("for d in src lib; do cp -r \"$d\" build/; done", True, "allow.list"),
    ("grep -r x src/*", True, "allow.list"),
    ("grep -rn TODO *", True, "allow.list"),
    ("tar czf dist/app.tgz src/*", True, "allow.list"),
    ("cp -r src/* build/", True, "allow.list"),
    ("du -sh *", True, "allow.list"),
    ("ls -R src", True, "allow.list"),
    ("find . -name '*.py'", True, "allow.list"),
    ("find src tests -type f -name '*.py'", True, "allow.list"),
    ("find . -name '*.pyc' -delete", True, "allow.list"),
    ("f=src/app.py; grep -n x \"$f\"", True, "allow.list"),  # not a walk: a file read
    ("cd src && grep -r x $PWD", True, "allow.list"),
]


LOOP_WRITES: list[Row] = [  # a loop variable written to is each of the loop's words
    ("for f in src/*.py; do sed -i 's/a/b/' \"$f\"; done", True, "allow.list"),
    ("for f in src/*.py; do cp \"$f\" \"$f.bak\"; done", True, "allow.list"),
    ("for f in src/a.py src/b.py; do echo x >> \"$f\"; done", True, "allow.list"),
    ("for f in src/*; do mv \"$f\" \"${f}_old\"; done", True, "allow.list"),
    ("for f in ~/.bashrc; do sed -i 's/a/b/' \"$f\"; done", False, "path.outside"),
    ("for f in src/*.py ../x; do rm \"$f\"; done", False, "path.outside"),
    ("for f in .git/*; do echo x > \"$f\"; done", False, "path.protected"),
    ("for f in src/.*; do rm -rf \"$f\"; done", False, "path.outside"),
    ("for f in src/*.py; do f=/etc/passwd; echo x > \"$f\"; done", False, "path.dynamic"),
    ("for f in $(ls); do rm \"$f\"; done", False, "path.dynamic"),
    ("for f in src/a.py; do echo x > \"$f/../../../x\"; done", False, "path.outside"),
]


@pytest.mark.parametrize(("command", "allowed", "rule"), REFUSED + ALLOWED + LOOP_WRITES)
def test_walk_start(command: str, allowed: bool, rule: str, ctx: PolicyContext) -> None:
    assert_decision(decide(command, ctx), allowed, rule)


def test_the_loop_variable_is_followed_only_when_one_for_loop_alone_sets_it(ctx: PolicyContext) -> None:
    """``d`` set again after the loop (or by a second loop) holds something else: not followed."""
    for command in ("for d in src; do :; done; d=$HOME; grep -r x \"$d\"",
                    "for d in src; do grep -r x \"$d\"; done; for d in /; do :; done",
                    "for d in src; do read d; grep -r x \"$d\"; done"):
        decision = decide(command, ctx)
        assert not decision.allowed, command


# ---- premises, with the real bash and find (a fake home in a temp dir; nothing is printed) ----

def _run(script: str, cwd: Path, home: Path) -> str:
    return run_bash(script, cwd, home).stdout


@pytest.fixture
def fake_home(tmp_path: Path) -> tuple[Path, Path]:
    home, project = tmp_path / "home", tmp_path / "home" / "work" / "app"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("MARKER-KEY\n")
    (project / "src").mkdir(parents=True)
    (project / "src" / "a.py").write_text("x = 1\n")
    return home, project


@pytest.mark.parametrize("script", [
    "d=$HOME; grep -rl MARKER-KEY $d",
    "grep -rl MARKER-KEY $(echo ~)",
    "grep -rl MARKER-KEY \"$(dirname \"$(dirname \"$PWD\")\")\"",
    "find $HOME -name id_rsa -exec grep -l MARKER-KEY {} +",
    "for d in ~/.*; do grep -rl MARKER-KEY \"$d\" 2>/dev/null; done",
])
def test_premise_a_walk_of_an_expansion_or_pattern_reaches_the_home(
        script: str, fake_home: tuple[Path, Path]) -> None:
    home, project = fake_home
    assert ".ssh/id_rsa" in _run(script, project, home)


def test_premise_a_dot_pattern_can_match_dot_dot(fake_home: tuple[Path, Path]) -> None:
    """Older bash, or 5.2 with ``shopt -u globskipdots``: ``.*`` matches ``..``, so a walk of
    ``src/.*`` also walks the project (and ``x/.*/..``-style words climb further)."""
    home, project = fake_home
    assert "src/.." in _run("shopt -u globskipdots 2>/dev/null; echo src/.*", project, home).split()


def test_premise_find_takes_an_expansion_before_its_expression_for_a_start_path(
        fake_home: tuple[Path, Path]) -> None:
    home, project = fake_home
    out = _run("find $HOME -name id_rsa", project, home)
    assert out.strip() == str(home / ".ssh" / "id_rsa")


def test_premise_a_loop_variable_holds_only_the_loops_words(fake_home: tuple[Path, Path]) -> None:
    home, project = fake_home
    out = _run("for d in src/*; do grep -rl 'x = 1' \"$d\"; done; "
               "for d in src; do grep -rl MARKER-KEY \"$d\"; done", project, home)
    assert out.split() == ["src/a.py"]
