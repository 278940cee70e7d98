"""Filesystem rules: where commands and OpenCode's edit tools may write, and what stays unread.

* Writes (file-changing commands, output redirections, OpenCode edits) must resolve inside the
  project. Paths are resolved like the shell would (``~`` → the real home, relative → the
  working directory) and then through symlinks with :func:`os.path.realpath`, so a symlink in
  the project that points outside counts as outside.
* Inside the project, autocode's and OpenCode's own state is protected: ``.git/`` internals
  (anywhere), ``.autocode/``, ``.opencode/``, ``opencode.json``, ``opencode.jsonc`` and
  ``autocode.toml`` at the project root. Normal ``git`` commands still work.
* Reads are permissive (``cat /etc/os-release`` is fine) except for credential stores in the
  home directory: ``~/.ssh``, ``~/.aws``, ``~/.config/opencode``, ``~/.local/share/opencode``
  and a few more listed in :data:`CREDENTIAL_PATHS`.
"""

from __future__ import annotations

import errno
import glob
import os
import re
import stat
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Literal

from agent.security.bash import Word
from agent.security.models import DECISION_CACHE, Decision, PolicyContext

PROTECTED_ROOT_NAMES: tuple[str, ...] = (
    ".git", ".autocode", ".opencode", "opencode.json", "opencode.jsonc", "autocode.toml",
)  # fmt: skip
"""Names at the project root that commands and edits must not change."""

PROTECTED_ANYWHERE: tuple[str, ...] = (".git",)
"""Directory names protected at any depth (nested repositories)."""

CREDENTIAL_PATHS: tuple[str, ...] = (
    ".ssh", ".aws", ".config/opencode", ".local/share/opencode", ".gnupg", ".netrc",
    ".git-credentials", ".kube", ".docker", ".config/gcloud", ".azure", ".pypirc", ".npmrc",
    ".config/autocode", ".config/gh", ".config/hub", ".config/git/credentials",
    ".cargo/credentials", ".cargo/credentials.toml", ".vault-token", ".terraform.d", ".m2/settings.xml",
    ".gradle/gradle.properties", ".password-store", ".local/share/keyrings", ".bash_history",
    ".zsh_history", ".python_history", ".psql_history", ".mysql_history", ".pgpass", ".my.cnf",
    ".claude", ".claude.json", ".codex", ".config/github-copilot", ".config/rclone", ".s3cfg", ".boto",
    ".gem/credentials", ".composer/auth.json", ".config/composer/auth.json", ".config/op", ".op",
    ".config/doctl", ".config/hcloud", ".oci", ".bluemix", ".config/heroku", ".netlify", ".vercel",
    ".config/configstore", ".yarnrc", ".yarnrc.yml", ".huggingface", ".cache/huggingface/token",
)  # fmt: skip
"""Paths under the home directory that are never read (credentials and tokens)."""

SAFE_DEVICES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/1", "/dev/fd/2"})
"""Write targets outside the project that are always fine."""

Action = Literal["read", "write", "edit"]
PRIVATE_TMP = Path("/tmp")
"""The command sandbox's private temp dir (see ``PolicyContext.private_tmp``)."""


def real(path: Path | str) -> Path:
    """``path`` with symlinks resolved; a link the kernel will not show (``/proc/1/root``) stays.

    Within one decision each path is resolved once (:data:`DECISION_CACHE`): a 10 KB command
    naming the same file hundreds of times costs one ``realpath``."""
    memo = DECISION_CACHE.get()
    key = str(path)
    if memo is not None and key in memo.real:
        return memo.real[key]
    try:
        found = Path(os.path.realpath(path))
    except OSError:
        found = Path(os.path.normpath(path))
    if memo is not None:
        memo.real[key] = found
    return found


_SYSTEM_SECRETS = re.compile(
    r"^/(etc/(g?shadow|sudoers|security/opasswd)(-|\.d)?|etc/ssh/ssh_host_[^/]*key[^/]*|(var/)?run/secrets"
    r"|dev/(stdin|fd)"
    r"|proc/[^/]+/(task/[^/]+/)?(environ|cmdline|root|cwd|mem|fd|fdinfo|map_files|maps|smaps|auxv|exe|pagemap))(/|$)"
)
"""System files that hold other processes' secrets (environments, memory), password hashes, or
open file descriptors (`python3 /dev/stdin` runs whatever is piped in, like `curl … |`)."""
_SYSTEM_HOMES = ("/root", "/home")  # /etc/shadow is refused by name; /etc itself is ordinary reading


