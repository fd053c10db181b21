"""Team rules (TM*): broken fixture teams, and the shipped team passing them all."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import FIXTURES, REPO, TEAM_FOLDERS, RunCli, agent_text, make_team


def findings(cli: RunCli, root: str) -> set[tuple[str, str, int]]:
    result = cli("validate", "--format", "json", cwd=FIXTURES / "teams" / root)
    assert result.exit_code in (0, 1), result.stderr
    return {(file["path"], d["rule"], d["line"]) for file in result.json()["files"] for d in file["diagnostics"]}


def test_each_team_rule_fires_on_the_broken_team(cli: RunCli) -> None:
    found = findings(cli, "broken")
    expected = {
        ("agents/stray.md", "TM001", 2),  # not on the roster
        ("agents-shared/team-protocol.md", "TM002", 14),  # `ghost` has no file
        ("agents/alpha.md", "TM003", 18),  # escalation table names Gamma Agent
        ("agents-shared/team-protocol.md", "TM003", 20),  # the protocol's own example
        ("agents/alpha.md", "TM004", 11),  # docs/missing-guide.md does not exist
        ("agents-memory/unknown/2026-01-05-orphan.md", "TM005", 1),
        ("agents-memory/alpha/notes.md", "TM006", 1),
        ("agents-memory/alpha/notes.md", "TM007", 1),
        ("agents-memory/alpha/notes.md", "TM009", 1),  # 3 lines, not 5-15
    }
    assert expected <= found, sorted(found)
    team_rules = {finding for finding in found if finding[1].startswith("TM")}
    assert team_rules == expected  # nothing else: project paths, own memory folder, names all resolve


def test_a_protocol_without_roster_is_reported(cli: RunCli) -> None:
    found = findings(cli, "no-roster")
    assert ("agents-shared/team-protocol.md", "TM008", 1) in found
    assert not any(rule in ("TM001", "TM002") for _, rule, _ in found)


def test_the_shipped_team_is_clean_under_strict(cli: RunCli) -> None:
    result = cli("validate", "--strict", cwd=REPO)
    assert result.exit_code == 0, result.stdout
    assert "16 agents, 0 that Claude Code skips): 0 errors, 0 warnings, 0 infos" in result.stdout


def test_a_plain_claude_code_folder_has_no_team_rules(cli: RunCli) -> None:
    result = cli("validate", str(FIXTURES / "claude_code" / "valid-basic.md"), "--format", "json", cwd=FIXTURES)
    assert not any(d["rule"].startswith("TM") for file in result.json()["files"] for d in file["diagnostics"])


def test_a_team_copied_into_claude_keeps_short_paths_that_claude_code_cannot_find(cli: RunCli, tmp_path: Path) -> None:
    """The issue's project: the shipped team copied as it is into `.claude/`. Claude Code runs each
    agent in the project root, where `agents-shared/team-protocol.md` is not; TM004 resolved it
    through the team's folders and said nothing, TM010 names where the file is."""
    project = tmp_path / "project"
    for folder in TEAM_FOLDERS:
        shutil.copytree(REPO / folder, project / ".claude" / folder)
    result = cli("validate", "--format", "json", cwd=project)
    found = [(f["path"], d) for f in result.json()["files"] for d in f["diagnostics"] if d["rule"] == "TM010"]
    first = next(d for path, d in found if path == ".claude/agents/db-architect.md" and d["line"] == 13)
    assert "`agents-shared/team-protocol.md` is not in the project root" in first["message"]
    assert "`.claude/agents-shared/team-protocol.md`" in first["hint"]
    assert {path for path, _ in found} == {f".claude/agents/{p.name}" for p in (REPO / "agents").glob("*.md")}
    assert not any(d["rule"] == "TM004" for f in result.json()["files"] for d in f["diagnostics"])


def test_team_paths_outside_first_step_are_checked_from_the_root(cli: RunCli, tmp_path: Path) -> None:
    body = (
        "# First Step\n\n1. Read `agents-shared/team-protocol.md` and `agents-shared/gone.md`.\n\n"
        "# Work\n\nUse `agents-shared/checklist.md`, then `agents-memory/reviewer/` and `agents-memory/other/`;"
        " save as `agents-memory/reviewer/<date>-<topic>.md` or in `.claude/agent-memory/reviewer/`.\n"
    )
    make_team(tmp_path, {"reviewer.md": agent_text("reviewer", body=body)}, protocol="# Team Protocol\n")
    result = cli("validate", "--format", "json", cwd=tmp_path)
    found = {
        (d["rule"], d["line"], d["message"].split("`")[1])
        for f in result.json()["files"]
        for d in f["diagnostics"]
        if d["rule"] in ("TM004", "TM010")
    }
    # gone.md once (TM004's), the checklist and another agent's missing folder; not the protocol, the
    # agent's own folders (dated and Claude Code's), nor the path that stands for many.
    assert found == {
        ("TM004", 8, "agents-shared/gone.md"),
        ("TM010", 12, "agents-shared/checklist.md"),
        ("TM010", 12, "agents-memory/other/"),
    }
