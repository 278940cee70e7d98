"""Files a developer tool writes because its options or operands name them.

Compilers, bundlers, formatters, linters and test runners write where they are told: ``gcc -o``,
``tsc --outDir``, ``pytest --junitxml``, ``ruff check -o``, ``black FILE`` (rewritten in place),
``prettier --write FILE``. Such a path is a write like a redirection's and must stay inside the
project (``/tmp`` under the command sandbox). :data:`SPECS` lists, per tool, the options whose value
is a written path (``--opt VALUE``, ``--opt=VALUE``, and for the one-letter ones ``-oVALUE``), and
when its operands are rewritten in place; :func:`output_problem` checks each such path like any
other write. Options of a tool not listed here are judged as reads (see ``reads.py``); what the
tool writes because of its configuration files or the project's code is left to the sandbox.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

from agent.security.base import Env, command_name, deny, parse_options
from agent.security.bash import SimpleCommand, Word
from agent.security.models import Decision
from agent.security.validators_fs import check_paths

Rewrites = Callable[[tuple[Word, ...], set[str]], bool]
"""Given the arguments and the option names present: are the operands rewritten in place?"""


def _never(_args: tuple[Word, ...], _present: set[str]) -> bool:
    return False


def _unless(*checks: str) -> Rewrites:
    """Operands are rewritten unless one of ``checks`` (a dry-run option) is given."""
    return lambda _args, present: not present & set(checks)


def _always(_args: tuple[Word, ...], _present: set[str]) -> bool:
    return True


def _with(*writes: str) -> Rewrites:
    """Operands are rewritten when one of ``writes`` (a fix/write option) is given."""
    return lambda _args, present: bool(present & set(writes))


def _ruff(args: tuple[Word, ...], present: set[str]) -> bool:
    """``ruff format`` (unless --check/--diff) and ``ruff check --fix`` (``--fix-only``,
    ``--add-noqa``) rewrite their operands."""
    if _first_operand(args) == "format":
        return not present & {"--check", "--diff"}
    return bool(present & {"--fix", "--unsafe-fixes", "--fix-only", "--add-noqa"})


def _rustfmt(args: tuple[Word, ...], present: set[str]) -> bool:
    """rustfmt rewrites its operands unless --check, or --emit to stdout."""
    values = [w.value or "" for w in args]
    to_stdout = "--emit=stdout" in values or any(a == "--emit" and b == "stdout"
                                                   for a, b in itertools.pairwise(values))
    return "--check" not in present and not to_stdout


def _nothing(_args: tuple[Word, ...]) -> list[Word]:
    return []


def _pytest_outputs(args: tuple[Word, ...]) -> list[Word]:
    """pytest's ``--cov-report=html:DIR`` (``xml:FILE``, …) and ``-o cache_dir=PATH``."""
    found: list[Word] = []
    for index, word in enumerate(args):
        previous = args[index - 1].value if index else None
        text = word.value or ""
        kind_path = text.partition("=")[2] if text.startswith("--cov-report=") else \
            text if previous == "--cov-report" else ""
        if ":" in kind_path:
            found.append(_word(kind_path.partition(":")[2]))
        ini = text.partition("=")[2] if text.startswith("--override-ini=") else \
            text if previous in ("-o", "--override-ini") else text[2:] if text.startswith("-o") else ""
        if ini.partition("=")[0].strip() == "cache_dir":
            found.append(_word(ini.partition("=")[2].strip()))
    return found


