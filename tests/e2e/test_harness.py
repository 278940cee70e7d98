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


class Item(BaseModel):
    name: str
    size: int


def test_an_answer_in_the_final_text_needs_no_file_and_no_reprompt(scripted: ScriptedModel,
                                                                    project: Path) -> None:
    scripted.set({"scripts": [
        {"name": "fenced", "match": "^describe fenced", "steps": [
            {"tool": "bash", "args": {"command": "ls", "description": "look"}},
            {"text": 'Here is the summary:\n```json\n{"title": "repo", "files": 4,}\n```'}]},
        {"name": "bare", "match": "^describe bare", "steps": [
            {"text": 'The answer is {"title": "bare", "files": 1} as requested.'}]},
    ]})
    fenced = run("describe fenced", model="scripted/model-a", cwd=project, base_url=scripted.url,
                 schema=Summary)
    assert fenced.output == Summary(title="repo", files=4) and fenced.output_source == "text"
    bare = run("describe bare", model="scripted/model-a", cwd=project, base_url=scripted.url, schema=Summary)
    assert bare.output == Summary(title="bare", files=1) and bare.output_source == "text"
    by_script = [r["script"] for r in scripted.requests()]
    assert by_script.count("fenced") == 2 and by_script.count("bare") == 1  # no re-prompt


def test_the_file_wins_over_the_text_and_a_bad_inline_answer_is_reprompted(
        scripted: ScriptedModel, project: Path) -> None:
    scripted.set({"scripts": [
        {"name": "both", "match": "^answer both", "steps": [
            _write_output('{"title": "from file", "files": 7}'),
            {"text": '```json\n{"title": "from text", "files": 8}\n```'}]},
        {"name": "bad", "match": "^answer bad", "steps": [
            {"text": '```json\n{"title": "x", "files": "many"}\n```'},
            {"text": '```json\n{"title": "x", "files": 3}\n```'}]},
    ]})
    both = run("answer both", model="scripted/model-a", cwd=project, base_url=scripted.url, schema=Summary)
    assert both.output == Summary(title="from file", files=7) and both.output_source == "file"
    bad = run("answer bad", model="scripted/model-a", cwd=project, base_url=scripted.url, schema=Summary)
    assert bad.output == Summary(title="x", files=3) and bad.output_source == "text"
    bad_requests = [r for r in scripted.requests() if r["script"] == "bad"]
    assert len(bad_requests) == 2  # the answer, then one re-prompt that names the problem
    reprompt = bad_requests[-1]["last_user"]
    assert "files" in reprompt and "fenced block" in reprompt


def test_a_list_of_models_round_trips(scripted: ScriptedModel, project: Path) -> None:
    scripted.set({"scripts": [{"name": "list", "match": "^list", "steps": [
        {"text": '[{"name": "a", "size": 1}, {"name": "b", "size": 2}]'}]}]})
    result = run("list the files", model="scripted/model-a", cwd=project, base_url=scripted.url,
                 schema=list[Item])
    assert result.output == [Item(name="a", size=1), Item(name="b", size=2)]


def test_a_schema_that_is_not_a_model_fails_before_any_server(project: Path) -> None:
    with pytest.raises(TypeError, match="pydantic model class"):
        run("x", model="scripted/model-a", cwd=project, base_url="http://127.0.0.1:9/v1", schema=dict)
