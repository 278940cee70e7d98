"""Validators for git and the network tools.

git: normal commands work; ``git -c``/``--exec-path=``/``--config-env`` are denied (they can
point core.hooksPath, core.sshCommand, core.fsmonitor or aliases at any program),
``-C``/``--git-dir``/``--work-tree`` must stay inside the project, ``push`` needs
``allow_git_push``, ``git config`` may only write harmless local keys (user.*, init.*, ...),
and the few subcommand options that run programs (``rebase --exec``, ``bisect run``,
``submodule foreach``, ``--upload-pack``, ...) are denied.

Network: with ``allow_network`` off, curl/wget may only reach loopback addresses (so the agent
can test its own dev server) and ssh/scp/sftp/nc/socat/telnet/ftp are denied; rsync is allowed
for local copies. Output files are path-checked either way.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import unquote, urlsplit

from agent.security.base import Env, Options, Validator, deny, dynamic_denial, ok, parse_options
from agent.security.bash import SimpleCommand, Word
from agent.security.longopts import prefix_of, with_long_options
from agent.security.models import Decision
from agent.security.paths import read_bounded
from agent.security.rules import names
from agent.security.validators_exec import check_inner, is_inside_project
from agent.security.validators_fs import HERE, check_paths, check_reads, recursive_read_problem
from agent.security.validators_remote import git_long, git_network, git_reach
from agent.security.variables import ANY_NAME

_GIT_FLAGS = names(
    "-p --paginate -P --no-pager --no-replace-objects --bare --literal-pathspecs "
    "--glob-pathspecs --noglob-pathspecs --icase-pathspecs --no-optional-locks --no-advice "
    "--version -v --help -h --html-path --man-path --info-path --exec-path"
)
_GIT_VALUES = frozenset({"--namespace", "--super-prefix", "--list-cmds", "--attr-source"})
_GIT_PATHS = frozenset({"-C", "--git-dir", "--work-tree"})
_GIT_EXEC_OPTIONS = frozenset(
    {"--upload-pack", "--receive-pack", "--exec", "--extcmd", "--open-files-in-pager"}
)
_GIT_SAFE_KEYS = re.compile(
    r"^(user\.(name|email)|init\.defaultbranch|pull\.(rebase|ff)|push\.(default|autosetupremote)"
    r"|merge\.(ff|conflictstyle)|color\.[a-z.]+|advice\.[a-z]+|commit\.gpgsign|tag\.gpgsign"
    r"|fetch\.prune|rebase\.autostash|help\.autocorrect|log\.date)$",
    re.IGNORECASE,
)


def git(cmd: SimpleCommand, env: Env) -> Decision:
    args, index = cmd.args, 0
    while index < len(args):
        text = args[index].value
        if text is None:
            return dynamic_denial(cmd, args[index])
        if not text.startswith("-"):
            break
        name, eq, attached = text.partition("=")
        if name in ("-c", "--config-env") or (name == "--exec-path" and eq):
            return deny(
                "deny.git_config",
                f"`git {name}` can make git run any program "
                "(core.hooksPath, core.sshCommand, aliases); "
                "it is not allowed.",
            )
        if name in _GIT_PATHS:
            target = Word(attached, attached) if eq else args[min(index + 1, len(args) - 1)]
            if not is_inside_project(target, env):
                return deny("path.outside", f"`git {name} {target.raw}` points git outside the project.")
        elif name not in _GIT_VALUES and name not in _GIT_FLAGS:
            return deny("deny.git_option", f"`git {name}` is not a recognised git option.")
        index += 2 if (name in _GIT_PATHS or name in _GIT_VALUES) and not eq else 1
    if index >= len(args):
        return ok(cmd)
    return _git_subcommand(cmd, env, args[index].value or "", args[index + 1 :])


def _git_subcommand(cmd: SimpleCommand, env: Env, sub: str, rest: tuple[Word, ...]) -> Decision:
    texts = [_git_option(w.value or "") for w in rest]
    names = [t.partition("=")[0] for t in texts]
    if sub in ("push", "send-pack", "http-push") and not env.config.allow_git_push:
        return deny(
            "deny.git_push",
            "`git push` is not allowed (set allow_git_push = true in [security] of autocode.toml to allow it).",
        )
    if sub == "config":
        return _git_config(cmd, rest)
    if sub == "maintenance" and texts[:1] and texts[0] in ("start", "register", "stop", "unregister"):
        return deny("deny.git_config", f"`git maintenance {texts[0]}` changes the user's git config and "
                                       "schedules jobs (cron, systemd); not allowed.")
    if sub == "hook":
        return deny("deny.git_exec", "`git hook run` runs the repository's hooks; not allowed.")
    link = _git_symlink(sub, rest, env)
    if link is not None:
        return link
    reach = git_reach(sub, rest, env)
    if reach is not None:
        return reach
    runs = _git_runs_program(sub, names)
    if runs is not None:
        return deny("deny.git_exec", f"`git {sub} {runs}` runs an arbitrary program; it is not allowed.")
    writes = [
        Word(t.partition("=")[2], t.partition("=")[2])
        for t in texts
        if t.startswith(("--output=", "--output-directory="))
    ]
    writes += [rest[i + 1] for i, t in enumerate(texts[:-1]) if t in ("-o", "--output", "--output-directory")]
    if sub == "clone" or (sub == "worktree" and texts[:1] == ["add"]):
        positionals = [w for w in rest if not (w.value or "").startswith("-")]
        writes += positionals[1:]
    return check_paths(writes, env, f"git {sub}") or git_network(sub, rest, env) or ok(cmd)


_MAX_PATCH = 10 * 1024 * 1024
_SYMLINK_MODE = re.compile(r"^(?:new file mode|new mode|index [0-9a-f]+\.\.[0-9a-f]+) 120000\b", re.MULTILINE)


def _git_symlink(sub: str, rest: tuple[Word, ...], env: Env) -> Decision | None:
    """git's ways to put a symbolic link in the tree without ``ln`` (whose targets are judged):
    an index entry of mode 120000 (``update-index --cacheinfo 120000,SHA,k``, then ``checkout``),
    entries read from data (``--index-info``, ``mktree``, ``fast-import``), a patch that creates
    one (``apply``/``am`` of a project file that says ``new file mode 120000``)."""
    values = [w.value or "" for w in rest]
    if sub in ("mktree", "fast-import") or (sub == "update-index" and "--index-info" in values):
        return deny("deny.git_link", f"`git {sub}` writes tree entries from data that cannot be checked; "
                                     "not allowed.")
    if sub == "update-index" and any(v.startswith("120000") or "120000," in v for v in values):
        return deny("deny.git_link", "`git update-index` with mode 120000 adds a symbolic link whose target "
                                     "cannot be checked; make links with `ln -s`.")
    if sub not in ("apply", "am"):
        return None
    for word in rest:
        if word.value is None or word.value.startswith("-"):
            continue
        for cwd in env.cwds:
            text = read_bounded(cwd / word.value, _MAX_PATCH) or ""
            if _SYMLINK_MODE.search(text):
                return deny("deny.git_link", f"`git {sub} {word.raw[:40]}` creates a symbolic link (mode "
                                             "120000) whose target cannot be checked; make links with `ln -s`.")
    return None


def _git_option(text: str) -> str:
    """``--out=x`` → ``--output=x``: git takes unique prefixes of its long options."""
    name, eq, value = text.partition("=")
    return f"{git_long(name)}{eq}{value}"


def _git_runs_program(sub: str, names: list[str]) -> str | None:
    if sub == "filter-branch":
        return "..."
    hit = next((n for n in names if n in _GIT_EXEC_OPTIONS), None)
    if hit is not None:
        return hit
    if sub == "grep":
        return next((n for n in names if n.startswith("-O")), None)
    table = {
        "rebase": ("-x", "--exec"), "bisect": ("run",), "submodule": ("foreach",),
        "difftool": ("-x", "--extcmd"), "clone": ("-c", "-u", "--config", "--template"),
        "init": ("--template",), "ls-remote": ("-u",),
    }  # fmt: skip
    return next((n for n in names if n in table.get(sub, ())), None)


def _git_config(cmd: SimpleCommand, rest: tuple[Word, ...]) -> Decision:
    texts: list[str] = []
    for word in rest:
        if word.value is None:
            return dynamic_denial(cmd, word)
        texts.append(word.value)
    options: list[str] = []
    keys: list[str] = []
    index = 0
    while index < len(texts):
        text = texts[index]
        if text in ("-f", "--file", "--blob", "--type", "--default", "--comment", "--value"):
            options.append(text)
            index += 2
            continue
        (options if text.startswith("-") else keys).append(text.partition("=")[0])
        index += 1
    sub = keys.pop(0) if keys and keys[0] in _CONFIG_SUBS else None
    if not _config_writes(sub, options, keys):
        return ok(cmd, " (reading config)")
    if sub == "edit" or set(options) & {"-e", "--edit", "--global", "--system", "-f", "--file", "--blob"}:
        return deny(
            "deny.git_config",
            "`git config` may only change the project's local "
            "config (no --global, --system, --file or --edit).",
        )
    key = keys[0] if keys else ""
    if not _GIT_SAFE_KEYS.match(key):
        return deny(
            "deny.git_config",
            f"`git config {key}` is not allowed: only harmless keys "
            "such as user.name/user.email; core.*, alias.* and "
            "hook settings can make git run programs.",
        )
    return ok(cmd)


_CONFIG_SUBS = names("list get set unset rename-section remove-section edit")
_CONFIG_READS = names("--get --get-all --get-regexp --get-urlmatch --list -l")
_CONFIG_WRITES = names("--add --unset --unset-all --replace-all --rename-section --remove-section -e --edit")


def _config_writes(sub: str | None, options: list[str], keys: list[str]) -> bool:
    if sub is not None:
        return sub not in ("list", "get")
    if set(options) & _CONFIG_WRITES:
        return True
    return not set(options) & _CONFIG_READS and len(keys) >= 2


_CURL_VALUES = names(
    "--data --data-raw --data-binary --data-urlencode --data-ascii --json --header --request "
    "--output --user --user-agent --referer --cookie --cookie-jar --form --form-string "
    "--upload-file --write-out --max-time --connect-timeout --proxy --retry --retry-delay "
    "--retry-max-time --config --range --cert --cacert --key --url --resolve --connect-to "
    "--output-dir --limit-rate --proxy-user --max-redirs --quote --dump-header --trace "
    "--trace-ascii --stderr --libcurl --etag-save --etag-compare --hsts --alt-svc --socks4 "
    "--socks4a --socks5 --socks5-hostname --preproxy --doh-url --interface --unix-socket "
    "--abstract-unix-socket --variable --expand-url --time-cond --speed-time --speed-limit "
    "--continue-at --max-filesize --oauth2-bearer --keepalive-time --dns-servers"
)
_CURL_WRITES = ("-o", "--output", "--output-dir", "-c", "--cookie-jar", "-D", "--dump-header",
                "--trace", "--trace-ascii", "--stderr", "--libcurl", "--etag-save", "--hsts",
                "--alt-svc")  # fmt: skip
_CURL_REMOTE = ("-x", "--proxy", "--socks4", "--socks4a", "--socks5", "--socks5-hostname",
                "--preproxy", "--connect-to", "--resolve", "-K", "--config", "--doh-url",
                "--unix-socket", "--abstract-unix-socket")  # fmt: skip
_WGET_VALUES = names(
    "--output-document --output-file --append-output --directory-prefix --user-agent --header "
    "--tries --timeout --wait --execute --input-file --base --quota --level --accept --reject "
    "--domains --include-directories --exclude-directories --post-data --post-file "
    "--body-data --body-file --method --user --password --load-cookies --save-cookies "
    "--http-user --http-password --ca-certificate --certificate --private-key --warc-file "
    "--warc-tempdir --rejected-log"
)
_WGET_WRITES = ("-O", "--output-document", "-o", "--output-file", "-a", "--append-output",
                "-P", "--directory-prefix", "--save-cookies", "--warc-file", "--warc-tempdir",
                "--rejected-log")  # fmt: skip
_WGET_REMOTE = ("-e", "--execute", "-i", "--input-file", "-B", "--base")
_ATTACHED_FILE = re.compile(r"@([~/.][^;,]*)")


_WRITE_OUT_FILE = re.compile(r"%output\{(>>)?([^}]*)\}")


def curl(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(cmd.args, "AbcCdDEeFHKmoPQrtTuUwxXyYz", _CURL_VALUES)
    writes = [w for w in opts.values(*_CURL_WRITES) if w.value != "-"]
    for form in opts.values("-w", "--write-out"):  # `-w '%output{FILE}…'` writes the rest to FILE
        if form.value is None and "%output{" in form.raw:
            return dynamic_denial(cmd, form)
        writes += [Word(m.group(2), m.group(2), tilde=m.group(2).startswith("~"))
                   for m in _WRITE_OUT_FILE.finditer(form.value or "")]
    if opts.has("-O", "--remote-name", "--remote-name-all") and not opts.has("--output-dir"):
        writes.append(HERE)
    urls = [*opts.positionals, *opts.values("--url")]
    return _fetch(cmd, env, opts, writes, urls, _CURL_REMOTE)


def wget(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(cmd.args, "OoaPUtTwelABDIRXQi", _WGET_VALUES)
    writes = [w for w in opts.values(*_WGET_WRITES) if w.value != "-"]
    if not opts.has("-O", "--output-document", "-P", "--directory-prefix", "--spider"):
        writes.append(HERE)
    return _fetch(cmd, env, opts, writes, list(opts.positionals), _WGET_REMOTE)


def _fetch(
    cmd: SimpleCommand,
    env: Env,
    opts: Options,
    writes: list[Word],
    urls: list[Word],
    remote: tuple[str, ...],
) -> Decision:
    tool = cmd.name.value if cmd.name is not None else "curl"
    carried = _HIDDEN_OPTIONS["wget" if (tool or "").endswith("wget") else "curl"]
    hidden = next((flag for flag in opts.names() if flag in carried), None)
    if hidden is not None:
        return deny("deny.fetch_config", f"`{tool} {hidden}` reads more options from a file or string "
                                         "(an output path, a proxy) that cannot be checked; pass them.")
    problem = check_paths(writes, env, tool or "curl") or _attached_reads(cmd, env) or _file_urls(urls, env)
    if problem is not None:
        return problem
    if env.config.allow_network:
        return ok(cmd)
    hit = next((flag for flag in opts.names() if flag in remote), None)
    if hit is not None:
        return _network_denial(f"{tool} {hit}")
    for url in urls:
        texts = [url.value] if url.value is not None else url_values(url.raw, env)
        if not texts or not all(_loopback(text) for text in texts):
            return _network_denial(f"{tool} {url.raw}", "; only localhost URLs are allowed")
    return ok(cmd, " (localhost only)")


_URL_PART = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-)([A-Za-z0-9._/-]*)\}|\$\{([A-Za-z_][A-Za-z0-9_]*)\}"
                       r"|\$([A-Za-z_][A-Za-z0-9_]*)|([^$\"'`\\]+)|(\")")
_MAX_URLS = 64
_AFTER_HOST = re.compile(r"^[^/:@$]+[:/]")  # a default stands only for the port or the path


def url_values(raw: str, env: Env) -> list[str]:
    """The URLs a word with expansions may stand for, or ``[]`` when that is not known.

    ``${NAME:-default}`` is the default when the command line sets NAME nowhere (the variable is
    then the environment's, which autocode's command sandbox builds from an allowlist);
    ``$NAME`` of a ``for NAME in a b`` over plain words is each of those words. Anything else
    (command substitution, other variables, quotes other than ``"``) is unknown."""
    loops = dict(env.loop_values)
    options: list[list[str]] = []
    at = 0
    while at < len(raw):
        found = _URL_PART.match(raw, at)
        if found is None:
            return []
        at = found.end()
        name, _, default, braced, bare, text, quote = found.groups()
        if quote is not None:
            continue
        if text is not None:
            options.append([text])
        elif name is not None:
            prefix = "".join(choices[0] for choices in options)
            known = ANY_NAME not in env.assigned and name not in env.assigned and name not in loops
            if not known or not _AFTER_HOST.match(prefix.split("://", 1)[-1]):
                return []
            options.append([default])
        elif (var := braced or bare) in loops and ANY_NAME not in env.assigned:
            options.append(list(loops[var]))
        else:
            return []
    combos = [""]
    for choices in options:
        combos = [head + choice for head in combos for choice in choices]
        if len(combos) > _MAX_URLS:
            return []
    return combos


_HIDDEN_OPTIONS = {"curl": frozenset({"-K", "--config"}), "wget": frozenset({"-e", "--execute", "--config"})}
"""curl's config file and wget's ``-e`` wgetrc commands carry options of their own
(``output = /etc/x``, ``output_document=…``), refused whether or not the network is on."""


def _attached_reads(cmd: SimpleCommand, env: Env) -> Decision | None:
    for word in cmd.args:
        for match in _ATTACHED_FILE.finditer(word.value or ""):
            path = match.group(1)
            problem = check_reads([Word(path, path, tilde=path.startswith("~"))], env)
            if problem is not None:
                return problem
    return None


def _file_urls(urls: list[Word], env: Env) -> Decision | None:
    """``file://`` URLs (any case, ``localhost`` host or none) are reads of their path."""
    for url in urls:
        for text in [url.value] if url.value is not None else url_values(url.raw, env):
            try:
                parts = urlsplit(text)
            except ValueError:
                continue
            if parts.scheme.lower() != "file":
                continue
            path = unquote(parts.path) or "/"
            problem = check_reads([Word(path, path)], env)
            if problem is not None:
                return problem
    return None


def _loopback(url: str) -> bool:
    text = url if "://" in url else f"http://{url}"
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme == "file":
        return True
    if host is None:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _network_denial(what: str, extra: str = "") -> Decision:
    return deny(
        "deny.network",
        f"`{what}` needs network access, which is off (set "
        f"allow_network = true in [security] of autocode.toml){extra}.",
    )


def remote_tool(cmd: SimpleCommand, env: Env) -> Decision:
    tool = cmd.name.value.rsplit("/", 1)[-1] if cmd.name and cmd.name.value else "ssh"
    local = tool == "rsync" and not any(
        ":" in (w.value or ":") for w in cmd.args if not (w.value or "").startswith("-")
    )
    if not (env.config.allow_network or local) or (local and _rsync_shell(cmd)):
        return _network_denial(tool)
    if tool in ("scp", "rsync"):
        positionals = [w for w in cmd.args if not (w.value or "-").startswith("-")]
        dest = positionals[-1:] if len(positionals) >= 2 else []
        sources = [w for w in positionals[:-1] if ":" not in (w.value or "")]
        problem = recursive_read_problem(sources, env, tool)
        if dest and ":" not in (dest[0].value or ""):
            problem = problem or check_paths(dest, env, tool)
        return problem or ok(cmd)
    return ok(cmd)


_RSYNC_PROGRAMS = ("--rsh", "--rsync-path", "--remote-option", "--daemon", "--config")


def _rsync_shell(cmd: SimpleCommand) -> bool:
    """``-e``/``--rsh`` (any prefix, ``-avesh`` clusters), ``--rsync-path``, ``-M``: a program."""
    for word in cmd.args:
        text = word.value or ""
        if text == "--":
            return False
        if text.startswith("--"):
            if prefix_of(text.partition("=")[0], _RSYNC_PROGRAMS) is not None:
                return True
        elif text.startswith("-") and set(text[1:]) & set("eM"):
            return True
    return False


_CMAKE_TOOLS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "rm": ("rm",), "remove": ("rm",), "remove_directory": ("rm", "-r"), "make_directory": ("mkdir", "-p"),
    "touch": ("touch",), "touch_nocreate": ("touch", "-c"), "copy": ("cp",), "copy_if_different": ("cp",),
    "copy_directory": ("cp", "-r"), "copy_directory_if_different": ("cp", "-r"), "rename": ("mv",),
    "create_symlink": ("ln", "-s"), "create_hardlink": ("ln",), "tar": ("tar",), "cat": ("cat",),
    "env": ("env",), "time": ("time",), "md5sum": ("md5sum",), "sha1sum": ("sha1sum",),
    "sha256sum": ("sha256sum",), "sha512sum": ("sha512sum",),
})
"""``cmake -E TOOL``: the command each of cmake's portable file tools is judged as."""
_CMAKE_HARMLESS = frozenset({"echo", "echo_append", "compare_files", "capabilities", "environment", "true",
                             "false", "sleep", "help", "--help"})


