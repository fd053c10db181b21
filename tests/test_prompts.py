"""The prompt templates render what the team protocol promises, and fail loudly when misused."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentctl import prompts
from agentctl.config import load_settings
from agentctl.errors import AgentctlError
from tests.conftest import agent_text, make_team

AGENT = {"name": "db-architect", "display_name": "DB Architect"}


def test_fresh_task_prompt() -> None:
    text = prompts.render(
        "task",
        {
            "agent": AGENT,
            "task": "Add an index for the words query.",
            "context": "p95 is 1.4 s",
            "memory_instructions": "",
        },
    )
    assert text.startswith("You are DB Architect (`db-architect`), working in fresh mode.")
    assert "## Task\n\nAdd an index for the words query." in text
    assert "## Context\n\np95 is 1.4 s" in text
    assert "## Handoff Requests" in text and "### -> <Display Name>" in text


def test_continuation_prompt_has_the_three_protocol_lines() -> None:
    text = prompts.render(
        "continuation",
        {
            "task": "Add an index.",
            "previous_analysis": "Needs a partial index.",
            "results": [
                {
                    "agent": "backend-architect",
                    "display_name": "Backend Architect",
                    "task": "Check the query",
                    "status": "ok",
                    "output": "Query uses start_ms.",
                }
            ],
            "memory_instructions": "",
        },
    )
    lines = text.split("\n")
    assert lines[0] == "Continue your work on: Add an index."
    assert "Your previous analysis: Needs a partial index." in lines
    assert "Handoff results:" in lines
    assert "### From Backend Architect (`backend-architect`): ok" in text and "Query uses start_ms." in text


def test_handoff_brief_leaves_out_empty_fields() -> None:
    text = prompts.render(
        "handoff",
        {
            "requester": AGENT,
            "parent_task": "Add an index.",
            "request": {"task": "Review the plan", "context": "", "need_back": "yes or no", "blocks": ""},
            "memory_instructions": "",
        },
    )
    assert "**Task:** Review the plan" in text and "**I need back:** yes or no" in text
    assert "**Context from my analysis:**" not in text and "**Blocks:**" not in text


@pytest.mark.parametrize("memory_format", ["A", "B"])
def test_memory_instructions_in_both_formats(memory_format: str) -> None:
    text = prompts.render("memory_notes", {"agent": AGENT, "memory_format": memory_format, "today": "2026-11-21"})
    assert "## Memory Notes\n\n### <topic-slug>\n```markdown" in text
    assert ("## Insight:" in text) == (memory_format == "B")
    assert ("**Applies when:**" in text) == (memory_format == "A")
    assert "agents-memory/db-architect/2026-11-21-<topic-slug>.md" in text


def test_missing_values_are_errors_not_blanks() -> None:
    with pytest.raises(AgentctlError) as raised:
        prompts.render("continuation", {"task": "x", "previous_analysis": "y"})
    assert "'results' is undefined" in raised.value.message


def test_a_team_template_overrides_the_shipped_one(tmp_path: Path) -> None:
    make_team(tmp_path, {"a.md": agent_text("a")})
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "handoff.md.j2").write_text("Brief for {{ request.task }}\n")
    settings = load_settings(cwd=tmp_path, environ={})
    text = prompts.render("handoff", {"request": {"task": "X"}}, settings)
    assert text == "Brief for X\n"
    (tmp_path / "templates" / "handoff.md.j2").write_text("{% if %}\n")
    with pytest.raises(AgentctlError) as raised:
        prompts.render("handoff", {}, settings)
    assert "handoff.md.j2:1: template syntax error" in raised.value.message


def test_templates_are_sandboxed() -> None:
    from jinja2.exceptions import SecurityError

    environment = prompts.environment()
    with pytest.raises(SecurityError):
        environment.from_string("{{ ''.__class__.__mro__[1].__subclasses__() }}").render()
