"""`agentctl route --llm`: one small-model call over the real SDK, validated, with a fallback for everything."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentctl.route_llm import Candidate, pick, routing_prompt
from tests.conftest import RunCli, agent_text, make_team
from tests.messages_server import Fault, MessagesServer

CANDIDATES = [Candidate("db-architect", "Designs schemas."), Candidate("backend-architect", "Designs APIs.")]


@pytest.fixture
def team(tmp_path: Path) -> Path:
    agents = {
        "db-architect.md": agent_text("db-architect", "Designs database schemas, indexes and migrations."),
        "backend-architect.md": agent_text("backend-architect", "Designs HTTP APIs and endpoints."),
    }
    return make_team(tmp_path / "team", agents)


def test_the_answer_must_name_one_candidate() -> None:
    assert pick("backend-architect", CANDIDATES) == "backend-architect"
    assert pick("`DB-Architect`.", CANDIDATES) == "db-architect"
    assert pick("I would pick backend-architect for this.", CANDIDATES) == "backend-architect"
    assert pick("db-architect or backend-architect", CANDIDATES) is None
    assert pick("the frontend person", CANDIDATES) is None
    prompt = routing_prompt("Add an index", CANDIDATES)
    assert "Task: Add an index" in prompt and "- db-architect: Designs schemas." in prompt


def route(cli: RunCli, team: Path, server: MessagesServer) -> object:
    env = {"ANTHROPIC_API_KEY": "sk-test-key-123456", "ANTHROPIC_BASE_URL": server.url}
    return cli("route", "add an index to the users table", "--llm", "--format", "json", cwd=team, env=env)


def test_the_models_pick_comes_first(cli: RunCli, team: Path) -> None:
    with MessagesServer(reply="backend-architect") as server:
        result = route(cli, team, server)
        sent = server.wait_for(1)[0].body
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["method"] == "llm" and data["ranking"][0]["agent"] == "backend-architect"
    assert "haiku" in sent["model"], "the cheapest model of the map"
    assert "- db-architect: Designs database schemas" in sent["messages"][0]["content"]


@pytest.mark.parametrize("reply", ["the frontend team", Fault.server_error()], ids=["not-a-candidate", "api-error"])
def test_any_failure_falls_back_to_the_offline_ranking(cli: RunCli, team: Path, reply: object) -> None:
    with MessagesServer(reply=reply) as server:  # type: ignore[arg-type]
        if isinstance(reply, Fault):
            server.inject(reply, when=lambda recorded: True, times=None)
        result = route(cli, team, server)
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["method"] == "offline" and data["ranking"][0]["agent"] == "db-architect"
    assert "using the offline ranking" in result.stderr


def test_no_key_falls_back_without_a_request(cli: RunCli, team: Path) -> None:
    result = cli("route", "add an index", "--llm", "--format", "json", cwd=team, env={})
    assert result.exit_code == 0 and result.json()["method"] == "offline"
    assert "ANTHROPIC_API_KEY" in result.json()["note"]