def _c_outputs(args: tuple[Word, ...]) -> list[Word]:
    """A C compiler's writes through the linker (``-Wl,-o,PATH``, ``-Wl,-Map=PATH``, ``-Xlinker
    -o -Xlinker PATH``), dependency files (``-MFdeps.d``) and ``-f…=PATH`` dumps and profiles."""
    found: list[Word] = []
    for index, word in enumerate(args):
        previous = args[index - 1].value if index else None
        text = word.value or ""
        if text.startswith("-Wl,"):
            parts = text.split(",")[1:]
            found += [_word(b) for a, b in itertools.pairwise(parts) if a in ("-o", "-Map")]
            found += [_word(p[2:]) for p in parts if p.startswith("-o") and len(p) > 2]
            found += [_word(p.partition("=")[2]) for p in parts if p.startswith(("-Map=", "--Map="))]
        if previous == "-Xlinker" and index >= 3 and args[index - 2].value == "-o" and \
                args[index - 3].value == "-Xlinker":
            found.append(word)
        if text.startswith(("-MF", "-MJ")) and len(text) > 3:
            found.append(_word(text[3:]))
        if text.startswith(("-fprofile-generate=", "-fprofile-dir=", "-fopt-info", "-fdump-", "-fstack-usage=",
                            "-fcallgraph-info=")) and "=" in text:
            found.append(_word(text.partition("=")[2]))
    return found


_JAVA_FILE_OPTIONS = ("-Xloggc:", "-XX:HeapDumpPath=", "-XX:ErrorFile=", "-XX:LogFile=",
                      "-XX:SharedArchiveFile=", "-XX:ArchiveClassesAtExit=", "-XX:ReplayDataFile=",
                      "-XX:PerfDataSaveFile=")
_JAVA_KEYED = ("-XX:StartFlightRecording", "-XX:FlightRecorderOptions")


def _java_outputs(args: tuple[Word, ...]) -> list[Word]:
    """The JVM's log, dump and recording files: ``-Xlog:WHAT:OUTPUT`` (``file=PATH`` or a bare
    path; not stdout/stderr), ``-Xloggc:PATH``, ``-XX:HeapDumpPath=PATH`` and its kin,
    ``-XX:StartFlightRecording=…,filename=PATH`` (and ``repository=`` of the recorder options)."""
    found: list[Word] = []
    for word in args:
        text = word.value or ""
        if text.startswith("-Xlog:"):
            fields = text[len("-Xlog:"):].split(":")
            output = fields[1] if len(fields) > 1 else ""
            output = output.partition("=")[2] if output.startswith("file=") else output
            if output and output not in ("stdout", "stderr"):
                found.append(_word(output))
        prefix = next((p for p in _JAVA_FILE_OPTIONS if text.startswith(p)), None)
        if prefix is not None:
            found.append(_word(text[len(prefix):]))
        if text.startswith(_JAVA_KEYED):
            for pair in text.partition("=")[2].split(","):
                key, _, value = pair.partition("=")
                if key in ("filename", "repository", "dumppath") and value:
                    found.append(_word(value))
        if word.value is None and word.raw.startswith(("-Xlog", "-XX:", "-Xloggc")):
            found.append(word)  # a value known only at run time: refused as a dynamic write
    return found


@dataclass(frozen=True)
class Spec:
    options: frozenset[str] = frozenset()
    """Options whose value is a path the tool writes."""
    attached: str = ""
    """One-letter options among them whose value may be attached (``-oFILE``)."""
    values: frozenset[str] = frozenset()
    """Other options that take a value (so it is not taken for an operand)."""
    rewrites: Rewrites = field(default=_never)
    nocase: bool = False  # option names in any case (tsc)
    subcommand: bool = False  # the first operand is a subcommand (ruff format), not a file
    extra: Callable[[tuple[Word, ...]], list[Word]] = _nothing
    """The tool's own forms of a written path (``-Wl,-o,PATH``, ``-Xlog:gc:PATH``)."""


def _spec(options: str = "", attached: str = "", values: str = "", rewrites: Rewrites = _never,
          nocase: bool = False, subcommand: bool = False,
          extra: Callable[[tuple[Word, ...]], list[Word]] = _nothing) -> Spec:
    return Spec(frozenset(options.split()), attached, frozenset(values.split()), rewrites, nocase, subcommand,
                extra)


_C = _spec("-o -MF -MJ --output -aux-info -dumpdir -dumpbase", "o", extra=_c_outputs)
_FORMAT_VALUES = "-l --line-length -t --target-version --config --include --exclude --extend-exclude " \
                 "--force-exclude --stdin-filename -W --workers --python-cell-magics --required-version"
