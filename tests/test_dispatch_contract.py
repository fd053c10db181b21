"""The subprocess contract of `dispatch` and `runs`: what an orchestrator that runs agentctl as a
subprocess can count on. Signals close the record and exit 130 (SIGINT) or 143 (SIGTERM); a live run
cannot be resumed; with --format json every exit prints one JSON document; the dry run prints the
plan; memory notes written are said; the progress shows the run's caps and waits.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentctl.cli import main
from agentctl.cli.dispatch_cmd import CallTree, RunTally, progress_line
from agentctl.cli.env import Environment
from agentctl.errors import AgentctlError, Terminated
from agentctl.events import CallStarted, RunStarted, Waiting
from tests.conftest import REPO, RunCli, TTYStringIO
from tests.test_dispatch import events, handoffs, request, team, write_script

__all__ = ["team"]  # the fixture, shared with test_dispatch

SLOW = 60  # seconds a scripted reply takes: far longer than any test waits for it


def run_ids(root: Path) -> list[str]:
    runs = root / ".agentctl" / "runs"
    return sorted(path.name for path in runs.iterdir() if path.is_dir()) if runs.is_dir() else []


def start(root: Path, *args: str) -> subprocess.Popen[str]:
    """`python -m agentctl ARGS` in `root`, in a process of its own."""
    environ = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    environ.pop("ANTHROPIC_API_KEY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "agentctl", *args],
        cwd=root,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_calls(root: Path, count: int = 1, run_id: str | None = None) -> str:
    """The id of the run (the newest, or `run_id`) once `count` of its calls have started."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ids = [run_id] if run_id else run_ids(root)[-1:]
        for found in ids:
            log = root / ".agentctl" / "runs" / found / "events.jsonl"
            if log.is_file() and log.read_text().count('"call_started"') >= count:
                return found
        time.sleep(0.05)
    pytest.fail("the dispatch never started its calls")


