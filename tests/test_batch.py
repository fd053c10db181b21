"""agentctl batch: many tasks through the team on the Message Batches API, against a loopback server
that speaks its endpoints over a real socket (tests/batches_server.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentctl.providers.base import Usage
from agentctl.providers.pricing import PriceTable
from tests.batches_server import BatchesServer, Outcome, prompt_text
from tests.conftest import REPO, RunCli
from tests.test_dispatch import handoffs, lead_team, request

FINAL = "The final answer: index words on (transcription_id, start_ms)."


@pytest.fixture
def team(tmp_path: Path) -> Path:
    return lead_team(tmp_path)


def three_rounds(params: dict[str, Any]) -> str | Outcome:
    """The lead hands off to the DB Architect (round 1), who answers (round 2); the lead concludes (round 3)."""
    text = prompt_text(params)
    if "You lead." in text:
        return FINAL if "Continue your work on:" in text else handoffs(request("DB Architect", "Design the index"))
    if "You design schemas." in text:
        return "CREATE INDEX words_start ON words (transcription_id, start_ms);"
    return "An API design."


def write_tasks(root: Path, count: int, agent: str = "lead") -> Path:
    lines = [
        json.dumps({"task": f"Plan the words index, part {n}", "agent": agent, "id": f"t{n}"}) for n in range(count)
    ]
    path = root / "tasks.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def api_env(server: BatchesServer) -> dict[str, str]:
    return {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": server.url}


def batch_run(cli: RunCli, team: Path, server: BatchesServer, *args: str) -> Any:
    """`agentctl batch run ARGS --format json` against `server`, polling at once."""
    return cli("batch", "run", *args, "--poll-interval", "0.01", "--format", "json", cwd=team, env=api_env(server))


def test_a_thousand_tasks_in_three_rounds_at_half_price(team: Path, cli: RunCli) -> None:
    tasks = write_tasks(team, 1000)
    with BatchesServer(reply=three_rounds) as server:
        flags = ("--max-cost", "100", "--poll-interval", "0.01", "--format", "json")
        result = cli("batch", "run", str(tasks), *flags, cwd=team, env=api_env(server))
    assert result.exit_code == 0, result.stderr
    summary = result.json()
    assert [(r["round"], r["requests"], r["succeeded"]) for r in summary["rounds"]] == [
        (1, 1000, 1000),
        (2, 1000, 1000),
        (3, 1000, 1000),
    ]
    assert server.creates == 3 and set(server.submissions.values()) == {1}  # one batch a round, nothing twice
    assert {task["status"] for task in summary["tasks"]} == {"succeeded"}
    assert summary["tasks"][0]["calls"] == 3
    # Every token at half the standard price: the runs' costs are the standard cost of their usage / 2.
    run = cli("runs", "show", summary["tasks"][7]["run_id"], "--format", "json", cwd=team).json()
    standard = sum(PriceTable().cost(call["model"], Usage.from_counts(call["usage"])) or 0.0 for call in run["calls"])
    assert run["result"].startswith(FINAL)
    assert abs(run["total"]["cost_usd"] - standard / 2) < 1e-5
    assert abs(summary["cost_usd"] - sum(task["cost_usd"] for task in summary["tasks"])) < 1e-4
    agents = {item["agent"]: item for item in summary["by_agent"]}
    assert agents["lead"]["calls"] == 2000 and agents["db-architect"]["calls"] == 1000
    assert abs(sum(item["cost_usd"] for item in agents.values()) - summary["cost_usd"]) < 1e-4


def test_the_dry_run_estimates_the_first_round_and_sends_nothing(team: Path, cli: RunCli) -> None:
    tasks = write_tasks(team, 5)
    with BatchesServer(reply=three_rounds) as server:
        result = cli("batch", "run", str(tasks), "--dry-run", "--format", "json", cwd=team, env=api_env(server))
    assert result.exit_code == 0, result.stderr
    plan = result.json()
    assert plan["first_round"]["requests"] == 5 and plan["first_round"]["bytes"] > 0
    assert 0 < plan["first_round"]["cost_usd"] <= plan["first_round"]["cost_ceiling_usd"]
    assert plan["agents"] == {"lead": 5} and server.creates == 0
    assert not (team / ".agentctl" / "batches").exists()


def test_tasks_without_an_agent_are_routed_offline(team: Path, cli: RunCli) -> None:
    path = team / "tasks.jsonl"
    path.write_text(json.dumps({"task": "Design the database schema for orders", "id": "schema"}) + "\n", "utf-8")
    plan = cli("batch", "run", str(path), "--dry-run", "--format", "json", cwd=team).json()
    assert plan["agents"] == {"db-architect": 1}


def test_bad_lines_are_named_before_anything_is_sent(team: Path, cli: RunCli) -> None:
    path = team / "tasks.jsonl"
    path.write_text('{"task": "ok"}\nnot json\n{"task": ""}\n{"task": "x", "id": "a/b"}\n', "utf-8")
    result = cli("batch", "run", str(path), "--format", "json", cwd=team, env={"ANTHROPIC_API_KEY": "k"})
    assert result.exit_code == 2
    message = result.json()["error"]["message"]
    assert "line 2" in message and "line 3" in message and "line 4" in message


def test_expired_requests_are_sent_once_more_then_fail_their_requester_alone(team: Path, cli: RunCli) -> None:
    path = team / "tasks.jsonl"
    lines = [
        {"task": "Plan the index", "agent": "lead", "id": "lead"},
        {"task": "An API", "agent": "backend-architect"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines), "utf-8")

    def reply(params: dict[str, Any]) -> str | Outcome:
        return Outcome("expired") if "You design schemas." in prompt_text(params) else three_rounds(params)

    with BatchesServer(reply=reply) as server:
        result = batch_run(cli, team, server, str(path))
    summary = result.json()
    assert result.exit_code == 1
    statuses = {task["id"]: task["status"] for task in summary["tasks"]}
    assert statuses == {"lead": "failed", "line-2": "succeeded"}
    assert [r["retried"] for r in summary["rounds"]][:2] == [0, 1]  # the DB Architect's call, once
    assert max(server.submissions.values()) == 2  # the expired one: first try and one retry, no more
    lead = cli("runs", "show", summary["tasks"][0]["run_id"], "--format", "json", cwd=team).json()
    assert lead["result"].startswith(FINAL)  # the lead still concluded, with the failed result


def test_a_cost_cap_stops_between_rounds(team: Path, cli: RunCli) -> None:
    tasks = write_tasks(team, 20)
    plan = cli("batch", "run", str(tasks), "--dry-run", "--format", "json", cwd=team).json()
    cap = plan["first_round"]["cost_usd"] * 1.05  # the first round fits; the DB Architect's (opus) round does not
    with BatchesServer(reply=three_rounds) as server:
        result = batch_run(cli, team, server, str(tasks), "--max-cost", f"{cap:.6f}")
    assert result.exit_code == 5, result.stderr
    summary = result.json()
    assert server.creates == 1 and summary["stopped"] and "--max-cost" in summary["stopped"]
    assert summary["cost_usd"] <= cap
    status = cli("batch", "status", summary["batch_id"], "--format", "json", cwd=team).json()
    assert status["stopped"] == summary["stopped"] and len(status["tasks"]) == 20


def submitted(root: Path) -> int:
    """How many API batches the batch record under `root` holds."""
    logs = list((root / ".agentctl" / "batches").glob("*/events.jsonl"))
    return sum(line.count('"event":"submitted"') for log in logs for line in log.read_text("utf-8").splitlines())


def start_batch(tasks: Path, root: Path, server: BatchesServer) -> subprocess.Popen[bytes]:
    """`agentctl batch run TASKS` as a process of its own, which a test can kill or signal."""
    environ = dict(os.environ, **api_env(server), PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "agentctl", "batch", "run", str(tasks), "--poll-interval", "0.05"]
    return subprocess.Popen(command, cwd=root, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not condition() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)


def killed(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate()


def test_a_killed_batch_resumes_without_sending_anything_twice(team: Path, cli: RunCli) -> None:
    tasks = write_tasks(team, 30)
    with BatchesServer(reply=three_rounds) as server:
        server.hold_after = 1  # the second round's batch stays in progress until released
        process = start_batch(tasks, team, server)
        try:  # killed once the record holds the second round's batch id, as a crash could
            wait_until(lambda: submitted(team) >= 2, process)
            assert server.creates == 2, process.stderr.read() if process.stderr else ""
        finally:
            killed(process)
        server.hold_after = None  # the API goes on processing the batch while nobody watches
        result = batch_run(cli, team, server, "--resume", "last")
    assert result.exit_code == 0, result.stderr
    summary = result.json()
    assert set(server.submissions.values()) == {1} and server.creates == 3
    assert {task["status"] for task in summary["tasks"]} == {"succeeded"}
    assert summary["tasks"][3]["calls"] == 3  # replayed round 1, the held round 2, and round 3


def test_cancel_asks_the_api_to_cancel_what_is_still_processing(team: Path, cli: RunCli) -> None:
    tasks = write_tasks(team, 3)
    with BatchesServer(reply=three_rounds) as server:
        server.hold_after = 0
        process = start_batch(tasks, team, server)
        try:
            wait_until(lambda: submitted(team) >= 1, process)
        finally:
            killed(process)
        result = cli("batch", "cancel", "last", "--format", "json", cwd=team, env=api_env(server))
    assert result.exit_code == 0, result.stderr
    assert result.json()["canceled"] == ["msgbatch_000001"] and server.cancels == 1


def test_runs_report_draws_a_batch(team: Path, cli: RunCli) -> None:
    tasks = write_tasks(team, 4)
    with BatchesServer(reply=three_rounds) as server:
        summary = batch_run(cli, team, server, str(tasks)).json()
    result = cli("runs", "report", summary["batch_id"], "-o", "batch.html", "--format", "json", cwd=team)
    assert result.exit_code == 0, result.stderr
    assert result.json()["batch_id"] == summary["batch_id"]
    page = (team / "batch.html").read_text("utf-8")
    assert all(task["run_id"] in page for task in summary["tasks"]) and "msgbatch_000003" in page


def test_sigterm_stops_cleanly_and_says_how_to_go_on(team: Path, cli: RunCli) -> None:
    tasks = write_tasks(team, 3)
    with BatchesServer(reply=three_rounds) as server:
        server.hold_after = 0
        process = start_batch(tasks, team, server)
        wait_until(lambda: server.retrievals >= 2, process)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr.decode()
    assert b"Traceback" not in stderr and b"never retrieved" not in stderr
    status = cli("batch", "status", "last", "--format", "json", cwd=team).json()
    assert "terminated (SIGTERM)" in status["stopped"] and "--resume" in status["stopped"]
    runs = [cli("runs", "show", task["run_id"], "--format", "json", cwd=team).json() for task in status["tasks"]]
    assert {run["status"] for run in runs} == {"interrupted"}


# --- the wire: bodies, failures of the API --------------------------------------------------------------


def test_a_request_is_the_messages_body_as_one_call_sends_it() -> None:
    from agentctl.batch.body import RequestEncoder
    from agentctl.providers.anthropic import build_params
    from agentctl.providers.base import CallRequest, SystemBlock

    team_block = SystemBlock("team", "The team: Lead, DB Architect — «ünïcode»", cache=True)
    request = CallRequest(
        "", "lead", "fresh", "claude-sonnet-4-5", [SystemBlock("agent", "You lead."), team_block], "Plan \ud800 it", 0
    )
    pieces = RequestEncoder(4096).encode("t1-abc", request)
    assert json.loads(b"".join(pieces)) == {"custom_id": "t1-abc", "params": dict(build_params(request, 4096))}
    other = CallRequest("", "lead", "fresh", "claude-sonnet-4-5", request.system, "Another task", 100)
    encoder = RequestEncoder(4096)
    assert encoder.encode("a", request)[1] is encoder.encode("b", other)[1]  # the shared blocks, encoded once


def test_a_round_larger_than_a_batch_is_split_and_each_request_sent_once(
    team: Path, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = write_tasks(team, 30)
    dry = cli("batch", "run", str(tasks), "--dry-run", "--format", "json", cwd=team).json()["first_round"]
    limit = 4 * dry["bytes"] // 30  # about four requests a batch
    monkeypatch.setattr("agentctl.batch.body.SPLIT_BYTES", limit)
    with BatchesServer(reply=three_rounds) as server:
        result = batch_run(cli, team, server, str(tasks))
    assert result.exit_code == 0, result.stderr
    rounds = result.json()["rounds"]
    first = [json.loads(body) for body in server.bodies[: len(rounds[0]["batch_ids"])]]
    assert len(first) >= 7 and all(len(body) <= limit for body in server.bodies)
    assert sum(len(body["requests"]) for body in first) == 30
    # The dry run's size is what the first round sent: every byte but the bodies' envelopes.
    envelopes = sum(len(b'{"requests":[]}') + len(body["requests"]) - 1 for body in first)
    assert sum(len(raw) for raw in server.bodies[: len(first)]) == dry["bytes"] + envelopes
    assert len(server.submissions) == 90 and set(server.submissions.values()) == {1}


def test_a_refused_key_is_one_line_and_exit_4_without_the_key(team: Path, cli: RunCli) -> None:
    with BatchesServer(reply=three_rounds) as server:
        server.create_failures = [401]
        result = cli("batch", "run", str(write_tasks(team, 3)), "--format", "json", cwd=team, env=api_env(server))
    assert result.exit_code == 4
    error = result.json()["error"]
    assert error["message"].startswith("anthropic batches: HTTP 401: authentication_error: scripted 401")
    assert "ANTHROPIC_API_KEY" in error["hint"]
    assert "sk-ant-test" not in result.stdout + result.stderr
    assert server.creates == 0 and server.create_attempts == 1  # refused for good: not asked again


def test_an_overloaded_api_is_asked_again_and_nothing_runs_twice(team: Path, cli: RunCli) -> None:
    with BatchesServer(reply=three_rounds) as server:
        server.create_failures = [529, 429]  # each with retry-after-ms: the wait the API asks for
        result = batch_run(cli, team, server, str(write_tasks(team, 5)))
    assert result.exit_code == 0, result.stderr
    assert server.create_attempts == server.creates + 2
    assert set(server.submissions.values()) == {1}


def test_a_create_whose_answer_is_lost_is_not_sent_again(team: Path, cli: RunCli) -> None:
    """The API may have made the batch: sending it again could run (and bill) every request twice."""
    with BatchesServer(reply=three_rounds) as server:
        server.create_failures = ["drop"]
        result = cli("batch", "run", str(write_tasks(team, 5)), "--format", "json", cwd=team, env=api_env(server))
    assert result.exit_code == 4
    assert "may have been made" in result.json()["error"]["message"]
    assert server.create_attempts == 1 and set(server.submissions.values()) == {1}


def test_results_are_read_from_the_api_whatever_results_url_says(team: Path, cli: RunCli) -> None:
    """The key goes only to the API's own address, never where a batch's results_url points."""
    with BatchesServer(reply=three_rounds) as server:
        server.results_url_base = "http://127.0.0.1:1"  # nothing listens there
        result = batch_run(cli, team, server, str(write_tasks(team, 3)))
    assert result.exit_code == 0, result.stderr
    assert {task["status"] for task in result.json()["tasks"]} == {"succeeded"}


def test_more_tasks_than_the_process_may_open_files(team: Path) -> None:
    """Each task has a run record; none holds a descriptor while it waits (macOS allows 256 by default)."""
    import resource

    def few_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    tasks = write_tasks(team, 300)
    with BatchesServer(reply=three_rounds) as server:
        environ = dict(os.environ, **api_env(server), PYTHONPATH=str(REPO))
        command = [sys.executable, "-m", "agentctl", "batch", "run", str(tasks), "--poll-interval", "0.01"]
        done = subprocess.run(
            [*command, "--format", "json"],
            cwd=team,
            env=environ,
            capture_output=True,
            preexec_fn=few_files,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert {task["status"] for task in json.loads(done.stdout)["tasks"]} == {"succeeded"}


def test_an_answer_that_is_not_http_is_one_line_and_exit_4(team: Path, cli: RunCli) -> None:
    with BatchesServer(reply=three_rounds) as server:
        server.garbled_retrievals = 100  # every try
        result = batch_run(cli, team, server, str(write_tasks(team, 2)))
        assert result.exit_code == 4, result.stderr
        assert result.json()["error"]["message"].startswith("anthropic batches: the connection failed (BadStatusLine")
        server.garbled_retrievals = 0
        resumed = batch_run(cli, team, server, "--resume", "last")
    assert resumed.exit_code == 0, resumed.stderr
    assert set(server.submissions.values()) == {1}


def test_results_that_cannot_be_read_fail_their_task_alone(team: Path, cli: RunCli) -> None:
    """A result is the API's text: whatever it holds fails its own call, never the batch (exit 3)."""
    hostile = [
        {"type": "succeeded", "message": {"content": "not blocks", "usage": {"input_tokens": "many"}}},
        {"type": "requests"},  # a type that is no kind (and a keyword of the round's record)
        "not an object",
        {"type": "errored", "error": "not an object"},
    ]

    def reply(params: dict[str, Any]) -> str | Outcome:
        for number, result in enumerate(hostile):
            if f"part {number}\n" in prompt_text(params) + "\n" and "You lead." in prompt_text(params):
                return Outcome("raw", raw=result)
        return three_rounds(params)

    with BatchesServer(reply=reply) as server:
        result = batch_run(cli, team, server, str(write_tasks(team, 6)))
    assert result.exit_code == 1, result.stderr
    statuses = [task["status"] for task in result.json()["tasks"]]
    assert statuses == ["failed"] * 4 + ["succeeded"] * 2
