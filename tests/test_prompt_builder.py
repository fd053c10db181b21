"""The prompts a dispatch sends: stable cached blocks first, First Step files included, memory last."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agentctl import bounds
from agentctl.config import load_settings
from agentctl.errors import UsageError
from agentctl.memory import MemoryStore
from agentctl.prompts import HandoffResult, PromptBuilder
from agentctl.team import load_team
from tests.conftest import RunCli, copy_shipped_team

TODAY = "2026-11-22"


@pytest.fixture
def team_root(tmp_path: Path) -> Path:
    """A copy of the shipped team, with a project CLAUDE.md and the backend guide its agents name."""
    copy_shipped_team(tmp_path)
    (tmp_path / "CLAUDE.md").write_text("# Project\nUse uv for Python.\n")
    (tmp_path / "cofee_backend").mkdir()
    (tmp_path / "cofee_backend" / "CLAUDE.md").write_text("# Backend\nModules: router, service, repository.\n")
    return tmp_path


def builder_for(root: Path, memory: bool = True) -> PromptBuilder:
    settings = load_settings(cwd=root, environ={})
    team = load_team(settings)
    return PromptBuilder(team, MemoryStore(settings) if memory else None)


def test_system_prompt_is_body_then_team_files_then_memory(team_root: Path) -> None:
    builder = builder_for(team_root)
    agent = builder.team.resolve("db-architect")
    prompt = builder.fresh(agent, "Speed up the transcription words query with an index", TODAY)
    assert [block.name for block in prompt.system] == ["agent", "team", "memory"]
    assert [block.cache for block in prompt.system] == [False, True, False]
    assert prompt.system[0].text.startswith("# First Step")
    team_block = prompt.system[1].text
    protocol = (team_root / "agents-shared" / "team-protocol.md").read_text()
    assert protocol.strip() in team_block, "the protocol is included verbatim"
    # The files the agent's First Step names are there, so it needs no tool to read them.
    assert "## `CLAUDE.md`\n\n# Project\nUse uv for Python." in team_block
    assert "## `cofee_backend/CLAUDE.md`" in team_block
    assert "agents-memory/db-architect/2026-01-19-transcription-words-index.md" in prompt.memories
    assert "Applies when" in prompt.system[2].text


def test_blocks_before_the_breakpoint_are_byte_identical_across_tasks_and_builders(team_root: Path) -> None:
    first = builder_for(team_root)
    second = builder_for(team_root)  # a second dispatch: a new process would build a new builder
    agent = first.team.resolve("db-architect")
    one = first.fresh(agent, "Add an index on words", TODAY)
    two = second.fresh(second.team.resolve("DB Architect"), "Review the pool size for workers", TODAY)
    cont = first.continuation(agent, "Add an index on words", "Needs an index.", [], TODAY)
    stable = [(block.text, block.cache) for block in one.system[:2]]
    assert stable == [(block.text, block.cache) for block in two.system[:2]]
    assert stable == [(block.text, block.cache) for block in cont.system[:2]]
    assert one.user != two.user and one.digest() != two.digest()


def test_memory_block_is_left_out_without_matching_notes_or_with_no_memory(team_root: Path) -> None:
    builder = builder_for(team_root)
    agent = builder.team.resolve("ui-designer")
    assert [block.name for block in builder.fresh(agent, "zzz qqq", TODAY).system] == ["agent", "team"]
    without = builder_for(team_root, memory=False)
    prompt = without.fresh(without.team.resolve("db-architect"), "words index", TODAY)
    assert "memory" not in [block.name for block in prompt.system] and prompt.memories == []


def test_user_turns_follow_the_protocol(team_root: Path) -> None:
    from agentctl.handoff import parse_output

    builder = builder_for(team_root)
    agent = builder.team.resolve("db-architect")
    fresh = builder.fresh(agent, "Add an index on words", TODAY)
    assert "## Memory Notes" in fresh.user and f"agents-memory/db-architect/{TODAY}-<topic-slug>.md" in fresh.user
    result = HandoffResult("backend-architect", "Backend Architect", "Check the query", "ok", "It orders by start_ms.")
    cont = builder.continuation(agent, "Add an index on words", "Needs an index.", [result], TODAY)
    assert cont.user.startswith(
        "Continue your work on: Add an index on words\n\nYour previous analysis: Needs an index."
    )
    assert "Handoff results:" in cont.user and "It orders by start_ms." in cont.user
    request = parse_output("## Handoff Requests\n\n### -> DB Architect\n**Task:** Review the index\n").handoffs[0]
    brief = builder.handoff(agent, "backend-architect", "Speed up words", request, TODAY)
    assert brief.user.startswith("Backend Architect (`backend-architect`) needs your expertise while working on:")
    assert "**Task:** Review the index" in brief.user


def test_prompt_command_prints_a_ready_to_send_request(cli: RunCli, team_root: Path) -> None:
    result = cli("prompt", "DB Architect", "--task", "Add an index on words", "--format", "json", cwd=team_root)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["agent"] == "db-architect" and data["mode"] == "fresh"
    assert [bool(block.get("cache_control")) for block in data["system"]][:2] == [False, True]
    assert data["messages"][0]["role"] == "user" and "Add an index on words" in data["messages"][0]["content"]
    user_only = cli("prompt", "db-architect", "--task", "x y", "--part", "user", cwd=team_root)
    assert user_only.stdout.startswith("You are DB Architect")


def test_prompt_command_renders_a_continuation_from_files(cli: RunCli, team_root: Path) -> None:
    previous = team_root / "previous.md"
    previous.write_text(
        "Needs an index.\n\n## Handoff Requests\n\n### -> Backend Architect\n**Task:** Check the query shape\n"
    )
    (team_root / "answer.md").write_text("It orders by start_ms.\n")
    result = cli(
        "prompt",
        "db-architect",
        "--task",
        "Add an index",
        "--continuation",
        "previous.md",
        "--result",
        "backend architect=answer.md",
        "--part",
        "user",
        cwd=team_root,
    )
    assert result.exit_code == 0, result.stderr
    assert "### From Backend Architect (`backend-architect`): ok\n**Task:** Check the query shape" in result.stdout
    bad = cli(
        "prompt", "db-architect", "--task", "x", "--continuation", "previous.md", "--result", "nope", cwd=team_root
    )
    assert bad.exit_code == 2 and "AGENT=FILE" in bad.stderr


def test_prompt_command_renders_a_handoff_brief(cli: RunCli, team_root: Path) -> None:
    (team_root / "request.md").write_text("## Handoff Requests\n\n### → DB Architect\n**Task:** Review the index\n")
    args = ["prompt", "db-architect", "--handoff", "request.md", "--part", "user"]
    result = cli(*args, "--from", "backend-architect", "--task", "Speed up words", cwd=team_root)
    assert result.exit_code == 0, result.stderr
    assert "working on:\nSpeed up words" in result.stdout and "**Task:** Review the index" in result.stdout
    assert cli(*args, cwd=team_root).exit_code == 2
    other = cli("prompt", "ui-designer", "--handoff", "request.md", "--from", "backend-architect", cwd=team_root)
    assert other.exit_code == 2 and "no handoff request to ui-designer" in other.stderr


# --- project notes and the protocol as outside files (issue #10) -----------------------------------------------


def _team_block(root: Path) -> str:
    builder = builder_for(root, memory=False)
    return builder.fresh(builder.team.resolve("db-architect"), "Add an index", TODAY).system[1].text


def test_a_project_note_that_is_not_a_regular_file_is_left_out(team_root: Path) -> None:
    note = team_root / "cofee_backend" / "CLAUDE.md"
    note.unlink()
    os.mkfifo(note)  # a read would block forever
    (team_root / "CLAUDE.md").unlink()
    (team_root / "CLAUDE.md").symlink_to("CLAUDE.md")  # a loop: Path.resolve raises RuntimeError on it
    team_block = _team_block(team_root)
    assert "## `CLAUDE.md`" not in team_block and "## `cofee_backend/CLAUDE.md`" not in team_block
    assert "## `agents-shared/team-protocol.md`" in team_block


def test_a_project_note_over_the_protocol_limit_is_named_not_read(team_root: Path) -> None:
    with (team_root / "cofee_backend" / "CLAUDE.md").open("ab") as handle:
        handle.truncate(bounds.PROTOCOL_BYTES + 1)
    assert "## `cofee_backend/CLAUDE.md`\n\n[left out: the file is larger than 4 MiB]" in _team_block(team_root)


def test_an_unreadable_protocol_stops_the_builder_before_any_prompt(team_root: Path) -> None:
    protocol = team_root / "agents-shared" / "team-protocol.md"
    protocol.unlink()
    os.mkfifo(protocol)
    settings = load_settings(cwd=team_root, environ={})
    with pytest.raises(UsageError) as raised:
        PromptBuilder(load_team(settings), None)
    assert raised.value.message == f"cannot read the team protocol {protocol}: a FIFO, not a regular file"


def test_a_team_without_a_protocol_still_gets_prompts(team_root: Path) -> None:
    (team_root / "agents-shared" / "team-protocol.md").unlink()
    assert "team-protocol.md" not in _team_block(team_root)