def system_secret(path: Path) -> bool:
    """``path`` (absolute, folded) is a password file, another process's inside, root's home or
    a credential store in any user's home (``/home/*/.ssh``)."""
    return (_SYSTEM_SECRETS.match(str(path)) is not None or is_inside(path, Path("/root"))
            or _user_store(path.parts, lambda name, part: name == part))


def _user_store(parts: tuple[str, ...], same: Callable[[str, str], bool]) -> bool:
    """``/home/USER/<credential store>...`` (``same(name, part)`` compares one component)."""
    if len(parts) < 4 or parts[:2] != ("/", "home"):
        return False
    rest = parts[3:]
    for entry in CREDENTIAL_PATHS:
        wanted = entry.split("/")
        if len(rest) >= len(wanted) and all(same(name, part) for name, part in zip(wanted, rest, strict=False)):
            return True
    return False


def credential_ancestor(path: Path, home: Path, project: Path | None = None, system: bool = True) -> bool:
    """A recursive read of ``path`` would reach a credential store or a system secret: an
    ancestor of one (``~``, ``/``, ``/home``), or anything in another user's home. ``system``:
    system secrets count too (``/etc`` above /etc/shadow, anything below ``/proc``): a walk that
    reads contents; one that only lists names (``find /etc``, ``ls -R /etc``) passes them."""
    stores = [home / entry for entry in CREDENTIAL_PATHS]
    stores += [Path(name) for name in _SYSTEM_HOMES] + [server for _, server in _server_homes(home)]
    if system:
        stores += [*_SECRET_DIRS, Path("/etc/ssl/private")]  # `grep -r root: /etc` reaches /etc/shadow
    if any(is_inside(store, path) for store in stores) or path == Path("/proc") or \
            (system and is_inside(path, Path("/proc"))):
        return True
    mine = is_inside(path, home) or (project is not None and is_inside(path, project))
    return is_inside(path, Path("/home")) and not mine


def read_bounded(path: Path, limit: int) -> str | None:
    """The text of the regular file ``path`` when it is at most ``limit`` bytes, else None: what the
    policy reads of a file the command line will run or apply (a sourced script, SQL, a patch)."""
    try:
        if path.is_file() and path.stat().st_size <= limit:
            return path.read_text(errors="replace")
    except OSError:
        return None
    return None


def is_inside(path: Path, root: Path) -> bool:
    """``path`` is ``root`` or below it (both absolute)."""
    text, prefix = str(path), str(root)
    return text == prefix or text.startswith(prefix.rstrip("/") + "/")


def expand_tilde(text: str, tilde: bool, home: Path) -> str | None:
    """``~`` and ``~/x`` → the home; ``~user`` and friends → ``None`` (unknown)."""
    if not tilde:
        return text
    head, sep, tail = text.partition("/")
    if head != "~":
        return None
    return str(home) + sep + tail


def lexical(text: str, cwd: Path) -> Path:
    """``cwd/text`` with ``..`` folded by name (what the path looks like, not where it leads)."""
    return Path(os.path.normpath(cwd / text))


def physical(text: str, cwd: Path) -> Path:
    """Where ``cwd/text`` really leads: symlinks resolved before each ``..``, like the kernel."""
    return real(cwd / text)


def glob_matches(name: str, pattern: str) -> bool:
    """Bash globbing of one path component: a leading dot must be matched explicitly."""
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatchcase(name, pattern)


def has_glob(component: str) -> bool:
    return any(char in component for char in "*?[")


def protected_name(project: Path, path: Path) -> str | None:
    """The protected entry ``path`` falls in, if any (``path`` is resolved)."""
    if not is_inside(path, project) or path == project:
        return None
    parts = path.relative_to(project).parts
    if parts[0] in PROTECTED_ROOT_NAMES:
        return parts[0]
    return next((part for part in parts if part in PROTECTED_ANYWHERE), None)