def wait_for_runs(root: Path, count: int) -> list[str]:
    deadline = time.monotonic() + 30
    while len(run_ids(root)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return run_ids(root)


def slow_dispatch(root: Path, *args: str) -> subprocess.Popen[str]:
    script = {"lead": [{"text": "never seen", "delay": SLOW}], "*": []}
    return start(root, "dispatch", "lead", "Plan it", "--script", write_script(root, script), *args)


# Signals


def test_sigterm_closes_the_record_prints_it_and_exits_143(team: Path) -> None:
    process = slow_dispatch(team, "--format", "json")
    run_id = wait_for_calls(team)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr and f"agentctl runs resume {run_id}" in stderr
    assert stderr.count("terminated (SIGTERM)") == 1, stderr
    document = json.loads(stdout)
    assert document["version"] == 1 and document["run_id"] == run_id
    assert document["status"] == "interrupted" and document["reason"] == "terminated (SIGTERM)"
    assert document["exit_code"] == 143 and document["error"]["exit_code"] == 143
    assert document["error"]["message"] == "terminated (SIGTERM)"
    assert [call["status"] for call in document["calls"]] == ["interrupted"]
    recorded = events(team, run_id)
    assert recorded[-1]["event"] == "run_finished" and recorded[-1]["status"] == "interrupted"
    assert recorded[-1]["exit_code"] == 143 and recorded[-1]["reason"] == "terminated (SIGTERM)"


def test_sigterm_in_text_mode_prints_nothing_on_stdout_and_the_run_resumes(team: Path, cli: RunCli) -> None:
    process = slow_dispatch(team)
    run_id = wait_for_calls(team)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 143 and stdout == "" and "Traceback" not in stderr
    answer = write_script(team, {"lead": ["The plan."]})
    resumed = cli("runs", "resume", run_id, "--script", answer, "--format", "json", cwd=team)
    assert resumed.exit_code == 0, resumed.stderr
    assert resumed.json()["result"] == "The plan." and resumed.json()["resumed_from"] == run_id


def test_a_second_ctrl_c_still_exits_130_with_the_record(team: Path) -> None:
    process = slow_dispatch(team, "--format", "json")
    run_id = wait_for_calls(team)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    document = json.loads(stdout)
    assert document["version"] == 1 and document["error"]["exit_code"] == 130
    assert document["run_id"] == run_id


def test_a_second_sigterm_still_exits_143(team: Path) -> None:
    process = slow_dispatch(team, "--format", "json")
    wait_for_calls(team)
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr and json.loads(stdout)["error"]["exit_code"] == 143


def test_an_interruption_before_the_run_starts_is_the_boundarys_json_error(
    cli: RunCli, team: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for stop, code in ((KeyboardInterrupt(), 130), (Terminated(), 143)):

        def interrupted(*args: object, stop: BaseException = stop) -> None:
            raise stop

        monkeypatch.setattr("agentctl.dispatch._team_and_agent", interrupted)
        result = cli("dispatch", "lead", "x", "--script", write_script(team, {}), "--format", "json", cwd=team)
        assert result.exit_code == code
        assert result.json()["version"] == 1 and result.json()["error"]["exit_code"] == code
        assert "before the run started" in result.stderr and run_ids(team) == []


# A live run holds its lock


def test_a_live_run_cannot_be_resumed_and_a_killed_one_can_at_once(team: Path, cli: RunCli) -> None:
    process = slow_dispatch(team)
    try:
        run_id = wait_for_calls(team)
        answer = write_script(team, {"lead": ["The plan."]})
        refused = cli("runs", "resume", run_id, "--script", answer, "--format", "json", cwd=team)
    finally:
        process.kill()
        process.communicate(timeout=30)
    assert refused.exit_code == 2, refused.stderr
    message = f"run {run_id} is still running (pid {process.pid}); wait for it or stop it"
    assert refused.json()["error"]["message"] == message and f"error: {message}" in refused.stderr
    assert run_ids(team) == [run_id], "nothing was sent: no second run was even recorded"
    # SIGKILL left no run_finished; the kernel dropped the lock with the process.
    resumed = cli("runs", "resume", run_id, "--script", answer, "--format", "json", cwd=team)
    assert resumed.exit_code == 0, resumed.stderr
    assert [call["status"] for call in resumed.json()["calls"]] == ["ok"]


def test_two_resumes_of_one_run_cannot_run_at_once(team: Path, cli: RunCli) -> None:
    failed = cli(
        "dispatch",
        "lead",
        "Plan it",
        "--script",
        write_script(team, {"lead": [{"error": {"kind": "server"}}]}),
        cwd=team,
    )
    assert failed.exit_code == 4
    (run_id,) = run_ids(team)
    slow = write_script(team, {"lead": [{"text": "late", "delay": SLOW}]})
    first = start(team, "runs", "resume", run_id, "--script", slow)
    try:
        wait_for_calls(team, run_id=wait_for_runs(team, 2)[-1])
        second = cli("runs", "resume", run_id, "--script", slow, cwd=team)
    finally:
        first.kill()
        first.communicate(timeout=30)
    assert second.exit_code == 2 and f"run {run_id} is still running (pid {first.pid})" in second.stderr
    assert len(run_ids(team)) == 2, "the second resume recorded nothing and sent nothing"


# JSON on every exit


def json_document(result: Any) -> dict[str, Any]:
    document = json.loads(result.stdout)  # one document: json.loads refuses anything after it
    assert isinstance(document, dict) and document["version"] == 1, result.stdout
    return document


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["nobody", "x", "--script", "script.json"], 2, "no agent called 'nobody'"),
        (["lead", "x", "--script", "missing.yaml"], 2, "missing.yaml"),
        (["lead", "x", "--provider", "scripted"], 2, "--script"),
        (["lead", "x", "--provider", "nope"], 2, "is not one of 'anthropic', 'scripted'"),
        (["lead", "x"], 4, "API key"),
        (["lead", "--task-file", "empty.md"], 2, "the task is empty"),
        (["lead", "x", "--max-depth", "-1", "--script", "script.json"], 2, "--max-depth"),
        (["lead", "x", "--dry-run", "--script", "script.json", "--parallel", "0"], 2, "--parallel"),
    ],
    ids=["unknown-agent", "missing-script", "no-script", "bad-provider", "no-key", "empty-task", "depth", "dry-run"],
)
def test_errors_before_a_run_print_the_error_document(
    cli: RunCli, team: Path, args: list[str], code: int, says: str
) -> None:
    write_script(team, {"lead": ["never"]})
    (team / "empty.md").write_text("\n")
    result = cli("dispatch", *args, "--format", "json", cwd=team)
    assert result.exit_code == code, result.stderr
    document = json_document(result)
    assert set(document) == {"version", "error"} and document["error"]["exit_code"] == code
    assert says in document["error"]["message"] and says in result.stderr
    assert run_ids(team) == []


