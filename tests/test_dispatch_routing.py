"""`agentctl dispatch "TASK"` routes with the model when the run makes real calls: the offline top 10 go
to the cheapest configured model, its pick (checked against the shortlist) runs, both rankings are
recorded, and the call counts against the run's caps. Over the real SDK and a loopback Messages API,
and with the scripted provider."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentctl.config import load_settings
from agentctl.route_llm import SYSTEM, route_model
from tests.conftest import Result, RunCli, agent_text, make_team
from tests.messages_server import Fault, MessagesServer, RecordedRequest, Reply, system_text

KEY = "sk-ant-api03-routing-test-0123456789"
TASK = "Design the database schema and its indexes"
DB_AGENTS = [f"db-{number:02d}" for number in range(1, 11)]  # ten agents the task's words match
OTHERS = ["zz-marketing", "zz-sales"]  # two it does not: below the shortlist


@pytest.fixture
def team(tmp_path: Path) -> Path:
    agents = {
        f"{name}.md": agent_text(name, "Designs database schemas and indexes.", body=f"You are {name}.\n")
        for name in DB_AGENTS
    }
    agents["zz-marketing.md"] = agent_text("zz-marketing", "Writes marketing copy.", body="You are zz-marketing.\n")
    agents["zz-sales.md"] = agent_text("zz-sales", "Answers questions from sales.", body="You are zz-sales.\n")
    root = make_team(tmp_path / "team", agents)
    (root / "agentctl.toml").write_text("[anthropic]\nmax_retries = 0\ntimeout = 2.0\nmax_tokens = 256\n")
    return root


def is_routing(request: RecordedRequest) -> bool:
    return SYSTEM in request.system


def answers(routing: Reply | Fault | str) -> Any:
    """The routing request gets `routing`; every agent call gets "Done."."""

    def reply(body: dict[str, Any], headers: dict[str, str]) -> Reply | Fault | str:
        return routing if SYSTEM in system_text(body) else "Done."

    return reply


def dispatch(cli: RunCli, team: Path, server: MessagesServer, *args: str) -> Result:
    env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": server.url}
    return cli("dispatch", TASK, "--format", "json", *args, cwd=team, env=env)


def test_the_cheapest_model_picks_among_the_offline_top_10_and_its_pick_runs(cli: RunCli, team: Path) -> None:
    with MessagesServer(reply=answers(Reply("db-07", input_tokens=300, output_tokens=4))) as server:
        result = dispatch(cli, team, server)
        requests = server.wait_for(2, finished=True)
    assert result.exit_code == 0, result.stderr
    routing_request, agent_request = requests
    assert is_routing(routing_request) and not is_routing(agent_request)
    assert routing_request.body["model"] == route_model(load_settings(cwd=team, environ={}))
    assert "haiku" in routing_request.body["model"], "the cheapest model of the default price table"
    listed = [line[2:].split(":")[0] for line in routing_request.user.splitlines() if line.startswith("- ")]
    assert listed == DB_AGENTS, "the offline top 10, best first; the two unmatched agents are left out"
    assert "You are db-07." in agent_request.system, "the dispatch runs the model's pick"

    data = result.json()
    routing = data["routing"]
    assert data["agent"] == routing["chosen"] == "db-07" and routing["method"] == "model"
    assert [row["agent"] for row in routing["offline"]] == DB_AGENTS
    assert all(set(row) == {"agent", "score", "why"} for row in routing["offline"])
    assert routing["ranking"][0]["agent"] == "db-07", "the order routing settled on: the chosen agent first"
    model = routing["model"]
    assert model["model"] == routing_request.body["model"] and model["agent"] == "db-07"
    assert model["answer"] == "db-07" and model["usage"]["input_tokens"] == 300
    assert routing["usage"] == model["usage"] and routing["cost_usd"] == model["cost_usd"] > 0
    assert routing["warnings"] == [] and routing["asked"] is False
    assert "routed to db-07 by " in result.stderr

    recorded = json.loads((team / ".agentctl" / "runs" / data["run_id"] / "run.json").read_text())
    assert recorded["routing"] == routing, "run.json keeps both rankings"


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("the database person", "names no agent of the list"),
        ("zz-sales", "names no agent of the list"),  # on the team, but not on the shortlist
        (Fault.server_error(), "could not be asked"),
    ],
    ids=["not-a-name", "not-on-the-shortlist", "api-error"],
)
def test_a_bad_model_answer_falls_back_to_the_offline_choice_with_a_note(
    cli: RunCli, team: Path, answer: Any, why: str
) -> None:
    with MessagesServer(reply=answers(answer)) as server:
        result = dispatch(cli, team, server)
    assert result.exit_code == 0, result.stderr
    data = result.json()
    routing = data["routing"]
    assert data["agent"] == routing["chosen"] == "db-01" and routing["method"] == "offline"
    assert why in routing["note"] and routing["warnings"] == [routing["note"]]
    assert routing["model"] is not None and routing["model"]["agent"] is None, "asked: its spend is recorded"
    assert f"warning: {routing['note']}" in result.stderr


def test_no_key_falls_back_and_the_run_then_fails_on_the_key(cli: RunCli, team: Path) -> None:
    result = cli("dispatch", TASK, "--format", "json", cwd=team, env={})
    assert result.exit_code == 4, "the dispatch's own first call needs the key"
    assert "the model could not be asked (no Anthropic API key" in result.stderr


@pytest.mark.parametrize("flag", ["--offline", "--dry-run"])
def test_offline_and_dry_run_make_no_routing_call(cli: RunCli, team: Path, flag: str) -> None:
    with MessagesServer(reply=answers("db-07")) as server:
        result = dispatch(cli, team, server, flag)
        if flag == "--offline":
            server.wait_for(1, finished=True)
    assert result.exit_code == 0, result.stderr
    assert not [request for request in server.requests if is_routing(request)]
    assert len(server.requests) == (1 if flag == "--offline" else 0)
    routing = result.json()["routing"]
    assert routing["method"] == "offline" and routing["model"] is None and routing["chosen"] == "db-01"
    assert routing["cost_usd"] == 0 and routing["usage"]["input_tokens"] == 0 and len(routing["offline"]) == 10
    assert routing["note"] == ("--offline" if flag == "--offline" else "a dry run makes no calls")


def test_the_dry_run_plan_says_it_routed_offline(cli: RunCli, team: Path) -> None:
    result = cli("dispatch", TASK, "--dry-run", cwd=team)
    assert result.exit_code == 0, result.stderr
    assert "Routing: offline ranking only (a dry run makes no calls): db-01" in result.stdout
    assert "routed to db-01 (score" in result.stderr


def test_a_routing_call_over_max_cost_is_not_made(cli: RunCli, team: Path) -> None:
    """Opus routes (about $0.01 at worst); the agents answer on haiku (well under $0.001 at worst)."""
    with (team / "agentctl.toml").open("a") as config:
        config.write('[dispatch]\nroute_model = "opus"\n[models]\ndefault = "haiku"\n')
    with MessagesServer(reply=answers("db-07")) as server:
        result = dispatch(cli, team, server, "--max-cost", "0.002")
        server.wait_for(1, finished=True)
    assert result.exit_code == 0, result.stderr
    assert not [request for request in server.requests if is_routing(request)] and len(server.requests) == 1
    routing = result.json()["routing"]
    assert routing["method"] == "offline" and routing["model"] is None
    assert "over --max-cost 0.002" in routing["note"] and "routed offline" in routing["note"]
    with MessagesServer(reply=answers("db-07")) as server:
        raised = dispatch(cli, team, server, "--max-cost", "0.05")
    assert raised.json()["routing"]["method"] == "model", "within the cap, the same call is made"


def test_the_price_table_decides_the_cheapest_model(team: Path) -> None:
    settings = load_settings(cwd=team, environ={})
    assert "haiku" in route_model(settings)
    (team / "agentctl.toml").write_text('[prices."claude-sonnet-4-6"]\ninput = 0.01\noutput = 0.01\n')
    cheap_sonnet = load_settings(cwd=team, environ={})
    assert route_model(cheap_sonnet) != "claude-sonnet-4-6", "a price alone does not make a model configured"
    (team / "agentctl.toml").write_text(
        '[models]\nsonnet = "claude-sonnet-4-6"\n[prices."claude-sonnet-4-6"]\ninput = 0.01\noutput = 0.01\n'
    )
    assert route_model(load_settings(cwd=team, environ={})) == "claude-sonnet-4-6"
    (team / "agentctl.toml").write_text('[dispatch]\nroute_model = "opus"\n')
    named = load_settings(cwd=team, environ={})
    assert "opus" in route_model(named), "[dispatch] route_model wins"


def test_an_agents_own_model_counts_as_configured(tmp_path: Path) -> None:
    from agentctl.team import load_team

    root = make_team(tmp_path / "t", {"old.md": agent_text("old", "Old.", "model: claude-old-1\n")})
    (root / "agentctl.toml").write_text('[prices."claude-old-1"]\ninput = 0.001\noutput = 0.001\n')
    settings = load_settings(cwd=root, environ={})
    assert route_model(settings, load_team(settings).agents) == "claude-old-1"


# --- the scripted provider ------------------------------------------------------------------------------


def scripted(cli: RunCli, team: Path, script: dict[str, Any], *args: str) -> Result:
    (team / "script.json").write_text(json.dumps(script))
    return cli("dispatch", TASK, "--script", "script.json", "--format", "json", *args, cwd=team)


def test_the_scripted_provider_answers_the_router_from_its_script(cli: RunCli, team: Path) -> None:
    result = scripted(cli, team, {"router": ["db-03"], "db-03": ["Schema."]})
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["agent"] == "db-03" and data["result"] == "Schema." and data["routing"]["method"] == "model"
    assert data["routing"]["model"]["usage"]["input_tokens"] > 0, "the script's usage is estimated from the prompt"

    missing = scripted(cli, team, {"db-01": ["Schema."]})
    assert missing.exit_code == 0, missing.stderr
    routing = missing.json()["routing"]
    assert routing["method"] == "offline" and "has no reply for call 1 to router" in routing["note"]


def test_the_routing_call_counts_against_max_calls(cli: RunCli, team: Path) -> None:
    handoff = "Plan.\n\n## Handoff Requests\n\n### -> db-02\n**Task:** index it\n**I need back:** the DDL\n"
    script = {"router": ["db-01"], "db-01": [handoff, "Final."], "db-02": ["DDL."]}
    result = scripted(cli, team, script, "--max-calls", "2")
    data = result.json()
    assert data["routing"]["method"] == "model" and len(data["calls"]) == 1
    assert result.exit_code == 5 and data["status"] == "budget" and "--max-calls 2" in data["reason"]
    alone = scripted(cli, team, script, "--max-calls", "1")
    assert alone.json()["routing"]["method"] == "offline" and "--max-calls 1" in alone.json()["routing"]["note"]


def test_a_close_call_is_not_asked_when_the_model_chose(tmp_path: Path) -> None:
    import io

    from agentctl.cli import main
    from agentctl.cli.env import Environment
    from tests.conftest import TTYStringIO

    twins = {f"{name}.md": agent_text(name, "Designs database schemas and indexes.") for name in ("alpha", "beta")}
    root = make_team(tmp_path / "twins", twins)
    (root / "script.json").write_text(json.dumps({"router": ["beta"], "beta": ["Done."]}))

    class TTYBytes(io.BytesIO):
        def isatty(self) -> bool:
            return True

    stdout, stderr = TTYStringIO(True), TTYStringIO(True)
    environment = Environment(stdout=stdout, stderr=stderr, stdin=TTYBytes(b"1\n"), cwd=root, environ={})
    code = main(["dispatch", "design the database schema", "--script", "script.json"], env=environment)
    assert code == 0 and "Which agent?" not in stderr.getvalue() and "routed to beta by " in stderr.getvalue()
