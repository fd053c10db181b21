"""A team's texts as `agentctl init` writes them into a project: the paths each agent tells itself to
read, rewritten for the layout, and, for Claude Code's own agent memory, `memory: project` in each
agent's frontmatter with memory instructions that say so.

Paths are written from the project root, where Claude Code runs every agent (and where
`agentctl dispatch` reads a First Step's files from): `agents-shared/team-protocol.md` in the
top-level layout, `.claude/agents-shared/team-protocol.md` in a project's `.claude/`. No one form
resolves in both (a path relative to the agent file is read from the root too), so each install
rewrites them; a path that already names the right place is left as it is, so a rewrite twice is
the rewrite once. Only paths that begin with a team folder (`agents-shared/`, `agents-memory/`, with
or without `.claude/`) change: the project's own paths (`cofee_backend/CLAUDE.md`) and a home
folder's (`~/.claude/...`) are left alone.

Sections are found outside code fences: the shipped agents show memory note formats in fences whose
lines start with `#`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from agentctl import claude_code, fmt, spec
from agentctl.config import Layout
from agentctl.errors import UsageError
from agentctl.lazyre import LazyPattern
from agentctl.prompts import Templates

MemoryMode = Literal["dated", "native"]
NATIVE_FOLDER = ".claude/agent-memory"  # Claude Code's folder of `memory: project` agents

# A team folder at the start of a path: not after a word, a dot, a dash, a slash or `~` (a home path).
_TEAM_PATH = LazyPattern(r"(?<![\w.\-/~])(?:\.claude/)?(agents-shared|agents-memory)(?=/)")
_FENCE = LazyPattern(r"^ {0,3}(`{3,}+|~{3,}+)")
# Where an agent's own list of what to keep starts: `## What to Save` or `**What NOT to save:**`.
_KEEP_START = LazyPattern(r"^(?:#{2,6}[ \t]++|\*\*)What (?:not )?to save\b", re.I)


def team_folders(layout: Layout, memory: MemoryMode) -> dict[str, str]:
    """Each team folder's path from the project root, as the installed agents name it."""
    base = ".claude/" if layout == "claude" else ""
    dated = f"{base}agents-memory"
    return {"agents-shared": f"{base}agents-shared", "agents-memory": NATIVE_FOLDER if memory == "native" else dated}


def rewrite_paths(text: str, folders: dict[str, str]) -> str:
    """`text` with every path that starts with a team folder (in either layout) starting where
    `folders` puts that folder."""
    return _TEAM_PATH.sub(lambda match: folders[match.group(1)], text)


def _fence_after(line: str, fence: str) -> str:
    """The fence open after `line` ("" for none), given the one open before it: a fence closes at a
    line of its own character, at least as long, with nothing after it."""
    marker = _FENCE.match(line)
    if marker is None:
        return fence
    run = marker.group(1)
    if not fence:
        return run
    closes = run[0] == fence[0] and len(run) >= len(fence) and not line[marker.end() :].strip()
    return "" if closes else fence


def top_sections(text: str) -> list[tuple[str, int, int]]:
    """(title, start, end) offsets of each `# Title` section of markdown, headings in fences skipped."""
    sections: list[tuple[str, int, int]] = []
    fence = ""
    offset = 0
    for line in text.splitlines(keepends=True):
        if not fence and line.startswith("# "):
            if sections:
                sections[-1] = (*sections[-1][:2], offset)
            sections.append((line[2:].strip(), offset, len(text)))
        fence = _fence_after(line, fence)
        offset += len(line)
    return sections


def replace_section(text: str, title: str, render: Callable[[str], str]) -> str | None:
    """`text` with its `# title` section replaced by what `render` makes of the old one (a closing
    `---` rule and the blank lines after it stay); None when there is no such section."""
    found = next(((start, end) for name, start, end in top_sections(text) if name == title), None)
    if found is None:
        return None
    start, end = found
    old = text[start:end]
    kept = old.rstrip()
    trailing = old[len(kept) :] or "\n"
    rule = ""
    if kept.endswith("\n---"):
        kept, rule = kept[: -len("\n---")].rstrip(), "\n\n---"
    return text[:start] + render(kept).rstrip("\n") + rule + trailing + text[end:]


