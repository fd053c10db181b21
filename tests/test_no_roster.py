"""Teams without a roster table: the roster derived from the agent files, a README.md in agents/."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agentctl.config import load_settings
from agentctl.graph import build_graph
from agentctl.team import derived_roster, display_name_for, load_team, team_roster
from tests.conftest import RunCli

AGENTS = {
    "orchestrator": (
        "Plans work and hands it to the specialists",
        "Read, Agent",
        "Send schema work to the DB Architect.",
    ),
    "db-architect": ("Designs PostgreSQL schemas\n  and their migrations", None, "Ask frontend-dev about screens."),
    "frontend-dev": ("Builds the React UI", None, "The frontend code lives in web/; it needs no one."),
}


def _agent_text(name: str, description: str, tools: str | None, body: str) -> str:
    tools_line = f"tools: {tools}\n" if tools else ""
    description = description.replace("\n", "\n")
    return f"---\nname: {name}\ndescription: >-\n  {description}\n{tools_line}---\n\nYou are {name}. {body}\n"


@pytest.fixture
def team(tmp_path: Path) -> Path:
    """A Claude Code project: .claude/agents/ with three agents and a README, no roster anywhere."""
    agents = tmp_path / ".claude" / "agents"
    agents.mkdir(parents=True)
    for name, (description, tools, body) in AGENTS.items():
        (agents / f"{name}.md").write_text(_agent_text(name, description, tools, body), "utf-8")
    (agents / "README.md").write_text("# Our agents\n\nOne file per agent.\n", "utf-8")
    return tmp_path


def test_the_roster_is_derived_from_the_agent_files(team: Path) -> None:
    loaded = load_team(load_settings(team))
    assert loaded.roster_derived
    assert sorted(agent.team_name for agent in loaded.agents) == ["db-architect", "frontend-dev", "orchestrator"]
    rows = {entry.agent: entry for entry in loaded.roster}
    assert rows["db-architect"].display_name == "DB Architect"
    assert rows["db-architect"].columns["domain"] == "Designs PostgreSQL schemas and their migrations"
    assert rows["frontend-dev"].display_name == "Frontend Dev"
    for written in ("DB Architect", "Db Architect", "db architect", "db-architect", "DB_ARCHITECT"):
        assert loaded.resolve(written).name == "db-architect"
    assert team_roster(loaded.settings) == (loaded.roster, True)


def test_a_roster_table_is_not_derived(tmp_path: Path) -> None:
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents-shared").mkdir()
    (tmp_path / "agents" / "a.md").write_text(_agent_text("a", "Does A", None, ""), "utf-8")
    protocol = "| Agent | Display name |\n|---|---|\n| `a` | Agent A |\n"
    (tmp_path / "agents-shared" / "team-protocol.md").write_text(protocol, "utf-8")
    loaded = load_team(load_settings(tmp_path))
    assert not loaded.roster_derived and [e.display_name for e in loaded.roster] == ["Agent A"]


def test_derived_roster_keeps_the_first_file_of_a_name_and_leaves_out_skipped_files(tmp_path: Path) -> None:
    from agentctl.spec import parse_agent_text

    files = [
        parse_agent_text(tmp_path / "a.md", _agent_text("qa-lead", "First", None, "")),
        parse_agent_text(tmp_path / "b.md", _agent_text("QA-Lead", "Second", None, "")),
        parse_agent_text(tmp_path / "c.md", "no frontmatter\n"),
    ]
    assert [(e.agent, e.display_name, e.columns["domain"]) for e in derived_roster(files)] == [
        ("qa-lead", "QA Lead", "First")
    ]


@pytest.mark.parametrize(
    ("name", "display"),
    [("db-architect", "DB Architect"), ("api_designer", "API Designer"), ("writer", "Writer"), ("e2e", "E2E")],
)
def test_display_names_read_as_teams_write_them(name: str, display: str) -> None:
    assert display_name_for(name) == display


def test_every_command_sees_the_same_agents(team: Path, cli: RunCli) -> None:
    listed = cli("list", "--format", "json", cwd=team).json()
    assert listed["roster"] == "derived" and len(listed["agents"]) == 3
    assert {row["name"]: row["display_name"] for row in listed["agents"]}["db-architect"] == "DB Architect"
    assert cli("list", cwd=team).stdout.endswith(
        "3 agents (no roster table: the roster is derived from the agent files)\n"
    )
    assert cli("show", "README", cwd=team).exit_code == 2
    assert cli("show", "Frontend Dev", cwd=team).stdout.startswith("frontend-dev (Frontend Dev, derived)")
    validated = cli("validate", "--format", "json", cwd=team).json()
    assert sorted(f["path"] for f in validated["files"] if f["kind"] == "agent") == [
        ".claude/agents/db-architect.md",
        ".claude/agents/frontend-dev.md",
        ".claude/agents/orchestrator.md",
    ]
    assert validated["summary"]["errors"] == 0
    exported = cli("export", "--format", "json", cwd=team).json()
    assert exported["exported"] == ["db-architect", "frontend-dev", "orchestrator"] and exported["skipped"] == []


def test_a_readme_with_frontmatter_is_an_agent_as_claude_code_loads_it(team: Path, cli: RunCli) -> None:
    readme = team / ".claude" / "agents" / "README.md"
    readme.write_text(_agent_text("docs-writer", "Writes the docs", None, ""), "utf-8")
    assert len(cli("list", "--format", "json", cwd=team).json()["agents"]) == 4
    assert cli("show", "Docs Writer", cwd=team).exit_code == 0


def test_graph_draws_the_names_a_body_mentions(team: Path, cli: RunCli) -> None:
    data = cli("graph", "--format", "json", cwd=team).json()
    assert [(e["from"], e["to"], e["via"]) for e in data["edges"]] == [
        ("db-architect", "frontend-dev", "mention"),
        ("orchestrator", "db-architect", "mention"),
    ]
    assert data["dispatchers"] == ["orchestrator"] and data["unreachable"] == [] and data["unresolved"] == []
    assert data["edges"][1]["line"] == 8  # the body's first line
    # `frontend` alone (frontend-dev's body) is a word, not the agent.
    assert {"name": "db-architect", "display_name": "DB Architect"} in data["agents"]


def test_mentions_are_matched_in_linear_time(tmp_path: Path) -> None:
    agents = tmp_path / ".claude" / "agents"
    agents.mkdir(parents=True)
    names = [f"agent-{index}" for index in range(300)]
    for name in names:
        (agents / f"{name}.md").write_text(_agent_text(name, "Does things", None, ""), "utf-8")
    body = " ".join(["Agent"] * 60_000 + ["agent-299"])
    (agents / "agent-0.md").write_text(_agent_text("agent-0", "Hub", None, body), "utf-8")
    loaded = load_team(load_settings(tmp_path))
    started = time.monotonic()
    graph = build_graph(loaded)
    assert time.monotonic() - started < 5
    assert [(edge.source, edge.target) for edge in graph.edges] == [("agent-0", "agent-299")]


def test_the_prompt_lists_who_exists(team: Path, cli: RunCli) -> None:
    result = cli("prompt", "orchestrator", "--task", "design the users table", cwd=team)
    assert result.exit_code == 0, result.stderr
    assert "- **DB Architect** (`db-architect`): Designs PostgreSQL schemas and their migrations\n" in result.stdout
    assert "(`orchestrator`):" not in result.stdout  # the others, not itself


def test_validate_checks_handoff_targets_against_the_derived_roster(team: Path, cli: RunCli) -> None:
    path = team / ".claude" / "agents" / "orchestrator.md"
    path.write_text(path.read_text("utf-8") + "\n### -> DB Architect\n\n### -> Data Wizard\n", "utf-8")
    found = cli("validate", "--format", "json", cwd=team).json()
    rules = [(d["rule"], d["message"]) for f in found["files"] for d in f["diagnostics"]]
    assert [rule for rule, _ in rules] == ["TM003"] and "'Data Wizard'" in rules[0][1]


def test_new_without_a_roster_writes_only_the_agent(team: Path, cli: RunCli) -> None:
    result = cli("new", "data-engineer", "--role", "ETL pipelines", "--tools", "Read, Task, Bash(git *)", cwd=team)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "the team knows it as 'Data Engineer'" in result.stdout
    text = (team / ".claude" / "agents" / "data-engineer.md").read_text("utf-8")
    assert "tools: Read, Agent, Bash(git *)\n" in text  # `Task` is Claude Code's old name of `Agent`
    assert load_team(load_settings(team)).resolve("Data Engineer").name == "data-engineer"


def test_new_refuses_removed_tools_with_what_to_use(team: Path, cli: RunCli) -> None:
    result = cli("new", "x-agent", "--role", "X", "--tools", "Read, MultiEdit", cwd=team)
    assert result.exit_code == 2 and "unknown tool(s): MultiEdit" in result.stderr and "use Edit" in result.stderr


def test_memory_saves_for_every_agent_of_a_derived_roster(team: Path, cli: RunCli) -> None:
    notes = {
        "db-architect": ("words index", b"The words table needs an index on (transcription_id, start_ms).\n"),
        "Frontend Dev": ("player seek", b"Seek the player with the word's start_ms, never its index.\n"),
    }
    for wanted, (topic, body) in notes.items():
        written = cli("memory", "write", wanted, "--topic", topic, "--applies-when", topic, cwd=team, stdin=body)
        assert written.exit_code == 0, written.stderr
    assert (team / ".claude" / "agents-memory" / "frontend-dev").is_dir()