def credential_name(path: Path, home: Path) -> str | None:
    """The credential store ``path`` falls in (``~/.ssh``, ...), if any."""
    return _credential_hit([path], _credential_roots(home))


def _credential_roots(home: Path) -> list[tuple[str, Path]]:
    memo = DECISION_CACHE.get()
    if memo is not None and home in memo.roots:
        return memo.roots[home]
    roots: list[tuple[str, Path]] = []
    text, resolved_home = str(home).rstrip("/"), str(real(home)).rstrip("/")
    for entry in CREDENTIAL_PATHS:  # strings first: ~70 entries on every decision
        written = f"{text}/{entry}"
        roots.append((entry, Path(written)))
        if _link_below(resolved_home, entry):
            resolved = real(written)
            if resolved != Path(written):
                roots.append((entry, resolved))
        elif resolved_home != text:
            roots.append((entry, Path(f"{resolved_home}/{entry}")))
    roots += _server_homes(home)
    if memo is not None:
        memo.roots[home] = roots
    return roots


def _link_below(base: str, entry: str) -> bool:
    """Some part of ``entry`` below ``base`` exists as a symlink (then only ``realpath`` tells where
    it leads; otherwise the path is ``base/entry`` as written): one ``lstat`` per existing part."""
    here = base
    for part in entry.split("/"):
        here = f"{here}/{part}"
        try:
            mode = os.lstat(here).st_mode
        except OSError:
            return False  # absent: nothing below it exists either
        if stat.S_ISLNK(mode):
            return True
    return False


def _state_roots(home: Path) -> list[Path]:
    """autocode's per-user state: the default place and the ones the environment names."""
    states = {home / ".local" / "state" / "autocode"}
    if os.environ.get("AUTOCODE_STATE_HOME"):
        states.add(Path(os.environ["AUTOCODE_STATE_HOME"]))
    if os.environ.get("XDG_STATE_HOME"):
        states.add(Path(os.environ["XDG_STATE_HOME"]) / "autocode")
    return sorted(states)


def _in_server_home(path: Path, home: Path) -> str | None:
    """``STATE/projects/ANY/opencode/…``, existing or not: a server's home (see :func:`_server_homes`)."""
    for state in _state_roots(home):
        if is_inside(path, state):
            parts = path.relative_to(state).parts
            if len(parts) >= 3 and glob_matches("projects", parts[0]) and glob_matches("opencode", parts[2]):
                return str(state / "projects" / parts[1] / "opencode")
    return None


def _server_homes(home: Path) -> list[tuple[str, Path]]:
    """The supervised servers' homes in autocode's per-user state (``projects/*/opencode``: the
    server's data and its copy of the provider auth); the workers' trees beside them are not."""
    found: list[tuple[str, Path]] = []
    for state in _state_roots(home):
        try:
            slugs = sorted(os.listdir(state / "projects"))[:1000]
        except OSError:
            continue
        for slug in slugs:
            server = state / "projects" / slug / "opencode"
            found += [(str(server), server), (str(server), real(server))]
    return found


def _credential_hit(paths: list[Path], roots: list[tuple[str, Path]]) -> str | None:
    return next((entry if entry.startswith("/") else f"~/{entry}" for path in paths for entry, root in roots
                 if is_inside(path, root)), None)


def check_write(word: Word, cwd: Path, context: PolicyContext, verb: str) -> Decision | None:
    """``None`` when ``word`` may be written by ``verb``, else a denial (memoised per decision)."""
    memo = DECISION_CACHE.get()
    if memo is None:
        return _check_write(word, cwd, context, verb)
    key = (word, cwd, verb, context.project_dir, context.home, context.private_tmp)
    if key not in memo.writes:
        memo.writes[key] = _check_write(word, cwd, context, verb)
    return memo.writes[key]