SPECS: MappingProxyType[str, Spec] = MappingProxyType({
    **dict.fromkeys(("gcc", "g++", "cc", "c++", "clang", "clang++", "ld", "as"), _C),
    "rustc": _spec("-o --out-dir", "o"),
    "go": _spec("-o -coverprofile -cpuprofile -memprofile -blockprofile -mutexprofile -trace -outputdir "
                "--coverprofile --cpuprofile --memprofile --blockprofile --mutexprofile --trace --outputdir"),
    "javac": _spec("-d -s -h --source-path-output"),
    "tsc": _spec("--outdir --outfile --out --declarationdir --tsbuildinfofile --generatecpuprofile",
                 nocase=True),
    "esbuild": _spec("--outfile --outdir --metafile --sourcefile"),
    "webpack": _spec("-o --output-path --output-filename --json", "o"),
    "vite": _spec("--outDir --outdir"),
    "cargo": _spec("--target-dir --out-dir --artifact-dir"),
    "pytest": _spec("--junitxml --junit-xml --basetemp --html --result-log --resultlog --report-log "
                    "--json-report-file --cov-report", extra=_pytest_outputs),
    "mypy": _spec("--cache-dir --html-report --txt-report --xml-report --junit-xml --linecount-report "
                  "--any-exprs-report --cobertura-xml-report --lineprecision-report --xslt-html-report "
                  "--xslt-txt-report --linecoverage-report"),
    "ruff": _spec("-o --output-file --cache-dir", "o", "--config --select --ignore --extend-select "
                  "--line-length --target-version --exclude --extend-exclude --output-format", _ruff,
                  subcommand=True),
    "black": _spec(values=_FORMAT_VALUES, rewrites=_unless("--check", "--diff", "--code", "-c")),
    "isort": _spec(values="-l --line-length --settings-path --settings-file --sp -p --profile --src "
                   "--skip -s --filter-files --py -j --jobs", rewrites=_unless("--check-only", "--check",
                                                                               "-c", "--diff", "--stdout")),
    "rustfmt": _spec(values="--edition --config-path --config --emit --color", rewrites=_rustfmt),
    "gofmt": _spec(rewrites=_with("-w")),
    "prettier": _spec("--cache-location --log-file", values="--config --ignore-path --plugin --parser "
                      "--print-width --tab-width", rewrites=_with("--write", "-w")),
    "eslint": _spec("-o --output-file --cache-location", "o", "-c --config --ext --rule --rulesdir "
                    "--parser --plugin -f --format --resolve-plugins-relative-to", _with("--fix")),
    "flake8": _spec("--output-file"),
    "pylint": _spec("--output"),
    "jest": _spec("--outputFile --coverageDirectory --cacheDirectory"),
    "vitest": _spec("--outputFile --coverage.reportsDirectory --dir"),
    "psql": _spec("-o --output -L --log-file", "oL"),
    "npm": _spec("--pack-destination --logs-dir --cache"),
    "yarn": _spec("--modules-folder --cache-folder --global-folder --link-folder"),
    "pnpm": _spec("--store-dir --virtual-store-dir --modules-dir --global-dir --cache-dir"),
    "cmake": _spec("-B --install-prefix --prefix --graphviz", "B"),
    "deno": _spec("-o --output --coverage --junit-path --root", "o"),
    "bun": _spec("--outdir --outfile"),
    "uv": _spec("--directory --project -o --output-file"),
    "poetry": _spec("-C --directory -o --output", "Co"),
    "gunicorn": _spec("--access-logfile --error-logfile --log-file --pid -p --worker-tmp-dir --chdir", "p"),
    "node": _spec("--cpu-prof-dir --heap-prof-dir --diagnostic-dir --report-directory --report-dir "
                  "--report-filename --redirect-warnings --trace-event-file-pattern --cpu-prof-name "
                  "--heap-prof-name"),
    "java": _spec(extra=_java_outputs),
    **dict.fromkeys(("cProfile", "profile"), _spec("-o --outfile", "o", "-s --sort")),
    "ensurepip": _spec("--root"),
    "trace": _spec("-f --file -C --coverdir", "fC"),
    # `python -m MODULE`: standard-library tools that write where their operands say
    **dict.fromkeys(("zipfile", "tarfile", "json.tool", "gzip", "py_compile", "compileall"),
                    _spec(values="--indent -d -q", rewrites=_always)),
})
"""Tool name → what it writes."""

