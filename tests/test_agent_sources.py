"""Where Claude Code reads agents: the team's (project) and $HOME/.claude/agents/ (user), and which
definition of a name wins. HOME is always a folder of tmp_path, never the real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.claude_binary import agent_listing, find_claude
from tests.conftest import RunCli, agent_text, make_team


def project_and_home(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A team with `twin` and `solo-project`; a HOME with `twin` and `solo-user`."""
    root = make_team(
        tmp_path / "team",
        {"twin.md": agent_text("twin", "PROJECT twin"), "solo-project.md": agent_text("solo-project", "PROJECT only")},
        layout="claude",
    )
    user = tmp_path / "home" / ".claude" / "agents"
    user.mkdir(parents=True)
    (user / "twin.md").write_text(agent_text("twin", "USER twin"), "utf-8")
    (user / "solo-user.md").write_text(agent_text("solo-user", "USER only"), "utf-8")
    return root, {"HOME": str(tmp_path / "home")}


def test_list_json_says_where_each_agent_comes_from_and_what_wins(tmp_path: Path, cli: RunCli) -> None:
    root, env = project_and_home(tmp_path)
    rows = cli("list", "--format", "json", cwd=root, env=env).json()["agents"]
    found = {(row["name"], row["source"]): row for row in rows}
    assert set(found) == {("twin", "project"), ("solo-project", "project"), ("twin", "user"), ("solo-user", "user")}
    assert found["twin", "user"]["hidden_by"] == ".claude/agents/twin.md"
    assert found["twin", "user"]["path"] == str(tmp_path / "home" / ".claude" / "agents" / "twin.md")
    assert found["twin", "project"]["hidden_by"] is None and found["solo-user", "user"]["hidden_by"] is None
    assert [row["source"] for row in rows] == ["project", "project", "user", "user"]  # highest first


def test_list_text_has_a_source_column_with_the_user_level(tmp_path: Path, cli: RunCli) -> None:
    root, env = project_and_home(tmp_path)
    lines = cli("list", cwd=root, env=env).stdout.splitlines()
    assert lines[0].split()[-1] == "source"
    assert any(line.startswith("twin") and "USER twin" in line and line.endswith("user, hidden") for line in lines)
    assert any(line.startswith("twin") and "PROJECT twin" in line and line.endswith("project") for line in lines)
    assert lines[-1].startswith("4 agents (2 project, 2 user, 1 hidden)")


def test_no_user_lists_the_team_alone(tmp_path: Path, cli: RunCli) -> None:
    root, env = project_and_home(tmp_path)
    rows = cli("list", "--no-user", "--format", "json", cwd=root, env=env).json()["agents"]
    assert {row["source"] for row in rows} == {"project"} and len(rows) == 2
    lines = cli("list", "--no-user", cwd=root, env=env).stdout.splitlines()
    assert "source" not in lines[0] and lines[-1].startswith("2 agents")


def test_without_home_there_is_no_user_level(tmp_path: Path, cli: RunCli) -> None:
    root, _ = project_and_home(tmp_path)
    rows = cli("list", "--format", "json", cwd=root).json()["agents"]
    assert len(rows) == 2


def test_show_names_the_winner_and_reaches_user_agents(tmp_path: Path, cli: RunCli) -> None:
    root, env = project_and_home(tmp_path)
    twin = cli("show", "twin", "--format", "json", cwd=root, env=env).json()
    assert twin["source"] == "project" and twin["description"] == "PROJECT twin"
    assert twin["hides"] == [str(tmp_path / "home" / ".claude" / "agents" / "twin.md")]
    solo = cli("show", "solo-user", "--format", "json", cwd=root, env=env).json()
    assert solo["source"] == "user" and solo["hidden_by"] is None and solo["hides"] == []
    text = cli("show", "twin", cwd=root, env=env).stdout
    assert "project, hides" in text
    gone = cli("show", "solo-user", "--no-user", cwd=root, env=env)
    assert gone.exit_code == 2


def test_validate_reports_a_hidden_user_agent_as_info(tmp_path: Path, cli: RunCli) -> None:
    root, env = project_and_home(tmp_path)
    result = cli("validate", "--format", "json", cwd=root, env=env)
    assert result.exit_code == 0, result.stdout
    found = [(f["path"], d["rule"], d["severity"]) for f in result.json()["files"] for d in f["diagnostics"]]
    assert (".claude/agents/twin.md", "NM005", "info") in found
    assert not any(rule == "NM005" and "solo" in path for path, rule, _ in found)
    quiet = cli("validate", "--no-user", "--format", "json", cwd=root, env=env).json()
    assert not any(d["rule"] == "NM005" for f in quiet["files"] for d in f["diagnostics"])


def test_duplicates_in_one_scope_stay_errors(tmp_path: Path, cli: RunCli) -> None:
    root, env = project_and_home(tmp_path)
    (root / ".claude" / "agents" / "twin-copy.md").write_text(agent_text("twin", "copy"), "utf-8")
    result = cli("validate", "--format", "json", cwd=root, env=env)
    assert result.exit_code == 1
    assert any(d["rule"] == "NM003" for f in result.json()["files"] for d in f["diagnostics"])


CLAUDE = find_claude()


@pytest.mark.claude_code
@pytest.mark.skipif(CLAUDE is None, reason="no claude binary: pip install claude-agent-sdk, or set CLAUDE_BIN")
def test_the_binary_prefers_the_project_agent(tmp_path: Path) -> None:
    root, env = project_and_home(tmp_path)
    assert CLAUDE is not None
    listing = agent_listing(root / ".claude" / "agents", CLAUDE, user_agents=Path(env["HOME"]) / ".claude" / "agents")
    assert "- twin: PROJECT twin" in listing and "USER twin" not in listing
    assert "- solo-user: USER only" in listing and "- solo-project: PROJECT only" in listing
    alone = agent_listing(
        root / ".claude" / "agents",
        CLAUDE,
        ["--setting-sources", "project,local"],
        user_agents=Path(env["HOME"]) / ".claude" / "agents",
    )
    assert "solo-user" not in alone  # what --no-user stands for