def _check_write(word: Word, cwd: Path, context: PolicyContext, verb: str) -> Decision | None:
    if word.value is None:
        return _deny(
            "path.dynamic",
            f"`{verb}` would write to `{word.raw}`, which holds an expansion whose value cannot "
            "be checked; write the path literally.",
        )
    if word.value in SAFE_DEVICES:
        return None
    expanded = expand_tilde(word.value, word.tilde, context.effective_home)
    if expanded is None:
        return _outside(word.raw, Path(word.value), context, verb)
    if word.glob:
        return _check_glob(word.raw, expanded, cwd, context, verb)
    return check_target(word.raw, expanded, cwd, context, verb)


def check_target(raw: str, text: str, cwd: Path, context: PolicyContext, verb: str) -> Decision | None:
    """Check the path ``text`` (relative to ``cwd``) as a write target."""
    project = context.project_dir
    if context.private_tmp and is_inside(lexical(text, cwd), PRIVATE_TMP):
        return None  # the sandbox's own /tmp: the host's /tmp (and its links) is not what it sees
    resolved = physical(text, cwd)
    if not is_inside(resolved, project):
        if is_inside(lexical(text, cwd), project):
            return _deny(
                "path.symlink",
                f"`{raw}` goes through a symlink and resolves to {resolved}, outside the project: "
                f"`{verb}` may only change files inside {project}.",
            )
        return _outside(raw, resolved, context, verb)
    hit = protected_name(project, resolved)
    if hit is not None:
        return _deny(
            "path.protected",
            f"`{raw}` is inside the protected `{hit}`: autocode and OpenCode state must not "
            f"be changed by `{verb}`.",
        )
    return None


def _outside(raw: str, resolved: Path, context: PolicyContext, verb: str) -> Decision:
    if str(resolved).startswith("/dev/"):
        return _deny("path.device", f"`{verb}` may not write to the device `{raw}`: only /dev/null.")
    return _deny(
        "path.outside",
        f"`{raw}` resolves to {resolved}, outside the project: `{verb}` may only change files "
        f"inside {context.project_dir}.",
    )


def _check_glob(raw: str, expanded: str, cwd: Path, context: PolicyContext, verb: str) -> Decision | None:
    parts = expanded.split("/")
    first = next(i for i, part in enumerate(parts) if has_glob(part))
    patterns = [p for p in parts[first:] if p]
    if any(glob_matches("..", pattern) for pattern in patterns):
        return _deny(
            "path.outside",
            f"the pattern `{raw}` can match `..` and reach outside the project; name the files.",
        )
    static = "/".join(parts[:first]) or ("/" if expanded.startswith("/") else ".")
    problem = check_target(raw, static, cwd, context, verb)
    if problem is not None:
        return problem
    at_root = physical(static, cwd) == context.project_dir
    for name in PROTECTED_ROOT_NAMES if at_root else PROTECTED_ANYWHERE:
        if patterns and glob_matches(name, patterns[0]):
            return _deny(
                "path.protected",
                f"the pattern `{raw}` matches the protected `{name}`: autocode and OpenCode "
                f"state must not be changed by `{verb}`; name the files instead.",
            )
    if any(glob_matches(name, p) for p in patterns[1:] for name in PROTECTED_ANYWHERE):
        return _deny("path.protected", f"the pattern `{raw}` can match a `.git` directory.")
    targets = _glob_targets(lexical(expanded, cwd))  # links among the files it matches
    if targets is None:
        return _deny("path.too_many", f"the pattern `{raw}` matches more than {MAX_GLOB_MATCHES} files, too "
                                      "many to check each for a symlink out of the project; name fewer.")
    for target in targets:
        problem = check_target(raw, str(target), cwd, context, verb)
        if problem is not None:
            return problem
    return None


def check_read(word: Word, cwd: Path, context: PolicyContext) -> Decision | None:
    """``None`` unless ``word`` names a credential store (reads are otherwise allowed)."""
    text = word.value
    if text is None:
        return _dynamic_read(word.raw) or _completed_read(word.raw, cwd, context)
    if not ("/" in text or word.tilde or text.startswith(".") or word.glob) and not _is_link(f"{cwd}/{text}"):
        return None  # a plain name in the working directory that is not a symlink
    memo = DECISION_CACHE.get()
    if memo is None:
        return _check_read(word, text, cwd, context)
    key = (word.raw, text, word.glob, word.tilde, cwd, context.home)
    if key not in memo.reads:
        memo.reads[key] = _check_read(word, text, cwd, context)
    return memo.reads[key]


