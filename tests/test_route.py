"""`agentctl route`: the right agent first for a task, offline, from everything the team says about itself."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from agentctl.config import load_settings
from agentctl.route import ROUTE_STOPWORDS, RouteIndex, agents_in, rank, route_team, team_index
from agentctl.team import Team, load_team
from tests.conftest import CORPUS, REPO, RunCli, agent_text, copy_shipped_team, make_team, needs_corpus

BENCH_DATA = REPO / "bench" / "data"

PROTOCOL = """# Team Protocol

| Agent | Display name | Domain | When to request | Capabilities |
|---|---|---|---|---|
| `db-person` | DB Person | PostgreSQL | New tables, index choices, slow SQL | SQL |
| `web-person` | Web Person | Next.js | Pages, routes, forms | React |
| `ops-person` | Ops Person | Docker | CI failures, compose files | Docker |
"""

ESCALATIONS = """You build pages.

# Escalation

| Signal | Escalate To | Example |
|--------|-------------|---------|
| Vacuum settings and bloat | DB Person | Autovacuum never catches up on the events table |
| Image builds break | Ops Person | The Dockerfile layer cache misses on every push |
"""


@pytest.fixture(scope="module")
def shipped_team() -> Team:
    if not (REPO / "agents" / "db-architect.md").is_file():
        pytest.skip("the team's agents are not in this checkout")
    return load_team(load_settings(cwd=REPO, root=REPO, environ={}))


@pytest.fixture
def team_copy(tmp_path: Path) -> Path:
    return copy_shipped_team(tmp_path, ("agents", "agents-shared"))


def small_team(root: Path) -> Path:
    return make_team(
        root,
        {
            "db-person.md": agent_text("db-person", "Designs PostgreSQL schemas and tunes queries."),
            "web-person.md": agent_text("web-person", "Builds the Next.js frontend.", body=ESCALATIONS),
            "ops-person.md": agent_text("ops-person", "Keeps the containers and pipelines running."),
        },
        protocol=PROTOCOL,
    )


@pytest.mark.parametrize(
    ("task", "agent"),
    [
        ("add an index to the users table", "db-architect"),
        ("The rendered video shows captions one word too early", "remotion-engineer"),
        ("Run a k6 load test against the upload endpoint at 200 concurrent users", "performance-engineer"),
        ("Review the presigned URL code: can a user download someone else's video?", "security-auditor"),
        ("Write a runbook for when the transcription queue gets stuck", "technical-writer"),
        ("Captions drift half a second behind the speech towards the end of long videos", "ml-engineer"),
    ],
)
def test_clear_tasks_go_to_the_right_agent_of_the_shipped_team(shipped_team: Team, task: str, agent: str) -> None:
    ranking = route_team(shipped_team, task, top=3)
    assert ranking[0].agent == agent, ranking


def test_scores_are_shares_best_first_and_why_names_the_matched_words(shipped_team: Team) -> None:
    ranking = route_team(shipped_team, "add an index to the users table")
    assert len(ranking) == 16
    scores = [score.score for score in ranking]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    assert "index" in ranking[0].why and "table" in ranking[0].why


def test_routing_is_deterministic_whatever_the_order_of_the_files(shipped_team: Team) -> None:
    task = "The editor page has a poor Lighthouse score; measure and fix the slowest parts"
    first = route_team(shipped_team, task)
    shuffled = list(shipped_team.agents)
    random.Random(7).shuffle(shuffled)
    assert rank(shuffled, task, shipped_team.roster) == first
    assert route_team(shipped_team, task) == first


def test_ties_are_broken_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "agents"
    folder.mkdir()
    for name in ("zeta", "alpha", "mid"):
        (folder / f"{name}.md").write_text(agent_text(name, "Writes release notes."), "utf-8")
    ranking = rank(agents_in(folder), "release notes")
    assert [score.agent for score in ranking] == ["alpha", "mid", "zeta"]
    assert len({score.score for score in ranking}) == 1


def test_escalation_rows_speak_for_the_agent_they_name(tmp_path: Path) -> None:
    small_team(tmp_path)
    team = load_team(load_settings(cwd=tmp_path, root=tmp_path, environ={}))
    # Only web-person's escalation table says who handles vacuum and bloat: DB Person, not web-person.
    ranking = route_team(team, "autovacuum cannot keep up and the table is bloated")
    assert ranking[0].agent == "db-person"
    assert "web-person's escalation" in ranking[0].why
    assert route_team(team, "the Dockerfile layer cache misses")[0].agent == "ops-person"


@pytest.mark.parametrize("arrow", ["->", "-->", "—>", "→", "⟶"])
def test_handoff_examples_speak_for_the_agent_they_name_whatever_the_arrow(tmp_path: Path, arrow: str) -> None:
    small_team(tmp_path)
    body = f"You build pages.\n\n## Handoff Requests\n\n### {arrow} Ops Person\n**Task:** rotate the TLS certificates on the load balancer\n"
    (tmp_path / "agents" / "web-person.md").write_text(
        agent_text("web-person", "Builds the Next.js frontend.", body=body), "utf-8"
    )
    team = load_team(load_settings(cwd=tmp_path, root=tmp_path, environ={}))
    ranking = route_team(team, "the TLS certificates on the load balancer expire")
    assert ranking[0].agent == "ops-person" and "web-person's handoff" in ranking[0].why


def test_the_roster_says_when_to_request_an_agent(tmp_path: Path) -> None:
    small_team(tmp_path)
    team = load_team(load_settings(cwd=tmp_path, root=tmp_path, environ={}))
    ranking = route_team(team, "CI failures on main")
    assert ranking[0].agent == "ops-person" and "roster" in ranking[0].why


def example_description(domain: str, request: str) -> str:
    return (
        f'"Use this agent for {domain}.\\n\\n<example>\\nContext: a user asks.\\nuser: \\"{request}\\"\\n'
        f'assistant: \\"I will use the agent.\\"\\n</example>"'
    )


def test_examples_are_labelled_data_and_can_be_left_out(tmp_path: Path) -> None:
    folder = tmp_path / "agents"
    folder.mkdir()
    texts = {
        "reviewer": example_description("code review", "look over my diff before I merge it"),
        "writer": example_description("documentation", "draft the release announcement"),
    }
    for name, description in texts.items():
        (folder / f"{name}.md").write_text(agent_text(name, description), "utf-8")
    index = RouteIndex.from_agents(agents_in(folder))
    assert [(item.agent, item.kind) for item in index.evidence] == [("reviewer", "example"), ("writer", "example")]
    assert index.rank("look over my diff before I merge it")[0].agent == "reviewer"
    assert 'example "look over my diff' in index.rank("look over my diff before I merge it")[0].why
    left_out = index.without(index.evidence[0])
    assert [item.agent for item in left_out.evidence] == ["writer"]
    assert left_out.rank("before I merge it")[0].score < index.rank("before I merge it")[0].score


def test_agents_claude_code_skips_and_documents_are_not_candidates(tmp_path: Path) -> None:
    folder = tmp_path / "catalogue"
    (folder / "nested").mkdir(parents=True)
    (folder / "nested" / "builder.md").write_text(agent_text("builder", "Builds Docker images."), "utf-8")
    (folder / "README.md").write_text("# Catalogue\n\nAgents for Docker images.\n", "utf-8")
    (folder / "notes.md").write_text("No frontmatter, Docker images everywhere.\n", "utf-8")
    assert [score.agent for score in rank(agents_in(folder), "docker images")] == ["builder"]


def test_route_stopwords_extend_the_kernels() -> None:
    from agentctl.textsearch import STOPWORDS

    assert STOPWORDS < ROUTE_STOPWORDS


# --- the command ---------------------------------------------------------------------------------------


def test_route_json_contract(team_copy: Path, cli: RunCli) -> None:
    result = cli("route", "add an index to the users table", "--format", "json", cwd=team_copy)
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["task"] == "add an index to the users table"
    assert len(data["ranking"]) == 5  # --top defaults to 5
    assert all(set(row) == {"agent", "score", "why"} for row in data["ranking"])
    assert data["ranking"][0]["agent"] == "db-architect"
    assert cli("route", "add an index", "--limit", "2", "-f", "json", cwd=team_copy).json()["ranking"][1]["agent"]


def test_route_text_is_a_ranked_table(team_copy: Path, cli: RunCli) -> None:
    result = cli("route", "Write the release notes and changelog for version 2.3", "-n", "3", cwd=team_copy)
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and len(lines) == 4
    assert lines[0].split() == ["#", "agent", "score", "why"]
    assert lines[1].split()[:2] == ["1", "technical-writer"]


def test_route_reads_the_task_from_stdin(team_copy: Path, cli: RunCli) -> None:
    result = cli("route", "-", "-f", "json", cwd=team_copy, stdin=b"Design three new caption presets\n")
    assert result.json()["task"] == "Design three new caption presets"
    assert result.json()["ranking"][0]["agent"] == "ui-designer"


def test_route_output_is_the_same_from_the_cache(team_copy: Path, cli: RunCli) -> None:
    first = cli("route", "Add a health check for the Remotion service to docker-compose", cwd=team_copy)
    assert (team_copy / ".agentctl" / "cache" / "route-index.marshal").is_file()
    again = cli("route", "Add a health check for the Remotion service to docker-compose", cwd=team_copy)
    assert again.stdout == first.stdout and first.exit_code == again.exit_code == 0


def test_a_changed_agent_file_is_read_again(team_copy: Path, cli: RunCli) -> None:
    task = "quarterly okr spreadsheet for the finance committee"
    cli("route", task, cwd=team_copy)
    path = team_copy / "agents" / "ux-reviewer.md"
    text = path.read_text("utf-8").replace("description: ", "description: Owns the quarterly OKR spreadsheet. ", 1)
    path.write_text(text, "utf-8")
    assert cli("route", task, "-f", "json", cwd=team_copy).json()["ranking"][0]["agent"] == "ux-reviewer"


def test_a_damaged_cache_is_rebuilt(team_copy: Path, cli: RunCli) -> None:
    cache = team_copy / ".agentctl" / "cache" / "route-index.marshal"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"\x00not marshal")
    result = cli("route", "add an index to the users table", "-f", "json", cwd=team_copy)
    assert result.exit_code == 0 and result.json()["ranking"][0]["agent"] == "db-architect"
    settings = load_settings(cwd=team_copy, root=team_copy, environ={})
    assert (
        team_index(settings).rank("add an index")[0]
        == RouteIndex.from_agents(load_team(settings).agents, load_team(settings).roster).rank("add an index")[0]
    )


def test_the_cache_key_covers_every_module_that_builds_an_index(team_copy: Path) -> None:
    # An editable install changes its code without a new version: a cached index must not outlive
    # a change to any module that took part in building it (a hand-kept list once missed the
    # YAML reader and the escalation parser).
    script = (
        "import sys\n"
        "from agentctl.config import load_settings\n"
        "from agentctl.route import _cache_key, team_index\n"
        f"settings = load_settings(cwd={str(team_copy)!r}, root={str(team_copy)!r}, environ={{}})\n"
        "team_index(settings)\n"
        "used = {name.split('.')[1] + '.py' for name in sys.modules if name.count('.') == 1 and name.startswith('agentctl.')}\n"
        "keyed = {row[0] for row in _cache_key(settings)[-1]}\n"
        "print(sorted(used - keyed - {'cli.py', 'validate.py', 'providers.py'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip() == "[]"


def test_agents_dir_needs_no_team(tmp_path: Path, cli: RunCli) -> None:
    folder = tmp_path / "somewhere" / "agents"
    folder.mkdir(parents=True)
    (folder / "pipeline-fixer.md").write_text(agent_text("pipeline-fixer", "Fixes CI pipelines."), "utf-8")
    (folder / "copywriter.md").write_text(agent_text("copywriter", "Writes landing page copy."), "utf-8")
    result = cli("route", "the CI pipeline is red", "--agents-dir", "somewhere/agents", "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert [row["agent"] for row in result.json()["ranking"]] == ["pipeline-fixer", "copywriter"]
    assert not (tmp_path / ".agentctl").exists()  # a bare folder gets no cache


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["route", "   "], "error: the task is empty"),
        (["route", "-"], "error: the task is empty"),
        (["route", "x", "--agents-dir", "missing"], "error: --agents-dir missing: no such folder"),
        (["route", "x", "--agents-dir", "empty"], "error: no agent in empty that Claude Code loads"),
        (["route", "x", "--limit", "0"], "error: Invalid value for '--limit'"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path: Path, cli: RunCli, args: list[str], message: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.md").write_text("# not an agent\n", "utf-8")
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and "hint:" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_task_no_agent_matches_warns(tmp_path: Path, cli: RunCli) -> None:
    small_team(tmp_path)
    result = cli("route", "the of and", "-f", "json", cwd=tmp_path)
    assert result.exit_code == 0
    assert {row["score"] for row in result.json()["ranking"]} == {0.0}
    assert "warning: no word of the task matches any agent" in result.stderr


# --- public catalogues ----------------------------------------------------------------------------------


def accuracy(folder: Path, tasks: Path) -> tuple[float, float]:
    index = RouteIndex.from_agents(agents_in(folder))
    rows = [json.loads(line) for line in tasks.read_text("utf-8").splitlines() if line.strip()]
    rankings = [[score.agent for score in index.rank(row["task"], top=3)] for row in rows]
    top1 = sum(ranking[0] == row["agent"] for ranking, row in zip(rankings, rows, strict=True)) / len(rows)
    top3 = sum(row["agent"] in ranking for ranking, row in zip(rankings, rows, strict=True)) / len(rows)
    return top1, top3


@needs_corpus()
@pytest.mark.parametrize("catalogue", ["lst97__claude-code-sub-agents", "davepoon__claude-code-subagents-collection"])
def test_labelled_tasks_of_public_catalogues_meet_the_target(catalogue: str) -> None:
    top1, top3 = accuracy(CORPUS / catalogue, BENCH_DATA / f"{catalogue}-tasks.jsonl")
    assert top1 >= 0.7 and top3 >= 0.9, (top1, top3)


@needs_corpus()
def test_agents_dir_routes_a_public_catalogue(cli: RunCli) -> None:
    folder = CORPUS / "lst97__claude-code-sub-agents"
    result = cli("route", "write an OpenAPI spec for our REST endpoints", "--agents-dir", str(folder), "-f", "json")
    assert result.json()["ranking"][0]["agent"] == "api-documenter"


def test_agents_dir_warns_of_skipped_agents_and_ranks_them_as_fmt_would(tmp_path: Path, cli: RunCli) -> None:
    """A catalogue file Claude Code skips is not silently left out: the warning says where it would
    rank once `agentctl fmt` repaired it, or that fmt cannot."""
    folder = tmp_path / "catalogue"
    folder.mkdir()
    (folder / "db.md").write_text(agent_text("db", "Designs database schemas and tables."))
    (folder / "migration-reviewer.md").write_text(
        "---\nname: migration-reviewer\ndescription: Use when: a migration adds an index to a table.\n"
        "<example>\nuser: add an index to users.email\n</example>\n---\n\nYou review migrations.\n"
    )
    (folder / "broken.md").write_text("---\nname: broken\n---\nNo description.\n")
    result = cli("route", "add an index to the users table", "--agents-dir", "catalogue", cwd=tmp_path)
    assert result.exit_code == 0 and "migration-reviewer" not in result.stdout
    assert "catalogue/migration-reviewer.md is left out: Claude Code skips it" in result.stderr
    assert "after `agentctl fmt catalogue/migration-reviewer.md` it would rank #1" in result.stderr
    assert "catalogue/broken.md is left out" in result.stderr and "cannot make Claude Code load it" in result.stderr
    data = cli(
        "route", "add an index to the users table", "--agents-dir", "catalogue", "-f", "json", cwd=tmp_path
    ).json()
    skipped = {Path(entry["path"]).name: entry["after_fmt"] for entry in data["skipped"]}
    assert skipped["migration-reviewer.md"]["rank"] == 1 and skipped["broken.md"] is None
