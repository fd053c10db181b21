"""Team rules (TM*): broken fixture teams, and the shipped team passing them all."""

from __future__ import annotations

from tests.conftest import FIXTURES, REPO, RunCli


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