def _check_read(word: Word, text: str, cwd: Path, context: PolicyContext) -> Decision | None:
    home = context.effective_home
    expanded = expand_tilde(text, word.tilde or text.startswith("~/"), home)
    if expanded is None:
        return _deny(
            "path.credentials",
            f"`{word.raw}` names another user's home (or a directory stack entry); write the path out.",
        )
    paths = [lexical(expanded, cwd)] if word.glob else [lexical(expanded, cwd), physical(expanded, cwd)]
    if word.glob and is_inside(paths[0], context.project_dir):  # links in the project it matches
        matched = _glob_targets(paths[0])
        if matched is None:
            return _deny("path.too_many", f"`{word.raw}` matches more than {MAX_GLOB_MATCHES} files, too many "
                                          "to check each for a symlink out of the project; name fewer.")
        paths += matched
    if not word.glob and (paths[1] != paths[0] or _is_link(paths[0])) and _loops(paths[0]):
        return _deny("path.symlink", f"`{word.raw}` is a symlink loop or a chain of links too long to "
                                     "follow; it cannot be checked.")
    if _reads_system_secret(word, [p for p in paths if not is_inside(p, context.project_dir)]):
        return _deny(
            "path.credentials",
            f"`{word.raw}` is a password file, another process's environment, memory or files, "
            "or an open file descriptor (code on stdin): it must not be read as a path.",
        )
    roots = _credential_roots(home)
    hit = (_glob_credential(paths[0], home) or _credential_hit(paths[1:], roots)) if word.glob else \
        _credential_hit(paths, roots)
    hit = hit or next((h for p in paths if (h := _in_server_home(p, home))), None)
    if hit is None:
        return None
    return _deny(
        "path.credentials",
        f"`{word.raw}` is inside {hit}, which holds credentials: it must not be read.",
    )


_DYNAMIC_SECRET = re.compile(
    r"(^|/)(\.ssh|\.aws|\.gnupg|\.netrc|\.git-credentials|\.kube|\.docker|\.azure|\.pypirc"
    r"|\.npmrc|\.config/(opencode|gcloud)|\.local/share/opencode|g?shadow-?|environ|root)(/|$)"
    r"|^/(proc|dev/fd|dev/stdin)(/|$)"
)
"""Credential stores and system secrets named by the literal part of a word whose value is only
known at run time (``$HOME/.ssh/id_rsa``, ``"${D}"/.aws/credentials``)."""
_SECRET_NAMES = tuple(sorted({entry.split("/")[0] for entry in CREDENTIAL_PATHS}))
"""Hidden directories a glob in such a word may match (``$HOME/.s*/id_rsa``); a plain ``$D/*``
matches no hidden name, so it stays allowed."""


def _dynamic_read(raw: str) -> Decision | None:
    literal = re.sub(r"\$\{[^}]*\}|\$\(\([^)]*\)\)|\$[A-Za-z_][A-Za-z0-9_]*|\$.|[\"']", "", raw)
    patterns = [part for part in literal.split("/") if has_glob(part)]
    globbed = any(glob_matches(name, part) for part in patterns for name in _SECRET_NAMES)
    if _DYNAMIC_SECRET.search(literal) is None and not globbed:
        return None
    return _deny(
        "path.credentials",
        f"`{raw}` names a credential store or system secret through a variable; it must not be read.",
    )


_EXPANSION = re.compile(r"\$\{[^}]*\}|\$\(\([^)]*\)\)|\$\(|`|\$[A-Za-z_0-9@*#?$!-]")
_ALTERNATE = re.compile(r"\$\{[#!]?(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*])(?:\[[^]}]*\])?"
                        r"(?P<op>:?[-=+?]|//|/#|/%|/)(?P<word>[^{}]*)\}")
_HOME_VAR = re.compile(r"\$\{HOME\}|\$HOME(?![A-Za-z0-9_])")
_SECRET_DIRS = tuple(Path(p) for p in ("/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh", "/proc/1",
                                       "/dev/fd", "/run/secrets", "/var/run/secrets", "/root", "/home"))


