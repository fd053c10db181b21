"""Rules for the other markdown files of a `.claude/` folder that Claude Code reads (SK*): slash
commands (commands/**/*.md), skills (skills/<name>/SKILL.md) and output styles (output-styles/*.md).

Claude Code 2.1.332 reads a command's and a skill's frontmatter with one loader, the one agents go
through (cut at the first `---`, Bun's YAML, one lenient retry), but it never skips the file: a
frontmatter it cannot read is ignored whole and the body loads without its settings. Neither needs
`name` (the file or folder names it) nor `description` (the body's first paragraph stands in).
The keys below are the loader's own schema (its `skill` and `output-style` frontmatter schemas).

The values Claude Code reads from a command's or skill's frontmatter are read as it reads them:
`allowed-tools` is split like an agent's `tools` and its names checked against the one tool
catalogue (tools.py); `model` and `effort` go through the agent's parsers (fields.py); the yes/no
flags `disable-model-invocation` and `user-invocable` through claude_code.js_flag (true/false,
yes/no, on/off, 1/0; anything else is false, checked against the binary's listing of skills).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from agentctl.claude_code import js_flag, js_trim, tool_list
from agentctl.spec import AgentFile
from agentctl.textlines import shorten
from agentctl.validate.fields import effort_problem, model_problem
from agentctl.validate.loading import check_file_access, fallback_changes, plain_yaml_problem
from agentctl.validate.model import Diagnostic, FileKind
from agentctl.validate.positions import frontmatter_line, key_position, value_position
from agentctl.validate.rules import SUGGESTIONS_PER_FILE, finding
from agentctl.validate.tools import ToolPlaces, tool_name_problem

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
    if kind in ("command", "skill"):
        found += [*_allowed_tools(agent), *_values(agent), *_flags(agent, kind)]
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


def _allowed_tools(agent: AgentFile) -> Iterator[Diagnostic]:
    """`allowed-tools` entries that name no tool of Claude Code's, by the catalogue agents' `tools`
    are checked against: the permission they mean to give matches nothing. Claude Code splits the
    value as it splits an agent's `tools`; a renamed tool's old name still works, so it passes."""
    data = agent.reading.data if agent.reading else {}
    tools = tool_list(data.get("allowed-tools"), True)  # None: `*`, every tool
    if not tools:
        return
    places = ToolPlaces(agent, "allowed-tools")
    for index, tool in enumerate(tools):
        base = tool.split("(", 1)[0].strip()
        problem = tool_name_problem(base, suggest=index < SUGGESTIONS_PER_FILE)
        if problem is None or problem[0] == "renamed":
            continue
        what, hint = problem
        why = {
            "malformed-mcp": f"`{shorten(tool, 80)}` is not an MCP tool name",
            "removed": f"`{base}` no longer exists in Claude Code",
        }.get(what, f"`{shorten(base, 80)}` is not a Claude Code tool")
        yield finding("SK007", *places.of(tool), f"{why}: this `allowed-tools` entry allows nothing", hint)


def _values(agent: AgentFile) -> Iterator[Diagnostic]:
    """`model` and `effort`, judged as an agent's are: Claude Code reads them with the same parsers."""
    data = agent.reading.data if agent.reading else {}
    for key, problem_of, rule in (("model", model_problem, "SK009"), ("effort", effort_problem, "SK008")):
        value = data.get(key)
        if value is None or (key == "model" and isinstance(value, str) and not js_trim(value)):
            continue  # Claude Code takes a blank model as none: the session's
        problem = problem_of(value)
        if problem is not None:
            message, hint = problem
            yield finding(rule, *value_position(agent, key), f"`{key}`: {message}", hint)


def _flags(agent: AgentFile, kind: FileKind) -> Iterator[Diagnostic]:
    """`disable-model-invocation` and `user-invocable`: Claude Code takes anything but true or false
    (yes/no, on/off, 1/0 too, in any case) as false, which for `user-invocable` hides the command."""
    data = agent.reading.data if agent.reading else {}
    effects = {
        "disable-model-invocation": (
            f"the model can still run the {kind}",
            "write `disable-model-invocation: true`, or delete the line",
        ),
        "user-invocable": (
            f"the {kind} is hidden from the user's `/` menu",
            "write `user-invocable: false` to hide it, or delete the line",
        ),
    }
    for key, (effect, hint) in effects.items():
        if key in data and js_flag(data[key]) is None:
            shown = "an empty value" if data[key] is None else shorten(repr(data[key]), 60)
            message = f"`{key}`: {shown} is not true or false; Claude Code reads it as false: {effect}"
            yield finding("SK010", *value_position(agent, key), message, hint)


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
