"""The feature list: its schema, validation, the next feature to work on, and the integrity rule.

``feature_list.json`` is a JSON array of ``{category, description, steps[], passes}`` with optional
``id``, ``depends_on`` (ids, or 1-based positions) and ``verify`` (a shell command). After the
initializer, the only change the agent may make is ``passes`` false → true; the harness keeps the
validated list as a baseline and restores it (with the harness' own verdicts) after every session.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.projectfs import read_project_file

FEATURE_FILE = "feature_list.json"


class Feature(BaseModel):
    model_config = ConfigDict(extra="allow")

    category: str = Field(min_length=1)
    description: str = Field(min_length=1)
    steps: list[str] = Field(min_length=1)
    passes: bool = False
    id: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    verify: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @field_validator("depends_on", mode="before")
    @classmethod
    def _deps_text(cls, value: object) -> object:
        return [str(v) for v in value] if isinstance(value, list) else value

    def content(self) -> dict[str, object]:
        """Everything but ``passes``: what must never change after initialization."""
        return self.model_dump(exclude={"passes"}, exclude_none=True)


class FeatureListProblem(Exception):
    """The list is invalid; ``str()`` is an exact, agent-readable description of every problem."""


def parse_features(text: str, *, strict: bool = True) -> list[Feature]:
    """Parse and validate; ``strict=False`` skips the duplicate and dependency checks."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeatureListProblem(f"{FEATURE_FILE} is not valid JSON: {exc}") from None
    if not isinstance(raw, list):
        raise FeatureListProblem(f"{FEATURE_FILE} must be a JSON array of features, got {type(raw).__name__}")
    if not raw:
        raise FeatureListProblem(f"{FEATURE_FILE} has 0 features; list every feature of the spec")
    features, problems = [], []
    for index, item in enumerate(raw, start=1):
        try:
            features.append(Feature.model_validate(item))
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                problems.append(f"feature {index}: {where or 'item'}: {err['msg']}")
    if strict and not problems:
        problems.extend(_duplicates(features) + _bad_dependencies(features))
    if problems:
        raise FeatureListProblem(f"{FEATURE_FILE} is invalid:\n- " + "\n- ".join(problems[:30]))
    return features


def _duplicates(features: list[Feature]) -> list[str]:
    problems: list[str] = []
    seen_desc: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for index, feature in enumerate(features, start=1):
        key = feature.description.strip().lower()
        if key in seen_desc:
            problems.append(f"feature {index} duplicates feature {seen_desc[key]} (same description)")
        seen_desc.setdefault(key, index)
        if feature.id is not None:
            if feature.id in seen_ids:
                problems.append(f"feature {index} reuses id {feature.id!r} of feature {seen_ids[feature.id]}")
            seen_ids.setdefault(feature.id, index)
    return problems


def feature_key(features: list[Feature], index: int) -> str:
    return features[index].id or str(index + 1)


def _bad_dependencies(features: list[Feature]) -> list[str]:
    keys = {feature_key(features, i): i for i in range(len(features))}
    keys.update({str(i + 1): i for i in range(len(features))})
    problems = []
    for index, feature in enumerate(features):
        for dep in feature.depends_on:
            if dep not in keys:
                problems.append(f"feature {index + 1}: depends_on {dep!r} names no feature")
            elif keys[dep] == index:
                problems.append(f"feature {index + 1}: depends on itself")
    return problems


def load_features(project_dir: Path) -> list[Feature]:
    text = read_project_file(project_dir, FEATURE_FILE)  # never through the agent's symlinks
    if text is None:
        raise FeatureListProblem(f"{FEATURE_FILE} does not exist in the project root (as a regular file)")
    return parse_features(text)


def dump_features(features: list[Feature]) -> str:
    return json.dumps([f.model_dump(exclude_none=True, exclude_defaults=False) for f in features],
                      indent=2, ensure_ascii=False) + "\n"


def unmet_dependencies(features: list[Feature], passing: set[int]) -> dict[int, list[int]]:
    """For each failing feature, the (0-based) features it depends on that do not pass yet."""
    keys = {feature_key(features, i): i for i in range(len(features))}
    keys.update({str(i + 1): i for i in range(len(features))})
    return {index: [keys[dep] for dep in feature.depends_on if dep in keys and keys[dep] not in passing]
            for index, feature in enumerate(features) if index not in passing}


def next_feature(features: list[Feature], passing: set[int], skipped: set[int]) -> int | None:
    """The first failing feature (array order) whose dependencies all pass; None if none is ready."""
    for index, unmet in unmet_dependencies(features, passing).items():
        if index not in skipped and not unmet:
            return index
    return None


def _numbers(indexes: list[int]) -> str:
    return ", ".join(f"#{i + 1}" for i in indexes)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def stalled_message(features: list[Feature], passing: set[int], skipped: set[int], limit: int) -> str:
    """Why no feature is ready: which were tried (and gave up on) and which wait on them."""
    unmet = unmet_dependencies(features, passing)
    tried = sorted(i for i in unmet if i in skipped)
    blocked = sorted(i for i in unmet if i not in skipped and unmet[i])
    each = " each" if len(tried) > 1 else ""
    parts = [f"{plural(len(unmet), 'feature')} left: "
             f"{_numbers(tried) or 'none'} not finished in {plural(limit, 'session')}{each}"]
    if blocked:
        waits_on = sorted({d for i in blocked for d in unmet[i]})
        parts.append(f"{_numbers(blocked)} wait for {_numbers(waits_on)}")
    return "; ".join(parts) + "; re-run to try again (look at `autocode logs --feature N`)"


class Integrity(BaseModel):
    """What the agent did to the feature list in one session."""

    claims: list[int] = Field(default_factory=list)
    violations: list[str] = Field(default_factory=list)


def check_integrity(baseline: list[Feature], text: str | None) -> Integrity:
    """Compare the agent's file with the baseline: claims (false→true marks) and violations."""
    if text is None:
        return Integrity(violations=[f"{FEATURE_FILE} was deleted"])
    try:
        current = parse_features(text, strict=False)
    except FeatureListProblem as exc:
        return Integrity(violations=[str(exc).replace("\n", " ")])
    result = Integrity()
    if len(current) != len(baseline):
        result.violations.append(f"feature count changed from {len(baseline)} to {len(current)}")
    for index, (old, new) in enumerate(zip(baseline, current, strict=False)):
        if old.content() != new.content():
            result.violations.append(f"feature {index + 1} was edited or reordered")
        elif new.passes and not old.passes:
            result.claims.append(index)
        elif old.passes and not new.passes:
            result.violations.append(f"feature {index + 1} was un-marked (passes true → false)")
    return result


def with_verdicts(baseline: list[Feature], passing: set[int]) -> list[Feature]:
    """The baseline list with ``passes`` exactly as the harness decided."""
    return [f.model_copy(update={"passes": i in passing}) for i, f in enumerate(baseline)]
