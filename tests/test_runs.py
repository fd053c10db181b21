"""Run records: the append-only event log, its readers, and `agentctl runs list | show`."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from agentctl.errors import AgentctlError, ExitCode
from agentctl.events import CallFinished, CallStarted, Handoff, RunFinished, RunStarted, RunWarning
from agentctl.providers.base import Usage
from agentctl.redact import REDACTED
from agentctl.runs import (
    RunExistsError,
    RunLockedError,
    RunRecorder,
    find_run,
    list_runs,
    load_run,
    lock_run,
    new_run_id,
)
from tests.conftest import RunCli, agent_text, make_team

RUN_ID = "20261122-153012-a1b2c3"
TASK = "Design the orders schema\nwith an audit trail"
SENTINEL = "sk-ant-api03-SENTINEL-never-in-a-record-0123456789"


class Clock:
    """A clock that moves one second each time it is read."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 11, 22, 15, 30, 12, tzinfo=dt.UTC)) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


def start_call(recorder: RunRecorder, call_id: str, parent: str | None, agent: str, mode: str) -> None:
    depth = 0 if parent is None else 1
    key, task = f"0/{agent}/{call_id}", f"work of {agent}"
    recorder.append(CallStarted(call_id, key, parent, agent, mode, "claude-sonnet-4-5", depth, "ab" * 32, task))


def finish_call(
    recorder: RunRecorder,
    call_id: str,
    usage: Usage,
    cost: float | None,
    status: str = "ok",
    error: dict[str, str] | None = None,
    output: str = "done",
) -> None:
    recorder.append(CallFinished(call_id, status, usage, cost, 1234, output, error))


def handoff(recorder: RunRecorder, target: str, to: str | None, status: str, call_id: str | None, **extra: Any) -> None:
    recorder.append(
        Handoff("c1", "db-architect", target, to, f"help from {target}", status, extra.get("reason"), call_id)
    )


def record_run(runs_dir: Path, run_id: str = RUN_ID, finished: bool = True, secrets: tuple[str, ...] = ()) -> Path:
    """A run as the engine writes it: a lead, two delegates (one fails), an unknown target, a continuation."""
    clock = Clock(dt.datetime.strptime(run_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=dt.UTC))
    recorder = RunRecorder.create(runs_dir, run_id, {"agent": "db-architect", "task": TASK}, clock, secrets)
    limits = {"max_depth": 2, "max_calls": 20, "max_tokens": None, "max_cost": None, "parallel": 4}
    meta = {"agent": "db-architect", "task": TASK, "provider": "scripted", "model_override": None}
    recorder.append(RunStarted(run_id, meta | {"limits": limits, "resumed_from": None}))
    start_call(recorder, "c1", None, "db-architect", "fresh")
    finish_call(recorder, "c1", Usage(1000, 200, 0, 500), 0.01)
    handoff(recorder, "API Designer", "api-designer", "dispatched", "c2")
    handoff(recorder, "Security Auditor", "security-auditor", "dispatched", "c3")
    handoff(recorder, "Data Wizard", None, "unknown", None, reason="not on the roster")
    start_call(recorder, "c2", "c1", "api-designer", "handoff")
    start_call(recorder, "c3", "c1", "security-auditor", "handoff")
    finish_call(recorder, "c2", Usage(800, 100, 400, 0), 0.005)
    handoff(recorder, "API Designer", "api-designer", "ok", "c2")
    error = {"kind": "rate_limit", "message": "429 from the API"}
    finish_call(recorder, "c3", Usage(), None, status="failed", error=error, output="")
    handoff(recorder, "Security Auditor", "security-auditor", "failed", "c3")
    start_call(recorder, "c4", "c1", "db-architect", "continuation")
    if finished:
        finish_call(recorder, "c4", Usage(1500, 300, 1000, 0), 0.02, output="The final schema")
        recorder.write_result("The final schema")
        recorder.append(RunFinished("ok", "The final schema", 0))
    recorder.close()
    return runs_dir / run_id


def events(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (directory / "events.jsonl").read_text("utf-8").splitlines()]


# Writing


