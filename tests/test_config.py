from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_settings
from agent.errors import UsageError


def test_precedence_defaults_user_project_env_flags(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text('model = "u/m"\nmax_turns = 5\nidle_timeout = 10\nmax_budget_usd = 1.0\n')
    project = tmp_path / "p"
    project.mkdir()
    (project / "autocode.toml").write_text('max_turns = 7\nidle_timeout = 20\n[security]\nallow = ["x"]\n')
    env = {"AUTOCODE_IDLE_TIMEOUT": "30", "AUTOCODE_MAX_BUDGET_USD": "2.5", "HOME": "/x"}
    settings, sources = load_settings(project, {"max_budget_usd": 9.0, "model": None}, env, user)
    assert settings.model == "u/m" and sources["model"] == str(user)
    assert settings.max_turns == 7 and sources["max_turns"] == "autocode.toml"
    assert settings.idle_timeout == 30 and sources["idle_timeout"] == "env"
    assert settings.max_budget_usd == 9.0 and sources["max_budget_usd"] == "flag"
    assert settings.session_timeout == 0 and sources["session_timeout"] == "default"


def test_unknown_key_and_bad_values_name_the_source(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text("max_turnz = 5\n")
    with pytest.raises(UsageError, match="unknown setting 'max_turnz'"):
        load_settings(None, {}, {}, user)
    user.write_text("max_turns = -1\n")
    with pytest.raises(UsageError, match=r"max_turns in .*user.toml: "):
        load_settings(None, {}, {}, user)
    with pytest.raises(UsageError, match=r"^AUTOCODE_MAX_BUDGET_USD: "):
        load_settings(None, {}, {"AUTOCODE_MAX_BUDGET_USD": "lots"}, tmp_path / "none.toml")
    with pytest.raises(UsageError, match=r"^--max-turns: "):
        load_settings(None, {"max_turns": -1}, {}, tmp_path / "none.toml")
    user.write_text("model = [\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_settings(None, {}, {}, user)
