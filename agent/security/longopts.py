"""GNU long options as the tools read them: any unique prefix of a long option is that option.

getopt_long (and argp) accept ``--to-comm`` for ``--to-command`` and ``--in-pl`` for
``--in-place``. Validators that judge a tool by its options first rewrite every long option to
its full name with `normalise`, from the tool's own list (taken from ``TOOL --help``); a name
that is no prefix of any option, or of several, is refused: the tool would fail on it or pick
an option the validator does not know about.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from types import MappingProxyType

from agent.security.base import Env, Validator, deny
from agent.security.bash import SimpleCommand
from agent.security.models import Decision
from agent.security.words import Word


def _names(text: str) -> tuple[str, ...]:
    return tuple(f"--{name}" for name in text.split())


_LONG: dict[str, tuple[str, ...]] = {
    "tar": _names(
        "absolute-names acls add-file after-date anchored append atime-preserve auto-compress "
        "backup block-number blocking-factor bzip2 catenate check-device check-links checkpoint "
        "checkpoint-action clamp-mtime compare compress concatenate confirmation create "
        "delay-directory-restore delete dereference diff directory exclude exclude-backups "
        "exclude-caches exclude-caches-all exclude-caches-under exclude-from exclude-ignore "
        "exclude-ignore-recursive exclude-tag exclude-tag-all exclude-tag-under exclude-vcs "
        "exclude-vcs-ignores extract file files-from force-local format full-time get group "
        "group-map gunzip gzip hard-dereference help hole-detection ignore-case "
        "ignore-command-error ignore-failed-read ignore-zeros incremental index-file info-script "
        "interactive keep-directory-symlink keep-newer-files keep-old-files label level list "
        "listed-incremental lzip lzma lzop mode mtime multi-volume new-volume-script newer "
        "newer-mtime no-acls no-anchored no-auto-compress no-check-device "
        "no-delay-directory-restore no-ignore-case no-ignore-command-error no-null "
        "no-overwrite-dir no-quote-chars no-recursion no-same-owner no-same-permissions no-seek "
        "no-selinux no-unquote no-verbatim-files-from no-wildcards no-wildcards-match-slash "
        "no-xattrs null numeric-owner occurrence old-archive one-file-system one-top-level "
        "overwrite overwrite-dir owner owner-map pax-option portability posix preserve-order "
        "preserve-permissions quote-chars quoting-style read-full-records record-size recursion "
        "recursive-unlink remove-files restrict rmt-command rsh-command same-order same-owner "
        "same-permissions seek selinux show-defaults show-omitted-dirs "
        "show-snapshot-field-ranges show-stored-names show-transformed-names skip-old-files sort "
        "sparse sparse-version starting-file strip-components suffix tape-length test-label "
        "to-command to-stdout totals touch transform uncompress ungzip unlink-first unquote "
        "update usage use-compress-program utc verbatim-files-from verbose verify version "
        "volno-file warning wildcards wildcards-match-slash xattrs xattrs-exclude "
        "xattrs-include xform xz zstd"
    ),
    "sed": _names(
        "debug expression file follow-symlinks help in-place line-length null-data posix quiet "
        "regexp-extended sandbox separate silent unbuffered version zero-terminated"
    ),
    "cp": _names(
        "archive attributes-only backup context copy-contents dereference force help "
        "interactive link no-clobber no-dereference no-preserve no-target-directory "
        "one-file-system parents preserve recursive reflink remove-destination sparse "
        "strip-trailing-slashes suffix symbolic-link target-directory update verbose version"
    ),
    "mv": _names(
        "backup context force help interactive no-clobber no-target-directory "
        "strip-trailing-slashes suffix target-directory update verbose version"
    ),
    "ln": _names(
        "backup directory force help interactive logical no-dereference no-target-directory "
        "physical relative suffix symbolic target-directory verbose version"
    ),
    "make": _names(
        "always-make assume-new assume-old check-symlink-times debug directory dry-run "
        "environment-overrides eval file help ignore-errors include-dir jobs just-print "
        "keep-going load-average makefile max-load new-file no-builtin-rules "
        "no-builtin-variables no-keep-going no-print-directory no-silent old-file output-sync "
        "print-data-base print-directory question quiet recon silent stop touch trace version "
        "warn-undefined-variables what-if"
    ),
}
LONG_OPTIONS = MappingProxyType(_LONG)
"""Every long option of the tools whose validators judge options (GNU versions)."""


def expand(name: str, known: Iterable[str]) -> str | None:
    """The long option ``name`` abbreviates (``None`` when unknown or ambiguous)."""
    options = tuple(known)
    if name in options:
        return name
    matches = [option for option in options if option.startswith(name)]
    return matches[0] if len(matches) == 1 else None


def normalise(tool: str, args: tuple[Word, ...]) -> tuple[Word, ...] | str:
    """``args`` with each long option written out in full, or the first bad option."""
    known = LONG_OPTIONS[tool]
    out: list[Word] = []
    for index, word in enumerate(args):
        text = word.value
        if text == "--":
            return (*out, *args[index:])
        if text is None or not text.startswith("--"):
            out.append(word)
            continue
        name, eq, value = text.partition("=")
        full = expand(name, known)
        if full is None:
            return name
        written = f"{full}{eq}{value}"
        out.append(Word(word.raw, written, glob=word.glob, tilde=word.tilde))
    return tuple(out)


def with_long_options(tool: str, validator: Validator) -> Validator:
    """``validator`` run on the command with its long options written out in full."""

    def validate(cmd: SimpleCommand, env: Env) -> Decision:
        args = normalise(tool, cmd.args)
        if isinstance(args, str):
            return deny(
                "deny.option_unknown",
                f"`{tool} {args}` is not one of its options, or abbreviates several; write the "
                "option out in full.",
            )
        return validator(replace(cmd, args=args), env)

    return validate
