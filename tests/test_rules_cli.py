"""`agentctl rules [RULE]`: the catalogue, one rule explained, and every explanation's example
validated with agentctl in a small team (it must produce the rule it explains)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from agentctl.cli import rules_cmd
from agentctl.validate.rules import RULES
from tests.conftest import RunCli, agent_text, make_team

EXPLANATIONS = rules_cmd.read_explanations()
# Rules whose example cannot be written as a short text file; each says why in the data file.
UNCHECKED = {"CC010", "CC011", "NM005", "NM006"}
# Claude Code's agent memory: a 200-line MEMORY.md, a symlink, bytes that are not UTF-8.
UNCHECKED |= {"MM001", "MM006", "MM007"}

PROTOCOL = """# Team Protocol

# Roster

| Agent | Display name | Domain | When to request | Capabilities |
|---|---|---|---|---|
| `reviewer` | Reviewer | Code review | a change needs a review | |
"""
REVIEWER = agent_text("reviewer", "Reviews pull requests for correctness.", "tools: Read, Grep\n")
# A fenced block of an example: ```markdown agents/reviewer.md (the info string's second word is
# where the file goes in the team).
_BLOCK = re.compile(r"^(`{3,})\w*[ \t]+(\S+)[ \t]*\n(.*?)^\1[ \t]*$", re.M | re.S)


def example_files(rule_id: str) -> list[tuple[str, str]]:
    """(path in the team, text) of each file of the rule's example."""
    return [(match.group(2), match.group(3)) for match in _BLOCK.finditer(EXPLANATIONS[rule_id].example)]


def team_with(root: Path, files: list[tuple[str, str]]) -> Path:
    """A small team (one agent on the roster, its memory folder) with the example's files added."""
    make_team(root, {"reviewer.md": REVIEWER}, protocol=PROTOCOL)
    (root / "agents-memory" / "reviewer").mkdir()
    for path, text in files:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8", newline="")
    return root


def findings(cli: RunCli, root: Path, paths: set[str]) -> set[str]:
    """The rules `agentctl validate` reports on the files at `paths`."""
    # The team's folders by default; an example in `.claude/` (commands, skills) or in a plugin's
    # folder is checked there too.
    folders = {path.split("/")[0] for path in paths} - {"agents", "agents-shared", "agents-memory"}
    extra = [".", *sorted(folders)] if folders else []
    result = cli("validate", *extra, "--format", "json", cwd=root)
    assert result.exit_code in (0, 1), result.stderr
    return {d["rule"] for file in result.json()["files"] if file["path"] in paths for d in file["diagnostics"]}


def test_every_rule_is_explained_in_all_four_parts() -> None:
    text = rules_cmd.EXPLANATIONS_FILE.read_text("utf-8")
    for rule in RULES.values():
        assert f"\n## {rule.id} {rule.slug}\n" in text, f"no `## {rule.id} {rule.slug}` section"
        explanation = EXPLANATIONS[rule.id]
        for key, title in rules_cmd.PART_TITLES:
            assert explanation.part(key).strip(), f"{rule.id} has no `### {title}`"
    assert set(EXPLANATIONS) == set(RULES), "sections for rules the catalogue does not have"


def test_only_the_known_few_examples_are_left_unchecked() -> None:
    unchecked = {rule_id for rule_id, explanation in EXPLANATIONS.items() if explanation.unchecked}
    assert unchecked == UNCHECKED
    assert all(EXPLANATIONS[rule_id].unchecked for rule_id in UNCHECKED)  # each with its reason


@pytest.mark.parametrize("rule_id", sorted(set(RULES) - UNCHECKED))
def test_the_example_triggers_its_rule(rule_id: str, cli: RunCli, tmp_path: Path) -> None:
    files = example_files(rule_id)
    assert files, f"{rule_id}: the example has no ```markdown PATH block"
    root = team_with(tmp_path / "team", files)
    paths = {path for path, _ in files}
    assert rule_id in findings(cli, root, paths)
    if "run `agentctl fmt`" in EXPLANATIONS[rule_id].fix.lower():  # the fix promises fmt repairs it: it does
        cli("fmt", cwd=root)
        assert rule_id not in findings(cli, root, paths)


