"""Which feature each worker takes next (pure: no I/O, no asyncio).

A feature is claimable when it does not pass, is not skipped, no other worker holds it, and
everything in its ``depends_on`` is accepted on main. Among the claimable ones the array order
decides. A released feature goes back to the queue (a rejection, a merge conflict or an aborted
session); the no-progress counting per feature stays the loop's (``state.attempts``).
"""

from __future__ import annotations

from agent.errors import BuildComplete, NoProgress, StopReason
from agent.features import Feature, stalled_message, unmet_dependencies


class Scheduler:
    """Hands out features to workers; ``passing`` and ``skipped`` are the build state's own sets."""

    def __init__(self, features: list[Feature], no_progress_limit: int) -> None:
        self.features = features
        self.limit = no_progress_limit
        self.held: dict[int, int] = {}  # feature index -> worker number

    def claim(self, worker: int, passing: set[int], skipped: set[int]) -> int | None:
        """The first ready feature for ``worker`` (and mark it held); None if none is ready now."""
        for index, unmet in unmet_dependencies(self.features, passing).items():
            if not unmet and index not in skipped and index not in self.held:
                self.held[index] = worker
                return index
        return None

    def release(self, index: int) -> None:
        self.held.pop(index, None)

    def holder(self, index: int) -> int | None:
        return self.held.get(index)

    def finished(self, passing: set[int], skipped: set[int]) -> StopReason | None:
        """Why the build is over once no worker holds anything and nothing is ready; else None."""
        if self.held:
            return None
        if len(passing & set(range(len(self.features)))) == len(self.features):
            return BuildComplete(f"all {len(self.features)} features pass")
        if any(not unmet and index not in skipped
               for index, unmet in unmet_dependencies(self.features, passing).items()):
            return None
        return NoProgress(stalled_message(self.features, passing, skipped, self.limit))
