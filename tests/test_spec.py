"""AgentSpec: every frontmatter field, unknown keys, the body, key lines and examples."""

from __future__ import annotations

from pathlib import Path

from agentctl.spec import DOCUMENTED_FIELDS, parse_agent_text

FULL = """---
name: db-architect
description: Senior PostgreSQL engineer for schema and index work.
tools: Read, Grep, Glob
disallowedTools: Write
model: opus
permissionMode: plan
maxTurns: 30
skills: [sql-review]
mcpServers: [postgres]
hooks:
  PostToolUse:
    - matcher: Edit
      hooks:
        - type: command
          command: ./lint.sh
memory: project
background: false
effort: high
isolation: worktree
color: blue
initialPrompt: Review the latest migration.
category: data
---

# Identity
You are the DB Architect.
"""


def test_every_documented_field_is_read() -> None:
    spec = parse_agent_text(Path("db-architect.md"), FULL).spec
    assert (spec.name, spec.model, spec.permission_mode, spec.max_turns) == ("db-architect", "opus", "plan", 30)
    assert spec.tools == ["Read", "Grep", "Glob"] and spec.disallowed_tools == ["Write"]
    assert spec.skills == ["sql-review"] and spec.mcp_servers == ["postgres"]
    assert spec.hooks["PostToolUse"][0]["matcher"] == "Edit"
    assert (spec.memory, spec.background, spec.effort, spec.isolation, spec.color) == (
        "project",
        False,
        "high",
        "worktree",
        "blue",
    )
    assert spec.initial_prompt == "Review the latest migration."
    assert spec.extra == {"category": "data"}  # unknown keys are kept
    assert set(spec.raw) == set(DOCUMENTED_FIELDS) | {"category"}


def test_every_key_has_its_line() -> None:
    spec = parse_agent_text(Path("a.md"), FULL).spec
    assert spec.key_lines["name"] == 2 and spec.key_lines["hooks"] == 11 and spec.key_lines["category"] == 23
    assert (
        spec.body == "# Identity\nYou are the DB Architect.\n" and spec.body_line == 26
    )  # Claude Code eats blank lines after `---`


def test_tools_as_a_yaml_list() -> None:
    spec = parse_agent_text(Path("a.md"), "---\nname: a\ndescription: d\ntools:\n  - Read\n  - Bash(git:*)\n---\n").spec
    assert spec.tools == ["Read", "Bash(git:*)"]


def test_examples_with_real_line_breaks() -> None:
    text = """---
name: reviewer
description: |
  Use after code changes.
  <example>
  Context: The user finished a feature.
  user: "Review my change"
  assistant: "I'll use the reviewer agent."
  <commentary>Code was written, so review it.</commentary>
  </example>
---
"""
    [example] = parse_agent_text(Path("r.md"), text).spec.examples
    assert example.context == "The user finished a feature."
    assert example.user == '"Review my change"'
    assert example.assistant == '"I\'ll use the reviewer agent."'
    assert example.commentary == "Code was written, so review it."
    assert example.line == 4


def test_examples_with_literal_backslash_n() -> None:
    description = (
        "Use for reviews.\\n\\n<example>\\nContext: a PR\\nuser: check it\\nassistant: on it\\n</example>"
        "\\n<example>\\nuser: second\\n</example>"
    )
    spec = parse_agent_text(Path("r.md"), f'---\nname: r\ndescription: "{description}"\n---\n').spec
    assert [(e.context, e.user, e.assistant) for e in spec.examples] == [
        ("a PR", "check it", "on it"),
        ("", "second", ""),
    ]


def test_author_reading_keeps_the_whole_description_the_fallback_cuts() -> None:
    text = "---\nname: a\ndescription: Use for: schemas\nContext: a migration\nuser: check it\ntools: Read\n---\n"
    agent = parse_agent_text(Path("a.md"), text)
    assert agent.verdict.description == "Use for: schemas"  # what Claude Code keeps
    assert agent.spec.description == "Use for: schemas\nContext: a migration\nuser: check it"  # what was meant
    assert agent.spec.tools == ["Read"]
