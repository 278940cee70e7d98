"""The feature list the harness validated (``.autocode/features.json``): parsed once, saved with
the harness' verdicts to the baseline and to the tree's ``feature_list.json`` in one dump."""

from __future__ import annotations

from pathlib import Path

from agent.errors import FeatureListError
from agent.features import FEATURE_FILE, Feature
from agent.state import StateStore, atomic_write


class Baseline:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        self._features: list[Feature] | None = None

    def features(self) -> list[Feature]:
        if self._features is not None:
            return self._features
        self._features = self.store.load_baseline()
        if self._features is None:
            raise FeatureListError("the feature list is missing from .autocode/; re-run the initializer "
                                   "by removing .autocode/state.json")
        return self._features

    def save(self, features: list[Feature], tree: Path) -> None:
        """Write the list with the harness' verdicts to ``tree`` (the project, or the workers'
        integration tree) and to the baseline."""
        atomic_write(tree / FEATURE_FILE, self.store.save_baseline(features))
        self._features = features
