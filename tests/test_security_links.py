"""Holes once left to the sandbox, closed in the policy (issue 14): symlinks in the project judged by
where they lead (bare names and globs too, loops refused), paths held in variables filled from
command output or input, and nested ``.git`` directories (a redirection after ``cd`` included).

Each family has must-deny and must-allow rows; the premises about bash are proved against the real
bash in a temp dir at the end (harmless payloads: reading a temp file, writing ``MARK``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.security import PolicyContext, decide
from tests.security_support import assert_decision


@pytest.fixture
def linked(ctx: PolicyContext) -> PolicyContext:
    """The `ctx` project with links planted in it (as if the agent had run `ln -s` earlier)."""
    project, home = ctx.project_dir, ctx.home
    outside = project.parent / "outside"
    (outside / "notes.txt").write_text("ordinary")
    (project / "src" / "a.py").write_text("print(1)\n")
    (project / "sub" / ".git" / "hooks").mkdir(parents=True)
    (project / "deep" / "er" / ".git").mkdir(parents=True)
    links = {
        "keylink": home / ".ssh" / "id_rsa", "rootlink": Path("/root/somefile"),
        "shadowlink": Path("/etc/shadow"), "src/rootdir": Path("/root"), "awsdir": home / ".aws",
        "outlink": outside / "notes.txt", "loop1": Path("loop2"), "loop2": Path("loop1"),
        "srclink": Path("src"), "sub/up": Path("../src"), "gitlink": Path("sub/.git"),
    }  # fmt: skip
    for name, target in links.items():
        os.symlink(target, project / name)
    return ctx


LINK_DENY = [
    ("cat keylink", "path.credentials"),  # a bare name: once unresolved, read the key
    ("head -n 5 keylink", "path.credentials"),
    ("grep -n x keylink", "path.credentials"),
    ("cp keylink src/copy", "path.credentials"),
    ("base64 keylink", "path.credentials"),
    ("cat rootlink", "path.credentials"),  # root's home outside the project
    ("cat shadowlink", "path.credentials"),
    ("cat src/rootdir/.bashrc", "path.credentials"),  # a linked directory on the way
    ("cat awsdir/credentials", "path.credentials"),
    ("cat src/*", "path.credentials"),  # the glob matches src/rootdir, which leads to /root
    ("cat *link", "path.credentials"),
    ("cat src/*/.bashrc", "path.credentials"),
    ("cat loop1", "path.symlink"),  # a loop cannot be followed: refused, not guessed
    ("cat ./loop2", "path.symlink"),
    ("wc -l < keylink", "path.credentials"),
    ("ln -s /root/x leak; cat leak", "path.credentials"),  # made in the same line: the ln is judged
    ("cp a.txt src/*", "path"),  # a glob write target matching a link out of the project
    ("echo keylink", "path.credentials"),  # any command's words are read as paths (as `echo ~/.ssh/x`)
]

LINK_ALLOW = [
    "cat outlink",  # an ordinary file outside the project: reads are permissive
    "cat srclink/a.py",
    "cat sub/up/a.py",  # a relative link inside the project, resolved against its own directory
    "cat src/a.py",
    "ls src",
    "cat src/*.py",
    "grep -n print src/*.py",
    "echo outlink",
    "cat gitlink/config",
    "wc -l src/a.py",
]




NESTED_GIT_DENY = [
    ("echo x > sub/.git/config", "path.protected"),
    ("echo x > sub/.git/hooks/pre-commit", "path.protected"),
    ("echo x > deep/er/.git/hooks/post-checkout", "path.protected"),
    ("cd sub/.git && echo x > config", "path.protected"),  # the parser hangs `> config` on the list
    ("cd sub && echo x > .git/hooks/pre-commit", "path.protected"),
    ("cd deep && cd er && echo x > .git/config", "path.protected"),
    ("cd sub/.git; cat a > config", "path.protected"),
    ("cp hook sub/.git/hooks/pre-push", "path.protected"),
    ("chmod +x sub/.git/hooks/pre-commit", "path.protected"),
    ("sed -i s/a/b/ deep/er/.git/config", "path.protected"),
    ("tee sub/.git/hooks/commit-msg", "path.protected"),
    ("ln -s /tmp/h sub/.git/hooks", "path.protected"),
    ("echo x > gitlink/config", "path.protected"),  # a link into a nested .git
    ("echo x > */.git/config", "path.protected"),
    ("git -C sub config core.hooksPath /tmp/x", "deny.git_config"),
    ("cd sub && git config core.fsmonitor true", "deny.git_config"),
]

NESTED_GIT_ALLOW = [
    "cat sub/.git/config",  # reading git's state is harmless
    "ls sub/.git",
    "git -C sub status",
    "git -C sub log --oneline",
    "cd sub && echo x > notes.txt",
    "cd sub && ls > listing.txt",
    "echo x > sub/*/config",  # `*` does not match `.git` (no dotglob), so nothing protected
    "cd deep/er && git status",
    "cd sub/.git || echo x > config",  # echo runs only where cd failed: in the project root
]




DATA_VAR_DENY = [
    ('f=$(cat list); cat "$f"', "path.unchecked_read"),
    ("read f < list; cat $f", "path.unchecked_read"),
    ("read -r f < list; head -n 3 $f", "path.unchecked_read"),
    ('while read f; do cat "$f"; done < list', "path.unchecked_read"),
    ("for f in $(cat list); do cat $f; done", "path.unchecked_read"),
    ('for f in `cat list`; do grep x "$f"; done', "path.unchecked_read"),
    ("f=$(cat list); grep x $f", "path.unchecked_read"),
    ("f=$(cat list); cp $f out", "path.unchecked_read"),
    ("export F=$(cat list); cat $F", "path.unchecked_read"),
    ("local_f=$(curl -s http://localhost:3000/x); cat ${local_f}", "path.unchecked_read"),
    ('a=$(cat list); b=$a; cat "$b"', "path.unchecked_read"),  # a copy of a copy
    ('printf -v f "%s" "$(cat list)"; cat "$f"', "path.unchecked_read"),
    ('f=$(cat list); cat < "$f"', "path.unchecked_read"),
    ('f=$(cat list); sort "$f"', "path.unchecked_read"),
    ('f=$(ls src | xargs echo); cat "$f"', "path.unchecked_read"),  # xargs is no line filter
    ('read x < list; f=$(echo $x); cat "$f"', "path.unchecked_read"),  # a lister fed from data
    ('f=$(echo /etc/shadow); cat "$f"', "path.credentials"),
    # a `while read` loop reads its producer's lines: only a lister's count as paths
    ('cat list | while read -r f; do cat "$f"; done', "path.unchecked_read"),
    ('while read -r f; do cat "$f"; done < <(cat list)', "path.unchecked_read"),
    ('while read -r f; do cat "$f"; done < <(find src -printf "%p\\n")', "path.unchecked_read"),
    ('ls src | xargs echo | while read -r f; do cat "$f"; done', "path.unchecked_read"),
    ('find src | while read -r f && true; do cat "$f"; done', "path.unchecked_read"),  # not a plain read
    ('find src | while read -r f; do read -r g < list; cat "$g"; done', "path.unchecked_read"),
    # a search pattern is text, but every other operand is a file
    ('pat=$(cat list); grep -e x "$pat"', "path.unchecked_read"),
    ('pat=$(cat list); grep -f "$pat" src', "path.unchecked_read"),
    ('pat=$(cat list); grep "$pat" "$pat"', "path.unchecked_read"),
    ('pat=$(cat list); rg --regexp x "$pat"', "path.unchecked_read"),
    # a stdin redirection on the loop replaces the pipe; another descriptor; read's own $REPLY
    ('ls | while read f; do cat "$f"; done < list', "path.unchecked_read"),
    ('ls | while read f; do cat "$f"; done < <(cat list)', "path.unchecked_read"),
    ("ls | while read f; do cat \"$f\"; done <<'EOF'\n/etc/x\nEOF", "path.unchecked_read"),
    ('ls | while read -u 3 f; do cat "$f"; done 3< list', "path.unchecked_read"),
    ('read < list; cat "$REPLY"', "path.unchecked_read"),
    ('cat list | while read; do cat "$REPLY"; done', "path.unchecked_read"),
    # a part filled in at run time that could complete the path into a credential store or secret
    ("x=.ssh; cat ~/$x/id_rsa", "path.dynamic_read"),
    ('x=.aws; cat "$HOME/$x/credentials"', "path.dynamic_read"),
    ("x=.ssh; cp -r ~/$x keys", "path.dynamic_read"),
    ("x=.ssh; tar -czf k.tgz ~/$x", "path.dynamic_read"),
    ("s=shadow; cat /etc/$s", "path.dynamic_read"),
    ("set -- .ssh; cat ~/$1/id_rsa", "path.dynamic_read"),
    ("cat /proc/$pid/environ", "path.credentials"),
    ('cat "${UNSET:-$HOME/.ssh/id_rsa}"', "path.credentials"),  # a default value is a value
    ('cat "${UNSET:-/etc/shadow}"', "path.credentials"),
    ('cat "${UNSET:+/proc/1/environ}"', "path.credentials"),
    ('cat "${PWD/*/$HOME/.ssh/id_rsa}"', "path.credentials"),  # so is a replacement
    ('ls | while read f; do cat "${f/*/$HOME/.aws/credentials}"; done', "path.credentials"),
    ('f=$(ls | head -1); cat "${f:+$HOME/.ssh/id_rsa}"', "path.credentials"),
    ("cat ~/.local/state/autocode/projects/x/opencode/auth.json", "path.credentials"),  # autocode's own
    ("cat ~/.config/gh/hosts.yml", "path.credentials"),
    ("cat ~/.cargo/credentials.toml", "path.credentials"),
    ("cat /etc/ssh/ssh_host_ed25519_key", "path.credentials"),
    ("cat /var/run/secrets/kubernetes.io/serviceaccount/token", "path.credentials"),
    ("IFS=/; ls", "deny.env_var"),  # IFS for the rest of the line: not only for read
    ("IFS=/ ls", "deny.env_var"),
    ('IFS="$(cat list)" read -r a', "deny.env_var"),
]

DATA_VAR_ALLOW = [
    "for f in $(ls src); do cat src/$f; done",  # names a lister found
    "f=$(ls src | head -1); cat src/$f",
    'for f in $(git ls-files); do wc -l "$f"; done',
    'for f in $(find src -name "*.py"); do cat "$f"; done',
    "f=$(grep -l print src/*.py); cat $f",
    "for f in a.py b.py; do cat src/$f; done",
    "x=$(date); echo $x",
    'v=$(git rev-parse HEAD); git show "$v"',  # git does not open it as a file
    'n=$(wc -l < src/a.py); echo "$n lines"',
    'read -r name < list; echo "hello $name"',
    'f=src/a.py; cat "$f"',
    'find src -name "*.py" | while read -r f; do wc -l "$f"; done',
    'while IFS= read -r f; do cat "$f"; done < <(git ls-files)',
    'git ls-files | sort | while read -r f; do head -1 "$f"; done',
    'pat=$(cat list); grep -rn "$pat" src',  # the pattern, not a file
    'pat=$(cat list); grep -c -- "$pat" src/a.py',
    'pat=$(cat list); rg -n "$pat" src',
    'IFS=: read -r a b <<< "x:y"; echo "$a"',
    'ls src | while read f; do wc -l "src/$f"; done 2> err.log',  # only stderr redirected
    'cat "$HOME/.gitconfig"', "cat ${VIRTUAL_ENV}/pyvenv.cfg", "ls /usr/share/$x",
    'cat "${CONFIG:-config.yml}"', 'cat "$PWD/src/a.py"', 'cat "${1:-src/a.py}"', "cat src/$f",
]




READ_FORMS_DENY = [  # files read through a tool's own syntax
    ("sed -n '1r ~/.ssh/id_rsa' src/a.py", "path.credentials"),
    ("sed 'R /etc/shadow' src/a.py", "path.credentials"),
    ("sed -e 's/a/b/' -e '$r /proc/1/environ' src/a.py", "path.credentials"),
    ("curl FILE:///etc/shadow", "path.credentials"),
    ("curl file://localhost/etc/shadow", "path.credentials"),
    ("curl --url file:///etc/gshadow", "path.credentials"),
    ("gcc @~/.ssh/id_rsa", "path.credentials"),
    ("mypy @/etc/shadow", "path.credentials"),
    # /proc and /etc secrets through patterns, and through /proc/PID/cwd before `..` folds
    ("cat /proc/self/env*", "path.credentials"),
    ("cat /proc/self/enviro[n]", "path.credentials"),
    ("grep -a . /proc/self/*", "path.credentials"),
    ("cat /*/self/environ", "path.credentials"),
    ("cat /pro[c]/self/environ", "path.credentials"),
    ("cat /proc/self/cwd/../../root/.ssh/id_rsa", "path.credentials"),
    ("awk 'BEGIN{while((getline l < \"/etc/shadow\")>0) print l}'", "path.credentials"),
    ("awk 'BEGIN{ARGV[1]=\"/etc/shadow\";ARGC=2}{print}'", "deny.awk"),
    ("awk '{getline x < f; print x}' f=/etc/shadow a.txt", "deny.awk"),
    ("git grep --no-index -e . -- ~", "path.credentials"),  # a recursive grep of the home
    ("git grep --no-index key /", "path.credentials"),
    ("ps eww", "path.credentials"),  # other processes' environments
    ("ps auxe", "path.credentials"),
]

ARCHIVE_GIT_DENY = [  # archive and compression tools rewriting or moving .git
    ("tar -xf x.tar --transform 's,^,.git/,'", "deny.tar_option"),
    ("tar --xfo=s,^,.git/, -xf x.tar", "deny.tar_option"),
    ("zip -m x.zip .git/config", "path.protected"),
    ("zip -rm x.zip .", "path.protected"),
    ("zip -r --move x.zip .", "path.protected"),
    ("gzip -r .", "path.protected"),
    ("gunzip -rv .", "path.protected"),
    ("git init --separate-git-dir=x", "deny.git_init"),
    ("git init --sep=x", "deny.git_init"),
    ("git clean -ffdx", "deny.git_clean"),
    ("git clean -f -f -d", "deny.git_clean"),
    ("unzip -: x.zip", "deny.unzip_option"),
]

ARCHIVE_GIT_ALLOW = [
    "zip -r x.zip src", "zip -m x.zip build/a.o", "gzip -r logs", "gzip big.log", "git clean -fdx",
    "git clean -n",
    "tar -xzf a.tgz", "tar -czf a.tgz src", "unzip a.zip -d out", "git init",
]

READ_FORMS_ALLOW = [
    "sed -n '1,5p' src/a.py", "sed 's/r/R/' src/a.py", "sed '1r src/header.txt' src/a.py", "curl file:///etc/hostname",
    "gcc @args.txt main.c", "npm i @types/node", "cat /proc/cpuinfo", "ls /proc/self/", "cat /etc/os-rele*",
    "ps aux", "ps -ef", "ps -o pid,args", "awk 'NR==1{getline line < \"src/a.txt\"; print line}' b.txt",
    "awk 'BEGIN{for(i=0;i<ARGC;i++) print ARGV[i]}' a b", "awk -F, '{s+=$2} END{print s}' data.csv",
    "git grep --no-index TODO src", "git grep -n foo -- src",
]

FIND_GIT_DENY = [  # find's actions reaching .git: the directory itself, or its files
    ("find . -not -path './.git/*' -name '*' -exec rm -rf {} +", "path.protected"),
    ("find . -not -path './.git/*' -exec rm -rf {} +", "path.protected"),
    ("find . -not -path './.git/*' -o -exec rm {} +", "path.protected"),  # -o: what fails goes on
    ("find . -type f -delete", "path.protected"),
    ("find . -not -name .git -delete", "path.protected"),  # find still walks into it
    ("find . -name '*' -delete", "path.protected"),
    ("find . -name config -delete", "path.protected"),
    ("find . -regex '.*' -delete", "path.protected"),
    ("find . -mindepth 1 -delete", "deny.rm_project"),
    ("find . -name '*.py' -o -name config -delete", "path.protected"),
]

FIND_GIT_ALLOW = [
    "find . -name '*.pyc' -delete", "find . -name __pycache__ -type d -exec rm -rf {} +",
    "find src -type f -delete",
    "find . -path ./.git -prune -o -name '*.py' -exec sed -i s/a/b/ {} +",
    "find . -not -path './.git/*' -type f -exec sed -i s/a/b/ {} +",
    "find . -not -path './.git*' -exec sed -i s/a/b/ {} +", "find . -name '*.tmp' -type f -delete",
    "find . \\( -path ./.git -prune \\) -o -name '*.py' -delete",
]


@pytest.mark.parametrize(("command", "rule"),
                         LINK_DENY + NESTED_GIT_DENY + DATA_VAR_DENY + FIND_GIT_DENY + READ_FORMS_DENY
                         + ARCHIVE_GIT_DENY)
def test_the_closed_holes_are_denied(command: str, rule: str, linked: PolicyContext) -> None:
    """Links out of the project (by their target), nested `.git`, paths from output or input."""
    assert_decision(decide(command, linked), False, rule)


@pytest.mark.parametrize("command",
                         LINK_ALLOW + NESTED_GIT_ALLOW + DATA_VAR_ALLOW + FIND_GIT_ALLOW + READ_FORMS_ALLOW
                         + ARCHIVE_GIT_ALLOW)
def test_ordinary_work_beside_them_stays_allowed(command: str, linked: PolicyContext) -> None:
    """Links inside the project, nested repositories used, listed paths and other uses of output."""
    assert_decision(decide(command, linked), True, "allow")


def test_a_worker_tree_in_autocodes_state_is_worked_in_while_the_server_home_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers' trees live in autocode's per-user state beside the server's home (its copy of
    the provider auth): the first is a project like any, the second a credential store."""
    state = tmp_path / "state"
    tree = state / "projects" / "app-1" / "worktrees" / "w1"
    tree.mkdir(parents=True)
    (state / "projects" / "app-1" / "opencode").mkdir()
    monkeypatch.setenv("AUTOCODE_STATE_HOME", str(state))
    ctx = PolicyContext(project_dir=tree, home=tmp_path / "home")
    for command in ("cat feat_1.py", "echo x >> feat_1.py", "grep -rn x .", "ls -R"):
        assert_decision(decide(command, ctx), True, "allow")
    for command in ("cat ../../opencode/auth.json", f"grep -r key {state}", "cat ../../../*/opencode/x"):
        assert decide(command, ctx).allowed is False, command


