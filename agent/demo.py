"""The offline demo: the bundled todo-CLI spec built by a *scripted* model through real OpenCode.

The scenario plays a competent agent: the initializer writes the feature list, ``init.sh`` and a
skeleton; each coding session writes the code and a pytest test for one feature, runs the tests,
marks the feature and leaves a note. autocode then verifies every mark by running the tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
DEMO_MODEL = "scripted/demo-coder"

FEATURES = [
    {"id": "add", "category": "functional", "description": "Add tasks with descriptions",
     "steps": ["python3 todo.py add 'buy milk' stores the task in todo.json",
               "the task starts as not done"],
     "verify": "python3 -m pytest -q tests/test_add.py", "passes": False},
    {"id": "list", "category": "functional", "description": "List all tasks with status",
     "steps": ["python3 todo.py list prints one numbered line per task", "done tasks show [x]"],
     "depends_on": ["add"], "verify": "python3 -m pytest -q tests/test_list.py", "passes": False},
    {"id": "done", "category": "functional", "description": "Mark tasks as completed",
     "steps": ["python3 todo.py done 1 marks task 1 as done", "an unknown number is an error"],
     "depends_on": ["add"], "verify": "python3 -m pytest -q tests/test_done.py", "passes": False},
    {"id": "delete", "category": "functional", "description": "Delete a task by its number",
     "steps": ["python3 todo.py delete 1 removes task 1", "the other tasks keep their order"],
     "depends_on": ["add"], "verify": "python3 -m pytest -q tests/test_delete.py", "passes": False},
]

_HEAD = '''"""A tiny todo list on the command line; tasks live in todo.json."""
import json
import sys
from pathlib import Path

STORE = Path("todo.json")


def load():
    return json.loads(STORE.read_text()) if STORE.exists() else []


def save(tasks):
    STORE.write_text(json.dumps(tasks, indent=2))


def add(text):
    tasks = load()
    tasks.append({"text": text, "done": False})
    save(tasks)
'''
_LIST = '''

def listing():
    return [f"{i}. [{'x' if t['done'] else ' '}] {t['text']}" for i, t in enumerate(load(), 1)]
'''
_DONE = '''

def done(number):
    tasks = load()
    if not 1 <= number <= len(tasks):
        raise SystemExit(f"no task {number}")
    tasks[number - 1]["done"] = True
    save(tasks)
'''
_DELETE = '''

def delete(number):
    tasks = load()
    if not 1 <= number <= len(tasks):
        raise SystemExit(f"no task {number}")
    del tasks[number - 1]
    save(tasks)
'''
_MAIN = '''

def main(argv):
    command, *rest = argv or ["list"]
    if command == "add":
        add(" ".join(rest))
    elif command == "list" and "listing" in globals():
        print("\\n".join(listing()))
    elif command in ("done", "delete") and command in globals():
        globals()[command](int(rest[0]))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
'''

_TESTS = {
    "add": '''import json
import subprocess
import sys


def test_add_stores_task(tmp_path):
    subprocess.run([sys.executable, str(__import__("pathlib").Path.cwd() / "todo.py"), "add", "buy milk"],
                   cwd=tmp_path, check=True)
    assert json.loads((tmp_path / "todo.json").read_text()) == [{"text": "buy milk", "done": False}]
''',
    "list": '''import subprocess
import sys
from pathlib import Path

TODO = str(Path.cwd() / "todo.py")


def test_list_shows_status(tmp_path):
    for text in ("a", "b"):
        subprocess.run([sys.executable, TODO, "add", text], cwd=tmp_path, check=True)
    out = subprocess.run([sys.executable, TODO, "list"], cwd=tmp_path, check=True,
                         capture_output=True, text=True).stdout
    assert out.splitlines() == ["1. [ ] a", "2. [ ] b"]
''',
    "done": '''import json
import subprocess
import sys
from pathlib import Path

TODO = str(Path.cwd() / "todo.py")


def test_done_marks_task(tmp_path):
    subprocess.run([sys.executable, TODO, "add", "a"], cwd=tmp_path, check=True)
    subprocess.run([sys.executable, TODO, "done", "1"], cwd=tmp_path, check=True)
    assert json.loads((tmp_path / "todo.json").read_text())[0]["done"] is True
    bad = subprocess.run([sys.executable, TODO, "done", "9"], cwd=tmp_path)
    assert bad.returncode != 0
''',
    "delete": '''import json
import subprocess
import sys
from pathlib import Path

TODO = str(Path.cwd() / "todo.py")


def test_delete_keeps_order(tmp_path):
    for text in ("a", "b", "c"):
        subprocess.run([sys.executable, TODO, "add", text], cwd=tmp_path, check=True)
    subprocess.run([sys.executable, TODO, "delete", "2"], cwd=tmp_path, check=True)
    assert [t["text"] for t in json.loads((tmp_path / "todo.json").read_text())] == ["a", "c"]
''',
}

_INIT_SH = """#!/usr/bin/env bash
# Prepare the todo CLI project (nothing to install beyond Python and pytest).
# autocode-test: python3 -m pytest -q
set -e
python3 --version
"""

_CODE_PARTS = [_LIST, _DONE, _DELETE]


def _code_for(upto: int) -> str:
    return _HEAD + "".join(_CODE_PARTS[:upto]) + _MAIN


def _mark(index: int) -> str:
    return ("python3 -c \"import json; p='feature_list.json'; d=json.load(open(p)); "
            f"d[{index}]['passes']=True; open(p,'w').write(json.dumps(d, indent=2))\"")


def _feature_script(index: int) -> dict[str, Any]:
    feature = FEATURES[index]
    fid = str(feature["id"])
    return {"name": f"feature-{fid}", "match": f"\n{feature['description']}\n", "steps": [
        {"text": f"Implementing: {feature['description']}.", "tool_calls": [
            {"tool": "write", "args": {"filePath": "{cwd}/todo.py", "content": _code_for(index)}},
            {"tool": "write", "args": {"filePath": f"{{cwd}}/tests/test_{fid}.py",
                                       "content": _TESTS[fid]}}]},
        {"tool": "bash", "args": {"command": f"python3 -m pytest -q tests/test_{fid}.py",
                                  "description": "run the feature's tests"}},
        {"tool": "bash", "args": {"command": _mark(index), "description": "mark the feature"}},
        {"tool": "bash", "args": {"command": f"echo '- {feature['description']}: done, tested' "
                                             ">> autocode-progress.md",
                                  "description": "leave a note"}},
        {"text": f"Feature '{feature['description']}' implemented and tested."},
    ]}


def initializer_script(features: list[dict[str, Any]], init_sh: str, files: dict[str, str] | None = None,
                       then: list[dict[str, Any]] | None = None, name: str = "initializer") -> dict[str, Any]:
    """A scripted initializer: one step writing the feature list, init.sh and ``files``, then
    ``then`` (more steps), then a closing text. Shared by the demo, the benchmark and the tests."""
    writes = [{"tool": "write", "args": {"filePath": "{cwd}/feature_list.json",
                                         "content": json.dumps(features, indent=2)}},
              {"tool": "write", "args": {"filePath": "{cwd}/init.sh", "content": init_sh}}]
    writes += [{"tool": "write", "args": {"filePath": f"{{cwd}}/{path}", "content": content}}
               for path, content in (files or {}).items()]
    return {"name": name, "match": "You are the initializer", "steps": [
        {"text": "Writing the feature list and skeleton.", "tool_calls": writes}, *(then or []),
        {"text": f"Initialized: {len(features)} features and init.sh."}]}


def demo_scenario() -> dict[str, Any]:
    init = initializer_script(
        FEATURES, _INIT_SH, {"tests/test_smoke.py": "def test_python_works():\n    assert 1 + 1 == 2\n"},
        then=[{"tool": "bash", "args": {"command": "chmod +x init.sh && ./init.sh",
                                        "description": "prepare the project"}}])
    return {"latency_s": 0.0, "usage": {"prompt_tokens": 1200, "completion_tokens": 80},
            "scripts": [init, *(_feature_script(i) for i in range(len(FEATURES)))],
            "fallback": {"text": "Nothing more to do."}}


def demo_spec() -> str:
    return (DATA / "demo_spec.txt").read_text(encoding="utf-8")


def parallel_scenario(count: int, latency_s: float = 0.0, shared: bool = False,
                      steps: int = 3) -> dict[str, Any]:
    """``count`` independent features for ``--workers`` (tests, bench): feature i writes
    ``feat_i.py``, appends its notes line and marks itself passing. With ``shared`` every feature
    also appends its line to ``shared.py``: the same lines of one file, so parallel work conflicts.
    ``steps`` model steps per feature (at least 3): the extra ones first look around the tree, as a
    real session reads before it writes."""
    if steps < 3:
        raise ValueError("a parallel feature takes at least 3 model steps")
    features = [{"category": "functional", "description": f"parallel feature {i + 1}", "steps": ["works"],
                 "verify": f"grep -q 'F{i + 1} = {i + 1}' {'shared' if shared else f'feat_{i + 1}'}.py",
                 "passes": False} for i in range(count)]
    init = initializer_script(features, "#!/bin/sh\n# autocode-test: python3 -c 'import sys'\n",
                              {"shared.py": "BASE = 0\n"} if shared else None, name="init")
    scripts = [init]
    for i in range(count):
        target = "shared.py" if shared else f"feat_{i + 1}.py"
        mark = (f"python3 -c \"import json; p='feature_list.json'; d=json.load(open(p)); "
                f"d[{i}]['passes']=True; open(p,'w').write(json.dumps(d))\"")
        match = f"\\(functional\\):\\s*parallel feature {i + 1}\\b"
        look = [{"tool": "bash", "args": {"command": "ls", "description": f"look {n + 1}"}}
                for n in range(steps - 3)]
        scripts.append({"name": f"feature-{i + 1}", "match": match, "steps": [
            *look,
            {"tool": "bash", "args": {"command": f"echo 'F{i + 1} = {i + 1}' >> {target}",
                                      "description": "write"}},
            {"tool": "bash", "args": {"command": f"echo '- feature {i + 1}: wrote {target}' >> "
                                                 f"autocode-progress.md && {mark}", "description": "mark"}},
            {"text": f"feature {i + 1} done"}]})
    return {"latency_s": latency_s, "usage": {"prompt_tokens": 1000, "completion_tokens": 50},
            "scripts": scripts, "fallback": {"text": "Nothing more to do."}}