_GIT_VALUES = "-C -c --git-dir --work-tree --namespace --exec-path"
CREATES: MappingProxyType[tuple[str, str], frozenset[str]] = MappingProxyType({
    key: frozenset(values.split()) for key, values in {
        ("git", "init"): f"{_GIT_VALUES} --template --separate-git-dir -b --initial-branch "
                         "--object-format --ref-format --shared",
        ("git", "bundle"): _GIT_VALUES,  # git bundle create FILE REVS
        ("uv", "venv"): "-p --python --prompt --index-url --extra-index-url --index --default-index "
                        "--link-mode --index-strategy --keyring-provider --exclude-newer --directory "
                        "--project --config-file",
        ("uv", "init"): "-p --python --name --build-backend --vcs --author-from --description --directory "
                        "--project --config-file",
        ("cargo", "new"): "--vcs --name --edition --registry --config -Z",
        ("cargo", "init"): "--vcs --name --edition --registry --config -Z",
        ("cargo", "vendor"): "-s --sync --manifest-path --config -Z",
        ("poetry", "new"): "--name --readme --python --dependency --dev-dependency --description --author "
                           "--license --directory -C",
        ("django-admin", "startproject"): "--template --extension -e --name -n --exclude -x --settings "
                                          "--pythonpath",
        ("django-admin", "startapp"): "--template --extension -e --name -n --exclude -x --settings "
                                      "--pythonpath",
        **{(tool, sub): "--prefix -C --dir --cwd" for tool in ("npm", "yarn", "pnpm", "bun")
           for sub in ("create", "init")},
    }.items()
})
"""(tool, subcommand) → its options that take a value: the operands after the subcommand are
directories or files it creates (``git init DIR``, ``cargo new DIR``, ``uv venv DIR``,
``npm create vite@latest DIR``: for the npm family the first operand is the package)."""
_SCAFFOLD_RUNNERS = frozenset({"npx", "pnpx", "bunx"})
"""Runners of a package: ``npx create-react-app DIR`` creates its operands like ``npm create``."""


CACHE_CLEANS: MappingProxyType[str, tuple[tuple[str, ...], ...]] = MappingProxyType({
    "pip": (("cache", "purge"), ("cache", "remove"), ("cache", "rm")),
    "npm": (("cache", "clean"), ("cache", "clear"), ("cache", "rm")),
    "yarn": (("cache", "clean"),),
    "pnpm": (("store", "prune"), ("cache", "delete")),
    "bun": (("pm", "cache", "rm"),),
    "uv": (("cache", "clean"), ("cache", "prune")),
    "poetry": (("cache", "clear"),),
    "deno": (("clean",),),
    "pre-commit": (("clean",), ("gc",)),
})
"""(tool → the subcommands that delete the user's package cache, outside the project.)"""
_GO_CACHES = frozenset({"-cache", "-modcache", "-testcache", "-fuzzcache"})


def cache_clean_problem(args: tuple[Word, ...], name: str) -> Decision | None:
    """A denial when ``name ARGS`` deletes a package or build cache of the user's (``pip cache
    purge``, ``npm cache clean``, ``go clean -modcache``): a deletion outside the project."""
    operands = [w.value for w in args if w.value is not None and not w.value.startswith("-")]
    hit = next((" ".join(sub) for sub in CACHE_CLEANS.get(name, ()) if tuple(operands[:len(sub)]) == sub), None)
    if name == "go" and operands[:1] == ["clean"] and any(w.value in _GO_CACHES for w in args):
        hit = "clean " + " ".join(w.value or "" for w in args if w.value in _GO_CACHES)
    if hit is None:
        return None
    return deny("deny.cache_clean", f"`{name} {hit}` deletes the user's cache outside the project; "
                                    "nothing the project needs is there (build or install into the project).")