def test_the_listing_has_every_rule(cli: RunCli) -> None:
    text = cli("rules")
    assert text.exit_code == 0
    assert [line.split()[0] for line in text.stdout.splitlines()] == list(RULES)
    document = cli("rules", "--format", "json").json()
    assert document["version"] == 1 and [rule["id"] for rule in document["rules"]] == list(RULES)


def test_one_rule_explained_in_text(cli: RunCli) -> None:
    result = cli("rules", "cc003")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("# CC003 fallback-changes-meaning\n")
    assert "Severity: error" in out and "Group: loading" in out
    headings = [line for line in out.splitlines() if line.startswith("## ")]
    assert headings == ["## What it finds", "## Why it matters", "## Example", "## How to fix"]
    assert "```markdown agents/" in out and "Run `agentctl fmt`" in out
    assert "--ignore CC003" in out and 'ignore = ["CC003"]' in out
    assert max(len(line) for line in out.splitlines()) <= 100  # readable in a terminal


def test_one_rule_by_name_in_json(cli: RunCli) -> None:
    result = cli("rules", "fallback-changes-meaning", "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = result.json()
    assert document["version"] == 1
    rule = document["rule"]
    assert list(rule) == ["id", "name", "severity", "group", "summary", "what", "why", "example", "fix"]
    assert (rule["id"], rule["name"], rule["severity"], rule["group"]) == (
        "CC003",
        "fallback-changes-meaning",
        "error",
        "loading",
    )
    assert rule["example"].startswith("```") and "--ignore CC003" in rule["fix"]
    assert cli("rules", "CC003", "--format", "json").json() == document


def test_maintainers_notes_stay_out_of_the_explanation(cli: RunCli) -> None:
    out = cli("rules", "CC010").stdout
    assert "<!--" not in out and "## Example" in out


@pytest.mark.parametrize(("wanted", "suggested"), [("CC03", "CC003"), ("unkown-key", "FM001 (unknown-key)")])
def test_an_unknown_rule_is_a_usage_error_with_a_suggestion(cli: RunCli, wanted: str, suggested: str) -> None:
    result = cli("rules", wanted)
    assert result.exit_code == 2 and result.stdout == ""
    assert f"error: no rule called {wanted!r}" in result.stderr
    assert "did you mean" in result.stderr and suggested in result.stderr
    document = cli("rules", wanted, "--format", "json").json()
    assert document["version"] == 1 and document["error"]["exit_code"] == 2


def test_a_long_or_odd_argument_is_one_short_line(cli: RunCli) -> None:
    result = cli("rules", "x\n" * 50_000)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()[0]) < 100 and "`agentctl rules` lists" in result.stderr


def test_help_lists_the_exit_codes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentctl", "rules", "--help"], capture_output=True, text=True, timeout=60
    )
    out = " ".join(result.stdout.split())
    assert "Exit codes: 0 found; 2 bad usage or input" in out and "rules [OPTIONS] [RULE]" in out


def test_only_explaining_a_rule_reads_the_data_file(
    cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules_cmd, "EXPLANATIONS_FILE", tmp_path / "missing.md")
    assert cli("rules").exit_code == 0
    broken = cli("rules", "CC003")
    assert broken.exit_code == 3 and "reinstall agentctl" in broken.stderr


def test_the_data_file_ships_inside_the_package() -> None:
    import agentctl.data

    assert rules_cmd.EXPLANATIONS_FILE.parent == Path(agentctl.data.__file__).resolve().parent


def test_explaining_a_rule_imports_nothing_heavy() -> None:
    probe = (
        "import sys\nfrom agentctl.cli import main\ncode = main(sys.argv[1:])\n"
        "heavy = sorted(m for m in ('anthropic', 'pydantic', 'git', 'jinja2', 'yaml', 'rich') if m in sys.modules)\n"
        "print('IMPORTED=' + ','.join(heavy), file=sys.stderr)\nsys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, "rules", "CC003"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("# CC003")
    assert result.stderr.rsplit("IMPORTED=", 1)[1].strip() == ""