def cmake(cmd: SimpleCommand, env: Env) -> Decision:
    """``cmake -E TOOL ARGS`` is a second set of file tools (``cmake -E rm -rf /``): each judged
    as the command it stands for; ``chdir`` and unknown tools are refused. ``cmake -P FILE`` runs
    a script of commands, refused like ``bash FILE``."""
    values = [w.value for w in cmd.args]
    if "-P" in values:
        return deny("deny.cmake_script", "`cmake -P` runs a script of commands that cannot be checked; "
                                         "run the commands themselves.")
    if "-E" not in values:
        return ok(cmd)
    index = values.index("-E") + 1
    tool = values[index] if index < len(values) else None
    if tool in _CMAKE_HARMLESS:
        return ok(cmd)
    if tool is None or tool not in _CMAKE_TOOLS:
        return deny("deny.cmake_tool", f"`cmake -E {tool or ''}` is not a tool autocode can check; "
                                       "use the plain command instead.")
    head, *flags = _CMAKE_TOOLS[tool]
    rest = tuple(w for w in cmd.args[index + 1:] if not (tool.startswith("copy") and w.value == "-t"))
    inner = SimpleCommand(Word(head, head), (*(Word(f, f) for f in flags), *rest), cmd.assignments,
                          cmd.redirects, cmd.piped, cmd.dirs)
    return check_inner(inner, env)


def pre_commit(cmd: SimpleCommand, env: Env) -> Decision:
    """``pre-commit install``/``uninstall`` write the repository's ``.git/hooks`` (protected: the
    agent's git then runs them); ``init-templatedir`` makes a git template elsewhere."""
    sub = next((w.value for w in cmd.args if not (w.value or "-").startswith("-")), None)
    if sub in ("install", "uninstall", "init-templatedir"):
        return deny("path.protected", f"`pre-commit {sub}` writes git hooks (.git/hooks is protected); run "
                                      "`pre-commit run` instead.")
    return ok(cmd)


VALIDATORS: Mapping[str, Validator] = MappingProxyType({
    "git": git, "curl": with_long_options("curl", curl), "wget": with_long_options("wget", wget),
    "cmake": cmake, "pre-commit": pre_commit,
    **{name: remote_tool for name in
       names("ssh scp sftp rsync nc ncat netcat socat telnet ftp")},
})  # fmt: skip
