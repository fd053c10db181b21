"""Rules about `tools` and `disallowedTools` (TL*)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from functools import cache

from agentctl import reference
from agentctl.spec import AgentFile
from agentctl.validate.model import Diagnostic
from agentctl.validate.positions import file_line, key_position
from agentctl.validate.rules import finding

_MCP_TOOL = re.compile(r"mcp__[A-Za-z0-9_.-]+?(?:__[A-Za-z0-9_.*-]+)?")
_AGENT_LIKE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+")


def check_tools(agent: AgentFile) -> Iterator[Diagnostic]:
    for key in ("tools", "disallowedTools"):
        names = agent.spec.tools if key == "tools" else agent.spec.disallowed_tools
        if key not in agent.spec.raw:
            continue
        yield from _shape_problems(agent, key)
        seen: set[str] = set()
        for tool in names or []:
            if tool in seen:
                position = _tool_position(agent, key, tool, occurrence=2)
                yield finding("TL005", *position, f"`{tool}` is listed twice in `{key}`", "delete the second one")
            seen.add(tool)
            yield from _name_problems(agent, key, tool)
    yield from _allowed_and_disallowed(agent)


def _shape_problems(agent: AgentFile, key: str) -> Iterator[Diagnostic]:
    value = agent.spec.raw[key]
    if isinstance(value, list) and value:
        flat = ", ".join(str(item) for item in value)
        yield finding(
            "TL007",
            *key_position(agent, key),
            f"`{key}` is a YAML list; Claude Code has had bugs reading this form",
            f"write it on one line: {key}: {flat}",
        )
    if key == "tools" and (value is None or value == "" or value == []):
        yield finding(
            "TL008",
            *key_position(agent, key),
            "`tools` is empty: Claude Code lists the agent with 'All tools', which is rarely what an empty list means",
            "delete the line to give the agent every tool, or name the tools it needs",
        )


def _name_problems(agent: AgentFile, key: str, tool: str) -> Iterator[Diagnostic]:
    facts = reference.claude_code()
    base = tool.split("(", 1)[0].strip()
    position = _tool_position(agent, key, tool)
    if base.startswith("mcp"):
        if not _MCP_TOOL.fullmatch(base) or base.endswith("__"):
            yield finding(
                "TL004",
                *position,
                f"`{tool}` is not an MCP tool name",
                "write MCP tools as mcp__<server>__<tool>, or mcp__<server> for all its tools",
            )
        return
    if base in facts.tools:
        return
    if base in facts.renamed_tools:
        new = facts.renamed_tools[base]
        yield finding(
            "TL002", *position, f"`{base}` was renamed `{new}`; the old name still works for now", f"write `{new}`"
        )
        return
    if base in facts.removed_tools:
        yield finding(
            "TL003",
            *position,
            f"`{base}` no longer exists in Claude Code; the agent will not get it",
            f"{facts.removed_tools[base]}",
        )
        return
    yield finding(
        "TL001",
        *position,
        f"`{base}` is not a Claude Code tool; the agent will not get it",
        _unknown_tool_hint(base, facts.tools),
    )


@cache
def _unknown_tool_hint(name: str, known: frozenset[str]) -> str:
    lowered = {tool.lower(): tool for tool in known}
    if name.lower() in lowered:
        return f"tool names are case-sensitive: write `{lowered[name.lower()]}`"
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.7)
    if close:
        return f"did you mean `{close[0]}`?"
    if _AGENT_LIKE.fullmatch(name):
        return "this looks like an agent's name: `tools` lists tools; to delegate, give the agent `Agent`"
    return f"known tools: {', '.join(sorted(known))}"


def _allowed_and_disallowed(agent: AgentFile) -> Iterator[Diagnostic]:
    allowed = set(agent.spec.tools or [])
    for tool in agent.spec.disallowed_tools or []:
        if tool in allowed:
            yield finding(
                "TL006",
                *_tool_position(agent, "disallowedTools", tool),
                f"`{tool}` is both allowed and disallowed; Claude Code withholds it",
                "remove it from one of the two lists",
            )


def _tool_position(agent: AgentFile, key: str, tool: str, occurrence: int = 1) -> tuple[int, int]:
    """The line and column where `tool` is written (its n-th time) in the `key` entry."""
    line, column = key_position(agent, key)
    pattern = re.compile(r"(?<![\w-])" + re.escape(tool) + r"(?![\w-])")
    seen = 0
    for number in range(line, line + 60):
        text = file_line(agent, number)
        if number > line and (not text.startswith((" ", "\t", "-")) or text.strip() == "---"):
            break
        for match in pattern.finditer(text, column if number == line else 0):
            seen += 1
            if seen == occurrence:
                return number, match.start() + 1
    return line, column


CHECKS = (check_tools,)
