"""Protected tests: the inventory diff and the restore from the last accepted commit."""

from __future__ import annotations

from pathlib import Path

from agent.evidence import Evidence, diff, is_protected, scan
from agent.git import Git


def test_protected_paths_cover_tests_and_test_configuration() -> None:
    for path in ("tests/test_app.py", "app_test.go", "src/x.test.js", "conftest.py", "pytest.ini",
                 "package.json", "init.sh", "sub/pyproject.toml", "tests/helpers.py", "vitest.config.ts",
                 "sitecustomize.py"):
        assert is_protected(path), path
    for path in ("app.py", "src/index.js", "README.md", "testing.txt"):
        assert not is_protected(path), path


def test_diff_names_deleted_emptied_changed_and_added(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_a():\n    assert 1\n")
    (tmp_path / "tests" / "test_b.py").write_text("def test_b():\n    assert 2\n")
    (tmp_path / "tests" / "test_c.py").write_text("def test_c():\n    assert 3\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.test.js").write_text("ignored")
    old = scan(tmp_path)
    assert "node_modules/x.test.js" not in old.files
    (tmp_path / "tests" / "test_a.py").unlink()
    (tmp_path / "tests" / "test_b.py").write_text("  \n")
    (tmp_path / "tests" / "test_c.py").write_text("def test_c():\n    assert True\n")
    (tmp_path / "tests" / "test_d.py").write_text("def test_d():\n    pass\n")
    found = diff(old, scan(tmp_path))
    assert found.deleted == ["tests/test_a.py"]
    assert found.emptied == ["tests/test_b.py"]
    assert found.changed == ["tests/test_c.py"]
    assert found.added == ["tests/test_d.py"]
    assert found.refused == ["tests/test_a.py", "tests/test_b.py"]
    assert "tests/test_a.py" in found.message() and "restored" in found.message()


def test_refused_files_are_restored_from_the_last_accepted_commit(tmp_path: Path) -> None:
    project, state = tmp_path / "p", tmp_path / "p" / ".autocode"
    project.mkdir()
    git = Git(project, state)
    git.init()
    git.ignore(".autocode/")
    accepted = "def test_a():\n    assert 1 + 1 == 2\n"
    (project / "test_a.py").write_text(accepted)
    (project / "pytest.ini").write_text("[pytest]\n")
    git.commit_all("accepted")
    evidence = Evidence(project, state, git.show)
    evidence.record()
    (project / "test_a.py").unlink()
    (project / "pytest.ini").write_text("")
    tampering = evidence.inspect()
    assert tampering.refused == ["pytest.ini", "test_a.py"]
    assert evidence.restore(tampering.refused) == ["pytest.ini", "test_a.py"]
    assert (project / "test_a.py").read_text() == accepted
    assert (project / "pytest.ini").read_text() == "[pytest]\n"
    assert evidence.inspect().refused == []


def test_a_file_never_committed_is_not_invented(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    git = Git(project, tmp_path / "state")
    git.init()
    (project / "a.txt").write_text("x")
    git.commit_all("first")
    assert git.show("test_missing.py") is None
    assert Evidence(project, tmp_path / "state", git.show).restore(["test_missing.py"]) == []