def kept_lists(section: str) -> str:
    """The agent's own "What to save" / "What NOT to save" part of its memory section, or ""."""
    fence = ""
    offset = 0
    for line in section.splitlines(keepends=True):
        if not fence and _KEEP_START.match(line):
            return section[offset:].strip()
        fence = _fence_after(line, fence)
        offset += len(line)
    return ""


def protocol_text(text: str, folders: dict[str, str], memory: MemoryMode, templates: Templates) -> str:
    """The team protocol (or another shared markdown file) as the project gets it."""
    text = rewrite_paths(text, folders)
    if memory == "native":
        section = replace_section(
            text, "Memory Protocol", lambda _old: templates.render("native_memory_protocol", {"folder": NATIVE_FOLDER})
        )
        text = section if section is not None else text
    return text


def agent_text(
    path: Path, text: str, folders: dict[str, str], memory: MemoryMode, templates: Templates
) -> tuple[str, list[str]]:
    """An agent file as the project gets it, and what changed beyond its paths: the frontmatter as
    `fmt` writes it when Claude Code would misread it, `memory: project` and its memory section for
    Claude Code's own memory. UsageError for a file Claude Code skips even so, and for a result that
    Claude Code would read as another agent."""
    notes: list[str] = []
    formatted = fmt.format_text(path, text)
    if formatted.problem is None and formatted.changed:
        text, notes = formatted.formatted, [f"frontmatter: {'; '.join(formatted.notes)}"]
    intended = spec.parse_agent_text(path, text)
    block = claude_code.cut_frontmatter(text)
    if block is None or not intended.verdict.loads:
        raise UsageError(
            f"{path}: Claude Code skips it ({intended.verdict.reason or 'no frontmatter'})",
            hint="`agentctl validate` on the file says why; fix it, or leave it out",
        )
    head = text[: len(text) - len(block.rest)]
    closing = block.rest[len(block.text) : len(block.rest) - len(block.body)]
    front, body = block.text, rewrite_paths(block.body, folders)
    if memory == "native":
        front, body = _native(path, intended, front, body, templates, notes)
    result = head + front + closing + body
    _check_same_agent(path, intended, result, memory)
    return result, notes


def _native(
    path: Path, agent: spec.AgentFile, front: str, body: str, templates: Templates, notes: list[str]
) -> tuple[str, str]:
    declared = agent.spec.memory
    if declared is not None and declared != "project":
        raise UsageError(
            f"{path}: the agent declares `memory: {declared}`; --memory native gives every agent `memory: project`",
            hint="change or remove its `memory:` line, or install with --memory dated",
        )
    if declared is None:
        newline = "\r\n" if "\r\n" in front else "\n"
        front = (front if not front or front.endswith("\n") else front + newline) + "memory: project" + newline
        notes.append("memory: project")
    tools = agent.verdict.tools
    context = {
        "folder": f"{NATIVE_FOLDER}/{agent.verdict.name}",
        "write_added": tools is not None and "Write" not in tools,
    }
    section = replace_section(
        body, "Memory", lambda old: templates.render("native_memory", {**context, "keep": kept_lists(old)})
    )
    if section is None:
        return front, body
    notes.append("its # Memory section: Claude Code's agent memory")
    return front, section


def _check_same_agent(path: Path, intended: spec.AgentFile, text: str, memory: MemoryMode) -> None:
    """The written file is the agent its author meant: the same name, description and tools (with
    the ones Claude Code adds for memory)."""
    written = spec.parse_agent_text(path, text)
    after, want = written.verdict, intended.verdict
    tools = claude_code.with_memory_tools(want.tools, "project") if memory == "native" else want.tools
    scope = "project" if memory == "native" else intended.spec.memory
    if (after.loads, after.name, after.description, after.tools, written.spec.memory) != (
        True,
        want.name,
        want.description,
        tools,
        scope,
    ):
        raise UsageError(
            f"{path}: as written for the project, Claude Code would read another agent (please report this)",
            hint="install with --memory dated, or copy the file by hand",
        )
