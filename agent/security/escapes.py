"""Options and subcommands of allowed tools that run a program or shell string of their choosing.

Each is refused outright: ``java -XX:OnError='sh -c …'``, ``javac -J-XX:OnError=…``,
``wget --use-askpass=PROG``, ``go build -toolexec 'sh -c'``, ``go vet -vettool=PROG``,
``go test -exec PROG``, ``mvn exec:exec``, ``npm explore PKG -- CMD``. An option counts in any of
its spellings (``--opt=value``, ``--opt value``, one or two dashes for Go's flags).
"""

from __future__ import annotations

from types import MappingProxyType

from agent.security.base import command_name, deny
from agent.security.bash import SimpleCommand
from agent.security.models import Decision

RUNS_PROGRAM: MappingProxyType[str, tuple[str, ...]] = MappingProxyType({
    "java": ("-XX:OnError", "-XX:OnOutOfMemoryError"),
    "javac": ("-J-XX:OnError", "-J-XX:OnOutOfMemoryError"),
    "wget": ("--use-askpass",),
    "go": ("-toolexec", "-vettool", "-exec"),
    "mvn": ("exec:exec",), "mvnw": ("exec:exec",),
    "npm": ("explore",),
    **dict.fromkeys(("gcc", "g++", "cc", "c++", "clang", "clang++"), ("-wrapper",)),
    "rustc": ("-Clinker", "--codegen linker", "-C linker"),
})
"""Tool → the option or subcommand names that run a program the command line chooses."""


def escape_problem(cmd: SimpleCommand, tool: str | None = None) -> Decision | None:
    name = tool or command_name(cmd)
    banned = RUNS_PROGRAM.get(name)
    if not banned:
        return None
    values = [w.value or "" for w in cmd.args]
    for index, word in enumerate(cmd.args):
        text = (word.value or "").partition("=")[0]
        if name == "rustc" and text in ("-C", "--codegen") and index + 1 < len(values):
            text = f"{text} {values[index + 1].partition('=')[0]}"  # `-C linker=PROG`
        if name == "rustc" and (word.value or "").startswith("--codegen="):
            text = "-C" + (word.value or "").partition("=")[2].partition("=")[0]  # `--codegen=linker=PROG`
        if name == "go" and text.startswith("--"):
            text = text[1:]  # Go's flag package takes -flag and --flag alike
        if text in banned:
            return deny("deny.runs_program", f"`{name} {text}` runs a program of the command line's choosing "
                                              "(not one the policy can check); not allowed.")
    return None
