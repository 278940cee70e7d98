"""Symbolic links made without ``ln`` (whose targets the policy judges): archives and git.

- ``tar -x``/``unzip`` of an archive that holds a link leading out of the project (an absolute
  target, or one with ``..``) is refused: the archive is read at decision time (up to 50 MB). An
  archive that cannot be read then (made later in the same line, stdin) is not looked into; what is
  read through a link it makes is judged where the link leads once it exists (and the sandbox
  hides the home either way).
- git: an index entry of mode 120000 (``update-index --cacheinfo 120000,…``), entries from data
  (``--index-info``, ``mktree``, ``fast-import``), and ``apply``/``am`` of a project patch that
  creates a mode-120000 file are refused.
Premises: the real tar, unzip and git make such a link."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from agent.security import PolicyContext, decide
from tests.security_support import assert_decision

PATCH = ("diff --git a/k b/k\nnew file mode 120000\nindex 0000000..1111111\n--- /dev/null\n+++ b/k\n"
         "@@ -0,0 +1 @@\n+/home\n\\ No newline at end of file\n")


def _link_tar(path: Path, target: str) -> None:
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo("k")
        info.type, info.linkname = tarfile.SYMTYPE, target
        archive.addfile(info)


def _link_zip(path: Path, target: str) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("k")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, target)


@pytest.fixture
def archives(ctx: PolicyContext) -> PolicyContext:
    project = ctx.project_dir
    _link_tar(project / "abs.tar", str(ctx.home / ".ssh"))
    _link_tar(project / "up.tar", "../../outside")
    _link_tar(project / "inside.tar", "src")
    _link_zip(project / "abs.zip", "/home")
    _link_zip(project / "inside.zip", "src/a")
    (project / "link.patch").write_text(PATCH)
    (project / "plain.patch").write_text(PATCH.replace("120000", "100644"))
    return ctx


@pytest.mark.parametrize(("command", "allowed", "rule"), [
    ("tar -xf abs.tar", False, "path.outside"),
    ("tar xf up.tar", False, "path.outside"),
    ("tar -xvf abs.tar -C build", False, "path.outside"),
    ("unzip abs.zip", False, "path.outside"),
    ("unzip -o abs.zip -d build", False, "path.outside"),
    ("tar -xf inside.tar", True, "allow.list"),
    ("unzip inside.zip", True, "allow.list"),
    ("tar -tf abs.tar", True, "allow.list"),
    ("unzip -l abs.zip", True, "allow.list"),
    ("tar -xzf not-there-yet.tgz", True, "allow.list"),
    ("git update-index --add --cacheinfo 120000,1111111111111111111111111111111111111111,k", False,
     "deny.git_link"),
    ("git update-index --add --cacheinfo 120000 1111111111111111111111111111111111111111 k", False,
     "deny.git_link"),
    ("git update-index --index-info", False, "deny.git_link"),
    ("git mktree", False, "deny.git_link"),
    ("git fast-import", False, "deny.git_link"),
    ("git apply link.patch", False, "deny.git_link"),
    ("git am link.patch", False, "deny.git_link"),
    ("git apply plain.patch", True, "allow.list"),
    ("git update-index --add --cacheinfo 100644,1111111111111111111111111111111111111111,a.txt", True,
     "allow.list"),
])
def test_links_made_without_ln(command: str, allowed: bool, rule: str, archives: PolicyContext) -> None:
    assert_decision(decide(command, archives), allowed, rule)


# ---- premises ------------------------------------------------------------------------------------

def test_premise_tar_extracts_a_link_leading_out(tmp_path: Path) -> None:
    _link_tar(tmp_path / "x.tar", "/etc")
    (tmp_path / "proj").mkdir()
    subprocess.run(["tar", "-xf", "../x.tar"], cwd=tmp_path / "proj", check=False, timeout=30)
    assert os.readlink(tmp_path / "proj" / "k") == "/etc"


@pytest.mark.skipif(shutil.which("unzip") is None, reason="no unzip here")
def test_premise_unzip_extracts_a_link_leading_out(tmp_path: Path) -> None:
    _link_zip(tmp_path / "x.zip", "/etc")
    (tmp_path / "proj").mkdir()
    subprocess.run(["unzip", "-q", "../x.zip"], cwd=tmp_path / "proj", check=False, timeout=30)
    assert os.readlink(tmp_path / "proj" / "k") == "/etc"


def test_premise_git_checks_out_a_mode_120000_entry_as_a_link(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}

    def git(*args: str, data: str | None = None) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, input=data, capture_output=True, text=True, env=env,
                              check=True, timeout=30).stdout.strip()

    git("init", "-q")
    blob = git("hash-object", "-w", "--stdin", data="/etc")
    git("update-index", "--add", "--cacheinfo", f"120000,{blob},k")
    git("checkout", "--", "k")
    assert os.readlink(tmp_path / "k") == "/etc"
