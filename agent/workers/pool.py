"""``--workers N``: up to N features in flight at once, each in its own worktree, one merge queue.

Every worker loops: check the global limits, claim a ready feature (the scheduler), reset its
worktree to main, run one coding session there (on the build's one OpenCode server), and, when
the agent marked the feature passing, commit the work on its branch and queue it; the worker then
claims its next feature while the queued one waits for its verdict (it stays held). The merge queue
integrates one worker at a time in the integration tree (squash onto the current main, the
build's full verdict on the integrated tree: integrity, protected tests, the feature's check and
the regression gate), then fast-forwards main to that one commit per feature. A conflict sends
the feature back to the queue with the hunks in its next prompt.

Limits stay global: the workers share the build's one ledger (checked before every model step of
every session, so a budget overshoots by at most one in-flight step per worker, N steps in all),
``--max-iterations`` counts sessions, and the first stop reason of any worker (or Ctrl-C) cancels
the others, whose sessions are aborted and recorded before the build stops.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from agent.errors import StopReason
from agent.evidence import Evidence
from agent.features import FEATURE_FILE, check_integrity, dump_features, with_verdicts
from agent.guard import Guard
from agent.projectfs import read_project_file
from agent.session_types import SessionResult
from agent.state import BuildState, atomic_write
from agent.workers.merge import Conflict, Work, commit_work, conflict_note, land, squash
from agent.workers.scheduler import Scheduler
from agent.workers.worktrees import Worktrees

if TYPE_CHECKING:
    from agent.build import Builder

T = TypeVar("T")
V = TypeVar("V")


class WorkerPool:
    def __init__(self, builder: Builder, workers: int, trees: Worktrees) -> None:
        self.builder, self.workers, self.trees = builder, workers, trees
        self.scheduler = Scheduler(builder._baseline(), builder.config.no_progress_limit)
        self.changed = asyncio.Condition()
        self.queue = asyncio.Lock()  # the merge queue: one integration at a time

    async def run(self, state: BuildState) -> None:
        """Run the workers until one raises the build's stop reason (raised here)."""
        try:
            async with asyncio.TaskGroup() as group:
                self.group = group  # the workers', and the merge queue's integrations
                for worker in range(1, self.workers + 1):
                    group.create_task(self._worker(worker, state))
        except BaseExceptionGroup as group_error:
            leaves = _leaves(group_error)
            stops = [e for e in leaves if isinstance(e, StopReason)]
            errors = [e for e in leaves if not isinstance(e, asyncio.CancelledError)]
            raise (stops or errors or leaves)[0] from None  # the build's reason, not a group

    async def _worker(self, worker: int, state: BuildState) -> None:
        """Claim, code, queue; the worker goes on while its queued work waits for its verdict (the
        feature stays held until then: nobody else takes it, nothing that depends on it starts)."""
        while True:
            index = await self._claim(worker, state)
            queued: tuple[Work, SessionResult] | None = None
            try:
                queued = await self._attempt(worker, index, state)
            finally:
                if queued is None:
                    await self._release(index)
            if queued is not None:
                self.group.create_task(self._queued(worker, index, state, *queued))

    async def _release(self, index: int) -> None:
        async with self.changed:
            self.scheduler.release(index)
            self.changed.notify_all()

    async def _claim(self, worker: int, state: BuildState) -> int:
        async with self.changed:
            while True:
                stop = self.scheduler.finished(set(state.passing), set(state.skipped))
                if stop is not None:
                    raise stop
                index = self.scheduler.claim(worker, set(state.passing), set(state.skipped))
                if index is not None:
                    try:
                        self.builder._check_limits()
                    except StopReason:
                        self.scheduler.release(index)
                        self.changed.notify_all()
                        while self.scheduler.held:  # the sessions and verdicts in flight end first
                            await self.changed.wait()
                        raise
                    self.builder.iterations += 1
                    return index
                await self.changed.wait()

    async def _attempt(self, worker: int, index: int, state: BuildState) -> tuple[Work, SessionResult] | None:
        """One session on ``index`` in the worker's tree; its committed work if the agent marked
        the feature passing (for the merge queue), else None."""
        builder = self.builder
        listed = with_verdicts(builder._baseline(), set(state.passing))
        tree = await _finish(asyncio.to_thread(self.trees.tree, f"w{worker}"))
        base, recent = await _finish(asyncio.to_thread(lambda: (tree.head(), tree.log(3))))
        result = await builder._feature_session(index, state, tree.tree, worker, recent)
        integrity = check_integrity(listed, read_project_file(tree.tree, FEATURE_FILE))
        if integrity.violations:  # reverted: the worker's list never reaches main (see merge.py)
            builder.reporter.emit("integrity_violation", session=result.session_id,
                                  violations=integrity.violations, worker=worker)
        if index not in integrity.claims:
            self._not_done(worker, index, state, result)
            return None
        work = await _finish(asyncio.to_thread(commit_work, tree, base, worker, index + 1))
        return work, result

    async def _queued(self, worker: int, index: int, state: BuildState, work: Work,
                      result: SessionResult) -> None:
        """The merge queue's turn for one worker's work, then the feature is released."""
        try:
            async with self.queue:
                trial = state.model_copy(deep=True)
                await _finish(asyncio.to_thread(self._integrate, worker, index, trial, work, result))
            # back on the loop's thread: this feature's verdict joins the build state
            state.passing = sorted(set(state.passing) | set(trial.passing))
            if index in trial.skipped:
                state.skipped = sorted(set(state.skipped) | {index})
            _take(state.attempts, trial.attempts, index)
            _take(state.last_failure, trial.last_failure, index)
            self.builder._save(state)
        finally:
            await self._release(index)

    def _not_done(self, worker: int, index: int, state: BuildState, result: SessionResult) -> None:
        """The session ended without marking its feature passing: nothing to merge."""
        builder = self.builder
        if result.error is None:
            builder._count_attempt(index, state, False)
        builder.store.record_progress({"kind": "verdict", "session": result.session_id, "feature": index,
                                       "verdict": "not_done", "accepted": [], "worker": worker})
        builder._save(state)
        builder.reporter.emit("feature_verdict", session=result.session_id, feature=index + 1,
                              verdict="not_done", accepted=[], passing=len(state.passing),
                              total=len(builder._baseline()), violations=[], tests_refused=[],
                              tests_changed=[], worker=worker)

    def _integrate(self, worker: int, index: int, trial: BuildState, work: Work,
                   result: SessionResult) -> None:
        """(In a thread, one at a time.) Squash, judge the integrated tree with ``trial`` (a copy
        of the build state), land on main or put the integration tree back."""
        builder = self.builder
        merge = squash(self.trees, work)
        if isinstance(merge, Conflict):
            trial.last_failure[index] = conflict_note(merge)
            builder.reporter.emit("merge_conflict", worker=worker, feature=index + 1, files=merge.files)
            builder.store.record_progress({"kind": "conflict", "worker": worker, "feature": index,
                                           "files": merge.files})
            return
        baseline = builder._baseline()
        atomic_write(merge.tree / FEATURE_FILE, dump_features(
            with_verdicts(baseline, set(trial.passing) | {index})))
        judge = copy.copy(builder)  # the build's verdict, rooted at the integrated tree
        judge.project, judge.git, judge.checker = merge.tree, merge, builder.merge_checker
        judge.evidence = Evidence(merge.tree, builder.store.root, merge.show)
        judge.guard = Guard(merge.tree, builder.store.root, builder.merge_checker, builder.config.check_timeout,
                            merge, judge.evidence, builder.reporter)
        judge._judge(index, trial, result, count_attempt=result.error is None, worker=worker)
        if index in trial.passing:
            head = land(self.trees, merge)
            builder.reporter.emit("merged", worker=worker, feature=index + 1, commit=head[:12])
        else:
            merge.reset_to(self.trees.main)
        builder._features = judge._features



def _take(mine: dict[int, V], theirs: dict[int, V], index: int) -> None:
    """``mine[index]`` as in ``theirs`` (set or removed), the other keys left alone."""
    if index in theirs:
        mine[index] = theirs[index]
    else:
        mine.pop(index, None)


async def _finish(work: Awaitable[T]) -> T:
    """Await a thread's work to its end even when cancelled (git must not be cut mid-write)."""
    future = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return found