def _completed_read(raw: str, cwd: Path, context: PolicyContext) -> Decision | None:
    """A path with a part bash fills in at run time is refused when that part could complete it
    into a credential store or system secret: the text before it names a directory above one
    (``cat ~/$x/id_rsa``, ``cat /etc/$f``, ``cat "$HOME/$d/credentials"``), or a default or
    replacement value names one (``cat "${UNSET:-$HOME/.ssh/id_rsa}"``, ``${f/*/…}``). ``$HOME``
    counts as the home it is; a value the text does not show may be anything."""
    home = context.effective_home
    secrets = (*_SECRET_DIRS, *(root for _, root in _credential_roots(home)))
    for spelling in _spellings(raw):
        problem = _completed_spelling(raw, spelling, cwd, context, home, secrets)
        if problem is not None:
            return problem
    return None


_ANSI_C = re.compile(r"\$'((?:[^'\\]|\\.)*)'")
_BRACES = re.compile(r"(?<!\$)\{([^{}$]*,[^{}$]*)\}")


def _spellings(raw: str, limit: int = 64) -> list[str]:
    """``raw`` as bash spells the text around its expansions: ``$'\\x2e'`` decoded, quotes and
    backslashes removed (``.ss\\h`` is ``.ssh``), ``{a,b}`` expanded (at most ``limit`` forms)."""
    text = _ANSI_C.sub(lambda m: _ansi_c(m.group(1)), raw)
    text = re.sub(r"\\(.)", r"\1", text.replace('"', "").replace("'", ""))
    forms = [text]
    for _ in range(8):
        expanded: list[str] = []
        for form in forms:
            found = _BRACES.search(form)
            if found is None:
                expanded.append(form)
                continue
            expanded += [form[:found.start()] + part + form[found.end():] for part in found.group(1).split(",")]
        if expanded == forms or len(expanded) > limit:
            break
        forms = expanded
    return forms[:limit]


def _ansi_c(body: str) -> str:
    try:
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except (UnicodeDecodeError, ValueError):
        return body


def _completed_spelling(raw: str, unquoted: str, cwd: Path, context: PolicyContext, home: Path,
                        secrets: tuple[Path, ...]) -> Decision | None:
    if unquoted.startswith("~"):
        unquoted = str(home) + unquoted[1:] if unquoted[1:2] in ("", "/") else "/home/" + unquoted[1:]
    forms = [_HOME_VAR.sub(str(home), unquoted)]
    flat = forms[0]
    for _ in range(8):  # `${A:-${B:-/etc/shadow}}`: the innermost first
        flat = _ALTERNATE.sub(lambda m: m["word"].partition("/")[2] if m["op"].startswith("/") else m["word"],
                              flat)
    forms.append(flat)
    for form in forms:
        first = _EXPANSION.search(form)
        if first is None:  # every part known: judged like a literal path
            return check_read(Word(form, form, has_glob(form)), cwd, context)
        head = form[: first.start()]
        if "/" not in head:
            continue
        above = lexical(head.rsplit("/", 1)[0] or "/", cwd)
        if any(is_inside(secret, above) for secret in secrets):
            return _deny(
                "path.dynamic_read",
                f"`{raw[:60]}` reads a path that a value filled in at run time completes below {above}, "
                "where credentials or system secrets live; write the path out.",
            )
    return None


MAX_GLOB_MATCHES = 1000
"""Files a pattern read by a command may match; each is resolved (a symlink among them that leads
to a credential store or system secret is refused), so past this the read is refused."""


def _is_link(path: Path | str) -> bool:
    """``os.path.islink``, once per path and decision (a plain word is asked about per command)."""
    memo = DECISION_CACHE.get()
    key = str(path)
    if memo is None:
        return os.path.islink(key)
    if key not in memo.links:
        memo.links[key] = os.path.islink(key)
    return memo.links[key]


def _loops(path: Path) -> bool:
    """``path`` runs into a symlink loop, or a chain longer than the kernel follows (ELOOP)."""
    try:
        os.stat(path)
    except OSError as error:
        return error.errno == errno.ELOOP
    return False