def test_run_ids_sort_by_start_time_and_carry_the_callers_entropy() -> None:
    moment = dt.datetime(2026, 11, 22, 15, 30, 12, tzinfo=dt.UTC)
    assert new_run_id(moment, "a1b2c3") == RUN_ID
    paris = moment.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert new_run_id(paris, "a1b2c3") == RUN_ID  # the same instant, the same id, wherever it ran
    later = new_run_id(moment + dt.timedelta(seconds=1), "000000")
    assert sorted([later, RUN_ID]) == [RUN_ID, later]
    for bad in ("a1b2c", "A1B2C3", "../../x", "zzzzzz"):
        with pytest.raises(ValueError):
            new_run_id(moment, bad)


def test_create_writes_the_header_and_keeps_records_out_of_git(tmp_path: Path) -> None:
    runs_dir = tmp_path / ".agentctl" / "runs"
    recorder = RunRecorder.create(runs_dir, RUN_ID, {"agent": "db-architect", "run_id": "forged"}, Clock())
    recorder.close()
    header = json.loads((runs_dir / RUN_ID / "run.json").read_text("utf-8"))
    assert header["agent"] == "db-architect" and header["run_id"] == RUN_ID
    assert header["agentctl_version"] and header["created"].startswith("2026-11-22T15:30:13")
    assert (runs_dir.parent / ".gitignore").read_text("utf-8").splitlines()[-1] == "*"  # all of .agentctl/
    with pytest.raises(RunExistsError):
        RunRecorder.create(runs_dir, RUN_ID, {}, Clock())
    with pytest.raises(ValueError):
        RunRecorder.create(runs_dir, "../escape", {}, Clock())


