"""Files a command is told about through data: name lists and SQL script files (red-team round 3).

- ``sort --files0-from=-``, ``tar -T``, ``zip -@``, ``rsync --files-from``, ``find -files0-from``,
  ``cpio -o``, ``git hash-object --stdin-paths``: the names of the files to open come from a file
  or stdin (``printf '/etc/sh\\141dow\\0' | sort --files0-from=-`` printed it), so they are refused.
- ``sqlite3 -init FILE``, ``psql -f FILE`` and ``\\i FILE`` in ``psql -c``: the SQL in the file is
  judged like SQL given inline (``.shell``, ``\\!`` run programs); a file that is not the
  project's, or cannot be read now, is refused. ``PSQLRC``/``PGHOST``/… cannot be set (a startup
  file; a host reached without ``-h``).
The premises run the real sort and sqlite3."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from agent.security import PolicyContext, decide
from tests.security_support import assert_decision

Row = tuple[str, bool, str]

NAME_LISTS: list[Row] = [
    ("printf 'x\\0' | sort --files0-from=-", False, "path.unchecked_read"),
    ("wc --files0-from=names", False, "path.unchecked_read"),
    ("du --files0-from=names", False, "path.unchecked_read"),
    ("printf x | tar -cf leak.tar -T -", False, "path.unchecked_read"),
    ("tar -cf leak.tar --files-from=names", False, "path.unchecked_read"),
    ("tar -cT names -f x.tar", False, "path.unchecked_read"),
    ("printf x | zip leak.zip -@", False, "path.unchecked_read"),
    ("rsync -a --files-from=names . out/", False, "path.unchecked_read"),
    ("find -files0-from n -exec cat {} +", False, "path.unchecked_read"),
    ("ls | cpio -o > a.cpio", False, "path.unchecked_read"),
    ("printf x | git hash-object -w --stdin-paths", False, "path.unchecked_read"),
    ("git add --pathspec-from-file=list", False, "path.unchecked_read"),
    ("tar -czf a.tgz src", True, "allow.list"),
    ("tar -xzf a.tgz", True, "allow.list"),
    ("tar -tvf a.tar", True, "allow.list"),
    ("zip -r a.zip src", True, "allow.list"),
    ("sort a.txt", True, "allow.list"),
    ("git add -A", True, "allow.list"),
    ("du -sh src", True, "allow.list"),
]

SQL: list[Row] = [
    ("psql -f db/bad.sql", False, "deny.sql_shell"),
    ("psql --file=db/bad.sql", False, "deny.sql_shell"),
    ("psql -c '\\i db/bad.sql'", False, "deny.sql_shell"),
    ("psql -f db/nest.sql", False, "deny.sql_shell"),
    ("psql -f db/missing.sql", False, "deny.sql_shell"),
    ("psql -f /etc/x.sql", False, "deny.sql_shell"),
    ("sqlite3 -init db/bad.sqlite x.db", False, "deny.sql_shell"),
    ("PSQLRC=db/ok.sql psql -c 'select 1'", False, "deny.env_var"),
    ("PGHOST=example.com psql -c 'select 1'", False, "deny.env_var"),
    ("psql -f db/ok.sql", True, "allow.list"),
    ("sqlite3 -init db/ok.sql x.db 'select 1'", True, "allow.list"),
    ("psql -c 'select 1'", True, "allow.list"),
]


@pytest.fixture
def sql_project(ctx: PolicyContext) -> PolicyContext:
    db = ctx.project_dir / "db"
    db.mkdir()
    (db / "bad.sql").write_text("select 1;\n\\! touch /tmp/x\n")
    (db / "ok.sql").write_text("create table t(a int);\ninsert into t values (1);\n")
    (db / "bad.sqlite").write_text(".shell touch /tmp/x\n")
    (db / "nest.sql").write_text("\\i db/bad.sql\n")
    return ctx


@pytest.mark.parametrize(("command", "allowed", "rule"), NAME_LISTS)
def test_name_lists(command: str, allowed: bool, rule: str, ctx: PolicyContext) -> None:
    assert_decision(decide(command, ctx), allowed, rule)


@pytest.mark.parametrize(("command", "allowed", "rule"), SQL)
def test_sql_script_files(command: str, allowed: bool, rule: str, sql_project: PolicyContext) -> None:
    assert_decision(decide(command, sql_project), allowed, rule)


# ---- premises ------------------------------------------------------------------------------------

def test_premise_sort_opens_the_files_named_on_its_stdin(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("MARKER\n")
    (tmp_path / "proj").mkdir()
    out = subprocess.run(["sort", "--files0-from=-"], input=f"{tmp_path / 'secret'}\0", cwd=tmp_path / "proj",
                         capture_output=True, text=True, timeout=10, check=False)
    assert out.stdout == "MARKER\n"


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="no sqlite3 here")
def test_premise_sqlite3_runs_the_dot_commands_of_its_init_file(tmp_path: Path) -> None:
    (tmp_path / "init.sql").write_text(".shell touch MARK\n")
    subprocess.run(["sqlite3", "-init", "init.sql", ":memory:", "select 1;"], cwd=tmp_path, capture_output=True,
                   timeout=10, check=False)
    assert (tmp_path / "MARK").exists()
