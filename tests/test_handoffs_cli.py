"""`agentctl handoffs parse`: an agent's output as JSON or a summary, targets resolved through the roster."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO, RunCli, agent_text, make_team

PROTOCOL = """# Roster

| Agent | Display name | Domain |
|---|---|---|
| `db-architect` | DB Architect | PostgreSQL |
| `backend-architect` | Backend Architect | FastAPI |
"""

OUTPUT = """The words fetch seq-scans at 1.2M rows.

## Handoff Requests

### → **DB Architect**
- **Task:** Propose an index for the words fetch
- **Context from my analysis:** p95 is 1,420 ms at 50 req/s
- **I need back:** the index and its migration
- **Blocks:** the after-measurement

### -> Backend Architekt
Task: check the repository query

## Continuation Plan
If I receive handoff results, I will:
1. Re-run the scenario.

## Memory Notes

### words-fetch-seq-scan
```markdown
# Words fetch seq-scans

**Applies when:** measuring the words endpoint

The fetch seq-scans without the (transcription_id, start_ms) index.
```
"""


@pytest.fixture
def team_root(tmp_path: Path) -> Path:
    agents = {f"{name}.md": agent_text(name) for name in ("db-architect", "backend-architect")}
    return make_team(tmp_path / "team", agents, protocol=PROTOCOL)


def test_json_resolves_targets_and_reports_the_unknown_one(cli: RunCli, team_root: Path) -> None:
    (team_root / "out.md").write_text(OUTPUT, "utf-8")
    result = cli("handoffs", "parse", "out.md", "--format", "json", cwd=team_root)
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert [(h["target"], h["agent"], h["line"]) for h in data["handoffs"]] == [
        ("DB Architect", "db-architect", 5),
        ("Backend Architekt", None, 11),
    ]
    assert data["handoffs"][0]["need_back"] == "the index and its migration"
    assert data["handoffs"][1]["problems"] == [
        "not on the roster; did you mean 'Backend Architect' or 'backend-architect' or 'DB Architect'?"
    ]
    assert data["problems"] == [
        {"line": 11, "message": "handoff to 'Backend Architekt': " + data["handoffs"][1]["problems"][0]}
    ]
    assert data["continuation_plan"] == "If I receive handoff results, I will:\n1. Re-run the scenario."
    (note,) = data["memory_notes"]
    assert (note["topic"], note["line"], note["problems"]) == ("words-fetch-seq-scan", 20, [])
    assert note["text"].startswith("# Words fetch seq-scans\n\n**Applies when:**")
    assert data["answer"].startswith("The words fetch") and "Memory Notes" not in data["answer"]
    assert "## Continuation Plan" in data["answer"] and result.stderr == ""


def test_text_summary(cli: RunCli, team_root: Path) -> None:
    (team_root / "out.md").write_text(OUTPUT, "utf-8")
    result = cli("handoffs", "parse", "out.md", cwd=team_root)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "handoff requests: 2 (1 can be dispatched)",
        "  5     -> DB Architect = db-architect",
        "        task: Propose an index for the words fetch",
        "  11    -> Backend Architekt (not dispatched)",
        "        task: check the repository query",
        "memory notes: 1",
        "  20    words-fetch-seq-scan (5 lines)",
        "continuation plan: 2 lines",
        "problems: 1",
        "  11    handoff to 'Backend Architekt': not on the roster; did you mean 'Backend Architect' or 'backend-architect' or 'DB Architect'?",
    ]


@pytest.mark.parametrize("args", [(), ("-",)])
def test_standard_input_by_default_or_dash(cli: RunCli, team_root: Path, args: tuple[str, ...]) -> None:
    result = cli("handoffs", "parse", *args, "-f", "json", cwd=team_root, stdin=OUTPUT.replace("\n", "\r\n").encode())
    assert result.exit_code == 0
    assert [h["agent"] for h in result.json()["handoffs"]] == ["db-architect", None]


def test_without_a_team_targets_stay_unresolved_with_a_warning(cli: RunCli, tmp_path: Path) -> None:
    result = cli("handoffs", "parse", "--format", "json", cwd=tmp_path, stdin=OUTPUT.encode())
    assert result.exit_code == 0
    assert [h["agent"] for h in result.json()["handoffs"]] == [None, None]
    assert result.json()["problems"] == []  # unresolved is not unknown: nobody was asked
    assert result.stderr == "warning: no team found here; targets are not resolved (pass --root)\n"


def test_strict_exits_1_on_problems_only(cli: RunCli, team_root: Path) -> None:
    assert cli("handoffs", "parse", "--strict", cwd=team_root, stdin=OUTPUT.encode()).exit_code == 1
    clean = OUTPUT.split("### -> Backend Architekt")[0]
    assert cli("handoffs", "parse", "--strict", cwd=team_root, stdin=clean.encode()).exit_code == 0


@pytest.mark.parametrize("name", ["missing.md", "."])
def test_unreadable_input_is_a_usage_error(cli: RunCli, tmp_path: Path, name: str) -> None:
    result = cli("handoffs", "parse", name, cwd=tmp_path)
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: cannot read {name}: ") and lines[1].startswith("hint: ")


def test_bytes_that_are_not_utf8_are_replaced_with_a_warning(cli: RunCli, team_root: Path) -> None:
    data = b"\xef\xbb\xbf\xff Analysis.\n\n### -> DB Architect\n**Task:** x\n"
    result = cli("handoffs", "parse", "-f", "json", cwd=team_root, stdin=data)
    assert result.exit_code == 0 and result.json()["handoffs"][0]["agent"] == "db-architect"
    assert "warning: standard input is not UTF-8" in result.stderr


def test_the_protocols_example_against_the_shipped_team(cli: RunCli, tmp_path: Path) -> None:
    if not (REPO / "agents" / "db-architect.md").is_file():
        pytest.skip("the team's agents are not in this checkout")
    protocol = (REPO / "agents-shared" / "team-protocol.md").read_text("utf-8")
    example = re.search(r"```\n(## Handoff Requests\n.*?)```", protocol, re.S)
    assert example is not None
    result = cli("handoffs", "parse", "--root", str(REPO), "-f", "json", cwd=tmp_path, stdin=example.group(1).encode())
    (request,) = result.json()["handoffs"]
    assert request["agent"] == "db-architect" and request["problems"] == [] and result.json()["problems"] == []
    # The protocol file itself only quotes the format: nothing in it is a request.
    quoted = cli("handoffs", "parse", "agents-shared/team-protocol.md", "-f", "json", cwd=REPO)
    assert quoted.json()["handoffs"] == [] and quoted.exit_code == 0


def test_the_group_alone_prints_its_help(cli: RunCli) -> None:
    result = cli("handoffs")
    assert result.exit_code == 2 and "parse" in result.stdout
