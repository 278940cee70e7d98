"""Worktrees and the merge queue's git steps, on real repositories in a temp dir."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.contain import CommandSandbox, SandboxConfig
from agent.git import Git
from agent.sandbox import bwrap_works
from agent.workers.merge import Conflict, appended_lines, commit_work, land, squash
from agent.workers.worktrees import BRANCH_PREFIX, Worktrees


@pytest.fixture
def trees(tmp_path: Path) -> Worktrees:
    project = tmp_path / "project"
    project.mkdir()
    git = Git(project, tmp_path / "trust")
    git.init()
    (project / "app.py").write_text("a = 1\nb = 2\nc = 3\n")
    (project / "autocode-progress.md").write_text("# notes\n")
    (project / "feature_list.json").write_text("[]\n")
    git.commit_all("autocode: initial project skeleton and feature list")
    return Worktrees(project, tmp_path / "state" / "worktrees", git, tmp_path / "state" / "integration")


def test_a_worktree_is_cut_from_main_outside_the_project(trees: Worktrees) -> None:
    tree = trees.tree("w1")
    assert tree.tree == trees.base / "w1"
    assert not tree.tree.is_relative_to(trees.project)
    assert (tree.tree / "app.py").read_text() == "a = 1\nb = 2\nc = 3\n"
    assert tree.head() == trees.main_head()
    assert tree.admin.parent == trees.project / ".git" / "worktrees"


def test_a_forged_git_file_in_the_tree_does_not_redirect_git(trees: Worktrees, tmp_path: Path) -> None:
    tree = trees.tree("w1")
    decoy = tmp_path / "decoy"
    Git(decoy).init()
    (tree.tree / ".git").write_text(f"gitdir: {decoy / '.git'}\n")
    (tree.tree / "new.py").write_text("x = 1\n")
    tree.commit_all("work")
    assert "new.py" in tree.run("show", "--name-only", "HEAD")
    assert Git(decoy).log() == []


def test_resume_after_a_kill_reuses_or_recreates_the_tree_at_main(trees: Worktrees) -> None:
    tree = trees.tree("w1")
    (tree.tree / "junk.py").write_text("half done\n")
    (tree.tree / "app.py").write_text("broken\n")
    again = trees.tree("w1")  # the next claim (or the resumed build): a clean tree at main
    assert not (again.tree / "junk.py").exists()
    assert (again.tree / "app.py").read_text() == "a = 1\nb = 2\nc = 3\n"
    shutil.rmtree(tree.tree)  # the directory vanished while git still lists it
    third = trees.tree("w1")
    assert (third.tree / "app.py").exists()


def test_notes_lines_of_two_workers_both_survive_and_the_feature_list_never_conflicts(trees: Worktrees) -> None:
    base = trees.main_head()
    works = []
    for worker, name in ((1, "one.py"), (2, "two.py")):
        tree = trees.tree(f"w{worker}")
        (tree.tree / name).write_text("ok\n")
        with (tree.tree / "autocode-progress.md").open("a") as notes:
            notes.write(f"- worker {worker} did {name}\n")
        (tree.tree / "feature_list.json").write_text(f'[{{"passes": {worker}}}]\n')
        works.append(commit_work(tree, base, worker, worker))
    assert works[0].notes == "- worker 1 did one.py" and works[0].changed
    for number, work in enumerate(works, start=1):
        merge = squash(trees, work)
        assert not isinstance(merge, Conflict)
        merge.commit_all(f"autocode: feature {number} passes: x")
        land(trees, merge)
    notes = (trees.project / "autocode-progress.md").read_text()
    assert "- worker 1 did one.py" in notes and "- worker 2 did two.py" in notes
    assert (trees.project / "one.py").exists() and (trees.project / "two.py").exists()
    assert (trees.project / "feature_list.json").read_text() == "[]\n"
    subjects = Git(trees.project).log(10)
    assert sum("passes" in s for s in subjects) == 2


def test_a_real_conflict_leaves_main_untouched_and_reports_the_hunks(trees: Worktrees) -> None:
    base = trees.main_head()
    works = []
    for worker in (1, 2):
        tree = trees.tree(f"w{worker}")
        (tree.tree / "app.py").write_text(f"a = 1\nb = {worker * 100}\nc = 3\n")
        works.append(commit_work(tree, base, worker, worker))
    first = squash(trees, works[0])
    assert not isinstance(first, Conflict)
    first.commit_all("autocode: feature 1 passes: x")
    landed = land(trees, first)
    second = squash(trees, works[1])
    assert isinstance(second, Conflict)
    assert second.files == ["app.py"] and "b = 200" in second.hunks
    assert trees.main_head() == landed
    assert (trees.project / "app.py").read_text() == "a = 1\nb = 100\nc = 3\n"
    assert not Git(trees.project).dirty()
    merge = trees.tree("merge")
    assert not merge.dirty()


def test_remove_all_leaves_no_tree_or_worker_branch(trees: Worktrees) -> None:
    trees.tree("w1")
    trees.tree("merge")
    trees.main_git("branch", "autocode/mine")  # the user's own branch under the same prefix stays
    trees.remove_all()
    assert "autocode/mine" in trees.main_git("branch", "--list")
    assert not trees.base.exists() and not trees.integration.exists()
    assert f"{BRANCH_PREFIX}w1" not in trees.main_git("branch", "--list")
    assert not os.listdir(trees.project / ".git" / "worktrees") if (
        trees.project / ".git" / "worktrees").exists() else True


def test_appended_lines() -> None:
    assert appended_lines("a\n", "a\nb\n") == "b"
    assert appended_lines(None, "x\n") == "x"
    assert appended_lines("a\nb\n", "b\nc\n") == "c"  # rewritten, not appended: only new lines
    assert appended_lines("a\n", None) == ""


@pytest.mark.skipif(not bwrap_works(), reason="needs bubblewrap")
def test_agent_commands_write_worker_trees_but_not_main_or_the_integration_tree(trees: Worktrees) -> None:
    worker = trees.tree("w1")
    merge = trees.tree("merge")
    with CommandSandbox(SandboxConfig(network="none"), trees.project, lambda _r: None,
                        writable=[trees.base]) as box:
        assert box.check("touch EARLY", trees.project, 30).ok  # the initializer writes the project
        box.protect_project()  # then the workers start
        main = box.check("touch LATE", trees.project, 30)
        assert box.check("touch MARK", worker.tree, 30).ok
        refused = box.check(f"touch {merge.tree / 'MARK'}", worker.tree, 30)
        git_file = box.check("echo gitdir: /tmp >> .git", worker.tree, 30)
        admin = box.check(f"touch {worker.admin / 'MARK'}", worker.tree, 30)
    assert (worker.tree / "MARK").exists() and (trees.project / "EARLY").exists()
    assert not main.ok and not (trees.project / "LATE").exists()
    assert not refused.ok and not (merge.tree / "MARK").exists()
    assert git_file.ok  # the tree's own .git file is the agent's; autocode never reads it
    assert not admin.ok and not (worker.admin / "MARK").exists()  # the admin dir in .git is read-only
    assert worker.head() == trees.main_head()


WALL_PROBE = """
import os, sys
def attempt(name, fn):
    try:
        fn()
        print(name + "=done")
    except OSError as exc:
        print(name + "=refused:" + type(exc).__name__)