def test_a_symlinked_runs_folder_is_refused(tmp_path: Path) -> None:
    """A repository can ship .agentctl/runs -> elsewhere: no record is written through it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / ".agentctl").mkdir()
    (tmp_path / ".agentctl" / "runs").symlink_to(outside, target_is_directory=True)
    with pytest.raises(AgentctlError, match="symlink"):
        RunRecorder.create(tmp_path / ".agentctl" / "runs", RUN_ID, {}, Clock())
    assert list(outside.iterdir()) == []


def test_an_existing_runs_folder_gets_no_gitignore(tmp_path: Path) -> None:
    # Its owner decides what git sees: they may have removed ours on purpose.
    (tmp_path / "runs").mkdir()
    RunRecorder.create(tmp_path / "runs", RUN_ID, {}, Clock()).close()
    assert not (tmp_path / "runs" / ".gitignore").exists()


def test_events_are_numbered_and_reopen_continues_the_numbering(tmp_path: Path) -> None:
    with RunRecorder.create(tmp_path, RUN_ID, {}, Clock()) as recorder:
        recorder.append(RunStarted(RUN_ID, {"message": "one", "seq": 99, "time": "forged"}))
        recorder.append(RunWarning("two"))
    recorder.close()  # twice is fine
    with pytest.raises(ValueError):
        recorder.append(RunWarning("after close"))
    with RunRecorder.reopen(tmp_path, RUN_ID, Clock()) as reopened:
        reopened.append(RunWarning("three"))
    written = events(tmp_path / RUN_ID)
    assert [event["seq"] for event in written] == [1, 2, 3]
    assert [event["message"] for event in written] == ["one", "two", "three"]
    assert list(written[0])[:3] == ["event", "seq", "time"] and written[0]["time"] != "forged"


def test_a_megabyte_output_is_one_line(tmp_path: Path) -> None:
    big = ("line of output\n" * 70_000)[:1_000_000]
    with RunRecorder.create(tmp_path, RUN_ID, {}, Clock()) as recorder:
        start_call(recorder, "c1", None, "db-architect", "fresh")
        finish_call(recorder, "c1", Usage(1, 2), 0.0, output=big)
        recorder.append(RunFinished("ok", big, 0))
    lines = (tmp_path / RUN_ID / "events.jsonl").read_bytes().split(b"\n")
    assert len(lines) == 4 and lines[-1] == b""
    assert load_run(tmp_path, RUN_ID).calls[0].output == big


def test_odd_values_are_recorded_not_raised(tmp_path: Path) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no")

    with RunRecorder.create(tmp_path, RUN_ID, {"path": Path("/x")}, Clock()) as recorder:
        odd = {"usage": Usage(3, 4), "path": Path("a/b"), "when": dt.date(2026, 1, 2), "nan": float("nan")}
        # run_started carries run.json's meta: the one event with values of any shape.
        recorder.append(
            RunStarted(RUN_ID, {"message": "odd", **odd, "tags": {"x"}, "bad": Unprintable(), 1: "int key"})
        )
    (event,) = events(tmp_path / RUN_ID)
    assert event["usage"] == Usage(3, 4).to_json() and event["path"] == "a/b" and event["when"] == "2026-01-02"
    assert event["nan"] is None and event["tags"] == ["x"] and event["1"] == "int key"
    assert event["bad"].startswith("<unprintable Unprintable")


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    # One recorder per run (its lock sees to that), written from many threads: the engine's case.
    recorder = RunRecorder.create(tmp_path, RUN_ID, {}, Clock())

    def write(letter: str) -> None:
        for _ in range(25):
            recorder.append(RunWarning(letter * 200_000))

    threads = [threading.Thread(target=write, args=(letter,)) for letter in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.close()
    written = events(tmp_path / RUN_ID)
    assert len(written) == 100 and all(len(set(event["message"])) == 1 for event in written)
    assert [event["seq"] for event in written] == list(range(1, 101))


def test_a_run_being_written_cannot_be_reopened_or_locked_until_it_closes(tmp_path: Path) -> None:
    recorder = RunRecorder.create(tmp_path, RUN_ID, {}, Clock())
    with pytest.raises(RunLockedError) as refused:
        RunRecorder.reopen(tmp_path, RUN_ID, Clock())
    assert f"run {RUN_ID} is still running (pid {os.getpid()}); wait for it or stop it" == refused.value.message
    assert refused.value.exit_code == ExitCode.USAGE and f"kill {os.getpid()}" in (refused.value.hint or "")
    with pytest.raises(RunLockedError):
        lock_run(tmp_path, RUN_ID)
    recorder.close()
    with lock_run(tmp_path, RUN_ID), pytest.raises(RunLockedError):  # free once the writer closed; now ours
        RunRecorder.reopen(tmp_path, RUN_ID, Clock())
    RunRecorder.reopen(tmp_path, RUN_ID, Clock()).close()


def test_a_symlink_or_fifo_planted_as_the_lock_is_never_written_through(tmp_path: Path) -> None:
    RunRecorder.create(tmp_path, RUN_ID, {}, Clock()).close()
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    (tmp_path / RUN_ID / "lock").unlink()
    (tmp_path / RUN_ID / "lock").symlink_to(outside)
    with pytest.raises(AgentctlError, match="cannot write the run record"):
        RunRecorder.reopen(tmp_path, RUN_ID, Clock())
    (tmp_path / RUN_ID / "lock").unlink()
    os.mkfifo(tmp_path / RUN_ID / "lock")
    with pytest.raises(AgentctlError, match="not a regular file"):
        lock_run(tmp_path, RUN_ID)
    assert outside.read_text() == "precious\n"


def test_the_api_key_never_reaches_a_record(tmp_path: Path) -> None:
    secrets = (SENTINEL, "short", "")  # too short to redact safely: ignored, not an error
    meta = {"task": f"use {SENTINEL}", "env": {"ANTHROPIC_API_KEY": SENTINEL}}
    with RunRecorder.create(tmp_path, RUN_ID, meta, Clock(), secrets) as recorder:
        start_call(recorder, "c1", None, "db-architect", "fresh")
        error = {"kind": "auth", "message": f"invalid x-api-key: {SENTINEL}"}
        finish_call(recorder, "c1", Usage(), None, "failed", error, output=f"echo {SENTINEL}\nand 'short' stays")
        recorder.append(RunWarning(f'quoted\n{SENTINEL}"', call_id=SENTINEL))
        recorder.append(RunStarted(RUN_ID, {SENTINEL: "as a key"}))
        recorder.write_result(f"result with {SENTINEL}")
    with RunRecorder.reopen(tmp_path, RUN_ID, Clock(), [SENTINEL]) as reopened:
        reopened.append(RunFinished("failed", SENTINEL, 4))
    for path in (tmp_path / RUN_ID).iterdir():
        assert SENTINEL.encode() not in path.read_bytes(), path.name
    record = load_run(tmp_path, RUN_ID)
    assert record.calls[0].error == {"kind": "auth", "message": f"invalid x-api-key: {REDACTED}"}
    assert record.calls[0].output == f"echo {REDACTED}\nand 'short' stays" and record.result == REDACTED
    assert record.problems == []


# Reading


def test_a_line_cut_by_a_crash_is_a_problem_and_reopen_starts_a_fresh_line(tmp_path: Path) -> None:
    directory = record_run(tmp_path, finished=False)
    with (directory / "events.jsonl").open("ab") as log:
        log.write(b'{"event":"call_finished","call_id":"c4","sta')
    record = load_run(tmp_path, RUN_ID)
    assert record.problems == ["events.jsonl line 14: cut short"]
    assert [call.id for call in record.calls] == ["c1", "c2", "c3", "c4"] and record.calls[3].status == "running"
    with RunRecorder.reopen(tmp_path, RUN_ID, Clock()) as recorder:
        recorder.append(RunFinished("interrupted", None, 130))
    record = load_run(tmp_path, RUN_ID)
    assert record.status == "interrupted" and record.problems == ["events.jsonl line 14: not valid JSON"]
    last = (tmp_path / RUN_ID / "events.jsonl").read_text("utf-8").splitlines()[-1]
    assert json.loads(last)["seq"] == 14  # 13 whole events before the cut one


def test_damaged_files_are_problems_never_exceptions(tmp_path: Path) -> None:
    directory = tmp_path / RUN_ID
    directory.mkdir()
    (directory / "run.json").write_text("[1]", "utf-8")
    lines = [b'"a string"', b"\xff\xfe", b'{"event":"call_finished","call_id":"c9"}', b'{"event":"from-the-future"}']
    (directory / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    record = load_run(tmp_path, RUN_ID)
    assert record.problems == [
        "run.json is not a JSON object",
        "events.jsonl line 1: not an event",
        "events.jsonl line 2: not valid JSON",
        "events.jsonl line 3: call_finished for a call that never started: 'c9'",
    ]
    assert record.status == "incomplete" and record.calls == []


def test_a_run_without_run_finished_is_incomplete(tmp_path: Path) -> None:
    record_run(tmp_path, finished=False)
    record = load_run(tmp_path, RUN_ID)
    assert record.status == "incomplete" and record.result is None and record.finished is None
    assert record.calls[-1].status == "running" and record.problems == []


def test_completed_calls_are_what_a_resume_reuses(tmp_path: Path) -> None:
    record_run(tmp_path, finished=False)
    completed = load_run(tmp_path, RUN_ID).completed_calls()
    assert sorted(completed) == ["0/api-designer/c2", "0/db-architect/c1"]  # not the failed c3, not running c4
    assert completed["0/db-architect/c1"].output == "done"
    assert completed["0/db-architect/c1"].usage == Usage(1000, 200, 0, 500)


def test_to_json_is_the_dispatch_contract(tmp_path: Path) -> None:
    record_run(tmp_path)
    data = load_run(tmp_path, RUN_ID).to_json()
    contract = {"run_id", "status", "agent", "result", "calls", "handoffs", "total"}
    assert contract <= set(data) and data["status"] == "ok" and data["agent"] == "db-architect"
    call_keys = {"id", "parent", "agent", "mode", "model", "usage", "cost_usd", "latency_ms", "status"}
    assert all(call_keys <= set(call) for call in data["calls"])
    usage_keys = {"input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"}
    assert all(set(call["usage"]) == usage_keys for call in data["calls"])
    assert all({"from", "to", "task", "status", "call_id"} <= set(item) for item in data["handoffs"])
    assert [(h["to"], h["status"], h["call_id"]) for h in data["handoffs"]] == [
        ("api-designer", "ok", "c2"),
        ("security-auditor", "failed", "c3"),
        (None, "unknown", None),
    ]
    assert {"cost_usd", "input_tokens", "output_tokens"} <= set(data["total"])
    assert data["total"]["cost_usd"] == 0.035 and data["total"]["input_tokens"] == 3300
    assert data["total"]["cost_complete"] is True and data["result"] == "The final schema"
    assert json.loads(json.dumps(data)) == data


def test_totals_count_unknown_prices_and_replays_honestly(tmp_path: Path) -> None:
    with RunRecorder.create(tmp_path, RUN_ID, {}, Clock()) as recorder:
        for call_id, agent in (("c1", "lead"), ("c2", "helper"), ("c3", "helper")):
            start_call(recorder, call_id, None, agent, "fresh")
        finish_call(recorder, "c1", Usage(100, 10), 0.5)
        finish_call(recorder, "c2", Usage(100, 10), None)  # a model without a price
        finish_call(recorder, "c3", Usage(100, 10), 0.25, status="replayed")  # spent by an earlier run
    record = load_run(tmp_path, RUN_ID)
    assert record.total() | {"cache_read_input_tokens": 0} == {
        "cost_usd": 0.5,
        "input_tokens": 200,
        "output_tokens": 20,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cost_complete": False,
    }
    lead, helper = record.by_agent()
    assert (lead.agent, lead.calls, lead.cost_usd, lead.cost_complete) == ("lead", 1, 0.5, True)
    assert (helper.agent, helper.calls, helper.cost_usd, helper.cost_complete) == ("helper", 1, None, False)


def test_list_runs_newest_first_from_the_summary_or_the_log(tmp_path: Path) -> None:
    assert list_runs(tmp_path / "absent") == []
    ids = ["20261122-153012-a1b2c3", "20261123-090000-ffffff", "20261121-235959-000000"]
    for run_id in ids:
        record_run(tmp_path, run_id)
    (tmp_path / ".hidden").mkdir()
    runs = list_runs(tmp_path)
    assert [run.run_id for run in runs] == sorted(ids, reverse=True)
    assert (runs[0].status, runs[0].calls, runs[0].cost_usd, runs[0].task) == (
        "ok",
        4,
        0.035,
        "Design the orders schema",
    )
    assert [run.run_id for run in list_runs(tmp_path, limit=1)] == ["20261123-090000-ffffff"]
    # A resumed (or killed) run has grown past its summary: the log is read again.
    with RunRecorder.reopen(tmp_path, ids[1], Clock()) as recorder:
        recorder.append(RunStarted(ids[1], {"agent": "db-architect", "task": TASK}))
    assert list_runs(tmp_path, limit=1)[0].status == "incomplete"


def test_find_run_by_id_prefix_or_last(tmp_path: Path) -> None:
    with pytest.raises(AgentctlError, match="no runs yet"):
        find_run(tmp_path, "last")
    for run_id in ("20261122-153012-a1b2c3", "20261122-153012-a1b2c4", "20261122-160000-000000"):
        record_run(tmp_path, run_id)
    assert find_run(tmp_path, "last") == find_run(tmp_path, "latest") == "20261122-160000-000000"
    assert find_run(tmp_path, "20261122-16") == "20261122-160000-000000"
    assert find_run(tmp_path, "20261122-153012-a1b2c3") == "20261122-153012-a1b2c3"
    with pytest.raises(AgentctlError) as ambiguous:
        find_run(tmp_path, "20261122-1530")
    assert "matches 2 runs: 20261122-153012-a1b2c4, 20261122-153012-a1b2c3" in ambiguous.value.message
    for wanted in ("nope", "", "../etc"):
        with pytest.raises(AgentctlError) as missing:
            find_run(tmp_path, wanted)
        assert missing.value.exit_code == ExitCode.USAGE and missing.value.hint == "agentctl runs list shows the runs"


def test_load_run_of_a_missing_run_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    for run_id in ("20990101-000000-000000", "../outside", ".", ""):
        with pytest.raises(AgentctlError) as missing:
            load_run(tmp_path / "runs", run_id)
        assert missing.value.exit_code == 2 and "runs list" in (missing.value.hint or "")


# The commands


@pytest.fixture
def team(tmp_path: Path) -> Path:
    return make_team(tmp_path, {"db-architect.md": agent_text("db-architect")})


def test_runs_list_with_no_runs(team: Path, cli: RunCli) -> None:
    text = cli("runs", "list")
    assert text.exit_code == 0 and "no runs yet in .agentctl/runs" in text.stdout
    assert cli("runs", "list", "--format", "json").json() == {"version": 1, "runs": []}


def test_runs_list_table_and_json(team: Path, cli: RunCli) -> None:
    record_run(team / ".agentctl" / "runs", "20261122-153012-a1b2c3")
    record_run(team / ".agentctl" / "runs", "20261123-090000-ffffff", finished=False)
    text = cli("runs", "list")
    assert text.exit_code == 0, text.stderr
    header, newest, oldest = text.stdout.splitlines()
    assert header.split() == ["id", "when", "agent", "status", "calls", "tokens", "cost", "task"]
    assert newest.startswith("20261123-090000-ffffff  2026-11-23 09:00") and "incomplete" in newest
    assert "ok" in oldest.split() and "$0.0350" in oldest and "5.8k" in oldest and "Design the orders schema" in oldest
    rows = cli("runs", "list", "--format", "json", "--limit", "1").json()["runs"]
    assert [row["run_id"] for row in rows] == ["20261123-090000-ffffff"]


def test_runs_show_draws_the_tree_and_the_totals(team: Path, cli: RunCli) -> None:
    record_run(team / ".agentctl" / "runs")
    result = cli("runs", "show", "last")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"run {RUN_ID}" and "  status       ok (exit 0)" in lines
    assert "  task         Design the orders schema" in lines and "               with an audit trail" in lines
    calls = [
        line.split("  ")[0]
        for line in lines
        if line.lstrip("├└─ ").startswith("c") and line != lines[0] and not line.startswith("call ")
    ]
    assert calls[:4] == ["c1 db-architect", "├─ c2 api-designer", "├─ c3 security-auditor", "└─ c4 db-architect"]
    assert any("failed (rate_limit)" in line for line in lines)
    assert "c3 security-auditor failed: rate_limit: 429 from the API" in lines
    assert any(line.startswith("'Data Wizard'") or "'Data Wizard'" in line for line in lines)
    per_agent = {line.split()[0]: line.split() for line in lines if line.split()[:1] in (["db-architect"], ["total"])}
    assert per_agent["db-architect"][1:4] == ["2", "2,500", "500"] and per_agent["db-architect"][-1] == "$0.0300"
    assert per_agent["total"][1:3] == ["4", "3,300"] and per_agent["total"][-1] == "$0.0350"
    assert lines[-2:] == ["The final schema", f"(saved as .agentctl/runs/{RUN_ID}/result.md)"]


def test_runs_show_json_is_the_record(team: Path, cli: RunCli) -> None:
    runs_dir = record_run(team / ".agentctl" / "runs").parent
    result = cli("runs", "show", RUN_ID[:12], "--format", "json")
    assert result.exit_code == 0 and result.json() == {"version": 1} | load_run(runs_dir, RUN_ID).to_json()


def test_runs_show_of_an_incomplete_run(team: Path, cli: RunCli) -> None:
    record_run(team / ".agentctl" / "runs", finished=False)
    result = cli("runs", "show", RUN_ID)
    assert "incomplete: no run_finished event" in result.stdout and result.stdout.rstrip().endswith("no result")
    assert "running" in result.stdout


@pytest.mark.parametrize("wanted", ["nope", "20261122", "../.."])
def test_runs_show_of_a_bad_id_exits_2(team: Path, cli: RunCli, wanted: str) -> None:
    record_run(team / ".agentctl" / "runs", "20261122-153012-a1b2c3")
    record_run(team / ".agentctl" / "runs", "20261122-153012-a1b2c4")
    result = cli("runs", "show", wanted)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and "\nhint: " in result.stderr


@pytest.mark.parametrize(
    "usage", ['{"input_tokens": 1e400}', '{"input_tokens": "12"}', '{"input_tokens": -3}', '"lots"']
)
def test_a_damaged_usage_in_a_record_is_a_problem_not_a_crash(tmp_path: Path, usage: str) -> None:
    """A repository's own .agentctl/ is outside data: a count that is not a count is reported."""
    with RunRecorder.create(tmp_path, RUN_ID, {"agent": "a", "task": "t"}, Clock()) as recorder:
        recorder.append(CallStarted("c1", None, None, "a", "fresh", None, 0, None, None))
    log = tmp_path / RUN_ID / "events.jsonl"
    with log.open("a") as stream:
        stream.write(f'{{"event": "call_finished", "call_id": "c1", "status": "ok", "usage": {usage}}}\n')
    record = load_run(tmp_path, RUN_ID)
    assert record.calls[0].usage == Usage() and any("usage is not a set of token counts" in p for p in record.problems)
    assert list_runs(tmp_path)[0].run_id == RUN_ID
