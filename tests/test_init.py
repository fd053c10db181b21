"""`agentctl init`: the team written into a project, ready for Claude Code and for agentctl.

Each test installs into a real git repository in tmp_path and then uses the project as a user would:
`agentctl validate --strict`, `agentctl dispatch --dry-run`, a second `init`. The real `claude` binary's
view of the installed agents is tests/test_init_binary.py's.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from agentctl.escalation import first_step_paths
from agentctl.install import GITIGNORE_LINES, server_needs, shipped_team_root
from agentctl.mcp_catalog import load_mcp_servers
from agentctl.spec import load_agent_file
from agentctl.team import project_paths
from tests.conftest import CORPUS, REPO, TEAM_FOLDERS, RunCli, needs_corpus

SHIPPED = sorted(path.stem for path in (REPO / "agents").glob("*.md"))
# A team folder at the start of a path that is not written from the project's root.
SHORT_FORM = re.compile(r"(?<![\w./-])(agents-shared|agents-memory)/")
# Public agents of ../shared/corpus that Claude Code reads (one only once `fmt` has repaired its
# frontmatter) and that validate clean: names unique in the whole corpus.
CATALOGUE_AGENTS = ("ab-test-analysis", "security-engineer", "email-deliverability-engineer")


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(folder).parts
    }


def assert_first_step_paths_exist(project: Path, protocol: Path | None) -> None:
    """Every path an agent's First Step names is in the project, its own memory folder (made with its
    first note), or one the protocol's Paths section marks as the project's own."""
    prefixes = tuple(project_paths(protocol.read_text("utf-8"))) if protocol else ()
    for path in (project / ".claude" / "agents").glob("*.md"):
        agent = load_agent_file(path)
        for named, _line in first_step_paths(agent.text):
            own_memory = named.rstrip("/").endswith(f"/{agent.name}") and "memory" in named
            assert (project / named).exists() or own_memory or named.startswith(prefixes), f"{path.name}: {named}"


def test_the_shipped_team_into_an_empty_git_project(cli: RunCli, project: Path) -> None:
    dry = cli("init", "--dry-run", cwd=project)
    assert dry.exit_code == 0, dry.stderr
    assert files_of(project) == {}  # a dry run writes nothing
    assert "  create    .claude/agents/db-architect.md" in dry.stdout and "would be written" in dry.stdout

    done = cli("init", cwd=project)
    assert done.exit_code == 0, done.stderr
    written = files_of(project)
    assert sorted(p.removeprefix(".claude/agents/").removesuffix(".md") for p in written if "/agents/" in p) == SHIPPED
    assert ".claude/agents-shared/team-protocol.md" in written and ".mcp.json" in written
    assert ".claude/agents-memory/db-architect/2026-01-19-transcription-words-index.md" in written
    assert f"wrote {len(written)} file(s)" in done.stdout

    # Each agent reads its files from the project root, where Claude Code runs it.
    for name in SHIPPED:
        text = written[f".claude/agents/{name}.md"].decode()
        assert ".claude/agents-shared/team-protocol.md" in text
        assert not SHORT_FORM.search(text), name
    assert_first_step_paths_exist(project, project / ".claude" / "agents-shared" / "team-protocol.md")
    assert "cofee_backend/CLAUDE.md" in done.stdout  # the project's own files it should provide

    assert cli("validate", "--strict", cwd=project).exit_code == 0, cli("validate", cwd=project).stdout
    dispatched = cli("dispatch", "orchestrator", "Plan a feature: export captions as SRT", "--dry-run", cwd=project)
    assert dispatched.exit_code == 0, dispatched.stderr
    assert "Orchestrator (`orchestrator`) would get the task" in dispatched.stdout

    again = cli("init", cwd=project)
    assert again.exit_code == 0 and "nothing to do" in again.stdout
    assert files_of(project) == written


def test_native_memory_gives_every_agent_claude_codes_memory(cli: RunCli, project: Path) -> None:
    assert cli("init", "--memory", "native", cwd=project).exit_code == 0
    for name in SHIPPED:
        path = project / ".claude" / "agents" / f"{name}.md"
        agent = load_agent_file(path)
        assert agent.spec.memory == "project"
        assert {"Write", "Edit", "Read"} <= set(agent.verdict.tools or [])  # what Claude Code adds for memory
        assert f"`.claude/agent-memory/{name}/`" in agent.text
        # The body no longer asks for notes a dispatcher must save, nor names the dated folders.
        assert "You have no Write tool" not in agent.text and "agents-memory" not in agent.text
    db = (project / ".claude" / "agents" / "db-architect.md").read_text()
    assert "Row counts and growth rates observed" in db  # its own list of what to save is kept
    protocol = (project / ".claude" / "agents-shared" / "team-protocol.md").read_text()
    memory_protocol = protocol.split("# Memory Protocol", 1)[1].split("\n# ", 1)[0]
    assert "`.claude/agent-memory/db-architect/`" in memory_protocol and "YYYY-MM-DD" not in memory_protocol
    index = (project / ".claude" / "agent-memory" / "db-architect" / "MEMORY.md").read_text()
    assert index.count("\n") == 4 and "(transcription-words-index.md) — indexing or querying" in index
    assert not (project / ".claude" / "agents-memory").exists()

    result = cli("validate", "--strict", cwd=project)  # MM rules: every topic file linked, every link found
    assert result.exit_code == 0, result.stdout
    listed = cli("memory", "list", "db-architect", "--format", "json", cwd=project).json()
    assert {entry["scope"] for entry in listed["entries"]} == {"project"}
    assert cli("dispatch", "db-architect", "Add an index", "--dry-run", cwd=project).exit_code == 0
    assert "nothing to do" in cli("init", "--memory", "native", cwd=project).stdout


def test_the_top_level_layout_keeps_the_paths_as_they_are(cli: RunCli, project: Path) -> None:
    assert cli("init", "--layout", "top-level", cwd=project).exit_code == 0
    for name in SHIPPED:
        assert (project / "agents" / f"{name}.md").read_bytes() == (REPO / "agents" / f"{name}.md").read_bytes()
    assert not (project / "agentctl.toml").exists()  # agents/ beside agents-shared/ is found as it is
    assert cli("validate", "--strict", cwd=project).exit_code == 0


def test_a_changed_team_file_is_a_diff_and_nothing_is_written(cli: RunCli, project: Path) -> None:
    assert cli("init", cwd=project).exit_code == 0
    agent = project / ".claude" / "agents" / "db-architect.md"
    agent.write_text(agent.read_text() + "\nMy own rule.\n")
    note = project / ".claude" / "agents-memory" / "db-architect" / "2026-01-19-transcription-words-index.md"
    note.write_text(note.read_text() + "A line the agent added.\n")
    (project / ".claude" / "agents" / "ml-engineer.md").unlink()
    before = files_of(project)

    refused = cli("init", cwd=project)
    assert refused.exit_code == 1
    assert "-My own rule." in refused.stdout and "+++ .claude/agents/db-architect.md (agentctl init)" in refused.stdout
    assert "nothing was written" in refused.stderr and "--force" in refused.stderr
    assert files_of(project) == before  # not even the missing agent

    document = cli("init", "--format", "json", cwd=project).json()
    assert document["status"] == "refused"
    actions = {file["path"]: file["action"] for file in document["files"]}
    assert actions[".claude/agents/db-architect.md"] == "conflict"
    assert actions[".claude/agents/ml-engineer.md"] == "create"
    assert actions[note.relative_to(project).as_posix()] == "kept"  # a note is the project's, never a conflict

    forced = cli("init", "--force", cwd=project)
    assert forced.exit_code == 0
    assert "My own rule." not in agent.read_text() and (project / ".claude" / "agents" / "ml-engineer.md").exists()
    assert "A line the agent added." in note.read_text()


def test_an_existing_mcp_json_keeps_its_entries_and_gains_the_missing_servers(cli: RunCli, project: Path) -> None:
    mine = {"command": "docker", "args": ["run", "my-postgres-mcp"]}
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": {"postgres": mine, "github": {"command": "gh"}}}))
    document = cli("init", "--format", "json", cwd=project).json()
    servers = json.loads((project / ".mcp.json").read_text())["mcpServers"]
    assert servers["postgres"] == mine and servers["github"] == {"command": "gh"}
    catalogue = load_mcp_servers()
    assert servers["redis"] == catalogue["redis"].mcp_json and servers["agentctl"]["args"] == ["mcp"]
    assert "claude-in-chrome" not in servers  # built into Claude Code
    status = {need["server"]: need["status"] for need in document["mcp_servers"]}
    assert status["postgres"] == "present" and status["redis"] == "added" and status["claude-in-chrome"] == "built-in"
    assert next(n for n in document["mcp_servers"] if n["server"] == "postgres")["placeholders"] == {}
    redis = next(n for n in document["mcp_servers"] if n["server"] == "redis")
    assert "REDIS_URL" in redis["placeholders"]

    (project / ".mcp.json").write_text("{not json")
    for flags in ([], ["--force"]):
        broken = cli("init", *flags, cwd=project)
        assert broken.exit_code == 1 and ".mcp.json" in broken.stderr
    assert (project / ".mcp.json").read_text() == "{not json"


def test_servers_the_catalogue_does_not_know_get_a_placeholder_entry(
    cli: RunCli, project: Path, tmp_path: Path
) -> None:
    team = tmp_path / "team"
    (team / "agents").mkdir(parents=True)
    (team / "agents-memory").mkdir()
    (team / "agents" / "tracker.md").write_text(
        "---\nname: tracker\ndescription: Files issues.\ntools: Read, mcp__jira__create_issue\n---\n\nYou file issues.\n"
    )
    result = cli("init", "--team", str(team), cwd=project)
    assert result.exit_code == 0, result.stderr
    entry = json.loads((project / ".mcp.json").read_text())["mcpServers"]["jira"]
    assert "jira" in entry["command"] and "not in agentctl's catalogue" in result.stdout


def test_gitignore_lines_are_added_once_and_the_rest_is_kept(cli: RunCli, project: Path) -> None:
    (project / ".gitignore").write_text("node_modules/\n/.agentctl\n")
    assert cli("init", cwd=project).exit_code == 0
    text = (project / ".gitignore").read_text()
    assert text.startswith("node_modules/\n/.agentctl\n") and text.count(".agentctl") == 1
    assert ".claude/agent-memory-local/" in text
    assert cli("init", cwd=project).exit_code == 0 and (project / ".gitignore").read_text() == text
    ignored = subprocess.run(
        ["git", "check-ignore", ".agentctl/runs/x", ".claude/agent-memory-local/db-architect/MEMORY.md"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert ignored.stdout.split() == [".agentctl/runs/x", ".claude/agent-memory-local/db-architect/MEMORY.md"]
    assert GITIGNORE_LINES == (".agentctl/", ".claude/agent-memory-local/")


def test_a_symlink_out_of_the_project_is_never_written_through(cli: RunCli, project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / ".claude").symlink_to(outside)
    result = cli("init", cwd=project)
    assert result.exit_code == 2 and "leads out of the project" in result.stderr
    assert list(outside.iterdir()) == [] and not (project / ".mcp.json").exists()
    # A link that stays inside the project is followed.
    (project / ".claude").unlink()
    (project / "tools" / "claude").mkdir(parents=True)
    (project / ".claude").symlink_to(project / "tools" / "claude")
    assert cli("init", cwd=project).exit_code == 0
    assert (project / "tools" / "claude" / "agents" / "db-architect.md").is_file()


def test_some_agents_of_the_team(cli: RunCli, project: Path) -> None:
    result = cli("init", "--agents", "db-architect,Backend Architect", cwd=project)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (project / ".claude" / "agents").iterdir()) == [
        "backend-architect.md",
        "db-architect.md",
    ]
    assert sorted(p.name for p in (project / ".claude" / "agents-memory").iterdir()) == [
        "backend-architect",
        "db-architect",
    ]
    assert "roster lists 14 agent(s) not installed" in result.stdout
    unknown = cli("init", "--agents", "db-architekt,nobody-at-all", cwd=project)
    assert unknown.exit_code == 2 and "'db-architekt' (did you mean 'db-architect'" in unknown.stderr
    assert "'nobody-at-all' in the team" in unknown.stderr and "orchestrator" in unknown.stderr  # the hint lists them


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "a", "--from-catalogue", "b"], "two sources"),
        (["--layout", "flat"], "flat"),
        (["--from-catalogue", "no/such/folder"], "is not a folder"),
        (["--team", "no/such/folder"], "no/such/folder"),
    ],
)
def test_bad_usage_is_exit_2(cli: RunCli, project: Path, args: list[str], message: str) -> None:
    result = cli("init", *args, cwd=project)
    assert result.exit_code == 2 and message in result.stderr
    assert files_of(project) == {}


def test_a_project_that_is_a_file_or_has_no_parent_is_refused(cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert cli("init", "file", cwd=tmp_path).exit_code == 2
    assert cli("init", "no/such/parent", cwd=tmp_path).exit_code == 2
    made = cli("init", "new-project", cwd=tmp_path)  # one new folder is made, as `git init NAME` does
    assert made.exit_code == 0 and (tmp_path / "new-project" / ".claude" / "agents" / "db-architect.md").is_file()


@needs_corpus()
def test_agents_of_a_public_catalogue(cli: RunCli, project: Path) -> None:
    args = ["--from-catalogue", str(CORPUS), "--agents", ",".join(CATALOGUE_AGENTS)]
    result = cli("init", *args, cwd=project)
    assert result.exit_code == 0, result.stderr
    installed = sorted(path.name for path in (project / ".claude" / "agents").iterdir())
    assert installed == sorted(f"{name}.md" for name in CATALOGUE_AGENTS)
    repaired = load_agent_file(project / ".claude" / "agents" / "ab-test-analysis.md")
    original = load_agent_file(next(CORPUS.rglob("ab-test-analysis.md")))
    # Not YAML (Claude Code's fallback recovers it): written as `fmt` writes it, the same agent.
    assert original.reading and original.reading.status != "valid"
    assert repaired.reading and repaired.reading.status == "valid"
    assert repaired.verdict.description == original.verdict.description
    assert "ab-test-analysis: frontmatter: rewrote the frontmatter as valid YAML" in result.stdout
    assert_first_step_paths_exist(project, None)
    assert cli("validate", "--strict", cwd=project).exit_code == 0, cli("validate", cwd=project).stdout
    assert cli("dispatch", "security-engineer", "Review the login flow", "--dry-run", cwd=project).exit_code == 0
    assert "nothing to do" in cli("init", *args, cwd=project).stdout


@needs_corpus()
def test_catalogue_names_that_are_unknown_or_defined_twice_are_usage_errors(cli: RunCli, project: Path) -> None:
    unknown = cli("init", "--from-catalogue", str(CORPUS), "--agents", "security-enginer", cwd=project)
    assert unknown.exit_code == 2 and "did you mean 'security-engineer'" in unknown.stderr
    twice = cli("init", "--from-catalogue", str(CORPUS), "--agents", "performance-engineer", cwd=project)
    assert twice.exit_code == 2 and "more than one file" in twice.stderr and "lst97" in twice.stderr
    assert files_of(project) == {}


def test_the_readme_says_which_servers_which_agents_need() -> None:
    """The README's table is what the shipped agents' `tools` and the MCP catalogue say."""
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("### `agentctl init`", 1)[1].split("\n### ", 1)[0]
    rows = {
        cells[0].strip().strip("`"): tuple(cell.strip() for cell in cells[1:])
        for line in section.splitlines()
        if line.startswith("| `") and len(cells := line.strip().strip("|").split("|")) == 4
    }
    tools = {name: load_agent_file(REPO / "agents" / f"{name}.md").verdict.tools for name in SHIPPED}
    catalogue = load_mcp_servers()
    expected = {}
    for server, agents in server_needs(tools).items():
        known = catalogue[server]
        if known.mcp_json is None:
            where, you_set = "built into Claude Code", f"its [Chrome extension]({known.docs})"
        else:
            where, you_set = "`.mcp.json`", ", ".join(f"`{name}`" for name in known.placeholders) or "nothing"
        expected[server] = (where, you_set, ", ".join(agents))
    assert rows == expected


def test_the_wheel_ships_the_team_where_init_looks_for_it() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    included = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert {folder: included.get(folder) for folder in TEAM_FOLDERS} == {
        folder: f"agentctl/data/team/{folder}" for folder in TEAM_FOLDERS
    }
    assert set(TEAM_FOLDERS) <= set(pyproject["tool"]["hatch"]["build"]["targets"]["sdist"]["include"])
    assert shipped_team_root() == REPO  # a checkout: its own folders