def write(path):
    open(path, "w").write("escaped")
for name, path in zip(["sibling_dir", "sibling_tree", "main", "integration"], sys.argv[1:5]):
    attempt("write_" + name, lambda: write(os.path.join(path, "ESCAPED")))
attempt("read_sibling", lambda: open(os.path.join(sys.argv[2], "app.py")).read())
attempt("read_main", lambda: open(os.path.join(sys.argv[3], "app.py")).read())
attempt("write_own", lambda: write("OWN"))
"""


@pytest.mark.skipif(not bwrap_works(), reason="needs bubblewrap")
def test_each_worker_command_writes_only_its_own_tree(trees: Worktrees) -> None:
    """The server's SHELL sends a command to the sandbox of the worker whose tree it runs in; there
    the sibling trees, main's checkout and the integration tree can be neither written nor read."""
    from agent.runtime import worker_sandbox

    state = trees.base.parent
    for name in ("w1", "w2"):
        (trees.base / name).mkdir(parents=True, exist_ok=True)  # as the build makes them, before its sandboxes
    config = SandboxConfig(network="none")
    with CommandSandbox(config, trees.project, lambda _r: None) as box, \
            worker_sandbox(config, trees.project, state, trees.base / "w1", lambda _r: None) as one, \
            worker_sandbox(config, trees.project, state, trees.base / "w2", lambda _r: None) as two:
        box.route(trees.base / "w1", one)
        box.route(trees.base / "w2", two)
        box.protect_project()
        first, second, merge = trees.tree("w1"), trees.tree("w2"), trees.tree("merge")
        (first.tree / "probe.py").write_text(WALL_PROBE)
        args = [str(trees.base / "w2"), str(second.tree), str(trees.project), str(merge.tree)]
        command = "python3 probe.py " + " ".join(args) + "; git status --short"
        ran = subprocess.run([str(box.shell), "-c", command], cwd=first.tree, capture_output=True, text=True,
                             timeout=60)
        found = dict(line.split("=", 1) for line in ran.stdout.splitlines() if "=" in line)
    assert ran.returncode == 0, ran.stderr
    assert found.pop("write_own") == "done" and (first.tree / "OWN").read_text() == "escaped"
    assert all(result.startswith("refused:") for result in found.values()), found
    assert len(found) == 6
    for place in (trees.base / "w2", second.tree, trees.project, merge.tree):
        assert not (place / "ESCAPED").exists()
    assert "?? OWN" in ran.stdout and "?? probe.py" in ran.stdout  # the tree's own git still works


def test_a_project_on_another_branch_is_integrated_on_that_branch(tmp_path: Path) -> None:
    project = tmp_path / "trunk-project"
    project.mkdir()
    git = Git(project, tmp_path / "trust2")
    git.init()
    git._run("symbolic-ref", "HEAD", "refs/heads/trunk")
    (project / "app.py").write_text("a = 1\n")
    git.commit_all("skeleton")
    trees = Worktrees(project, tmp_path / "s2" / "worktrees", git, tmp_path / "s2" / "integration")
    tree = trees.tree("w1")
    (tree.tree / "b.py").write_text("b = 2\n")
    work = commit_work(tree, trees.main_head(), 1, 1)
    merge = squash(trees, work)
    assert not isinstance(merge, Conflict)
    merge.commit_all("autocode: feature 1 passes: b")
    assert land(trees, merge) == trees.main_head()
    assert trees.main == "trunk" and (project / "b.py").exists()
