"""What a new user meets first: one-line errors that say what is wrong, honest summaries."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.build_events import (
    BuildEvent,
    BuildStarted,
    CheckEvent,
    FeatureSkipped,
    FeatureStarted,
    ProviderBackoff,
    Resumed,
    ServerRestart,
    SessionFinished,
    Step,
    Stopped,
    WarningEvent,
)
from agent.cli import app
from agent.features import Feature, stalled_message
from agent.session import refusal
from agent.status import render_status
from tests.event_samples import sample


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _features(count: int, chain: bool) -> list[Feature]:
    return [Feature(category="functional", description=f"f{i}", steps=["works"],
                    depends_on=["1"] if chain and i else []) for i in range(count)]


def test_a_directory_as_spec_is_named_a_directory(tmp_path: Path) -> None:
    code, out = _run("build", "-p", str(tmp_path / "p"), "--model", "a/b", "--spec", str(tmp_path))
    assert code == 2 and "is a directory" in out and "does not exist" not in out


def test_report_into_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / ".autocode").mkdir()
    target = tmp_path / "no" / "such" / "report.html"
    code, out = _run("report", "-p", str(tmp_path), "-o", str(target))
    assert code == 2 and "does not exist" in out and str(tmp_path / "no" / "such") in out
    assert not (tmp_path / "no").exists()


def test_no_progress_names_the_features_tried_and_the_ones_blocked() -> None:
    message = stalled_message(_features(4, chain=True), set(), {0}, 3)
    assert message.startswith("4 features left: #1 not finished in 3 sessions;")
    assert "#2, #3, #4 wait for #1" in message
    one = stalled_message(_features(1, chain=False), set(), {0}, 1)
    assert one.startswith("1 feature left: #1 not finished in 1 session;")
    both = stalled_message(_features(2, chain=False), set(), {0, 1}, 2)
    assert "#1, #2 not finished in 2 sessions each" in both and "wait for" not in both


def test_refusal_reads_as_one_sentence() -> None:
    text = refusal("`sudo` is not allowed: no privilege escalation.")
    assert ".." not in text and "escalation. Do something else." in text


def test_status_does_not_repeat_the_stop_reason() -> None:
    info = {"initialized": True, "project": "p", "model": "m", "features_passing": 0,
            "features_total": 1, "sessions": 1, "interrupted_sessions": 1, "elapsed_s": 3.0,
            "cost_usd": 0.0, "denied": 0, "sandbox": "bwrap", "next_feature": None,
            "stop_reason": "interrupted", "stop_message": "interrupted: state saved", "last_verdicts": []}
    assert "interrupted: interrupted" not in render_status(info)


@pytest.mark.parametrize("command", [["status"], ["config", "show"], ["tournament"]])
def test_json_help_describes_the_commands_own_output(command: list[str]) -> None:
    code, out = _run(*command, "--help")
    words = " ".join(w for w in out.replace("│", " ").split())
    assert code == 0 and "one JSON document" in words and "events" not in words.split("--json")[1][:80]


def _live_output(events: list[BuildEvent]) -> str:
    import io

    from rich.console import Console

    from agent.ui.live import LiveView

    buffer = io.StringIO()
    view = LiveView(Console(file=buffer, force_terminal=True, width=120))
    for event in events:
        view.emit(event)
    view.close()
    return buffer.getvalue()


def test_the_live_view_ends_with_one_summary_panel_with_the_final_cost() -> None:
    out = _live_output([
        sample(BuildStarted, project="p", model="m/x", budget_usd=1.0, spent_usd=0.5),
        Resumed(passing=1, total=3, spent_usd=0.5, denied=2, sessions=3, interrupted=1, recovered_usd=0.01),
        FeatureStarted(feature=2, total=3, passing=1, description="Two", attempt=2, attempts=3),
        sample(Step, session="s", cost=0.1, total_usd=0.6),
        Stopped(reason="budget", message="budget reached", exit_code=3, passing=1, cost_usd=0.7),
        sample(Step, session="s", cost=0.1, total_usd=0.8),  # nothing after the end
    ])
    assert out.count("autocode stopped (exit 3)") == 1 and "$0.7000" in out.split("autocode stopped")[1]
    assert "resuming: 1/3 passing, $0.5000 spent" in out and "attempt 2/3" in out
    assert "$0.8000" not in out


def test_failed_check_shows_its_output_and_incidents_read_as_sentences() -> None:
    from agent.ui.reporters import describe

    line = describe(CheckEvent(feature=1, command="pytest", ok=False, output="a\nE assert 1 == 2\n1 failed"))
    assert line is not None and "FAILED" in line and "| E assert 1 == 2" in line and "| 1 failed" in line
    for event in [ProviderBackoff(seconds=15.0, failures=1, message="503"),
                  ServerRestart(attempt=1, reason="died"), FeatureSkipped(feature=1, attempts=3),
                  WarningEvent(message="careful")]:
        text = describe(event)
        assert text is not None and "=" not in text, text


def test_budget_warnings_say_when_nothing_caps_the_spend() -> None:
    from agent.cost import Limits
    from agent.runtime import ModelInfo, budget_warnings

    priced, unpriced = ModelInfo(model="a/b", price_in=3, price_out=15), ModelInfo(model="a/b")
    assert "UNLIMITED" in budget_warnings(Limits(), priced)[0]
    assert budget_warnings(Limits(max_budget_usd=5), priced) == []
    assert "CANNOT be enforced" in budget_warnings(Limits(max_budget_usd=5), unpriced)[0]
    assert budget_warnings(Limits(), ModelInfo(model="a/b", price_in=0, price_out=0)) == []


def test_project_dir_defaults_to_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = _run("status")
    assert code == 0 and f"{tmp_path}: not initialized yet" in out
    code, out = _run("logs")
    assert code == 2 and "no autocode build" in out


def test_piped_lines_carry_the_time_and_each_session_its_cost_and_cause() -> None:
    import io
    import re

    from agent.ui.reporters import PlainReporter

    stream = io.StringIO()
    reporter = PlainReporter(stream)
    reporter.emit(SessionFinished(session="s", feature=2, stop="max_turns", message="--max-turns 30 reached",
                                  turns=30, cost_usd=0.25, duration_s=61.2))
    line = stream.getvalue().strip()
    assert re.match(r"\d\d:\d\d:\d\d   session cut short \(max turns: --max-turns 30 reached\)", line), line
    assert line.endswith("30 turns, $0.2500, 61s")


def test_a_misspelt_config_key_gets_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / "autocode.toml").write_text("max_turn = 3\n")
    code, out = _run("config", "show", "-p", str(tmp_path))
    assert code == 2 and "unknown setting 'max_turn'; did you mean 'max_turns'?" in out


def test_build_help_groups_options_with_defaults_and_no_bool_metavar() -> None:
    code, out = _run("build", "-h")
    words = " ".join(w for w in out.replace("│", " ").split())
    assert code == 0 and "Limits (0 = no limit)" in words and "(default: 0 = UNLIMITED)" in words
    assert "--free-only Stop if any step costs money" in words and "--json Build events" in words
    code, out = _run("build", "-p", ".", "--model", "")
    assert code == 2 and "AUTOCODE_MODEL" in out


def test_logs_follow_prints_records_as_they_arrive_until_the_build_stops(tmp_path: Path) -> None:
    import json
    import os

    from agent.ui.transcript import follow

    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text(json.dumps({"event": "text", "text": "from an earlier session"}) + "\n")
    new.write_text(json.dumps({"event": "text", "text": "first"}) + "\n")
    os.utime(old, (1_000, 1_000))
    os.utime(new, (2_000, 2_000))
    printed: list[str] = []
    ticks = iter([True, True, False])
    writes = iter([json.dumps({"event": "text", "text": "second"}) + "\n" + '{"event": "text", "te',
                   'xt": "third"}\n'])

    def later(_: float) -> None:  # the build writes (half a line at first) while `logs -f` waits
        with new.open("a") as fh:
            fh.write(next(writes))

    follow(tmp_path, lambda: next(ticks), printed.append, later)
    assert printed == ["agent: first", "agent: second", "agent: third"]


def test_status_says_when_no_build_is_running(tmp_path: Path) -> None:
    from agent.state import StateStore
    from agent.status import build_running

    store = StateStore(tmp_path)
    assert not build_running(tmp_path)
    with store.locked():
        assert build_running(tmp_path)
    assert not build_running(tmp_path)


def test_a_cancel_that_races_an_event_is_not_lost() -> None:
    import asyncio

    from agent.session import get_within

    async def race() -> str:
        queue: asyncio.Queue[str] = asyncio.Queue()
        task = asyncio.ensure_future(get_within(queue, 100))
        await asyncio.sleep(0)  # the task waits for an event
        queue.put_nowait("event")  # the event and Ctrl-C arrive in the same loop turn
        task.cancel()
        try:
            return await task
        except asyncio.CancelledError:
            return "cancelled"

    assert asyncio.run(race()) == "cancelled"
