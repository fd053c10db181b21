"""Where things are in an agent file, as 1-based line and column."""

from __future__ import annotations

from agentctl.spec import AgentFile


def file_line(agent: AgentFile, number: int) -> str:
    lines = agent.lines
    return lines[number - 1] if 0 < number <= len(lines) else ""


def key_position(agent: AgentFile, key: str) -> tuple[int, int]:
    """The key's line and column; the frontmatter's first line when the key is absent."""
    line = agent.spec.key_lines.get(key)
    if line is None:
        block = agent.reading.block if agent.reading else None
        return (block.first_line if block else 1), 1
    text = file_line(agent, line)
    return line, len(text) - len(text.lstrip(" \t")) + 1


def value_position(agent: AgentFile, key: str) -> tuple[int, int]:
    """Where the key's value starts on the key's line (just after `key: `)."""
    line, column = key_position(agent, key)
    text = file_line(agent, line)
    colon = text.find(":", column - 1)
    if colon < 0:
        return line, column
    rest = text[colon + 1 :]
    return line, colon + 2 + len(rest) - len(rest.lstrip(" \t"))


def frontmatter_line(agent: AgentFile, line_in_frontmatter: int) -> int:
    """A line number within the frontmatter text, as a line of the file."""
    block = agent.reading.block if agent.reading else None
    return (block.first_line if block else 1) + line_in_frontmatter - 1
