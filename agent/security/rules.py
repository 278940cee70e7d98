"""The tables behind the command policy: what is allowed, what is always denied, and why."""

from __future__ import annotations

from types import MappingProxyType


def names(text: str) -> frozenset[str]:
    """A set of names written as one space-separated string."""
    return frozenset(text.split())


INSPECTION = names(
    "ls cat head tail wc grep egrep fgrep rg find pwd echo printf sort uniq diff cut tr sed awk "
    "tree file stat which whoami date env basename dirname realpath readlink jq less more test "
    "[ true false sleep seq tee xxd md5sum sha1sum sha256sum du df ps lsof uname nproc id "
    "printenv column nl paste comm base64 od hexdump strings cmp expr bc type"
)
BUILTINS = names(
    ": cd export declare local readonly typeset unset set source . read wait jobs "
    "exit return break continue shift umask ulimit command"
)
FILE_OPS = names("cp mv mkdir touch rm rmdir ln chmod tar gzip gunzip zip unzip")
TOOLING = names(
    "git python pip uv uvx pytest ruff mypy black isort flake8 pylint node npm npx yarn pnpm "
    "bun bunx deno tsc jest vitest eslint prettier vite next webpack esbuild tsx ts-node mocha "
    "playwright go gofmt cargo rustc rustfmt make cmake gcc g++ cc clang clang++ java javac mvn "
    "gradle gradlew mvnw ruby bundle rake php composer sqlite3 psql uvicorn gunicorn flask "
    "django-admin alembic poetry tox pre-commit bash sh zsh dash nice timeout nohup time stdbuf "
    "xargs kill pkill killall pnpx pipx hatch pdm rye"
)
DEFAULT_ALLOW = INSPECTION | BUILTINS | FILE_OPS | TOOLING
"""Command names allowed by default (many still go through a validator)."""

NETWORK = names("curl wget ssh scp sftp rsync nc ncat netcat socat telnet ftp")
"""Network tools: allowed only with `allow_network` (curl/wget to localhost always)."""

SHELLS = names("bash sh zsh dash ksh")
INTERPRETERS = SHELLS | names("python node perl ruby php bun deno lua tclsh osascript pwsh powershell fish")
"""Programs that run code fed to them: downloads must never be piped into these."""

FETCHERS = names("curl wget nc ncat netcat socat ssh telnet ftp")

SYSTEM_TOOLS = INTERPRETERS | names(
    "csh tcsh busybox expect script gawk mawk nawk gdb strace ltrace nsenter chroot unshare "
    "setsid env nice nohup timeout stdbuf xargs find"
)
"""Names a package runner (`npx X`, `uv run X`) must not reach when they are not allowed."""

XARGS_SAFE = names(
    "grep egrep fgrep cat head tail wc ls echo printf stat file basename dirname realpath "
    "readlink md5sum sha1sum sha256sum du true"
)
"""Commands `xargs` may feed stdin words to (read-only, no option can run code or write)."""

_PRIVILEGE = "no privilege escalation"
_DISK = "it can destroy disks and filesystems"
_SYSTEM = "it changes the machine, not the project"
_MEANING = "it changes what later commands mean"

_DANGEROUS: dict[str, str] = {
    "sudo": _PRIVILEGE, "doas": _PRIVILEGE, "su": _PRIVILEGE, "pkexec": _PRIVILEGE,
    "dd": "raw block copies can destroy data; use cp", "mkfs": _DISK, "fdisk": _DISK,
    "sfdisk": _DISK, "parted": _DISK, "wipefs": _DISK, "mkswap": _DISK, "swapon": _DISK,
    "swapoff": _DISK, "shred": "it destroys files irrecoverably",
    "shutdown": _SYSTEM, "reboot": _SYSTEM, "halt": _SYSTEM, "poweroff": _SYSTEM,
    "init": _SYSTEM, "telinit": _SYSTEM, "systemctl": _SYSTEM, "service": _SYSTEM,
    "launchctl": _SYSTEM, "mount": _SYSTEM, "umount": _SYSTEM, "chown": "no ownership changes",
    "chgrp": "no ownership changes", "crontab": "it schedules commands outside the session",
    "at": "it schedules commands outside the session", "iptables": _SYSTEM,
    "ip6tables": _SYSTEM, "nft": _SYSTEM, "ufw": _SYSTEM, "passwd": _SYSTEM,
    "useradd": _SYSTEM, "userdel": _SYSTEM, "usermod": _SYSTEM, "groupadd": _SYSTEM,
    "visudo": _SYSTEM, "eval": "it runs a string as code; write the command out directly",
    "exec": "it replaces the shell; run the command directly", "alias": _MEANING,
    "unalias": _MEANING, "hash": _MEANING, "enable": _MEANING, "builtin": _MEANING,
    "trap": "it runs a string as code later", "mapfile": "its callback runs code",
    "readarray": "its callback runs code", "coproc": "it starts hidden background commands",
}  # fmt: skip
DANGEROUS = MappingProxyType(_DANGEROUS)
"""Command names denied with a reason; `[security].allow` can re-allow all but NEVER."""

NEVER = names("sudo doas su pkexec eval exec")
"""Denied even when named in `[security].allow`: they would switch every other check off."""

DANGEROUS_VARS = names(
    "LD_PRELOAD LD_LIBRARY_PATH LD_AUDIT BASH_ENV ENV PROMPT_COMMAND SHELLOPTS BASHOPTS PS4 IFS "
    "HOME GIT_SSH GIT_SSH_COMMAND GIT_EXEC_PATH GIT_DIR GIT_WORK_TREE GIT_CONFIG "
    "GIT_CONFIG_GLOBAL GIT_CONFIG_SYSTEM GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT GIT_ASKPASS "
    "GIT_PROXY_COMMAND GIT_EXTERNAL_DIFF PERL5OPT RUBYOPT"
)
DANGEROUS_VAR_PREFIXES = ("LD_", "DYLD_", "GIT_CONFIG_", "BASH_FUNC_")
"""Environment variables that change which code runs (loader, shell start-up, git hooks)."""

PROGRAM_VARS = names("PAGER GIT_PAGER EDITOR VISUAL GIT_EDITOR GIT_SEQUENCE_EDITOR")
SAFE_PROGRAM_VALUES = frozenset({"", "cat", "less", "more", "true", ":"})
"""Variables naming a program git/man run: only these harmless values."""