def _glob_targets(pattern: Path) -> list[Path] | None:
    """Where the files bash would match for ``pattern`` really lead (the links among them, and
    anything below a linked directory); ``None`` past :data:`MAX_GLOB_MATCHES`."""
    found: list[Path] = []
    for count, match in enumerate(glob.iglob(str(pattern))):
        if count >= MAX_GLOB_MATCHES:
            return None
        target = real(match)
        if str(target) != os.path.normpath(match):
            found.append(target)
    return found


_PROC_LINK = re.compile(r"(^|/)proc/[^/]+/(task/[^/]+/)?(cwd|root)(/|$)")
_SECRET_SAMPLES = tuple(Path(p).parts for p in (
    "/proc/self/environ", "/proc/self/mem", "/proc/self/cmdline", "/proc/self/cwd", "/proc/self/root",
    "/proc/self/fd", "/proc/self/maps", "/proc/self/auxv", "/proc/1/environ", "/proc/self/task/1/environ",
    "/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/dev/stdin", "/dev/fd/0", "/run/secrets",
    "/var/run/secrets", "/etc/ssh/ssh_host_rsa_key",
))
"""Where system secrets live, for patterns: one whose every part matches a sample's reaches it."""


def _reads_system_secret(word: Word, paths: list[Path]) -> bool:
    """``paths``: the lexical path, then (for a plain word) where it really leads; the caller
    leaves out those inside the project (a project, or a worker's worktree, may live in root's
    home: its own files are not root's secrets, while a link out of it still is checked)."""
    if any(system_secret(path) for path in paths):
        return True
    if word.value is not None and _PROC_LINK.search(word.value):  # `/proc/self/cwd/../x` before `..` folds
        return True
    if not word.glob or not paths:
        return False
    parts = paths[0].parts  # a pattern under /proc/PID, one matching shadow, or /home/*/.ssh
    if len(parts) >= 4 and parts[1] == "proc" and has_glob(parts[2]):
        return True
    if any(len(parts) >= len(sample) and all(glob_matches(name, pattern) for name, pattern
                                             in zip(sample, parts[: len(sample)], strict=True))
           for sample in _SECRET_SAMPLES):  # `/proc/self/env*`, `/pro[c]/self/environ`, `/proc/self/*`
        return True
    if _user_store(parts, lambda name, pattern: glob_matches(name, pattern)):
        return True
    return len(parts) == 3 and parts[1] == "etc" and any(
        glob_matches(name, parts[2]) for name in ("shadow", "gshadow", "sudoers")
    )


def _glob_credential(pattern: Path, home: Path) -> str | None:
    for entry in CREDENTIAL_PATHS:
        for target in {home / entry, real(home / entry)}:
            if len(pattern.parts) < len(target.parts):
                continue
            pairs = zip(pattern.parts, target.parts, strict=False)
            if all(glob_matches(name, pat) for pat, name in pairs):
                return f"~/{entry}"
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decide_path(path: str, context: PolicyContext, action: Action) -> Decision:
    """Decide whether OpenCode may ``read``/``write``/``edit`` the file ``path``."""
    if not path or "\x00" in path or not _encodable(path):
        return _deny("path.invalid", f"`{path!r}` is not a usable file path.")
    cwd = context.effective_cwd
    word = Word(path, path, glob=False, tilde=path.startswith("~"))
    if action == "read":
        expanded = expand_tilde(path, word.tilde, context.effective_home) or path
        absolute = str(cwd / expanded)  # always has a "/", so it is always checked
        problem = check_read(Word(path, absolute), cwd, context)
        if problem is not None:
            return problem
        return Decision(allowed=True, reason=f"Reading `{path}` is allowed.", rule="path.read")
    problem = check_write(word, cwd, context.model_copy(update={"private_tmp": False}), action)
    if problem is not None:
        return problem
    return Decision(
        allowed=True, reason=f"`{path}` is inside the project: {action} allowed.", rule="path.inside"
    )


def _deny(rule: str, reason: str) -> Decision:
    return Decision(allowed=False, reason=reason, rule=rule)