def output_problem(cmd: SimpleCommand, env: Env, tool: str | None = None) -> Decision | None:
    """A denial when ``cmd`` (the tool ``tool``, by default its own name) writes a path outside
    what may be written, named by an output option or rewritten as an operand, or deletes a
    cache of the user's (:func:`cache_clean_problem`)."""
    name = tool or command_name(cmd)
    cleaned = cache_clean_problem(cmd.args, name)
    if cleaned is not None:
        return cleaned
    created = check_paths(_created(cmd.args, name), env, name)
    if created is not None:
        return created
    spec = SPECS.get(name)
    if spec is None:
        return None
    if name == "go" and _first_operand(cmd.args) == "install":
        return deny("deny.global_install", "`go install` puts a binary in GOBIN outside the project; use "
                                           "`go build -o bin/NAME` inside it.")
    if name == "go" and _first_operand(cmd.args) == "env" and any(w.value in ("-w", "-u") for w in cmd.args):
        return deny("deny.env_var", "`go env -w` writes the user's Go environment file (GOFLAGS=-toolexec=… "
                                    "would run a program on every build); pass it on the command line.")
    return check_paths(_written(cmd.args, spec), env, name)


def _created(args: tuple[Word, ...], name: str) -> list[Word]:
    """The operands a scaffolding subcommand (:data:`CREATES`) or a ``create-*`` package creates."""
    if name in _SCAFFOLD_RUNNERS:
        words = [w for w in args if not (w.value or "").startswith("-")]
        package = (words[0].value or "") if words else ""
        return words[1:] if package.rpartition("/")[2].startswith("create-") else []
    subs = {sub for tool, sub in CREATES if tool == name}
    if not subs:
        return []
    values = frozenset().union(*(CREATES[(name, sub)] for sub in subs))
    positionals = parse_options(args, "".join(v[1] for v in values if len(v) == 2),
                                [v for v in values if v.startswith("--")]).positionals
    sub = positionals[0].value if positionals else None
    if sub not in subs:
        return []
    if sub == "bundle":  # only `git bundle create FILE` writes (verify, list-heads read)
        return list(positionals[2:]) if positionals[1:2] and positionals[1].value == "create" else []
    return list(positionals[2 if name in ("npm", "yarn", "pnpm", "bun") else 1:])


def _first_operand(args: tuple[Word, ...]) -> str | None:
    """The first word that is no option (a subcommand): ``ruff format``, ``go install``."""
    return next((w.value for w in args if w.value is not None and not w.value.startswith("-")), None)


def _written(args: tuple[Word, ...], spec: Spec) -> list[Word]:
    """The words naming files ``spec``'s tool writes."""
    found: list[Word] = []
    present: set[str] = set()
    skip = False
    for index, word in enumerate(args):
        if skip:
            skip = False
            continue
        text = word.value
        if text is None or not text.startswith("-") or text == "-":
            continue
        name, eq, value = text.partition("=")
        key = name.lower() if spec.nocase else name
        present.add(key)
        if key in spec.options:
            if eq:
                found.append(_word(value))
            elif index + 1 < len(args):
                found.append(args[index + 1])
                skip = True
        elif len(text) > 2 and text[1] in spec.attached and not text.startswith("--"):
            found.append(_word(text[2:]))
    found += spec.extra(args)
    if spec.rewrites(args, present):
        found += _operands(args, spec)
    return [w for w in found if w.value != "-"]


def _operands(args: tuple[Word, ...], spec: Spec) -> list[Word]:
    takes = spec.values | spec.options
    opts = parse_options(args, "".join(o[1] for o in takes if len(o) == 2),
                         [o for o in takes if o.startswith("--")])
    return list(opts.positionals[1:] if spec.subcommand else opts.positionals)


def _word(value: str) -> Word:
    return Word(value, value, tilde=value.startswith("~"))
