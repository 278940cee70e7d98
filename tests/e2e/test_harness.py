"""The Python API against the real server and the scripted model."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from agent.harness import Harness, run
from tests.e2e.conftest import ScriptedModel

pytestmark = pytest.mark.e2e


class Summary(BaseModel):
    title: str
    files: int


def _write_output(content: str) -> dict[str, object]:
    return {"tool": "write", "args": {"filePath": "{cwd}/.autocode-output.json", "content": content}}


def test_schema_output_is_validated_and_a_damaged_first_try_is_repaired(
        scripted: ScriptedModel, project: Path) -> None:
    scripted.set({"scripts": [
        {"name": "good", "match": "^summarize good", "steps": [
            # code fences and a trailing comma: repaired without a re-prompt
            _write_output('```json\n{"title": "ok", "files": 2,}\n```'), {"text": "written"}]},
        {"name": "bad", "match": "^summarize bad", "steps": [
            _write_output('{"title": "x", "files": "many"}'), {"text": "written"},
            _write_output('{"title": "x", "files": 3}'), {"text": "fixed"}]},
    ]})
    result = run("summarize good", model="scripted/model-a", cwd=project, base_url=scripted.url,
                 schema=Summary)
    assert result.output == Summary(title="ok", files=2)
    assert result.stop_reason == "completed" and result.models == ["scripted/model-a"]
    assert not (project / ".autocode-output.json").exists()

    result = run("summarize bad", model="scripted/model-a", cwd=project, base_url=scripted.url,
                 schema=Summary)
    assert result.output == Summary(title="x", files=3)
    fix_prompts = [r for r in scripted.requests() if r["script"] == "bad"]
    assert len(fix_prompts) == 4  # two steps, then the re-prompt with the validation error
    assert (project / ".autocode" / "runs" / f"{result.session_id}.json").exists()


def test_max_turns_and_budget_stop_a_run_with_their_reasons(scripted: ScriptedModel, project: Path) -> None:
    loop = [{"tool": "bash", "args": {"command": f"echo {i}", "description": "x"}} for i in range(30)]
    scripted.set({"usage": {"prompt_tokens": 1000, "completion_tokens": 100},
                  "scripts": [{"name": "loop", "match": "loop", "steps": loop}]})

    async def both() -> tuple[str, str, float, int]:
        async with Harness("scripted/model-a", base_url=scripted.url, price_in=2.0, price_out=10.0,
                           cwd=project) as harness:  # one server, two runs
            turns = await harness.arun("loop please", max_turns=3)
            budget = await harness.arun("loop again", max_turns=0, max_budget_usd=0.01)
            return turns.stop_reason, budget.stop_reason, budget.cost, turns.turns

    turns_reason, budget_reason, cost, turns = asyncio.run(both())
    assert (turns_reason, turns) == ("max_turns", 3)
    assert budget_reason == "budget"
    assert 0.01 <= cost < 0.01 + 0.003 + 1e-9


def test_env_reaches_the_agents_bash_and_files_changed_are_reported(
        scripted: ScriptedModel, project: Path) -> None:
    scripted.set({"scripts": [{"name": "env", "match": "env", "steps": [
        {"tool": "bash", "args": {"command": "echo \"$MY_TOKEN\" > env.txt", "description": "x"}},
        {"text": "done"}]}]})
    result = run("show env", model="scripted/model-a", cwd=project, base_url=scripted.url,
                 env={"MY_TOKEN": "tok-123"})
    assert (project / "env.txt").read_text().strip() == "tok-123"
    assert result.files_changed == ["env.txt"]
    assert json.loads((project / ".autocode" / "runs" / f"{result.session_id}.json").read_text())[
        "files_changed"] == ["env.txt"]


def test_project_dir_is_where_the_agent_works_and_cwd_gets_the_records(
        scripted: ScriptedModel, project: Path, tmp_path: Path) -> None:
    scripted.set({"scripts": [{"name": "w", "match": "write", "steps": [
        {"tool": "write", "args": {"filePath": "{cwd}/made.txt", "content": "x"}}, {"text": "ok"}]}]})
    records = tmp_path / "records"
    records.mkdir()
    result = run("write it", model="scripted/model-a", cwd=records, project_dir=project, base_url=scripted.url)
    assert (project / "made.txt").exists() and not (records / "made.txt").exists()
    assert (records / ".autocode" / "runs" / f"{result.session_id}.json").exists()
