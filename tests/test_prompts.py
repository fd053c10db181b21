"""The prompt templates render what the team protocol promises, and fail loudly when misused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentctl import bounds, prompts
from agentctl.config import Settings, load_settings
from agentctl.errors import AgentctlError
from tests.conftest import RunCli, agent_text, copy_shipped_team, make_team

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
    saved_as = "`agents-memory/db-architect/2026-11-21-<topic-slug>.md`"
    context = {"agent": AGENT, "memory_format": memory_format, "today": "2026-11-21", "saved_as": saved_as}
    text = prompts.render("memory_notes", context)
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


# --- a team's templates are outside input (issue #10): a bad one is exit 2, never exit 3 or a hang ---------


def _team_template(tmp_path: Path, content: bytes | None, name: str = "handoff.md.j2") -> Settings:
    make_team(tmp_path, {"a.md": agent_text("a")})
    path = tmp_path / "templates" / name
    path.parent.mkdir(exist_ok=True)
    if content is None:
        os.mkfifo(path)
    else:
        path.write_bytes(content)
    return load_settings(cwd=tmp_path, environ={})


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"Brief for \xff{{ request.task }}\n", "handoff.md.j2: the template is not UTF-8 text"),
        (None, "handoff.md.j2: cannot read the template: a FIFO, not a regular file"),
        (b"x" * (bounds.TEMPLATE_BYTES + 1), "handoff.md.j2: cannot read the template: larger than 1 MiB"),
        (b'{% include "handoff.md.j2" %}', "handoff.md.j2: the template failed: RecursionError"),
        (b"{{ 1 / 0 }}", "handoff.md.j2: the template failed: ZeroDivisionError: division by zero"),
        (b"{{ ''.__class__ }}", "handoff.md.j2: the template failed: SecurityError"),
        (b'{% include "notes.j2" %}', "template notes.j2 not found"),
        (b'{% include "../agents/a.md" %}', "template ../agents/a.md not found"),
    ],
    ids=["not-utf8", "fifo", "too-large", "includes-itself", "raises", "sandbox", "missing-include", "outside"],
)
def test_a_bad_team_template_is_a_template_error(tmp_path: Path, content: bytes | None, problem: str) -> None:
    settings = _team_template(tmp_path, content)
    with pytest.raises(prompts.TemplateError) as raised:
        prompts.render("handoff", {"request": {"task": "X"}}, settings)
    assert problem in raised.value.message and raised.value.exit_code == 2


def test_a_template_at_the_size_limit_renders(tmp_path: Path) -> None:
    settings = _team_template(tmp_path, b"x" * bounds.TEMPLATE_BYTES)
    assert len(prompts.render("handoff", {}, settings)) == bounds.TEMPLATE_BYTES


def test_a_team_template_may_include_another_of_its_own(tmp_path: Path) -> None:
    settings = _team_template(tmp_path, b"Shared rules.\n", name="rules.j2")
    (tmp_path / "templates" / "handoff.md.j2").write_text('{% include "rules.j2" %}Brief for {{ request.task }}\n')
    assert prompts.render("handoff", {"request": {"task": "X"}}, settings) == "Shared rules.\nBrief for X\n"


def test_a_memory_budget_of_0_puts_no_notes_in_the_prompt(tmp_path: Path, cli: RunCli) -> None:
    root = copy_shipped_team(tmp_path)
    ask = ("prompt", "db-architect", "--task", "Add an index on transcription words for search", "--format", "json")
    assert cli(*ask, cwd=root).json()["memories"]  # the default budget finds the index notes
    (root / "agentctl.toml").write_text("[dispatch]\nmemory_budget = 0\n")
    assert cli(*ask, cwd=root).json()["memories"] == []  # 0 is none, not "the default"
