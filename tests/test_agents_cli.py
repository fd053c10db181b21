"""`agentctl list` and `agentctl show`: the team as Claude Code sees it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunCli, agent_text, copy_shipped_team, make_team

PROTOCOL = """# Team protocol

## Roster

| Agent | Display name | Domain | When to request | Capabilities |
|---|---|---|---|---|
| `db-architect` | DB Architect | PostgreSQL | schema work | MCP: postgres |
| `backend-architect` | Backend Architect | FastAPI | API design | |
"""


def team(tmp_path: Path) -> Path:
    return make_team(
        tmp_path,
        {
            "db-architect.md": agent_text(
                "db-architect", "Schema and index work.\\nSecond line.", "tools: Read, Grep\nmodel: opus\n"
            ),
            "backend-architect.md": agent_text("backend-architect", "API design.", "model: sonnet\n"),
            "broken.md": "---\nname: broken\n---\nNo description.\n",
        },
        protocol=PROTOCOL,
    )


def test_list_json(tmp_path: Path, cli: RunCli) -> None:
    result = cli("list", "--format", "json", cwd=team(tmp_path))
    assert result.exit_code == 0
    rows = {row["name"]: row for row in result.json()["agents"]}
    db = rows["db-architect"]
    assert db["display_name"] == "DB Architect" and db["path"] == "agents/db-architect.md"
    assert db["model"] == "opus" and db["tools"] == ["Read", "Grep"]
    assert db["description"] == "Schema and index work."  # the first line only
    assert db["claude_code"]["loads"] is True and db["claude_code"]["tools_display"] == "Read, Grep"
    assert rows["broken"]["claude_code"]["loads"] is False


def test_list_text_table(tmp_path: Path, cli: RunCli) -> None:
    result = cli("list", cwd=team(tmp_path))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "model", "tools", "description", "Claude", "Code"]
    assert any(line.startswith("db-architect") and "Read, Grep" in line and "loads" in line for line in lines)
    assert any(line.startswith("broken") and "skipped" in line for line in lines)
    assert lines[-1] == "3 agents"


def test_show_by_name_display_name_or_file(tmp_path: Path, cli: RunCli) -> None:
    root = team(tmp_path)
    for wanted in ("db-architect", "DB Architect", "db architect", "DB-ARCHITECT"):
        data = cli("show", wanted, "--format", "json", cwd=root).json()
        assert data["name"] == "db-architect", wanted
    data = cli("show", "DB Architect", "--format", "json", cwd=root).json()
    assert data["description"] == "Schema and index work.\nSecond line."
    assert data["frontmatter"]["model"] == "opus" and data["body"].startswith("You are a reviewer")
    text = cli("show", "DB Architect", cwd=root).stdout
    assert text.startswith("db-architect (DB Architect)  agents/db-architect.md")


def test_show_unknown_agent_suggests_names(tmp_path: Path, cli: RunCli) -> None:
    result = cli("show", "db-architekt", cwd=team(tmp_path))
    assert result.exit_code == 2
    assert "no agent called 'db-architekt'" in result.stderr and "did you mean 'db-architect'" in result.stderr


def test_list_fits_an_80_column_terminal(tmp_path: Path, cli: RunCli) -> None:
    """At 80 columns every agent is one line, its name whole: the description is cut, tools dropped."""
    root = copy_shipped_team(tmp_path / "shipped")
    result = cli("list", cwd=root, tty=True, env={"COLUMNS": "80"})
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and len(lines) == 16 + 2  # header, 16 agents, the count
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    names = {line.split()[0] for line in lines[1:-1]}
    assert "accessibility-auditor" in names and "performance-engineer" in names
    wide = cli("list", cwd=root, tty=True, env={"COLUMNS": "160"}).stdout.splitlines()
    assert wide[0].split()[:3] == ["name", "model", "tools"] and all(len(line) <= 160 for line in wide)


def test_list_piped_is_never_cut(tmp_path: Path, cli: RunCli) -> None:
    long_name = "a" * 300
    root = make_team(tmp_path, {"long.md": agent_text(long_name, "A very long name.")})
    result = cli("list", cwd=root)
    assert result.exit_code == 0 and long_name in result.stdout
