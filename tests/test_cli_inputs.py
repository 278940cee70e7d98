"""Bad input: one clear line on stderr, a non-zero exit, and nothing recorded destroyed."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.state import atomic_write


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(("content", "message"), [
    (b"", "is empty"),
    (b"   \n\t\n", "is empty"),
    (b"\x00\x01\x02binary", "is binary"),
    (b"\xff\xfe\xfa not utf8", "not UTF-8"),
    (b"x" * (600 * 1024), "KiB"),
])
def test_bad_specs_are_one_line_errors(tmp_path: Path, content: bytes, message: str) -> None:
    spec = tmp_path / "spec.txt"
    spec.write_bytes(content)
    code, out = _run("build", "-p", str(tmp_path / "p"), "--model", "a/b", "--spec", str(spec))
    assert code == 2
    assert message in out and len(out.strip().splitlines()) == 1


@pytest.mark.parametrize("model", ["nomodel", "/x", "a/", "a b/c", "a/b c"])
def test_bad_model_strings(tmp_path: Path, model: str) -> None:
    spec = tmp_path / "spec.txt"
    spec.write_text("an app")
    code, out = _run("build", "-p", str(tmp_path / "p"), "--model", model, "--spec", str(spec))
    assert code == 2 and "bad model" in out


def test_empty_model_is_no_model(tmp_path: Path) -> None:
    code, out = _run("build", "-p", str(tmp_path / "p"), "--model", "")
    assert code == 2 and "no model" in out


def test_missing_spec(tmp_path: Path) -> None:
    code, out = _run("build", "-p", str(tmp_path / "p"), "--model", "a/b")
    assert code == 2 and "app_spec.txt does not exist" in out


def test_project_dir_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    spec = tmp_path / "spec.txt"
    spec.write_text("an app")
    code, out = _run("build", "-p", str(blocker / "p"), "--model", "a/b", "--spec", str(spec))
    assert code == 2 and "cannot create project directory" in out


def test_unanswering_server_url(tmp_path: Path) -> None:
    spec = tmp_path / "spec.txt"
    spec.write_text("an app")
    code, out = _run("build", "-p", str(tmp_path / "p"), "--model", "a/b", "--spec", str(spec),
                     "--server-url", "http://127.0.0.1:9")
    assert code == 6 and "does not answer" in out


def test_disk_full_while_writing_state_keeps_the_old_file(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    atomic_write(path, '{"old": true}')

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(path, '{"new": true}')
    assert path.read_text() == '{"old": true}'
    assert os.listdir(tmp_path) == ["state.json"]


def test_status_of_a_missing_directory(tmp_path: Path) -> None:
    code, out = _run("status", "-p", str(tmp_path / "nope"))
    assert code == 2 and "is not a directory" in out


def test_policy_check_jsonl_reads_commands_and_writes_verdicts(tmp_path: Path) -> None:
    import json

    lines = "\n".join(json.dumps({"command": c}) for c in ("ls -la", "sudo rm -rf /", "git push"))
    result = CliRunner().invoke(app, ["policy", "check", "-p", str(tmp_path), "--jsonl"], input=lines)
    assert result.exit_code == 0
    verdicts = [json.loads(line) for line in result.output.splitlines()]
    assert [(v["command"], v["allowed"]) for v in verdicts] == [
        ("ls -la", True), ("sudo rm -rf /", False), ("git push", False)]
    assert all(v["reason"] for v in verdicts)
    bad = CliRunner().invoke(app, ["policy", "check", "-p", str(tmp_path), "--jsonl"], input="not json\n")
    assert bad.exit_code == 2 and "stdin line 1" in bad.output


def test_policy_show_reflects_autocode_toml(tmp_path: Path) -> None:
    import json

    (tmp_path / "autocode.toml").write_text('[security]\ndeny = ["make"]\nallow_network = true\n')
    result = CliRunner().invoke(app, ["policy", "show", "-p", str(tmp_path)])
    assert result.exit_code == 0
    shown = json.loads(result.output)
    assert "make" in shown["deny"] and shown["allow_network"] is True
    (tmp_path / "autocode.toml").write_text("[security]\nallow = 3\n")
    result = CliRunner().invoke(app, ["policy", "show", "-p", str(tmp_path)])
    assert result.exit_code == 2