@pytest.mark.parametrize(
    ("script", "args", "code", "status", "message"),
    [
        ({"lead": [{"error": {"kind": "overloaded", "message": "529 overloaded"}}]}, [], 4, "failed", "529"),
        ({"lead": [{"error": {"kind": "auth", "message": "401 invalid x-api-key"}}]}, [], 4, "failed", "401"),
        (
            {
                "lead": [handoffs(request("DB Architect", "a")), "Done."],
                "db-architect": [{"error": {"kind": "server"}}],
            },
            [],
            1,
            "failed",
            "1 call(s) failed",
        ),
        ({"lead": [handoffs(request("DB Architect", "a")), "Done."]}, ["--max-calls", "1"], 5, "budget", "max-calls"),
        ({"lead": [{"text": "late", "delay": SLOW}]}, ["--timeout", "0.2"], 5, "budget", "--timeout 0.2 s"),
    ],
    ids=["first-call-fails", "auth", "a-call-failed", "budget", "timeout"],
)
def test_a_run_that_does_not_end_ok_prints_its_record_with_the_error(
    cli: RunCli, team: Path, script: dict[str, Any], args: list[str], code: int, status: str, message: str
) -> None:
    result = cli("dispatch", "lead", "x", "--script", write_script(team, script), "--format", "json", *args, cwd=team)
    assert result.exit_code == code, result.stderr
    document = json_document(result)
    assert document["status"] == status and document["exit_code"] == code and document["run_id"] in run_ids(team)
    error = document["error"]
    assert error["exit_code"] == code and message in error["message"] and error["hint"]


def test_a_run_that_ends_ok_has_no_error(cli: RunCli, team: Path) -> None:
    result = cli("dispatch", "lead", "x", "--script", write_script(team, {"lead": ["Hi."]}), "-f", "json", cwd=team)
    document = json_document(result)
    assert result.exit_code == 0 and document["status"] == "ok" and "error" not in document


