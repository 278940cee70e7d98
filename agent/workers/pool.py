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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol, TypeVar

from agent.baseline import Baseline
from agent.build_events import IntegrityViolation, MergeConflict, Merged
from agent.errors import StopReason
from agent.features import FEATURE_FILE, check_integrity, dump_features, with_verdicts
from agent.git import Git
from agent.ports import Reporter
from agent.projectfs import read_project_file
from agent.reconcile import add_passing
from agent.session_types import SessionResult
from agent.state import BuildState, StateSaver, StateStore, atomic_write
from agent.verdict import Judge
from agent.workers.merge import Conflict, Work, commit_work, conflict_note, land, squash
from agent.workers.scheduler import Scheduler
from agent.workers.worktrees import Worktrees

T = TypeVar("T")
V = TypeVar("V")


class Loop(Protocol):
    """What the pool uses of the build loop (``build.Builder``)."""

    iterations: int
    store: StateStore
    reporter: Reporter
    baseline: Baseline
    saver: StateSaver
    judge: Judge  # the verdict on the project: attempts counted, a session that did not finish

    def check_limits(self) -> None: ...

    async def feature_session(self, index: int, state: BuildState, directory: Path, worker: int | None,
                              recent_commits: list[str]) -> SessionResult: ...


IntegrationJudge = Callable[[Git, Path], Judge]  # the verdict rooted at the integration tree


class WorkerPool:
    def __init__(self, loop: Loop, workers: int, trees: Worktrees, integration_judge: IntegrationJudge) -> None:
        self.loop, self.workers, self.trees, self.integration_judge = loop, workers, trees, integration_judge
        self.scheduler = Scheduler(loop.baseline.features(), loop.judge.settings.no_progress_limit)
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
                        self.loop.check_limits()
                    except StopReason:
                        self.scheduler.release(index)
                        self.changed.notify_all()
                        while self.scheduler.held:  # the sessions and verdicts in flight end first
                            await self.changed.wait()
                        raise
                    self.loop.iterations += 1
                    return index
                await self.changed.wait()

    async def _attempt(self, worker: int, index: int, state: BuildState) -> tuple[Work, SessionResult] | None:
        """One session on ``index`` in the worker's tree; its committed work if the agent marked
        the feature passing (for the merge queue), else None."""
        loop = self.loop
        listed = with_verdicts(loop.baseline.features(), set(state.passing))
        tree = await _finish(asyncio.to_thread(self.trees.tree, f"w{worker}"))
        base, recent = await _finish(asyncio.to_thread(lambda: (tree.head(), tree.log(3))))
        result = await loop.feature_session(index, state, tree.tree, worker, recent)
        integrity = check_integrity(listed, read_project_file(tree.tree, FEATURE_FILE))
        if integrity.violations:  # reverted: the worker's list never reaches main (see merge.py)
            loop.reporter.emit(IntegrityViolation(session=result.session_id,
                               violations=integrity.violations, worker=worker))
        if index not in integrity.claims:
            loop.judge.not_done(index, state, result, worker)
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
            add_passing(state, trial.passing)
            if index in trial.skipped:
                state.skipped = sorted(set(state.skipped) | {index})
            _take(state.attempts, trial.attempts, index)
            _take(state.last_failure, trial.last_failure, index)
            self.loop.saver.save(state)
        finally:
            await self._release(index)

    def _integrate(self, worker: int, index: int, trial: BuildState, work: Work,
                   result: SessionResult) -> None:
        """(In a thread, one at a time.) Squash, judge the integrated tree with ``trial`` (a copy
        of the build state), land on main or put the integration tree back."""
        loop = self.loop
        merge = squash(self.trees, work)
        if isinstance(merge, Conflict):
            trial.last_failure[index] = conflict_note(merge)
            loop.reporter.emit(MergeConflict(worker=worker, feature=index + 1, files=merge.files))
            loop.store.record_progress({"kind": "conflict", "worker": worker, "feature": index,
                                        "files": merge.files})
            return
        atomic_write(merge.tree / FEATURE_FILE, dump_features(
            with_verdicts(loop.baseline.features(), set(trial.passing) | {index})))
        judge = self.integration_judge(merge, merge.tree)
        judge.judge(index, trial, result, count_attempt=result.error is None, worker=worker)
        if index in trial.passing:
            head = land(self.trees, merge)
            loop.reporter.emit(Merged(worker=worker, feature=index + 1, commit=head[:12]))
        else:
            merge.reset_to(self.trees.main)


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
