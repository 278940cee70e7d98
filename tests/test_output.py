"""Structured output: where the answer may come from, the extractor, and the schema shapes."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import pytest
from pydantic import BaseModel

from agent.output import candidates_in_text, read_output, schema_adapter


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class Part(BaseModel):
    name: str
    count: int


class Report(BaseModel):
    title: str
    color: Color
    parts: list[Part]
    note: str | None = None


def test_the_last_fenced_block_comes_first() -> None:
    text = 'First:\n```json\n{"a": 1}\n```\nthen\n```\n{"a": 2}\n```\nbye {"a": 3}'
    assert candidates_in_text(text)[0].strip() == '{"a": 2}'


def test_bare_json_in_prose_largest_first_with_braces_in_strings() -> None:
    text = 'I found {"x": 1} and then the answer {"title": "a } tricky \\" {", "n": [1, {"k": 2}]} done.'
    found = candidates_in_text(text)
    assert found[0] == '{"title": "a } tricky \\" {", "n": [1, {"k": 2}]}'
    assert '{"x": 1}' in found


def test_arrays_and_garbage() -> None:
    assert candidates_in_text('result: [1, 2, {"a": "]"}] end')[0] == '[1, 2, {"a": "]"}]'
    assert candidates_in_text("no json here } ] at all {") == []


def test_nested_models_enums_optionals_validate_from_text(tmp_path: Path) -> None:
    text = ('Done. Here it is:\n```json\n{"title": "t", "color": "blue", '
            '"parts": [{"name": "a", "count": 2},],}\n```')
    value, source, problem = read_output(tmp_path / "out.json", text, schema_adapter(Report))
    assert problem == "" and source == "text"
    assert value == Report(title="t", color=Color.BLUE, parts=[Part(name="a", count=2)])


def test_a_list_schema_round_trips(tmp_path: Path) -> None:
    adapter = schema_adapter(list[Part])
    value, source, _ = read_output(tmp_path / "out.json", '[{"name": "x", "count": 1}, {"name": "y", '
                                                           '"count": 2}]', adapter)
    assert source == "text" and value == [Part(name="x", count=1), Part(name="y", count=2)]


def test_the_file_wins_when_both_are_valid(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text('{"name": "file", "count": 1}')
    value, source, _ = read_output(path, '{"name": "text", "count": 2}', schema_adapter(Part))
    assert source == "file" and value.name == "file"


def test_an_invalid_file_falls_back_to_valid_text(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text('{"name": "file"}')
    value, source, _ = read_output(path, '{"name": "text", "count": 2}', schema_adapter(Part))
    assert source == "text" and value.name == "text"


def test_the_problem_names_both_places(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text('{"name": 1}')
    value, source, problem = read_output(path, 'here: {"name": "x", "count": "many"}', schema_adapter(Part))
    assert value is None and source is None
    assert "out.json" in problem and "final message" in problem and "count" in problem
    _, _, nothing = read_output(tmp_path / "missing.json", "no answer", schema_adapter(Part))
    assert "no `missing.json` and no JSON" in nothing


@pytest.mark.parametrize("schema", [dict, int, "Part", Part(name="x", count=1), list[int], list, None])
def test_a_schema_that_is_not_a_model_is_a_type_error(schema: object) -> None:
    with pytest.raises(TypeError, match="pydantic model class"):
        schema_adapter(schema)
