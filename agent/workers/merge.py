"""The merge queue's git steps: a worker's work as one commit, squashed onto main, or a conflict.

One integration at a time (the pool holds a lock). The worker's commit leaves out the two shared
files every session touches: ``feature_list.json`` (autocode writes its verdicts itself) and the
append-only ``autocode-progress.md`` (the lines the session appended are carried aside and
appended to main's version at integration), so neither can conflict. The squash happens in a
separate integration tree; main moves only by a fast-forward to a commit whose verification
passed, so main never holds a broken or half-merged tree.
"""

from __future__ import annotations

import shutil

from pydantic import BaseModel

from agent.features import FEATURE_FILE
from agent.projectfs import read_project_file
from agent.state import atomic_write
from agent.workers.worktrees import MERGE_NAME, TreeGit, Worktrees

NOTES_FILE = "autocode-progress.md"
WORK_MESSAGE = "autocode: worker {worker} work on feature {number}"


class Work(BaseModel):
    """A worker's finished session, committed on its branch."""

    commit: str
    notes: str = ""  # the lines the session appended to the notes file
    changed: bool = False  # the commit changes something besides the shared files


class Conflict(BaseModel):
    """The work did not apply to the current main: which files, and the conflicting hunks."""

    files: list[str]
    hunks: str


def appended_lines(base: str | None, new: str | None) -> str:
    """What a session added to an append-only file: the tail after ``base``, else the new lines."""
    if not new:
        return ""
    base = base or ""
    if new.startswith(base):
        return new[len(base):].strip("\n")
    old = set(base.splitlines())
    return "\n".join(line for line in new.splitlines() if line not in old).strip("\n")


def commit_work(tree: TreeGit, base: str, worker: int, number: int) -> Work:
    """Commit everything the session did on the worker's branch, the shared files put back."""
    committed_at_base = {name: tree.show(name, base) for name in (NOTES_FILE, FEATURE_FILE)}
    notes = appended_lines(committed_at_base[NOTES_FILE], read_project_file(tree.tree, NOTES_FILE))
    for name, committed in committed_at_base.items():
        target = tree.tree / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.is_symlink() or target.exists():
            target.unlink()
        if committed is not None:
            atomic_write(target, committed)
    tree.commit_all(WORK_MESSAGE.format(worker=worker, number=number), allow_empty=True)
    changed = bool(tree.run("diff", "--name-only", base, "HEAD").strip())
    return Work(commit=tree.head(), notes=notes, changed=changed)


def squash(trees: Worktrees, work: Work) -> TreeGit | Conflict:
    """The integration tree at main with ``work`` applied (not committed), or the conflict."""
    merge = trees.tree(MERGE_NAME)
    merge.run("merge", "--squash", "--no-commit", "-q", work.commit, check=False)
    conflicted = [f for f in merge.run("diff", "--name-only", "--diff-filter=U").splitlines() if f]
    if conflicted:
        hunks = merge.run("diff", check=False)
        merge.reset_to(trees.main)
        return Conflict(files=conflicted, hunks=hunks[-6000:])
    if work.notes:
        notes = read_project_file(merge.tree, NOTES_FILE) or ""
        atomic_write(merge.tree / NOTES_FILE, (notes.rstrip("\n") + "\n" if notes.strip() else "")
                     + work.notes + "\n")
    return merge


def land(trees: Worktrees, merge: TreeGit) -> str:
    """Fast-forward main (and the project's checkout) to the integration tree's verified commit."""
    head = merge.head()
    trees.main_git("merge", "--ff-only", "-q", head)
    return head


def conflict_note(conflict: Conflict) -> str:
    """What the feature's next prompt says (it starts again from the new main)."""
    return ("merge conflict: your last attempt was done while other features landed on main, and it "
            f"conflicts with them in {', '.join(conflict.files)}. You now start from the new main; "
            "redo the feature on top of it. The conflicting hunks were:\n" + conflict.hunks)

