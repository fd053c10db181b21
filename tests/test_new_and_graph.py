"""`agentctl new` writes an agent that validates clean; `agentctl graph` shows who escalates to whom."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO, RunCli, copy_shipped_team


@pytest.fixture
def team_copy(tmp_path: Path) -> Path:
    return copy_shipped_team(tmp_path)


def test_new_agent_validates_clean_and_joins_the_roster(team_copy: Path, cli: RunCli) -> None:
    result = cli(
        "new", "data-engineer", "--role", "Senior Data Engineer — ETL pipelines and analytics exports", cwd=team_copy
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.startswith("created agents/data-engineer.md\nadded 'Data Engineer' to the roster")
    text = (team_copy / "agents" / "data-engineer.md").read_text()
    assert text.startswith(
        "---\nname: data-engineer\ndescription: Senior Data Engineer — ETL pipelines and analytics exports\n"
    )
    assert "| Work that another specialist owns | Orchestrator |" in text  # the team's dispatcher
    protocol = (team_copy / "agents-shared" / "team-protocol.md").read_text()
    assert (
        "| `data-engineer` | Data Engineer | Senior Data Engineer — ETL pipelines and analytics exports |" in protocol
    )
    whole_team = cli("validate", "--strict", cwd=team_copy)
    assert whole_team.exit_code == 0, whole_team.stdout
    assert cli("show", "Data Engineer", "--format", "json", cwd=team_copy).json()["name"] == "data-engineer"


def test_a_new_agent_file_gets_the_mode_any_new_file_gets(team_copy: Path, cli: RunCli) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    assert cli("new", "data-engineer", "--role", "Data Engineer", cwd=team_copy).exit_code == 0
    # Not mkstemp's 0o600: a teammate's checkout or a CI user must be able to read the agent.
    assert (team_copy / "agents" / "data-engineer.md").stat().st_mode & 0o777 == 0o666 & ~umask


def test_new_with_options_and_json(team_copy: Path, cli: RunCli) -> None:
    result = cli(
        "new",
        "release-manager",
        "--role",
        "Release manager: versions, changelogs",
        "--display-name",
        "Release Manager",
        "--model",
        "opus",
        "--tools",
        "Read, Grep, Write",
        "--color",
        "green",
        "--format",
        "json",
        cwd=team_copy,
    )
    data = result.json()
    assert result.exit_code == 0 and data["display_name"] == "Release Manager" and data["diagnostics"] == []
    text = (team_copy / "agents" / "release-manager.md").read_text()
    assert 'description: "Release manager: versions, changelogs"' in text and "tools: Read, Grep, Write" in text
    assert "save it with the Write tool" in text


@pytest.mark.parametrize(
    ("name", "extra", "message"),
    [
        ("db-architect", [], "already exists"),
        ("db-architect-2", ["--display-name", "DB Architect"], "already exists"),
        ("Data_Engineer", [], "not a valid agent name"),
        ("-x", [], "not a valid agent name"),
        ("ok-name", ["--tools", "Read, Reed"], "unknown tool(s): Reed"),
    ],
)
def test_new_refuses_clashes_and_bad_names(
    team_copy: Path, cli: RunCli, name: str, extra: list[str], message: str
) -> None:
    before = (team_copy / "agents-shared" / "team-protocol.md").read_bytes()
    result = cli("new", "--role", "Something", *extra, "--", name, cwd=team_copy)  # `--`: "-x" is a name
    assert result.exit_code == 2 and message in result.stderr
    assert (team_copy / "agents-shared" / "team-protocol.md").read_bytes() == before
    assert sorted(p.name for p in (team_copy / "agents").iterdir()) == sorted(
        p.name for p in (REPO / "agents").iterdir()
    )


def test_new_without_a_roster_table_writes_the_agent_alone(tmp_path: Path, cli: RunCli) -> None:
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents-shared").mkdir()
    result = cli("new", "first", "--role", "The first agent", cwd=tmp_path)
    assert result.exit_code == 0 and "no roster table" in result.stdout, result.stdout
    assert (tmp_path / "agents" / "first.md").is_file()
    assert not (tmp_path / "agents-shared" / "team-protocol.md").exists()  # the roster is derived


def test_graph_of_the_shipped_team(cli: RunCli) -> None:
    data = cli("graph", "--format", "json", cwd=REPO).json()
    assert data["dispatchers"] == ["orchestrator"]
    assert data["unreachable"] == [] and data["unresolved"] == []
    orchestrator_targets = {edge["to"] for edge in data["edges"] if edge["from"] == "orchestrator"}
    assert len(orchestrator_targets) == 15  # it dispatches to every other agent


def test_graph_of_a_broken_team(cli: RunCli) -> None:
    root = FIXTURES / "teams" / "broken"
    result = cli("graph", "--format", "json", cwd=root)
    data = json.loads(result.stdout)
    assert {(edge["from"], edge["to"]) for edge in data["edges"]} == {("alpha", "beta"), ("beta", "alpha")}
    assert data["dispatchers"] == [] and data["unreachable"] == ["stray"] and data["no_hand_back"] == ["stray"]
    assert data["unresolved"] == [{"agent": "alpha", "name": "Gamma Agent", "line": 18}]
    assert "alpha:18 names 'Gamma Agent'" in result.stderr
    mermaid = cli("graph", "--format", "mermaid", cwd=root).stdout
    assert (
        mermaid.startswith("flowchart LR\n")
        and "    alpha --> beta" in mermaid
        and "class stray unreachable" in mermaid
    )
    dot = cli("graph", "--format", "dot", cwd=root).stdout
    assert (
        dot.startswith("digraph team {")
        and '"alpha" -> "beta";' in dot
        and '"stray" [label="stray", style=dashed];' in dot
    )
