from __future__ import annotations

import json

import pytest

from agent.features import FeatureListProblem, check_integrity, next_feature, parse_features, with_verdicts

BASE = [
    {"category": "functional", "description": "A", "steps": ["a"], "passes": False, "id": "a"},
    {"category": "functional", "description": "B", "steps": ["b"], "passes": False, "depends_on": ["c"]},
    {"category": "functional", "description": "C", "steps": ["c"], "passes": False, "id": "c"},
]


def test_valid_list_parses_with_ids_and_dependencies() -> None:
    features = parse_features(json.dumps(BASE))
    assert [f.description for f in features] == ["A", "B", "C"]
    assert features[1].depends_on == ["c"]


@pytest.mark.parametrize(("text", "message"), [
    ("{", "not valid JSON"),
    ("{}", "must be a JSON array"),
    ("[]", "0 features"),
    (json.dumps([{"category": "x", "description": "", "steps": ["s"]}]), "feature 1: description"),
    (json.dumps([{"category": "x", "description": "d", "steps": []}]), "feature 1: steps"),
    (json.dumps([BASE[0], BASE[0]]), "duplicates feature 1"),
    (json.dumps([{**BASE[0], "depends_on": ["zzz"]}]), "names no feature"),
])
def test_invalid_lists_say_exactly_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(FeatureListProblem, match=message):
        parse_features(text)


def test_next_feature_respects_order_and_dependencies() -> None:
    features = parse_features(json.dumps(BASE))
    assert next_feature(features, set(), set()) == 0
    assert next_feature(features, {0}, set()) == 2  # B waits for C
    assert next_feature(features, {0, 2}, set()) == 1
    assert next_feature(features, {0}, {2}) is None  # C skipped, B blocked
    assert next_feature(features, {0, 1, 2}, set()) is None


def test_integrity_accepts_only_false_to_true_marks() -> None:
    baseline = parse_features(json.dumps(BASE))
    marked = [dict(f) for f in BASE]
    marked[2]["passes"] = True
    result = check_integrity(baseline, json.dumps(marked))
    assert result.claims == [2] and result.violations == []


@pytest.mark.parametrize(("mutate", "violation"), [
    (lambda fs: fs[:2], "feature count changed from 3 to 2"),
    (lambda fs: [fs[1], fs[0], fs[2]], "feature 1 was edited or reordered"),
    (lambda fs: [*fs[:2], {**fs[2], "steps": ["easier"]}], "feature 3 was edited"),
    (lambda fs: [*fs, {**fs[0], "description": "new"}], "feature count changed from 3 to 4"),
])
def test_integrity_reports_removed_reordered_edited_added(mutate: object, violation: str) -> None:
    baseline = parse_features(json.dumps(BASE))
    result = check_integrity(baseline, json.dumps(mutate(BASE)))  # type: ignore[operator]
    assert any(violation in v for v in result.violations), result.violations


def test_integrity_deleted_file_and_unmarking() -> None:
    baseline = with_verdicts(parse_features(json.dumps(BASE)), {0})
    assert check_integrity(baseline, None).violations == ["feature_list.json was deleted"]
    result = check_integrity(baseline, json.dumps(BASE))
    assert result.violations == ["feature 1 was un-marked (passes true → false)"]
