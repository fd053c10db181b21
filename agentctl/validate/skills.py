"""Rules for the other markdown files of a `.claude/` folder that Claude Code reads (SK*): slash
commands (commands/**/*.md), skills (skills/<name>/SKILL.md) and output styles (output-styles/*.md).

Claude Code 2.1.332 reads a command's and a skill's frontmatter with one loader, the one agents go
through (cut at the first `---`, Bun's YAML, one lenient retry), but it never skips the file: a
frontmatter it cannot read is ignored whole and the body loads without its settings. Neither needs
`name` (the file or folder names it) nor `description` (the body's first paragraph stands in).
The keys below are the loader's own schema (its `skill` and `output-style` frontmatter schemas).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from agentctl.spec import AgentFile
from agentctl.textlines import shorten
from agentctl.validate.loading import check_file_access, fallback_changes, plain_yaml_problem
from agentctl.validate.model import Diagnostic, FileKind
from agentctl.validate.positions import frontmatter_line, key_position, value_position
from agentctl.validate.rules import SUGGESTIONS_PER_FILE, finding

# Commands and skills: documented keys, then the ones Claude Code reads for plugins and its own
# bookkeeping (not errors to hold, so not reported).
SKILL_KEYS = frozenset(
    {
        "name",
        "description",
        "when_to_use",
        "argument-hint",
        "arguments",
        "allowed-tools",
        "disallowed-tools",
        "disallowedTools",
        "model",
        "effort",
        "disable-model-invocation",
        "user-invocable",
        "shell",
        "paths",
        "hooks",
        "context",
        "agent",
        "background",
        "metadata",
        "version",
        "fallback",
        "created_by",
        "improved_by",
        "mcpServers",
        "lspServers",
        "agents",
        "outputStyles",
        "themes",
        "workflows",
        "channels",
        "monitors",
        "settings",
        "userConfig",
        "defaultEnabled",
        "experimental",
        "dependencies",
        "displayName",
        "author",
        "homepage",
        "repository",
        "license",
        "keywords",
    }
)
OUTPUT_STYLE_KEYS = frozenset({"name", "description", "keep-coding-instructions", "force-for-plugin"})
# Agent keys people carry over into skills and commands, and the key Claude Code reads instead.
_AGENT_HABITS = {"tools": "allowed-tools", "allowed_tools": "allowed-tools", "allowedtools": "allowed-tools"}

CHECKED_KINDS: frozenset[FileKind] = frozenset({"command", "skill", "output-style"})


def check_document(kind: FileKind, agent: AgentFile) -> list[Diagnostic]:
    """Every finding on one command, skill or output style, in file order."""
    found = [*check_file_access(agent), *_frontmatter(agent)]
    if kind == "skill":
        found += [*_placement(agent), *_description(agent), *_name(agent)]
    found += _unknown_keys(agent, OUTPUT_STYLE_KEYS if kind == "output-style" else SKILL_KEYS)
    return sorted(found, key=lambda diagnostic: (diagnostic.line, diagnostic.column, diagnostic.rule))


def _frontmatter(agent: AgentFile) -> Iterator[Diagnostic]:
    reading = agent.reading
    if reading is None or reading.parsed is None:
        return  # unread (CC010), or no frontmatter: a plain prompt, which is fine
    problem = reading.parsed.error
    if reading.status == "invalid" and problem is not None:
        why = f"is not YAML ({plain_yaml_problem(problem.message)}) and Claude Code's fallback cannot read it either"
        yield _ignored(frontmatter_line(agent, problem.line), problem.column, why, "quote the value on that line")
    elif reading.status in ("valid", "lenient") and reading.parsed.value is not None and not reading.data:
        kind = "a list" if isinstance(reading.parsed.value, list) else "a single value"
        block = reading.block
        yield _ignored(block.first_line if block else 1, 1, f"is {kind}, not `key: value` lines", "drop the `- `")
    elif reading.status == "recovered" and problem is not None:
        changes = fallback_changes(agent)
        said = "; ".join(changes) if changes else "it recovers the values as written"
        yield finding(
            "SK002",
            frontmatter_line(agent, problem.line),
            problem.column,
            f"the frontmatter is not valid YAML ({plain_yaml_problem(problem.message)}); Claude Code's fallback "
            f"reads it: {said}",
            "quote the value on that line",
        )


def _ignored(line: int, column: int, why: str, fix: str) -> Diagnostic:
    return finding(
        "SK001",
        line,
        column,
        f"the frontmatter {why}: Claude Code ignores all of it (description, allowed-tools, model...) "
        "and loads the body alone",
        f"{fix}; the frontmatter must be `key: value` lines",
    )


def _placement(agent: AgentFile) -> Iterator[Diagnostic]:
    """Claude Code reads skills/<name>/SKILL.md only: a file right in skills/ or a skill.md is missed."""
    path = agent.path
    if path.parent.parent.name == "skills" and path.name == "SKILL.md":
        return
    if path.parent.name == "skills":
        why, fix = "a file right in skills/ is not a skill", f"move it to skills/{path.stem}/SKILL.md"
    else:
        why, fix = f"the file is named {path.name}, not SKILL.md", "rename it to SKILL.md (upper case)"
    yield finding("SK005", 1, 1, f"Claude Code does not load this skill: {why}", fix)


def _description(agent: AgentFile) -> Iterator[Diagnostic]:
    data = agent.reading.data if agent.reading else {}
    if _has_description(data.get("description")):
        return
    yield finding(
        "SK004",
        *key_position(agent, "description"),
        "the skill has no `description`: Claude Code shows the model the body's first paragraph instead, "
        "and the model picks skills by their description",
        "add `description:` saying what the skill does and when to use it",
    )


def _has_description(value: Any) -> bool:
    """Whether Claude Code takes the value as the description: text, or a number or boolean it prints."""
    return (isinstance(value, str) and bool(value.strip())) or isinstance(value, (int, float))


def _name(agent: AgentFile) -> Iterator[Diagnostic]:
    data = agent.reading.data if agent.reading else {}
    name, folder = data.get("name"), agent.path.parent.name
    if agent.path.name != "SKILL.md" or not isinstance(name, str) or name in ("", folder):
        return
    yield finding(
        "SK006",
        *value_position(agent, "name"),
        f"the name {shorten(name, 60)!r} differs from the skill's folder {folder!r}: Claude Code calls the "
        f"skill {folder!r} and shows {shorten(name, 60)!r} only as its display name",
        f"rename the folder to `{name}`, or set `name: {folder}`",
    )


def _unknown_keys(agent: AgentFile, known: frozenset[str]) -> list[Diagnostic]:
    data = agent.reading.data if agent.reading else {}
    found = []
    for count, raw in enumerate(data):
        key = str(raw)  # YAML keys may be numbers
        if key in known:
            continue
        suggestion = _AGENT_HABITS.get(key.lower()) or (_closest(key, known) if count < SUGGESTIONS_PER_FILE else None)
        hint = f"did you mean `{suggestion}`?" if suggestion else "delete it, or keep it knowing Claude Code ignores it"
        message = f"Claude Code does not read the key `{shorten(key, 60)}` here"
        found.append(finding("SK003", *key_position(agent, key), message, hint))
    return found


def _closest(word: str, choices: frozenset[str]) -> str | None:
    matches = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.75)
    return matches[0] if matches else None
