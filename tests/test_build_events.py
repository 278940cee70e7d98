"""The typed build events: every model's ``--json`` line, its schema, and `autocode events-schema`."""

from __future__ import annotations

import functools
import io
import json
from typing import Any, get_args

import jsonschema
import pytest
from typer.testing import CliRunner

from agent import build_events as ev
from agent.cli import app
from agent.ui import reporters
from agent.ui.reporters import JsonReporter
from tests.event_samples import SAMPLES, SUMMARY, sample

MODELS: list[type[ev.BuildEvent]] = list(get_args(get_args(ev.AnyEvent)[0]))
NAMES = {model: model.model_fields["event"].default for model in MODELS}


def _line(event: ev.BuildEvent, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(reporters.time, "time", lambda: 1700000000.1234)
    out = io.StringIO()
    JsonReporter(out).emit(event)
    return out.getvalue()


def _validator(schema: dict[str, Any]) -> Any:
    """``jsonschema.validate``'s validator for ``schema`` (checked once), kept for many instances:
    ``validate`` checks the schema and builds a validator again on every call (0.3 s here)."""
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@functools.cache
def _events_validator() -> Any:
    return _validator(ev.events_schema())


def _variant(schema: dict[str, Any], name: str) -> dict[str, Any]:
    ref = schema["discriminator"]["mapping"][name]
    variant: dict[str, Any] = schema["$defs"][ref.rsplit("/", 1)[1]]
    return variant


def test_every_event_has_one_model_with_its_own_name_and_a_sample() -> None:
    assert len(set(NAMES.values())) == len(MODELS) == 36
    assert set(SAMPLES) == set(MODELS)
    assert all(model.__name__ != "Generic" and "Any" not in model.__name__ for model in MODELS)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: NAMES[m])
def test_a_json_line_is_what_the_untyped_emit_wrote_and_matches_the_schema(
        model: type[ev.BuildEvent], monkeypatch: pytest.MonkeyPatch) -> None:
    fields = SAMPLES[model]
    line = _line(model(**fields), monkeypatch)
    old = json.dumps({"schema": 1, "event": NAMES[model], "time": 1700000000.123, **fields},
                     default=str, ensure_ascii=False) + "\n"
    assert line == old  # the bytes `emit(name, **fields)` wrote before the events were typed
    record = json.loads(line)
    schema = ev.events_schema()
    _events_validator().validate(record)
    variant = _variant(schema, NAMES[model])
    assert set(record) <= set(variant["properties"])
    assert set(variant["required"]) <= set(record)
    assert variant["additionalProperties"] is False
    assert ev.parse_event(record) == model(**fields)


def test_worker_and_the_verdicts_evidence_are_absent_exactly_where_the_emitter_left_them_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    serial = json.loads(_line(sample(ev.FeatureStarted, worker=None), monkeypatch))
    worker = json.loads(_line(sample(ev.FeatureStarted, worker=2), monkeypatch))
    assert "worker" not in serial and worker["worker"] == 2
    bare = {k: v for k, v in SAMPLES[ev.FeatureVerdict].items() if k not in SUMMARY and k != "verdict"}
    pooled = json.loads(_line(ev.FeatureVerdict(**bare, verdict="not_done", worker=1), monkeypatch))
    assert not set(SUMMARY) & set(pooled) and pooled["worker"] == 1 and pooled["verdict"] == "not_done"
    nothing = json.loads(_line(sample(ev.FeatureVerdict, gate=None, tests_after=None), monkeypatch))
    assert nothing["gate"] is None and nothing["tests_after"] is None  # set to None: there, as null
    quiet = json.loads(_line(ev.CheckEvent(feature=1, command=None, ok=True, output="no check"), monkeypatch))
    assert set(quiet) == {"schema", "event", "time", "feature", "command", "ok", "output"}


def test_a_model_refuses_a_field_it_does_not_have_or_a_wrong_verdict() -> None:
    with pytest.raises(ValueError, match="extra"):
        sample(ev.Merged, branch="x")
    with pytest.raises(ValueError, match="verdict"):
        sample(ev.FeatureVerdict, verdict="maybe")


def test_the_events_schema_command_prints_a_schema_of_every_event_that_judges_lines() -> None:
    result = CliRunner().invoke(app, ["events-schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["discriminator"]["propertyName"] == "event"
    assert set(schema["discriminator"]["mapping"]) == set(NAMES.values())
    assert len(schema["oneOf"]) == len(MODELS)
    validator = _validator(schema)
    for model, fields in SAMPLES.items():
        validator.validate({"schema": 1, "event": NAMES[model], "time": 1.0, **fields})
    good = {"schema": 1, "event": "merged", "time": 1.0, **SAMPLES[ev.Merged]}
    for bad in ({**good, "feature": "five"}, {**good, "event": "merge"}, {**good, "extra": 1},
                {k: v for k, v in good.items() if k != "commit"}, {**good, "schema": 2},
                {k: v for k, v in good.items() if k != "time"}):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(bad)
