from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agent.errors import LockedError
from agent.state import BuildState, StateStore, atomic_write, read_jsonl


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    atomic_write(path, "one")
    atomic_write(path, "two")
    assert path.read_text() == "two"
    assert os.listdir(tmp_path) == ["s.json"]


def test_state_round_trips(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.ensure()
    store.save(BuildState(model="p/m", passing=[0, 2], sessions=3))
    loaded = store.load()
    assert loaded.passing == [0, 2] and loaded.sessions == 3 and loaded.model == "p/m"


def test_corrupt_state_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.ensure()
    features = [{"category": "f", "description": d, "steps": ["s"], "passes": p}
                for d, p in (("a", True), ("b", False))]
    store.baseline_path.write_text(json.dumps(features))
    store.record_progress({"kind": "session", "session": "s1"})
    store.record_progress({"kind": "session", "session": "s2"})
    store.state_path.write_text('{"version": 1, "passing": [0, ')  # torn
    state = store.load()
    assert state.initialized and state.passing == [0] and state.sessions == 2
    assert "corrupt" in state.warnings[0]
    aside = [p for p in store.root.iterdir() if p.name.startswith("state.json.corrupt-")]
    assert len(aside) == 1 and aside[0].read_text().startswith('{"version": 1')
    assert json.loads(store.state_path.read_text())["passing"] == [0]


def test_torn_last_line_of_a_log_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text('{"a": 1}\n{"b": 2}\n{"c": ')
    assert read_jsonl(path) == [{"a": 1}, {"b": 2}]


def test_lock_refuses_a_second_holder(tmp_path: Path) -> None:
    first, second = StateStore(tmp_path), StateStore(tmp_path)
    with first.locked(), pytest.raises(LockedError, match=f"pid {os.getpid()}"), second.locked():
        pass
    with second.locked():  # released
        pass
