"""What git subcommands and package installs reach beyond the project: network, programs, paths.

* git's own option parser takes any unique prefix of a long option (``--templ`` is
  ``--template``), so a long option that abbreviates a dangerous one counts as that option.
* Without ``allow_network``, git commands that contact a remote (clone/fetch/pull/ls-remote of a
  URL or a remote name, submodule updates) and installs of URLs or VCS specs
  (``git+https://…``, ``https://….tar.gz``, ``github:user/repo``, npm's ``user/repo``) and
  publishing are refused; local paths stay allowed.
"""

from __future__ import annotations

import re

from agent.security.base import Env, deny
from agent.security.bash import Word
from agent.security.models import Decision
from agent.security.rules import names
from agent.security.validators_fs import check_paths, recursive_read_problem

_GIT_DANGEROUS_LONG = (
    "--template", "--separate-git-dir", "--upload-pack", "--receive-pack", "--exec", "--extcmd",
    "--open-files-in-pager", "--prefix", "--output", "--output-directory", "--config",
)  # fmt: skip
_GIT_PATH_OPTIONS = ("--separate-git-dir", "--prefix")
GIT_NEVER = names(
    "send-email daemon instaweb imap-send credential credential-store credential-cache p4 svn "
    "cvsimport cvsexportcommit cvsserver shell upload-pack receive-pack upload-archive "
    "remote-ext remote-fd http-backend"
)
"""git subcommands that mail, serve, or talk to other systems: never from the agent."""
_GIT_REMOTE = names("clone fetch pull ls-remote")
_LOCAL = re.compile(r"^(file://|/|\./|\.\./|~/|\.$|\.\.$)")


def git_long(name: str) -> str:
    """The dangerous git option ``name`` abbreviates, else ``name`` itself."""
    if not name.startswith("--") or len(name) < 3 or name in _GIT_DANGEROUS_LONG:
        return name
    hits = [option for option in _GIT_DANGEROUS_LONG if option.startswith(name)]
    return hits[0] if hits else name


def git_reach(sub: str, rest: tuple[Word, ...], env: Env) -> Decision | None:
    """A denial when ``git sub rest`` mails, serves, runs a transport or writes outside."""
    if sub in GIT_NEVER:
        return deny(
            "deny.git_remote", f"`git {sub}` talks to other systems or serves the repository; not allowed."
        )
    texts = [w.value or "" for w in rest]
    if any("ext::" in text or text.startswith("fd::") for text in texts):
        return deny("deny.git_exec", "`ext::`/`fd::` remotes run a program as the transport; not allowed.")
    paths = [_option_value(rest, index) for index, text in enumerate(texts)
             if git_long(text.partition("=")[0]) in _GIT_PATH_OPTIONS]  # fmt: skip
    problem = check_paths([p for p in paths if p is not None], env, f"git {sub}")
    if problem is not None:
        return problem
    if sub == "clean":
        forced = sum((w.value or "").count("f") for w in rest if _short(w)) + texts.count("--force")
        if forced >= 2:
            return deny("deny.git_clean", "`git clean -ff` also removes nested repositories (their .git); "
                                          "use a single -f.")
        return check_paths([w for w in rest if not (w.value or "-").startswith("-")], env, "git clean")
    if sub == "grep" and any(t.startswith("--no-ind") for t in texts):  # a plain recursive grep, anywhere
        operands = [w for w in rest if not (w.value or "-").startswith("-")]
        pattern_given = any(t in ("-e", "-f") or t.startswith(("--regexp", "--file")) for t in texts)
        walked = operands if pattern_given else operands[1:]
        return recursive_read_problem(walked or [Word(".", ".")], env, "git grep --no-index")
    if sub == "init" and any(git_long(t.partition("=")[0]) == "--separate-git-dir" for t in texts):
        return deny("deny.git_init", "`git init --separate-git-dir` moves the repository's .git elsewhere; "
                                     "not allowed.")
    return None


def _short(word: Word) -> bool:
    text = word.value or ""
    return text.startswith("-") and not text.startswith("--")


def git_network(sub: str, rest: tuple[Word, ...], env: Env) -> Decision | None:
    """A denial when ``git sub`` contacts a remote while network access is off."""
    if not env.config.allow_network and _uses_network(sub, rest):
        return deny(
            "deny.network",
            f"`git {sub}` contacts a remote, and network access is off (set allow_network = true "
            "in [security] of autocode.toml); local paths are fine.",
        )
    return None


def _option_value(rest: tuple[Word, ...], index: int) -> Word | None:
    _, eq, value = (rest[index].value or "").partition("=")
    if eq:
        return Word(value, value)
    return rest[index + 1] if index + 1 < len(rest) else None


def _uses_network(sub: str, rest: tuple[Word, ...]) -> bool:
    positionals = [w.value or "" for w in rest if not (w.value or "-").startswith("-")]
    if sub == "submodule":
        return (
            bool(positionals)
            and positionals[0] in ("add", "update", "sync", "init")
            and (positionals[0] != "init")
        )
    if sub == "remote":
        return bool(positionals) and positionals[0] in ("update", "show", "prune", "set-head")
    if sub == "archive":
        return any((w.value or "").startswith("--remote") for w in rest)
    if sub not in _GIT_REMOTE:
        return False
    return not positionals or not _LOCAL.match(positionals[0])


_SCHEME = re.compile(
    r"^([a-z][a-z0-9+.-]*://|git\+|hg\+|svn\+|bzr\+|(github|gitlab|bitbucket|gist|git):)", re.I
)
_NPM_SHORTHAND = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(#.*)?$")  # user/repo, not @scope/pkg
_PIP_DIRECT = re.compile(r"@\s*[a-z][a-z0-9+.-]*://", re.I)  # name @ https://...


def remote_spec(word: Word, npm_style: bool) -> bool:
    """An install argument that names a URL, a VCS checkout or (npm) a GitHub shorthand."""
    text = word.value or ""
    if text.startswith("-"):
        return False
    if _SCHEME.match(text) or _PIP_DIRECT.search(text):
        return True
    return npm_style and _NPM_SHORTHAND.match(text) is not None and not text.startswith((".", "/"))


_REGISTRY_CHANGES = names("publish unpublish deprecate undeprecate owner access hook token dist-tag star "
                          "unstar team org adduser login logout profile")
"""npm-family subcommands that change what a registry holds or who may change it."""


def install_reach(tool: str, args: tuple[Word, ...], env: Env, npm_style: bool) -> Decision | None:
    """A denial for installs of remote specs and for publishing while network is off."""
    if env.config.allow_network:
        return None
    words = [w.value or "" for w in args]
    sub = next((w for w in words if not w.startswith("-")), "")
    if "publish" in words[:2] or "unpublish" in words[:2] or sub in _REGISTRY_CHANGES:
        return deny("deny.network", f"`{tool} {sub or 'publish'}` changes a package registry; not allowed.")
    hit = next((w for w in args if remote_spec(w, npm_style)), None)
    if hit is None:
        return None
    return deny(
        "deny.network",
        f"`{tool}` would fetch `{hit.raw}` from a URL or repository, and network access is off "
        "(set allow_network = true in [security] of autocode.toml); install it from the registry.",
    )
