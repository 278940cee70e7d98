"""GNU long options as the tools read them: any unique prefix of a long option is that option.

getopt_long (and argp) accept ``--to-comm`` for ``--to-command`` and ``--in-pl`` for
``--in-place``. Validators that judge a tool by its options first rewrite every long option to
its full name with `normalise`, from the tool's own list (taken from ``TOOL --help``); a name
that is no prefix of any option, or of several, is refused: the tool would fail on it or pick
an option the validator does not know about.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
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
    "sort": _names(
        "batch-size buffer-size check compress-program debug dictionary-order field-separator "
        "files0-from general-numeric-sort help human-numeric-sort ignore-case "
        "ignore-leading-blanks ignore-nonprinting key merge month-sort numeric-sort output "
        "parallel random-sort random-source reverse sort stable temporary-directory unique "
        "version version-sort zero-terminated"
    ),
    "xargs": _names(
        "arg-file delimiter eof exit help interactive max-args max-chars max-lines max-procs "
        "no-run-if-empty null open-tty process-slot-var replace show-limits verbose version"
    ),
    "wget": _names(
        "accept accept-regex adjust-extension append-output ask-password auth-no-challenge "
        "background backup-converted backups base bind-address body-data body-file "
        "ca-certificate ca-directory certificate certificate-type ciphers compression config "
        "connect-timeout content-disposition content-on-error continue convert-file-only "
        "convert-links crl-file cut-dirs debug default-page delete-after directory-prefix "
        "dns-timeout domains exclude-directories exclude-domains execute follow-ftp follow-tags "
        "force-directories force-html ftp-password ftp-user ftps-clear-data-connection "
        "ftps-fallback-to-ftp ftps-implicit ftps-resume-ssl header help hsts-file http-password "
        "http-user https-only ignore-case ignore-length ignore-tags include-directories "
        "inet4-only inet6-only input-file keep-session-cookies level limit-rate load-cookies "
        "local-encoding max-redirect method mirror no-cache no-check-certificate no-clobber "
        "no-config no-cookies no-directories no-dns-cache no-glob no-host-directories no-hsts "
        "no-http-keep-alive no-if-modified-since no-iri no-netrc no-parent no-passive-ftp "
        "no-proxy no-remove-listing no-use-server-timestamps no-verbose no-warc-compression "
        "no-warc-digests no-warc-keep-log output-document output-file page-requisites password "
        "pinnedpubkey post-data post-file prefer-family preserve-permissions private-key "
        "private-key-type progress protocol-directories proxy-password proxy-user quiet quota "
        "random-wait read-timeout recursive referer regex-type reject reject-regex rejected-log "
        "relative remote-encoding report-speed restrict-file-names retr-symlinks "
        "retry-connrefused retry-on-http-error save-cookies save-headers secure-protocol "
        "server-response show-progress span-hosts spider start-pos strict-comments timeout "
        "timestamping tries trust-server-names unlink use-askpass user user-agent verbose "
        "version wait waitretry warc-cdx warc-dedup warc-file warc-header warc-max-size "
        "warc-tempdir xattr"
    ),
    "curl": _names(
        "abstract-unix-socket alt-svc anyauth append aws-sigv4 basic cacert capath cert "
        "cert-status cert-type ciphers compressed compressed-ssh config connect-timeout "
        "connect-to continue-at cookie cookie-jar create-dirs create-file-mode crlf crlfile "
        "curves data data-ascii data-binary data-raw data-urlencode delegation digest disable "
        "disable-eprt disable-epsv disallow-username-in-url dns-interface dns-ipv4-addr "
        "dns-ipv6-addr dns-servers doh-cert-status doh-insecure doh-url dump-header egd-file "
        "engine etag-compare etag-save expect100-timeout fail fail-early fail-with-body "
        "false-start form form-escape form-string ftp-account ftp-alternative-to-user "
        "ftp-create-dirs ftp-method ftp-pasv ftp-port ftp-pret ftp-skip-pasv-ip ftp-ssl-ccc "
        "ftp-ssl-ccc-mode ftp-ssl-control get globoff happy-eyeballs-timeout-ms "
        "haproxy-protocol head header help hostpubmd5 hostpubsha256 hsts http0.9 http1.0 "
        "http1.1 http2 http2-prior-knowledge http3 http3-only ignore-content-length include "
        "insecure interface ipv4 ipv6 json junk-session-cookies keepalive-time key key-type krb "
        "libcurl limit-rate list-only local-port location location-trusted login-options "
        "mail-auth mail-from mail-rcpt mail-rcpt-allowfails manual max-filesize max-redirs "
        "max-time metalink negotiate netrc netrc-file netrc-optional next no-alpn no-buffer "
        "no-clobber no-keepalive no-npn no-progress-meter no-sessionid noproxy ntlm ntlm-wb "
        "oauth2-bearer output output-dir parallel parallel-immediate parallel-max pass "
        "path-as-is pinnedpubkey post301 post302 post303 preproxy progress-bar proto "
        "proto-default proto-redir proxy proxy-anyauth proxy-basic proxy-cacert proxy-capath "
        "proxy-cert proxy-cert-type proxy-ciphers proxy-crlfile proxy-digest proxy-header "
        "proxy-insecure proxy-key proxy-key-type proxy-negotiate proxy-ntlm proxy-pass "
        "proxy-pinnedpubkey proxy-service-name proxy-ssl-allow-beast proxy-ssl-auto-client-cert "
        "proxy-tls13-ciphers proxy-tlsauthtype proxy-tlspassword proxy-tlsuser proxy-tlsv1 "
        "proxy-user proxy1.0 proxytunnel pubkey quote random-file range rate raw referer "
        "remote-header-name remote-name remote-name-all remote-time remove-on-error request "
        "request-target resolve retry retry-all-errors retry-connrefused retry-delay "
        "retry-max-time sasl-authzid sasl-ir service-name show-error silent socks4 socks4a "
        "socks5 socks5-basic socks5-gssapi socks5-gssapi-nec socks5-gssapi-service "
        "socks5-hostname speed-limit speed-time ssl ssl-allow-beast ssl-auto-client-cert "
        "ssl-no-revoke ssl-reqd ssl-revoke-best-effort sslv2 sslv3 stderr styled-output "
        "suppress-connect-headers tcp-fastopen tcp-nodelay telnet-option tftp-blksize "
        "tftp-no-options time-cond tls-max tls13-ciphers tlsauthtype tlspassword tlsuser tlsv1 "
        "tlsv1.0 tlsv1.1 tlsv1.2 tlsv1.3 tr-encoding trace trace-ascii trace-time unix-socket "
        "upload-file url url-query use-ascii user user-agent variable expand-url verbose "
        "version write-out xattr"
    ),
    "pip": _names(
        "abi algorithm all break-system-packages build-option cache-dir cert "
        "check-build-dependencies client-cert compile config-settings constraint debug dest "
        "disable-pip-version-check dry-run editable editor exclude exclude-editable "
        "exists-action extra-index-url files find-links force-reinstall format global "
        "global-option hash help ignore-installed ignore-requires-python implementation "
        "include-editable index index-url isolated keyring-provider local log no-binary "
        "no-build-isolation no-cache-dir no-clean no-color no-compile no-deps no-index "
        "no-input no-python-version-warning no-use-pep517 no-verify no-warn-conflicts "
        "no-warn-script-location not-required only-binary outdated path platform pre "
        "prefer-binary prefix progress-bar proxy python python-version quiet report "
        "require-hashes require-virtualenv requirement retries root root-user-action site src "
        "target timeout trusted-host upgrade upgrade-strategy uptodate use-deprecated "
        "use-feature use-pep517 user verbose version wheel-dir yes"
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


def normalise(tool: str, args: tuple[Word, ...], operands: Operands | None = None) -> tuple[Word, ...] | str:
    """``args`` with each long option written out in full, or the first bad option.

    With ``operands`` (for tools such as xargs whose first operand starts another command),
    normalising stops at that operand: the inner command's options are its own."""
    known = LONG_OPTIONS[tool]
    out: list[Word] = []
    skip = False
    for index, word in enumerate(args):
        text = word.value
        if text == "--":
            return (*out, *args[index:])
        if skip or text is None or not text.startswith("--"):
            if operands is not None and not skip and _starts_operand(text, operands):
                return (*out, *args[index:])
            skip = operands is not None and not skip and _takes_next(text, operands)
            out.append(word)
            continue
        name, eq, value = text.partition("=")
        full = expand(name, known)
        if full is None:
            return name
        written = f"{full}{eq}{value}"
        out.append(Word(word.raw, written, glob=word.glob, tilde=word.tilde))
        skip = operands is not None and not eq and full in operands.long_values
    return tuple(out)


