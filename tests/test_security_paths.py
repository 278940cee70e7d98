"""`decide_path`, `load_security_config` and `describe_policy`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from agent.errors import UsageError
from agent.security import (
    PolicyContext,
    SecurityConfig,
    decide,
    decide_path,
    describe_policy,
    load_security_config,
)

Action = Literal["read", "write", "edit"]


@pytest.fixture
def ctx(tmp_path: Path) -> PolicyContext:
    project, home, outside = tmp_path / "proj", tmp_path / "home", tmp_path / "outside"
    for directory in (project / "src", project / ".git", home / ".ssh", home / ".aws", outside):
        directory.mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("secret")
    (project / "escape").symlink_to(outside)
    (project / "keys").symlink_to(home / ".ssh")
    (project / "src" / "link.py").symlink_to(outside / "real.py")
    return PolicyContext(project_dir=project, home=home)


# (path, action, allowed, rule); "{p}" is the project dir, "{o}" the outside dir
PATH_CASES: list[tuple[str, Action, bool, str]] = [
    ("src/app.py", "write", True, "path.inside"),
    ("src/app.py", "edit", True, "path.inside"),
    ("{p}/src/new/module.py", "write", True, "path.inside"),
    ("./README.md", "edit", True, "path.inside"),
    (".gitignore", "edit", True, "path.inside"),
    ("src/../main.py", "write", True, "path.inside"),
    ("/etc/passwd", "write", False, "path.outside"),
    ("../x.py", "write", False, "path.outside"),
    ("src/../../x.py", "edit", False, "path.outside"),
    ("~/.bashrc", "edit", False, "path.outside"),
    ("{o}/file.txt", "write", False, "path.outside"),
    ("escape/file.txt", "write", False, "path.symlink"),
    ("src/link.py", "edit", False, "path.symlink"),
    ("escape/../x", "write", False, "path"),
    ("opencode.json", "edit", False, "path.protected"),
    ("opencode.jsonc", "write", False, "path.protected"),
    ("autocode.toml", "edit", False, "path.protected"),
    (".git/config", "write", False, "path.protected"),
    (".git/hooks/pre-commit", "write", False, "path.protected"),
    ("vendor/lib/.git/HEAD", "edit", False, "path.protected"),
    (".autocode/state.json", "write", False, "path.protected"),
    (".opencode/agent/build.md", "edit", False, "path.protected"),
    ("src/app.py", "read", True, "path.read"),
    ("/etc/os-release", "read", True, "path.read"),
    ("{o}/notes.txt", "read", True, "path.read"),
    ("opencode.json", "read", True, "path.read"),
    ("~/.ssh/id_rsa", "read", False, "path.credentials"),
    ("~/.aws/credentials", "read", False, "path.credentials"),
    ("~/.config/opencode/opencode.json", "read", False, "path.credentials"),
    ("~/.local/share/opencode/auth.json", "read", False, "path.credentials"),
    ("keys/id_rsa", "read", False, "path.credentials"),
]


@pytest.mark.parametrize(("path", "action", "allowed", "rule"), PATH_CASES)
def test_decide_path(path: str, action: Action, allowed: bool, rule: str, ctx: PolicyContext) -> None:
    outside = ctx.project_dir.parent / "outside"
    decision = decide_path(path.format(p=ctx.project_dir, o=outside), ctx, action)
    assert decision.allowed is allowed, decision.reason
    assert rule in decision.rule, decision.rule
    assert decision.reason.strip()
    if not allowed:
        assert len(decision.reason.split()) >= 4


def test_credentials_of_the_real_home_are_found_through_the_context(ctx: PolicyContext) -> None:
    credentials = str(ctx.effective_home / ".ssh" / "id_rsa")
    assert not decide_path(credentials, ctx, "read").allowed
    assert not decide(f"cat {credentials}", ctx).allowed


def test_paths_resolve_against_cwd(ctx: PolicyContext) -> None:
    in_src = ctx.model_copy(update={"cwd": ctx.project_dir / "src"})
    assert decide_path("../main.py", in_src, "write").allowed
    assert not decide_path("../../main.py", in_src, "write").allowed


def write_toml(project: Path, text: str) -> Path:
    project.mkdir(parents=True, exist_ok=True)
    (project / "autocode.toml").write_text(text)
    return project


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_security_config(tmp_path) == SecurityConfig()


def test_security_table_is_merged_over_defaults(tmp_path: Path) -> None:
    project = write_toml(
        tmp_path,
        '[build]\nmodel = "x"\n\n[security]\nallow = ["docker"]\nallow_network = true\ninline_code = "never"\n',
    )
    config = load_security_config(project)
    assert config.allow == ["docker"]
    assert config.allow_network is True
    assert config.inline_code == "never"
    assert config.allow_git_push is False
    assert config.dev_server_names == SecurityConfig().dev_server_names


@pytest.mark.parametrize(
    "text",
    [
        "[security\nallow = 1",
        '[security]\nallow = "docker"\n',
        "[security]\nallow_netwrok = true\n",
        '[security]\ninline_code = "sometimes"\n',
        'security = "on"\n',
    ],
)
def test_bad_config_raises_usage_error(tmp_path: Path, text: str) -> None:
    project = write_toml(tmp_path, text)
    with pytest.raises(UsageError) as raised:
        load_security_config(project)
    message = str(raised.value)
    assert "autocode.toml" in message
    assert "\n" not in message


def test_deny_wins_over_allow_in_loaded_config(tmp_path: Path) -> None:
    project = write_toml(tmp_path / "proj", '[security]\nallow = ["docker"]\ndeny = ["docker", "git"]\n')
    config = load_security_config(project)
    ctx = PolicyContext(project_dir=project, config=config)
    for command in ("docker ps", "git status", "timeout 5 git status"):
        decision = decide(command, ctx)
        assert not decision.allowed
        assert decision.rule == "deny.config"
        assert "autocode.toml" in decision.reason


def test_describe_policy_reflects_the_config() -> None:
    config = SecurityConfig(allow=["docker"], deny=["git"], allow_git_push=True)
    described = describe_policy(config)
    allowed = described["allow"]
    assert isinstance(allowed, list)
    assert "docker" in allowed and "ls" in allowed and "git" not in allowed
    assert described["deny"] == ["git"]
    assert described["allow_git_push"] is True
    assert described["inline_code"] == "project"
    always = described["always_denied"]
    assert isinstance(always, dict) and "sudo" in always
    settings = described["settings"]
    assert isinstance(settings, dict)
    assert set(settings) == set(SecurityConfig.model_fields)
    assert all(isinstance(text, str) and text for text in settings.values())


def test_config_fields_are_documented() -> None:
    for name, field in SecurityConfig.model_fields.items():
        assert field.description, name
        assert "\n" not in field.description, name


def test_relative_read_inside_a_credential_store_is_denied(ctx: PolicyContext) -> None:
    in_ssh = ctx.model_copy(update={"cwd": ctx.effective_home / ".ssh"})
    decision = decide_path("id_rsa", in_ssh, "read")
    assert not decision.allowed
    assert decision.rule == "path.credentials"
