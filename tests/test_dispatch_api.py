"""dispatch through the real anthropic SDK, over a real socket, against a loopback Messages API.

Each fault leaves an intact record (every started call finished, the run closed) and the exit code
DESIGN.md documents; the API key never reaches a record, stdout or stderr.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli, agent_text, make_team
from tests.messages_server import Fault, MessagesServer, Reply, system_text, user_text
from tests.test_dispatch import PROTOCOL, handoffs, request

SENTINEL = "sk-ant-api03-SENTINEL-never-print-me-0123456789"
BODIES = {"lead": "You lead the team.", "db-architect": "You design schemas.", "backend-architect": "You design APIs."}


@pytest.fixture
def team(tmp_path: Path) -> Path:
    agents = {f"{name}.md": agent_text(name, f"The {name}.", body=body + "\n") for name, body in BODIES.items()}
    root = make_team(tmp_path / "team", agents, protocol=PROTOCOL)
    (root / "agentctl.toml").write_text("[anthropic]\nmax_retries = 1\ntimeout = 2.0\nmax_tokens = 1024\n")
    return root


def agent_of(body: dict[str, Any]) -> str:
    system = system_text(body)
    return next(name for name, text in BODIES.items() if text in system)


def by_agent(replies: dict[str, list[Any]]) -> Callable[[dict[str, Any], dict[str, str]], Any]:
    """Replies per agent, in call order, the agent told by its system prompt."""
    queues = {name: list(items) for name, items in replies.items()}

    def reply(body: dict[str, Any], headers: dict[str, str]) -> Any:
        return queues[agent_of(body)].pop(0)

    return reply


def run(cli: RunCli, team: Path, server: MessagesServer, *args: str) -> Any:
    env = {"ANTHROPIC_API_KEY": SENTINEL, "ANTHROPIC_BASE_URL": server.url}
    return cli("dispatch", "lead", "Plan the words index", "--format", "json", *args, cwd=team, env=env)


def assert_record_intact(team: Path, result: Any) -> list[dict[str, Any]]:
    runs = list((team / ".agentctl" / "runs").glob("*/events.jsonl"))
    assert len(runs) == 1
    events = [json.loads(line) for line in runs[0].read_text().splitlines()]
    started = {e["call_id"] for e in events if e["event"] == "call_started"}
    finished = {e["call_id"] for e in events if e["event"] == "call_finished"}
    assert started == finished and events[-1]["event"] == "run_finished"
    assert events[-1]["exit_code"] == result.exit_code
    for path in runs[0].parent.iterdir():
        assert SENTINEL not in path.read_text(), f"the key leaked into {path.name}"
    assert SENTINEL not in result.stdout + result.stderr
    return events


def test_a_run_with_parallel_handoffs_over_the_real_sdk(cli: RunCli, team: Path) -> None:
    script = by_agent(
        {
            "lead": [
                Reply(handoffs(request("DB Architect", "Design"), request("Backend Architect", "Check"))),
                Reply("Final plan.", cache_read_input_tokens=900),
            ],
            "db-architect": [Reply("Index.", input_tokens=1000, output_tokens=20, cache_creation_input_tokens=800)],
            "backend-architect": ["API."],
        }
    )
    with MessagesServer(reply=script) as server:
        result = run(cli, team, server)
        requests = server.wait_for(4, finished=True)
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["result"] == "Final plan." and data["status"] == "ok"
    db_call = next(call for call in data["calls"] if call["agent"] == "db-architect")
    assert db_call["usage"] == {
        "input_tokens": 1000,
        "output_tokens": 20,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 800,
    }
    assert db_call["cost_usd"] is not None and db_call["cost_usd"] > 0
    assert all(r.stream and r.api_key == SENTINEL for r in requests), "streamed, with the key sent to the API only"
    first = requests[0].body
    assert first["max_tokens"] == 1024 and [b.get("cache_control") for b in first["system"]] == [
        None,
        {"type": "ephemeral"},
    ]
    assert_record_intact(team, result)


def test_two_dispatches_send_byte_identical_system_blocks_up_to_the_breakpoint(cli: RunCli, team: Path) -> None:
    with MessagesServer(reply="Done.") as server:
        env = {"ANTHROPIC_API_KEY": SENTINEL, "ANTHROPIC_BASE_URL": server.url}
        cli("dispatch", "db-architect", "Add an index on words", cwd=team, env=env)
        cli("dispatch", "DB Architect", "Review the pool size", cwd=team, env=env)
        one, two = (request.body["system"] for request in server.wait_for(2, finished=True))
    last = max(index for index, block in enumerate(one) if "cache_control" in block)
    assert json.dumps(one[: last + 1]).encode() == json.dumps(two[: last + 1]).encode()


@pytest.mark.parametrize(
    ("fault", "nth", "exit_code", "status"),
    [
        (Fault.rate_limit(), 1, 0, "ok"),  # 429 with retry-after: the SDK retries, the call succeeds
        (Fault.overloaded(), None, 4, "failed"),  # 529 on every request: the first agent has no answer
        (Fault.server_error(), None, 4, "failed"),  # 500 likewise
        (Fault.drop(), None, 4, "failed"),  # the connection drops mid-stream, every time
        (Fault.malformed(), None, 4, "failed"),  # a malformed SSE event
        (Fault.auth(), 1, 4, "failed"),  # 401: stops at once, no retry
    ],
    ids=["429-retry-after", "529", "500", "dropped-stream", "malformed-event", "401"],
)
def test_faults_of_the_first_call(
    cli: RunCli, team: Path, fault: Fault, nth: int | None, exit_code: int, status: str
) -> None:
    with MessagesServer(reply="Answer.") as server:
        if nth is None:
            server.inject(fault, when=lambda recorded: True, times=None)
        else:
            server.inject(fault, nth=nth)
        result = run(cli, team, server)
    assert result.exit_code == exit_code, result.stderr
    assert result.json()["status"] == status
    assert_record_intact(team, result)
    if exit_code:
        assert "error: " in result.stderr and "Traceback" not in result.stderr


def test_a_reply_slower_than_the_timeout_fails_the_call(cli: RunCli, team: Path) -> None:
    (team / "agentctl.toml").write_text("[anthropic]\nmax_retries = 0\ntimeout = 0.3\n")
    with MessagesServer(reply=Reply("late", delay=2.0)) as server:
        result = run(cli, team, server)
    assert result.exit_code == 4 and "tim" in result.stderr.lower()
    assert_record_intact(team, result)


def test_a_failing_delegate_is_handed_back_and_the_run_finishes(cli: RunCli, team: Path) -> None:
    script = by_agent(
        {
            "lead": [Reply(handoffs(request("DB Architect", "Design"))), Reply("Plan without the index.")],
            "db-architect": [Fault.server_error(), Fault.server_error()],  # the first try and the SDK's retry
        }
    )
    with MessagesServer(reply=script) as server:
        result = run(cli, team, server)
        continuation = [r for r in server.requests if user_text(r.body).startswith("Continue your work on:")]
    assert result.exit_code == 1, result.stderr
    data = result.json()
    assert data["result"] == "Plan without the index." and data["handoffs"][0]["status"] == "failed"
    assert "### From DB Architect (`db-architect`): failed" in user_text(continuation[0].body)
    assert_record_intact(team, result)


def test_an_auth_error_in_a_delegate_stops_the_run_at_once(cli: RunCli, team: Path) -> None:
    script = by_agent(
        {
            "lead": [Reply(handoffs(request("DB Architect", "Design"), request("Backend Architect", "Check")))],
            "db-architect": [Fault.auth()],
            "backend-architect": [Reply("slow", delay=1.5)],
        }
    )
    with MessagesServer(reply=script) as server:
        result = run(cli, team, server)
    assert result.exit_code == 4
    assert "check ANTHROPIC_API_KEY" in result.stderr
    assert_record_intact(team, result)


def test_no_key_is_an_error_before_any_request(cli: RunCli, team: Path) -> None:
    with MessagesServer() as server:
        result = cli("dispatch", "lead", "x", cwd=team, env={"ANTHROPIC_BASE_URL": server.url})
        assert server.requests == []
    assert result.exit_code == 4 and "ANTHROPIC_API_KEY" in result.stderr and "--dry-run" in result.stderr
