from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import UsageError
from agent.features import Feature
from agent.prompts import VARIABLES, PromptBook


def _coding_values() -> dict[str, object]:
    feature = Feature(category="functional", description="Add tasks", steps=["add one", "add two"])
    return {"project_dir": "/p", "passing": 1, "total": 4, "recent_commits": ["abc feat"], "notes": "",
            "dirty": False, "number": 2, "feature": feature, "last_failure": "", "test_cmd": "pytest"}


def test_builtins_validate_and_render_the_feature_verbatim() -> None:
    book = PromptBook()
    book.validate()
    text = book.render("coding", **_coding_values())
    assert "\nAdd tasks\n" in text and "1. add one" in text and "2. add two" in text
    assert "feature 2 of 4" in text


def test_missing_variable_is_an_error_not_a_blank() -> None:
    values = _coding_values()
    del values["feature"]
    with pytest.raises(UsageError, match="feature"):
        PromptBook().render("coding", **values)


def test_override_lookup_order_and_unknown_variable(tmp_path: Path) -> None:
    flag_dir, project_dir = tmp_path / "flag", tmp_path / "project"
    flag_dir.mkdir()
    project_dir.mkdir()
    (project_dir / "initializer.md").write_text("project {{ spec }}")
    (flag_dir / "initializer.md").write_text("flag {{ spec }}")
    assert PromptBook([flag_dir, project_dir]).render("initializer", spec="S", project_dir="/") == "flag S\n"
    assert PromptBook([project_dir]).render("initializer", spec="S", project_dir="/") == "project S\n"
    (project_dir / "coding.md").write_text("{{ feature.description }} {{ favourite_colour }}")
    with pytest.raises(UsageError, match="unknown variable 'favourite_colour'"):
        PromptBook([project_dir]).validate()


def test_every_template_has_a_builtin() -> None:
    book = PromptBook()
    for name in VARIABLES:
        assert book.locate(name).is_file()


@pytest.mark.parametrize("use", ["{{ feature.nme }}", "{% if dirty %}{{ feature.nme }}{% endif %}",
                                 "{{ feature['nme'] }}", "{% for s in feature.stepz %}{{ s }}{% endfor %}"])
def test_a_misspelt_attribute_is_caught_before_any_request(tmp_path: Path, use: str) -> None:
    builtin = PromptBook().source("coding")
    (tmp_path / "coding.md").write_text(builtin + "\n" + use + "\n")
    with pytest.raises(UsageError, match=r"line \d+: 'feature' has no attribute 'nme|stepz'"):
        PromptBook([tmp_path]).validate()


def test_real_fields_and_methods_of_the_feature_pass(tmp_path: Path) -> None:
    (tmp_path / "coding.md").write_text(PromptBook().source("coding")
                                        + "{{ feature.id }} {{ feature.depends_on }} {{ feature['verify'] }}\n")
    PromptBook([tmp_path]).validate()