# ---- the premises, against the real bash --------------------------------------------------------

def _bash(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """A project with a symlink to a file outside it, and a list naming that file."""
    project = tmp_path / "proj"
    (project / "d").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT\n")
    os.symlink(secret, project / "leak")
    (project / "list").write_text(f"{secret}\n")
    return project


def test_premise_a_bare_name_is_read_through_its_link(world: Path) -> None:
    assert "SECRET-CONTENT" in _bash("cat leak", world).stdout


def test_premise_a_glob_matches_links_and_reads_through_them(world: Path) -> None:
    assert "SECRET-CONTENT" in _bash("cat l*", world).stdout


def test_premise_a_loop_cannot_be_read(world: Path) -> None:
    os.symlink("loop2", world / "loop1")
    os.symlink("loop1", world / "loop2")
    result = _bash("cat loop1", world)
    assert result.returncode != 0 and "symbolic links" in result.stderr


@pytest.mark.parametrize("command", ['f=$(cat list); cat "$f"', "read f < list; cat $f",
                                     "for f in $(cat list); do cat $f; done",
                                     'a=$(cat list); b=$a; cat "$b"'])
def test_premise_a_variable_from_output_opens_the_file_it_names(command: str, world: Path) -> None:
    assert "SECRET-CONTENT" in _bash(command, world).stdout


def test_premise_a_loop_reads_the_lines_its_producer_writes(world: Path) -> None:
    """`find … | while read f` and `done < <(find …)`: the loop's variable holds each listed name."""
    (world / "d" / "MARK").write_text("listed\n")
    for command in ['find d -type f | while read -r f; do cat "$f"; done',
                    'while read -r f; do cat "$f"; done < <(find d -type f)']:
        assert _bash(command, world).stdout == "listed\n"


def test_premise_ifs_before_read_is_for_that_read_only(world: Path) -> None:
    """`IFS=: read a b` splits that line on `:`; later expansions split as before."""
    result = _bash('IFS=: read -r a b <<< "x:y"; v="p:q r"; for w in $v; do echo "[$w]"; done; echo "$a"',
                   world)
    assert result.stdout.splitlines() == ["[p:q]", "[r]", "x"]


@pytest.mark.parametrize("command", ['x=d; cat "$PWD/$x/MARK"', 'cat "${UNSET:-d/MARK}"',
                                     'cat "${PWD/*/$PWD/d/MARK}"',
                                     'ls | while read f; do cat "d/$f"; done < <(echo MARK)'])
def test_premise_a_value_filled_in_at_run_time_is_read(command: str, world: Path) -> None:
    """Assignments, default values and replacements complete the path bash opens."""
    (world / "d" / "MARK").write_text("completed\n")
    assert _bash(command, world).stdout == "completed\n"


def test_premise_a_redirection_on_the_loop_replaces_the_pipe(world: Path) -> None:
    (world / "d" / "MARK").write_text("from the file\n")
    (world / "names").write_text("d/MARK\n")
    assert _bash('echo nothing | while read -r f; do cat "$f"; done < names', world).stdout == "from the file\n"
    assert _bash('read < names; cat "$REPLY"', world).stdout == "from the file\n"


def test_premise_find_reaches_the_git_directory_past_these_tests(world: Path) -> None:
    """`-not -path './.git/*'` keeps out .git's files, not .git; find's `-name '*'` matches a
    leading dot; `-type f` walks into .git; the prune idiom keeps all of it out."""
    (world / ".git").mkdir()
    (world / ".git" / "config").write_text("x\n")
    def found(expression: str) -> set[str]:
        return set(_bash(f"find . {expression} -print", world).stdout.split())
    assert "./.git" in found("-not -path './.git/*' -name '*'")
    assert "./.git/config" in found("-type f") and "./.git/config" in found("-not -name .git")
    assert "./.git/config" in found("-not -path './.git/*' -o -name config")
    pruned = _bash("find . -path ./.git -prune -o -type f -print", world).stdout.split()
    assert not {"./.git", "./.git/config"} & set(pruned)


def test_premise_sed_r_and_curl_file_urls_read_the_file_they_name(world: Path) -> None:
    (world / "d" / "MARK").write_text("read-through\n")
    (world / "one.txt").write_text("line\n")
    assert "read-through" in _bash("sed '1r d/MARK' one.txt", world).stdout
    assert "read-through" in _bash(f"curl -s FILE://{world}/d/MARK", world).stdout


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc here")
def test_premise_gcc_reads_its_at_file(world: Path) -> None:
    (world / "main.c").write_text("int main(void) { return 0; }\n")
    (world / "opts").write_text("-o MARK\n")
    _bash("gcc @opts main.c", world)
    assert (world / "MARK").is_file()


def test_premise_git_clean_ff_removes_a_nested_repository(world: Path) -> None:
    _bash("git init -q . && git init -q nested", world)
    _bash("git clean -fdxq", world)
    assert (world / "nested" / ".git").is_dir()  # one -f leaves it
    _bash("git clean -ffdxq", world)
    assert not (world / "nested").exists()


def test_premise_tar_transform_and_gzip_r_reach_where_they_say(world: Path) -> None:
    (world / "d" / "f.txt").write_text("x\n")
    _bash("tar -cf a.tar -C d f.txt && mkdir out && tar -xf a.tar -C out --transform 's,^,MARK/,'", world)
    assert (world / "out" / "MARK" / "f.txt").is_file()
    _bash("gzip -r d", world)
    assert (world / "d" / "f.txt.gz").is_file() and not (world / "d" / "f.txt").exists()


def test_premise_patterns_reach_proc_environ_and_ps_e_prints_environments(world: Path) -> None:
    marker = "AUTOCODE_PREMISE_MARK=1"
    assert marker in _bash(f"{marker} bash -c 'cat /proc/self/env*' | tr '\\0' '\\n'", world).stdout
    assert marker in _bash(f"{marker} sleep 5 & sleep 0.3; ps axeww; kill %1", world).stdout


def test_premise_awk_reads_what_getline_and_argv_name(world: Path) -> None:
    (world / "d" / "MARK").write_text("via-awk\n")
    assert "via-awk" in _bash("awk 'BEGIN{while((getline l < \"d/MARK\")>0) print l}'", world).stdout
    assert "via-awk" in _bash("awk 'BEGIN{ARGV[1]=\"d/MARK\";ARGC=2}{print}'", world).stdout


def test_premise_grep_takes_its_first_operand_as_the_pattern(world: Path) -> None:
    """Unless -e or -f gave the pattern: then every operand is a file."""
    (world / "d" / "f.txt").write_text("SECRET-CONTENT\n")
    assert _bash('pat=$(cat list); grep -c "$pat" d/f.txt', world).stdout.strip() == "0"
    assert "SECRET-CONTENT" in _bash('pat=$(cat list); grep -h -e SECRET "$pat"', world).stdout


def test_premise_a_redirection_after_cd_writes_in_the_new_directory(world: Path) -> None:
    _bash("cd d && echo x > MARK", world)
    assert (world / "d" / "MARK").exists() and not (world / "MARK").exists()


def test_premise_a_redirection_after_a_failed_cd_writes_where_it_was(world: Path) -> None:
    _bash("cd missing 2>/dev/null || echo x > MARK", world)
    assert (world / "MARK").exists()


def test_premise_star_does_not_match_a_dot_directory(world: Path) -> None:
    (world / "sub" / ".git").mkdir(parents=True)
    _bash("echo x > sub/*/MARK", world)
    assert not (world / "sub" / ".git" / "MARK").exists()
