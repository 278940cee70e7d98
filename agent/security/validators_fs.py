"""Validators for commands that change files: every target must stay inside the project."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from agent.security.base import (
    Env,
    Validator,
    command_name,
    deny,
    dynamic_denial,
    ok,
    parse_options,
)
from agent.security.bash import SimpleCommand, Word
from agent.security.longopts import with_long_options
from agent.security.models import Decision
from agent.security.paths import (
    check_read,
    check_write,
    credential_ancestor,
    expand_tilde,
    glob_matches,
    has_glob,
    is_inside,
    physical,
    protected_name,
    read_bounded,
)
from agent.security.variables import ANY_NAME

HERE = Word(".", ".")


def check_paths(words: Iterable[Word], env: Env, verb: str) -> Decision | None:
    """The first write problem among ``words`` for any directory the command may run in; a word
    that is a loop variable (``for f in src/*.py; do sed -i … "$f"``) is each of the loop's words."""
    for word in words:
        for target in looped_words(word, env) or (word,):
            for cwd in env.cwds:
                problem = check_write(target, cwd, env.context, verb)
                if problem is not None:
                    return problem
    return None


def check_reads(words: Iterable[Word], env: Env) -> Decision | None:
    """The first read problem among ``words`` for any directory the command may run in (the read
    side of :func:`check_paths`)."""
    for word in words:
        for cwd in env.cwds:
            problem = check_read(word, cwd, env.context)
            if problem is not None:
                return problem
    return None


def looped_words(word: Word, env: Env, suffixes: bool = True) -> tuple[Word, ...] | None:
    """``"$f"`` or ``"$f.bak"`` (``"$f/sub"`` only, without ``suffixes``) where only one ``for f in
    WORDS`` sets ``f`` and every one of WORDS is literal (a pattern counts): those words, each
    followed by the rest. None otherwise."""
    if word.value is not None or ANY_NAME in env.assigned:
        return None
    found = _VARIABLE_ROOT.match(word.raw) or (_VARIABLE_SUFFIX.match(word.raw) if suffixes else None)
    name = (found.group("braced") or found.group("bare")) if found else None
    looped = dict(env.loop_roots).get(name or "")
    if found is None or looped is None or any(w.value is None for w in looped):
        return None
    rest = found.group("rest") or ""
    return tuple(Word(w.raw + rest, (w.value or "") + rest, tilde=w.tilde, glob=w.glob or has_glob(rest))
                 for w in looped)


def resolve_word(word: Word, cwd: Path, env: Env) -> Path | None:
    """The resolved path a literal, glob-free word names (``None`` when unknown)."""
    if word.value is None or word.glob:
        return None
    expanded = expand_tilde(word.value, word.tilde, env.context.effective_home)
    return None if expanded is None else physical(expanded, cwd)


def _simple_writer(short_values: str = "", long_values: Iterable[str] = ()) -> Validator:
    def validate(cmd: SimpleCommand, env: Env) -> Decision:
        opts = parse_options(cmd.args, short_values, long_values)
        return check_paths(opts.positionals, env, command_name(cmd)) or ok(cmd)

    return validate


def rm(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(cmd.args)
    if opts.has("--no-preserve-root"):
        return deny("deny.rm_root", "`rm --no-preserve-root` is never allowed.")
    recursive = opts.has("-r", "-R", "--recursive")
    for word in opts.positionals:
        problem = _rm_project_root(word, env, recursive)
        if problem is not None:
            return problem
    return check_paths(opts.positionals, env, "rm") or ok(cmd)


def _rm_project_root(word: Word, env: Env, recursive: bool) -> Decision | None:
    reason = f"`rm {word.raw}` would delete the whole project; remove the files by name."
    for cwd in env.cwds:
        if word.glob and recursive and word.value is not None:
            head, slash, last = word.value.rpartition("/")
            head = head or ("/" if slash else ".")
            base = resolve_word(Word(head, head, tilde=word.tilde), cwd, env)
            if last in ("*", "**", ".*", "*.*") and base == env.project:
                return deny("deny.rm_project", reason)
        elif resolve_word(word, cwd, env) == env.project:
            return deny("deny.rm_project", reason)
    return None


def mv(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(cmd.args, "tS", ("--target-directory", "--suffix"))
    targets = [*opts.positionals, *opts.values("-t", "--target-directory")]
    for word in targets:
        if any(resolve_word(word, cwd, env) == env.project for cwd in env.cwds):
            return deny("deny.mv_project", f"`mv {word.raw}` would move the project itself.")
    return check_paths(targets, env, "mv") or ok(cmd)


def copy_like(cmd: SimpleCommand, env: Env) -> Decision:
    """cp / ln: the destination must be inside the project; cp sources are only read.

    Links (ln, cp -s/-l) must point inside the project too: a later write through a link to
    /etc/hosts would change /etc/hosts.
    """
    opts = parse_options(cmd.args, "tS", ("--target-directory", "--suffix"))
    targets = opts.values("-t", "--target-directory")
    sources = list(opts.positionals)
    if not targets and len(sources) >= 2:
        targets = [sources.pop()]
    if not targets:
        targets = [HERE]
    verb = command_name(cmd)
    links = verb == "ln" or opts.has("-s", "--symbolic-link", "-l", "--link")
    problem = recursive_read_problem(sources, env, verb, contents=verb != "ln") or \
        check_paths(targets, env, verb)
    if problem is None and links:
        symbolic = opts.has("-s", "--symbolic", "--symbolic-link") and not opts.has("-r", "--relative")
        problem = _link_targets(sources, targets[0], env, verb, symbolic)
    return problem or ok(cmd)


def _link_targets(sources: list[Word], dest: Word, env: Env, verb: str, symbolic: bool) -> Decision | None:
    """Every link must lead inside the project: a relative symlink target counts from the link's
    own directory (that is where the kernel resolves it), a hard link's source from the cwd."""
    for word in sources:
        for cwd in env.cwds:
            dest_path = resolve_word(dest, cwd, env)
            link_dir = dest_path if dest_path is None or dest_path.is_dir() else dest_path.parent
            relative = symbolic and not (word.value or "/").startswith(("/", "~"))
            for base in {link_dir or cwd} if relative else {cwd}:
                path = resolve_word(word, base, env)
                if path is None or not is_inside(path, env.project):
                    return deny(
                        "path.outside",
                        f"`{verb} {word.raw}` would link to a file outside the project; writes "
                        "through the link would escape it.",
                    )
                if (name := protected_name(env.project, path)) is not None:
                    return deny(
                        "path.protected",
                        f"`{verb} {word.raw}` would link to the protected `{name}`; writes through "
                        "the link would change it.",
                    )
    return None


def recursive_read_problem(sources: Iterable[Word], env: Env, verb: str,
                           contents: bool = True) -> Decision | None:
    """A denial when a recursive ``verb`` of one of ``sources`` reaches a credential store, or
    starts where the policy cannot know (an expansion, a pattern that can match ``..``): such a
    walk may be of the home or of ``/`` (``d=$HOME; grep -r . $d``, ``cp -r $(echo ~) src``)."""
    home = env.context.effective_home
    for word in sources:
        for cwd in env.cwds:
            roots = walk_roots(word, cwd, env)
            if roots is None:
                return deny(
                    "path.dynamic_walk",
                    f"`{verb} {word.raw}` would walk a directory named by an expansion or pattern whose "
                    "value cannot be checked (it could be the home or /); name the directory literally.",
                )
            if any(credential_ancestor(root, home, env.project, system=contents) for root in roots):
                return deny(
                    "path.credentials",
                    f"`{verb} {word.raw}` would read credential stores (like ~/.ssh) or system "
                    "secrets below it; name a directory that holds none.",
                )
    return None


_VARIABLE_ROOT = re.compile(
    r'^"?\$(?:\{(?P<braced>[A-Za-z_]\w*)\}|(?P<bare>[A-Za-z_]\w*))(?P<rest>/[^$`"\\]*)?"?$')
_VARIABLE_SUFFIX = re.compile(  # "$f.bak", "${f}_old": a suffix that does not start a new name
    r'^"?\$(?:\{(?P<braced>[A-Za-z_]\w*)\}|(?P<bare>[A-Za-z_]\w*)(?=[.\-~]))(?P<rest>[^/$`"\\][^$`"\\]*)?"?$')


def walk_roots(word: Word, cwd: Path, env: Env) -> list[Path] | None:
    """Where a recursive walk of ``word`` may start: the path it names; for a pattern, the literal
    directory before it (every match lies below); for ``$PWD`` and ``$HOME`` (which no command
    may set) or a variable only one ``for`` loop sets, its values, then the rest of the word.
    None when that cannot be known (an expansion of anything else, a pattern that can match ``..``).
    An empty list: nothing to check (``~user``, which other rules refuse)."""
    if word.value is not None:
        if not word.glob:
            path = resolve_word(word, cwd, env)
            return [] if path is None else [path]
        return _pattern_root(word.value, word.tilde, cwd, env)
    found = _VARIABLE_ROOT.match(word.raw)
    name = (found.group("braced") or found.group("bare")) if found else None
    if found is None or name is None or ANY_NAME in env.assigned:
        return None
    rest = found.group("rest") or ""
    if name in ("PWD", "HOME") and name not in env.assigned:
        base = str(cwd) if name == "PWD" else str(env.context.effective_home)
        text = base + rest
        return _pattern_root(text, False, cwd, env) if any(has_glob(p) for p in text.split("/")) \
            else [physical(text, cwd)]
    looped = looped_words(word, env, suffixes=False)  # None too for `for d in $(…)`: known at run time
    if looped is None:
        return None
    roots: list[Path] = []
    for value in looped:  # each a literal path or a pattern: all below the pattern's directory
        below = walk_roots(value, cwd, env)
        if below is None:
            return None
        roots += below
    return roots


def _pattern_root(text: str, tilde: bool, cwd: Path, env: Env) -> list[Path] | None:
    """The literal directory before the first pattern of ``text``; None if a pattern can match
    ``..`` (a walk from there could climb out)."""
    parts = text.split("/")
    first = next((i for i, part in enumerate(parts) if has_glob(part)), len(parts))
    if any(glob_matches("..", part) for part in parts[first:] if part):
        return None
    static = "/".join(parts[:first]) or ("/" if text.startswith("/") else ".")
    expanded = expand_tilde(static, tilde, env.context.effective_home)
    return [] if expanded is None else [physical(expanded, cwd)]


def tee(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(cmd.args, "", ("--output-error",))
    return check_paths(opts.positionals, env, "tee") or ok(cmd)


_CHMOD_FLAGS = frozenset({"-v", "-c", "-f", "--verbose", "--changes", "--silent", "--quiet", "--"})
_SYMBOLIC_REMOVAL = re.compile(r"^-[rwxXst]+$")  # `chmod -x file` is a mode, not an option


def chmod(cmd: SimpleCommand, env: Env) -> Decision:
    mode: str | None = None
    files: list[Word] = []
    for word in cmd.args:
        text = word.value
        if text in ("-R", "--recursive") or (text and re.match(r"^-[a-zA-Z]*R", text)):
            return deny("deny.chmod_recursive", "`chmod -R` is not allowed: name the files to change.")
        if text in _CHMOD_FLAGS:
            continue
        if mode is None and text is not None and (not text.startswith("-") or _SYMBOLIC_REMOVAL.match(text)):
            mode = text
        elif text is not None and text.startswith("-") and not files:
            return deny("deny.chmod_option", f"`chmod {text}` is not allowed.")
        elif mode is None:
            return deny("deny.chmod_mode", "`chmod` needs a literal mode such as `+x` or `644`.")
        else:
            files.append(word)
    problem = _mode_problem(mode) if mode is not None else "it needs a mode such as `+x` or `644`"
    if problem:
        return deny("deny.chmod_mode", f"`chmod {mode or ''}` is not allowed: {problem}.")
    return check_paths(files, env, "chmod") or ok(cmd)


def _mode_problem(mode: str) -> str | None:
    if mode.isdigit():
        if len(mode) not in (3, 4) or any(d > "7" for d in mode):
            return "use a three-digit mode like 755 or 644"
        if len(mode) == 4 and mode[0] != "0":
            return "no setuid, setgid or sticky bits"
        return "it makes files world-writable" if int(mode[-1]) & 2 else None
    for clause in mode.split(","):
        who, op, perms = _split_clause(clause)
        if op is None or not set(perms) <= set("rwxX"):
            return "use `+x`, `u+x`, `a+x` or a numeric mode like 755"
        if op in "+=" and "w" in perms and (not who or set(who) & set("oa")):
            return "it makes files world-writable"
    return None


def _split_clause(clause: str) -> tuple[str, str | None, str]:
    for index, char in enumerate(clause):
        if char in "+-=":
            who = clause[:index]
            return (who, char, clause[index + 1 :]) if set(who) <= set("ugoa") else ("", None, "")
    return "", None, ""


def mkdir(cmd: SimpleCommand, env: Env) -> Decision:
    return _simple_writer("m", ("--mode", "--context"))(cmd, env)


def touch(cmd: SimpleCommand, env: Env) -> Decision:
    return _simple_writer("rdt", ("--reference", "--date"))(cmd, env)


def gzip(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(cmd.args, "S", ("--suffix",))
    if opts.has("-c", "--stdout", "-l", "--list", "-t", "--test"):
        return ok(cmd)
    name = command_name(cmd)
    recursive = opts.has("-r", "--recursive") or any(short_cluster(w, "r") for w in cmd.args)
    return check_paths(opts.positionals, env, name) or (
        _rewrites_git(opts.positionals, env, f"{name} -r") if recursive else None) or ok(cmd)


def short_cluster(word: Word, letter: str) -> bool:
    """``-rv``: a cluster of one-letter options holding ``letter``."""
    text = word.value or ""
    return text.startswith("-") and not text.startswith("--") and letter in text[1:]


def _rewrites_git(operands: Iterable[Word], env: Env, verb: str) -> Decision | None:
    """A recursive rewrite or removal (``gzip -r .``, ``zip -rm x.zip .``) below a directory that
    holds the project's ``.git`` reaches its files."""
    git = env.project / ".git"
    reached = [word for word in operands for cwd in env.cwds
               if (path := resolve_word(word, cwd, env)) is not None and is_inside(git, path)]
    return check_paths([Word(".git/config", ".git/config")] if reached else [], env, verb)


def tar(cmd: SimpleCommand, env: Env) -> Decision:
    args = _tar_old_style(cmd.args)
    opts = parse_options(
        args,
        "fCTXbHIKNgLV",
        ("--file", "--directory", "--to-command", "--use-compress-program", "--info-script"),
    )
    bad = {
        "-I",
        "--use-compress-program",
        "--to-command",
        "--checkpoint-action",
        "-F",
        "--info-script",
        "--new-volume-script",
        "--rsh-command",
        "-P",
        "--absolute-names",
        "--transform",  # renames what it extracts: `s,^,.git/,` puts members into .git
        "--xform",
    }
    found = next((flag for flag in opts.names() if flag in bad), None)
    if found is not None:
        return deny(
            "deny.tar_option",
            f"`tar {found}` is not allowed: it runs commands or writes outside the target directory.",
        )
    archive = opts.values("-f", "--file")
    creating = opts.has("-c", "--create", "-r", "--append", "-u", "--update", "-A")
    if creating:
        archive = [w for w in archive if w.value != "-"]
        sources = [*opts.positionals, *opts.values("-C", "--directory")]
        problem = recursive_read_problem(sources, env, "tar")
        return problem or check_paths(archive, env, "tar") or ok(cmd)
    if opts.has("-x", "--extract", "--get"):
        targets = opts.values("-C", "--directory") or [HERE]
        links = archive_links(archive or [Word("-", "-")], env, "tar")
        return links or check_paths([*targets, *opts.positionals], env, "tar") or ok(cmd)
    return ok(cmd)


_MAX_ARCHIVE = 50 * 1024 * 1024
_S_IFMT, _S_IFLNK = 0o170000, 0o120000


def archive_links(archives: Iterable[Word], env: Env, tool: str) -> Decision | None:
    """An extraction of an archive that holds a link leading out of where it lands (``k ->
    ~/.ssh``, ``../..``, an absolute target): later commands would read or write through it. An
    archive that cannot be read now (not there yet, stdin, over 50 MB) is not looked into: what
    is later read through a link it makes is judged where the link leads, once it exists."""
    import tarfile
    import zipfile

    for word in archives:
        for cwd in env.cwds:
            text = None if word.value in (None, "-") else \
                expand_tilde(word.value or "", word.tilde, env.context.effective_home)
            path = physical(text, cwd) if text is not None else None
            try:
                if path is None or not path.is_file() or path.stat().st_size > _MAX_ARCHIVE:
                    continue
                if tool == "unzip":
                    with zipfile.ZipFile(path) as archive:
                        links = [i for i in archive.infolist() if (i.external_attr >> 16) & _S_IFMT == _S_IFLNK]
                        targets = [(i.filename, archive.read(i).decode(errors="replace")) for i in links]
                else:
                    with tarfile.open(path) as archive:
                        targets = [(m.name, m.linkname) for m in archive.getmembers() if m.issym() or m.islnk()]
            except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError, ValueError):
                continue
            for name, target in targets:
                if target.startswith("/") or ".." in Path(target).parts:
                    return deny("path.outside", f"`{tool}` would make the link `{name}` -> `{target}`, which "
                                                "leads out of the project; not allowed.")
    return None


def _tar_old_style(args: tuple[Word, ...]) -> tuple[Word, ...]:
    """``tar czf a.tgz dir`` → ``tar -c -z -f a.tgz dir`` (value letters take the next words)."""
    if not args or args[0].value is None or args[0].value.startswith("-"):
        return args
    letters, rest = args[0].value, list(args[1:])
    out: list[Word] = []
    for letter in letters:
        out.append(Word(f"-{letter}", f"-{letter}"))
        if letter in "fCTXbHIKNgLV" and rest:
            out.append(rest.pop(0))
    return (*out, *rest)


def zip_(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(cmd.args, "bnOtP", ("--temp-path", "--output-file", "--password"))
    if any(flag in ("-TT", "--unzip-command") for flag in _raw_flags(cmd)):
        return deny("deny.zip_option", "`zip -TT` runs a command and is not allowed.")
    writes = [*opts.positionals[:1], *opts.values("-O", "--output-file", "-b", "--temp-path")]
    problem = recursive_read_problem(opts.positionals[1:], env, "zip")
    if opts.has("--move") or any(short_cluster(w, "m") for w in cmd.args):  # it deletes what it adds
        problem = problem or check_paths(opts.positionals[1:], env, "zip -m") or \
            _rewrites_git(opts.positionals[1:], env, "zip -m")
    return problem or check_paths(writes, env, "zip") or ok(cmd)


def unzip(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(cmd.args, "dP")
    if any(short_cluster(w, ":") for w in cmd.args):
        return deny("deny.unzip_option",
                    "`unzip -:` extracts members named `../…` outside the target; not allowed.")
    if opts.has("-l", "-t", "-p", "-Z", "-v", "-z"):
        return ok(cmd)
    if opts.positionals and not opts.has("-c"):  # -c extracts to stdout: no links are made
        links = archive_links(opts.positionals[:1], env, "unzip")
        if links is not None:
            return links
    return check_paths(opts.values("-d") or [HERE], env, "unzip") or ok(cmd)


def _raw_flags(cmd: SimpleCommand) -> list[str]:
    return [w.value.partition("=")[0] for w in cmd.args if w.value and w.value.startswith("-")]


def output_option(short: str, long: str, values: str = "", long_values: Iterable[str] = ()) -> Validator:
    """Commands that only write through one output option (sort -o, tree -o)."""

    def validate(cmd: SimpleCommand, env: Env) -> Decision:
        opts = parse_options(cmd.args, values + short[1:], (long, *long_values))
        if opts.has("--compress-program"):
            return deny("deny.sort_option", "`sort --compress-program` runs a program.")
        return check_paths(opts.values(short, long), env, command_name(cmd)) or ok(cmd)

    return validate


def second_positional(values: str) -> Validator:
    """Commands whose optional second operand is an output file (uniq, xxd)."""

    def validate(cmd: SimpleCommand, env: Env) -> Decision:
        opts = parse_options(cmd.args, values)
        return check_paths(opts.positionals[1:2], env, command_name(cmd)) or ok(cmd)

    return validate


def cd(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(cmd.args)
    if not opts.positionals:
        return deny("deny.cd", "`cd` with no directory goes to the home directory; stay in the project.")
    target = opts.positionals[0]
    if target.value is None:
        return dynamic_denial(cmd, target, "directory")
    if target.value == "-":
        return deny("deny.cd", "`cd -` goes to an unknown directory; name the directory.")
    for cwd in env.cwds:
        path = resolve_word(target, cwd, env)
        if path is None or not is_inside(path, env.project):
            return deny(
                "path.outside", f"`cd {target.raw}` leaves the project {env.project}: work inside the project."
            )
    return ok(cmd)


def source(cmd: SimpleCommand, env: Env) -> Decision:
    opts = parse_options(cmd.args, stop_at_positional=True)
    if not opts.positionals:
        return deny("deny.source", "`source` needs a file.")
    target = opts.positionals[0]
    if target.value is None:
        return dynamic_denial(cmd, target, "file")
    for cwd in env.cwds:
        path = resolve_word(target, cwd, env)
        if path is None or not is_inside(path, env.project):
            return deny(
                "deny.source",
                f"`source {target.raw}` runs a file outside the project; "
                "only project files (like .venv/bin/activate) may be "
                "sourced.",
            )
        if path.name.startswith("activate") and path.parent.name in ("bin", "Scripts"):
            continue  # a virtualenv's activation (its own shell code, left to the sandbox)
        text = read_bounded(path, _MAX_SOURCED)
        if text is None:
            return deny("deny.source", f"`source {target.raw}` runs shell code from a file that is not a "
                                       "readable project file now; it cannot be checked.")
        if env.depth >= _MAX_SOURCE_DEPTH:  # a file that sources itself, or a chain
            return deny("deny.depth", f"`source {target.raw}` nests sourced files too deeply to check.")
        decision = env.nested(text, replace(env, depth=env.depth + 1))  # its commands run in this shell
        if not decision.allowed:
            return decision
    return ok(cmd)


_MAX_SOURCED = 64 * 1024
_MAX_SOURCE_DEPTH = 8


VALIDATORS: Mapping[str, Validator] = MappingProxyType({
    "rm": rm, "rmdir": _simple_writer(), "mv": with_long_options("mv", mv),
    "cp": with_long_options("cp", copy_like), "ln": with_long_options("ln", copy_like),
    "tee": tee, "chmod": chmod, "mkdir": mkdir, "touch": touch, "gzip": gzip, "gunzip": gzip,
    "tar": with_long_options("tar", tar), "zip": zip_, "unzip": unzip,
    "sort": with_long_options("sort", output_option("-o", "--output", "kStT", (
        "--key", "--field-separator", "--buffer-size", "--temporary-directory", "--files0-from",
        "--compress-program", "--random-source", "--batch-size", "--parallel"))),
    "uniq": second_positional("fsw"), "xxd": second_positional("cglson"),
    "cd": cd, "source": source, ".": source,
})  # fmt: skip