def test_an_error_in_the_middle_of_a_run_prints_the_record_once(
    cli: RunCli, team: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(self: object, text: str) -> None:
        raise AgentctlError("cannot write the run record result.md: No space left on device", exit_code=1)

    monkeypatch.setattr("agentctl.runs.RunRecorder.write_result", full_disk)
    result = cli("dispatch", "lead", "x", "--script", write_script(team, {"lead": ["Hi."]}), "-f", "json", cwd=team)
    assert result.exit_code == 1
    document = json_document(result)
    assert document["run_id"] in run_ids(team) and document["status"] == "incomplete"
    assert "No space left" in document["error"]["message"] and document["error"]["exit_code"] == 1
    assert result.stderr.count("error: cannot write the run record") == 1


def test_runs_commands_print_json_on_every_exit(cli: RunCli, team: Path) -> None:
    no_runs = cli("runs", "resume", "last", "--format", "json", cwd=team)
    assert no_runs.exit_code == 2 and json_document(no_runs)["error"]["exit_code"] == 2
    done = cli("dispatch", "lead", "x", "--script", write_script(team, {"lead": ["Hi."]}), cwd=team)
    assert done.exit_code == 0
    (run_id,) = run_ids(team)
    for args, code in (
        (["runs", "show", "nope"], 2),
        (["runs", "resume", run_id], 2),  # finished ok: nothing to resume
        (["runs", "list", "-n", "0"], 2),
        (["runs", "show", run_id], 0),
        (["runs", "list"], 0),
    ):
        result = cli(*args, "--format", "json", cwd=team)
        assert result.exit_code == code, (args, result.stderr)
        document = json_document(result)
        assert ("error" in document) == (code != 0), args
    shown = json_document(cli("runs", "show", run_id, "--format", "json", cwd=team))
    assert shown["run_id"] == run_id and shown["status"] == "ok" and shown["memory"] == []


# The dry run


def test_the_dry_run_prints_the_plan_and_the_prompts_only_when_asked(cli: RunCli, team: Path) -> None:
    plan = cli("dispatch", "db-architect", "Design the index", "--dry-run", "--timeout", "90", cwd=team)
    assert plan.exit_code == 0, plan.stderr
    lines = plan.stdout.splitlines()
    assert lines[0].startswith("Dry run: nothing was sent.") and "=== system block" not in plan.stdout
    assert "You design schemas." not in plan.stdout, "no prompt text without --show-prompt"
    limits = next(line for line in lines if line.strip().startswith("limits:"))
    assert "calls 40" in limits and "cost $2" in limits and "time 1m30s" in limits, limits
    assert "--show-prompt" in plan.stdout and "agentctl prompt db-architect --task" in plan.stdout
    assert len(lines) < 15
    shown = cli("dispatch", "db-architect", "Design the index", "--dry-run", "--show-prompt", cwd=team)
    assert shown.stdout.startswith("=== system block `agent`") and "You design schemas." in shown.stdout
    assert "=== user turn (fresh) ===" in shown.stdout and shown.stdout.rstrip().endswith(lines[-1])
    data = cli("dispatch", "db-architect", "Design the index", "--dry-run", "--timeout", "90", "-f", "json", cwd=team)
    document = json_document(data)
    assert document["dry_run"] is True and "You design schemas." in document["first_call"]["system"][0]["text"]
    assert document["limits"]["timeout"] == 90 and document["limits"]["max_calls"] == 40


# Memory notes written are said


NOTE = (
    "## Memory Notes\n\n### words-start-index\n```markdown\n# Words start index\n\n"
    "**Applies when:** indexing the words table\n\nThe words endpoint filters by transcription_id.\n"
    "It orders by start_ms.\nA composite index serves both.\nBuild it concurrently.\n```\n"
    "\n### too-short\n```markdown\nx\n```\n"
)


def test_memory_notes_written_are_said_on_stderr_and_in_the_json(cli: RunCli, team: Path) -> None:
    result = cli(
        "dispatch",
        "lead",
        "x",
        "--script",
        write_script(team, {"lead": ["Answer.\n\n" + NOTE]}),
        "-f",
        "json",
        cwd=team,
    )
    assert result.exit_code == 0, result.stderr
    (saved,) = (team / "agents-memory" / "lead").glob("*-words-start-index.md")
    relative = saved.relative_to(team).as_posix()
    assert f"memory: wrote {relative}\n" in result.stderr
    assert 'memory: refused lead\'s note "too-short": ' in result.stderr
    notes = json_document(result)["memory"]
    assert [(n["agent"], n["status"], n["path"], n["call_id"]) for n in notes] == [
        ("lead", "saved", relative, "c1"),
        ("lead", "refused", None, "c1"),
    ]
    assert notes[1]["reason"] and notes[1]["topic"] == "too-short"
    shown = cli("runs", "show", "last", cwd=team).stdout
    assert f"memory saved: lead: {relative}" in shown and "memory refused: lead: 'too-short'" in shown


def test_the_live_view_prints_memory_notes_and_the_caps(team: Path) -> None:
    script = write_script(team, {"lead": ["Answer.\n\n" + NOTE]})
    stdout, stderr = TTYStringIO(False), TTYStringIO(True)
    environment = Environment(stdout=stdout, stderr=stderr, stdin=io.BytesIO(), cwd=team, environ={"PATH": "/bin"})
    try:
        code = main(["dispatch", "lead", "x", "--script", script], env=environment)
    finally:
        from agentctl.cli import env

        env.use(Environment())
    assert code == 0 and stdout.getvalue() == "Answer.\n"
    assert (
        "memory: wrote agents-memory/lead/" in stderr.getvalue() and "memory: refused lead's note" in stderr.getvalue()
    )
    assert "dispatch: calls 1/40, cost $" in stderr.getvalue()


# Caps and waits in the progress


def test_the_progress_lines_show_the_caps_and_the_time_left(cli: RunCli, team: Path) -> None:
    script = write_script(team, {"lead": [handoffs(request("DB Architect", "a")), "Done."], "db-architect": ["Idx."]})
    result = cli("dispatch", "lead", "x", "--script", script, "--timeout", "600", "--max-cost", "3.5", cwd=team)
    assert result.exit_code == 0, result.stderr
    finished = [line for line in result.stderr.splitlines() if line.startswith("[c") and " ok in " in line]
    assert len(finished) == 3
    assert "[run: calls 1/40, cost $" in finished[0] and "/$3.5, " in finished[0] and "left]" in finished[0]
    assert "[run: calls 3/40, " in finished[2]


def test_a_wait_before_a_retry_is_shown_as_it_starts() -> None:
    now = [0.0]
    tally = RunTally(clock=lambda: now[0])
    tree = CallTree(tally)
    wait = Waiting("c1", 30, 2, "429 rate_limit_error")
    assert progress_line(wait) == "[c1] waiting 30 s: 429 rate_limit_error (attempt 2)"
    for event in (
        RunStarted("r", {"agent": "lead", "task": "x", "limits": {"max_calls": 40, "timeout": 60}}),
        CallStarted("c1", None, None, "lead", "fresh", "m", 0, None, None),
        wait,
    ):
        tally.update(event)
        tree.update(event)
        now[0] += 1.0
    assert (
        render(tree)
        == "dispatch: calls 1/40, cost $0.0000, 57s left\n└── … lead (fresh, c1) waiting 29 s: 429 rate_limit_error (attempt 2) 2.0s"
    )
    now[0] += 30  # the wait is over: the retry is running
    assert render(tree).endswith("lead (fresh, c1) running 32.0s")


def render(tree: CallTree) -> str:
    from rich.console import Console

    stream = io.StringIO()
    Console(file=stream, width=200, no_color=True).print(tree)
    return stream.getvalue().rstrip("\n")


def test_runs_show_lists_the_waits_of_a_run(cli: RunCli, team: Path) -> None:
    from agentctl.runs import RunRecorder
    from tests.test_runs import Clock, finish_call, start_call

    recorder = RunRecorder.create(team / ".agentctl" / "runs", "20261122-153012-a1b2c3", {"agent": "lead"}, Clock())
    start_call(recorder, "c1", None, "lead", "fresh")
    recorder.append(Waiting("c1", 30, 2, "429 rate_limit_error"))
    from agentctl.providers.base import Usage

    finish_call(recorder, "c1", Usage(10, 2), 0.001)
    recorder.close()
    shown = cli("runs", "show", "last", cwd=team)
    assert "c1 waited 30 s before attempt 2: 429 rate_limit_error" in shown.stdout


def test_a_retry_after_wait_is_said_and_recorded_over_the_real_sdk(cli: RunCli, team: Path) -> None:
    from tests.messages_server import Fault, MessagesServer

    (team / "agentctl.toml").write_text("[anthropic]\nmax_retries = 1\ntimeout = 5.0\nmax_tokens = 1024\n")
    env = {"ANTHROPIC_API_KEY": "sk-ant-api03-test-0123456789abcdefghij"}
    with MessagesServer(reply="Answer.") as server:
        server.inject(Fault.rate_limit(retry_after=0.2), nth=1)
        result = cli("dispatch", "lead", "x", "-f", "json", cwd=team, env=env | {"ANTHROPIC_BASE_URL": server.url})
    assert result.exit_code == 0, result.stderr
    (waiting,) = [line for line in result.stderr.splitlines() if "waiting" in line]
    assert waiting.startswith("[c1] waiting 0.2 s: 429") and waiting.endswith("(attempt 2)"), waiting
    shown = cli("runs", "show", "last", cwd=team).stdout
    assert "c1 waited 0.2 s before attempt 2: 429" in shown


def test_a_task_over_the_size_limit_is_one_line_and_exit_2(team: Path, cli: RunCli) -> None:
    from agentctl import bounds

    root = team
    huge = "review " * (bounds.TASK_BYTES // 7 + 10)
    for args in (["lead", huge, "--dry-run"], ["lead", "x", "--context", huge, "--dry-run"]):
        result = cli("dispatch", *args, "--format", "json", cwd=root)
        assert result.exit_code == 2 and "the limit is 512 KiB" in result.stderr
        assert result.json()["error"]["exit_code"] == 2