@dataclass(frozen=True)
class Operands:
    """Where a tool's options end: its first operand (``xargs -n 1 CMD``)."""

    short_values: str = ""  # short options that take the next word (or the rest of the word)
    long_values: frozenset[str] = frozenset()  # full long options that take the next word


def _starts_operand(text: str | None, operands: Operands) -> bool:
    return text is None or text == "-" or not text.startswith("-")


def _takes_next(text: str | None, operands: Operands) -> bool:
    """``-n`` (value in the next word), not ``-n1`` or ``-tn1``."""
    if text is None or not text.startswith("-") or text.startswith("--"):
        return False
    for offset, letter in enumerate(text[1:], start=1):
        if letter in operands.short_values:
            return offset == len(text) - 1
    return False


def prefix_of(name: str, sensitive: Iterable[str]) -> str | None:
    """The sensitive long option that ``name`` is, or may abbreviate (npm's nopt expands unique
    prefixes over a list too long to keep here, so any prefix of a sensitive option counts)."""
    if len(name) < 3 or not name.startswith("--"):
        return None
    if name in sensitive:
        return name
    return next((option for option in sensitive if option.startswith(name)), None)


def unknown_option(tool: str, option: str) -> Decision:
    return deny(
        "deny.option_unknown",
        f"`{tool} {option}` is not one of its options, or abbreviates several; write the "
        "option out in full.",
    )


def with_long_options(tool: str, validator: Validator, operands: Operands | None = None) -> Validator:
    """``validator`` run on the command with its long options written out in full."""

    def validate(cmd: SimpleCommand, env: Env) -> Decision:
        args = normalise(tool, cmd.args, operands)
        if isinstance(args, str):
            return unknown_option(tool, args)
        return validator(replace(cmd, args=args), env)

    return validate
