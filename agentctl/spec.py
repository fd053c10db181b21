"""One agent file: what its author wrote (AgentSpec) and what Claude Code makes of it.

Two readings of the frontmatter exist side by side:
- Claude Code's (agentctl.claude_code): the reference for whether and how the agent loads;
- the author's: the YAML values when the frontmatter is valid YAML; otherwise a line-based
  reading that keeps multi-line values whole (`<example>` blocks, `user: ...` lines) the way
  a person reads them. Comparing the two reveals what Claude Code's fallback truncated or
  swallowed, and it is what `agentctl fmt` writes back as valid YAML.
"""

from __future__ import annotations

import bisect
import re
from pathlib import Path
from typing import Any

from agentctl import ccyaml, claude_code
from agentctl.claude_code import ClaudeCodeVerdict, FrontmatterReading
from agentctl.lazyre import LazyPattern
from agentctl.records import field, record
from agentctl.textlines import LineCounter

# Claude Code's documented frontmatter table (the fields AgentSpec models).
DOCUMENTED_FIELDS = (
    "name",
    "description",
    "tools",
    "disallowedTools",
    "model",
    "permissionMode",
    "maxTurns",
    "skills",
    "mcpServers",
    "hooks",
    "memory",
    "background",
    "effort",
    "isolation",
    "color",
    "initialPrompt",
)
# Keys Claude Code 2.1.330 also reads, though its documentation does not list them yet.
RECOGNISED_FIELDS = (
    "autoCompactWindow",
    "omitClaudeMd",
    "observer",
    "observerMessage",
    "observeToolResults",
    "observeSubagents",
    "experimental",
)
KNOWN_FIELDS = frozenset(DOCUMENTED_FIELDS + RECOGNISED_FIELDS)
# Labels that start lines of example dialogue, never frontmatter keys.
DIALOGUE_LABELS = frozenset(
    {"context", "user", "assistant", "commentary", "example", "examples", "human", "claude", "response", "note"}
)


@record
class Example:
    """One `<example>` block of a description."""

    context: str = ""
    user: str = ""
    assistant: str = ""
    commentary: str = ""
    line: int = 0  # 1-based file line where the block starts (0 when unknown)


@record
class AgentSpec:
    """An agent definition as its author wrote it."""

    name: str | None = None
    description: str | None = None
    tools: list[str] | None = None
    disallowed_tools: list[str] | None = None
    model: Any = None
    permission_mode: Any = None
    max_turns: Any = None
    skills: Any = None
    mcp_servers: Any = None
    hooks: Any = None
    memory: Any = None
    background: Any = None
    effort: Any = None
    isolation: Any = None
    color: Any = None
    initial_prompt: Any = None
    extra: dict[str, Any] = field(default_factory=dict)  # keys outside the documented table
    raw: dict[str, Any] = field(default_factory=dict)  # every key, as written
    key_lines: dict[str, int] = field(default_factory=dict)  # 1-based file line of each key
    body: str = ""
    body_line: int = 1
    examples: list[Example] = field(default_factory=list)


@record
class AgentFile:
    """Everything agentctl knows about one file that should define an agent."""

    path: Path
    text: str = ""
    reading: FrontmatterReading | None = None
    verdict: ClaudeCodeVerdict = field(default_factory=lambda: claude_code.skipped("not read"))
    spec: AgentSpec = field(default_factory=AgentSpec)
    read_error: str | None = None  # the file could not be read at all
    binary: bool = False
    invalid_utf8_line: int | None = None  # first line holding bytes that are not UTF-8
    too_large: bool = False
    lines: list[str] = field(default_factory=list)  # `text` split at line breaks, computed once

    @property
    def name(self) -> str | None:
        return self.verdict.name if self.verdict.loads else self.spec.name

    @property
    def team_name(self) -> str:
        """The name the team knows the agent by (prompts, runs, memory folders): its name, else its
        file name (a file Claude Code skips may have none, and is still addressed and reported)."""
        return self.name or self.path.stem


def load_agent_file(path: Path) -> AgentFile:
    """Read one file; never raises for bad content (problems are recorded instead).

    The read is bounded: a FIFO, a device or a directory named `x.md` is refused without being
    opened for long, and a file over Claude Code's limit (which Claude Code skips) is never read."""
    from agentctl.bounds import AGENT_FILE_BYTES
    from agentctl.fsutil import FileTooLargeError, read_bounded

    try:
        data = read_bounded(path, AGENT_FILE_BYTES)
    except FileTooLargeError:
        return AgentFile(path=path, too_large=True, verdict=claude_code.skipped("the file is larger than 1 MiB"))
    except OSError as error:
        reason = error.strerror or str(error)
        return AgentFile(path=path, read_error=reason, verdict=claude_code.skipped(f"cannot read the file: {reason}"))
    return parse_agent_bytes(path, data)


def parse_agent_bytes(path: Path, data: bytes) -> AgentFile:
    if len(data) > claude_code.MAX_FILE_BYTES:
        return AgentFile(path=path, too_large=True, verdict=claude_code.skipped("the file is larger than 1 MiB"))
    if b"\x00" in data[:8192]:
        return AgentFile(path=path, binary=True, verdict=claude_code.skipped("the file is binary"))
    text = claude_code.decode(data)
    reading = claude_code.read_frontmatter(text)
    return AgentFile(
        path=path,
        text=text,
        reading=reading,
        verdict=claude_code.judge(reading.data),
        spec=author_spec(reading),
        invalid_utf8_line=_first_invalid_utf8_line(data, text),
        lines=text.split("\n"),
    )


def parse_agent_text(path: Path, text: str) -> AgentFile:
    return parse_agent_bytes(path, text.encode("utf-8"))


def _first_invalid_utf8_line(data: bytes, text: str) -> int | None:
    if "\ufffd" not in text:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return data.count(b"\n", 0, error.start) + 1
    return None  # U+FFFD written on purpose


# --- the author's reading ---------------------------------------------------------------------


@record
class AuthorEntry:
    """One top-level frontmatter entry as a person reads it."""

    key: str
    value: Any
    line: int  # 1-based line within the frontmatter text
    source: str  # the entry's lines as written


def author_spec(reading: FrontmatterReading) -> AgentSpec:
    block = reading.block
    if block is None:
        return AgentSpec()
    entries = author_entries(reading)
    values = {entry.key: entry.value for entry in entries}
    offset = block.first_line - 1
    key_lines = {entry.key: entry.line + offset for entry in entries}
    return build_spec(values, key_lines, block.body, block.body_line)


def build_spec(values: dict[str, Any], key_lines: dict[str, int], body: str, body_line: int) -> AgentSpec:
    description = values.get("description")
    tools = values.get("tools")
    denied = values.get("disallowedTools")
    return AgentSpec(
        name=values.get("name") if isinstance(values.get("name"), str) else None,
        description=description if isinstance(description, str) else None,
        tools=claude_code.tool_list(tools, "tools" in values),
        disallowed_tools=claude_code.tool_list(denied, False) if "disallowedTools" in values else None,
        model=values.get("model"),
        permission_mode=values.get("permissionMode"),
        max_turns=values.get("maxTurns"),
        skills=values.get("skills"),
        mcp_servers=values.get("mcpServers"),
        hooks=values.get("hooks"),
        memory=values.get("memory"),
        background=values.get("background"),
        effort=values.get("effort"),
        isolation=values.get("isolation"),
        color=values.get("color"),
        initial_prompt=values.get("initialPrompt"),
        extra={key: value for key, value in values.items() if key not in DOCUMENTED_FIELDS},
        raw=dict(values),
        key_lines=key_lines,
        body=body,
        body_line=body_line,
        examples=extract_examples(description, key_lines.get("description", 0)) if isinstance(description, str) else [],
    )


def author_entries(reading: FrontmatterReading) -> list[AuthorEntry]:
    """The frontmatter's entries as the author meant them."""
    block = reading.block
    if block is None:
        return []
    text = intended_frontmatter_text(block)
    parsed = ccyaml.parse(text) if text != block.text else reading.parsed
    if parsed is not None and parsed.ok and isinstance(parsed.value, dict):
        return _entries_from_yaml(text, parsed)
    return _entries_from_lines(text)


def intended_frontmatter_text(block: claude_code.FrontmatterBlock) -> str:
    """The frontmatter up to its closing `---` line, even where Claude Code stopped earlier.

    Claude Code ends the frontmatter at the first `---` anywhere; a person ends it at the first
    line that is `---` alone.
    """
    if block.text.endswith("\n") or block.text == "":
        return block.text
    lines = block.rest.split("\n")
    for index, line in enumerate(lines):
        if line.rstrip(" \t\r") == "---":
            return "\n".join(lines[:index]) + "\n"
    return block.text


def _entries_from_yaml(text: str, parsed: ccyaml.YamlResult) -> list[AuthorEntry]:
    lines = text.split("\n")
    positions = sorted((line, key) for key, (line, _) in parsed.key_positions.items())
    # An entry runs to the next key's line: kept keys, the shadowed copies of duplicate keys and the
    # keys left out for the parse budget all end the entry before them.
    others = [line for _, line in parsed.duplicate_keys] + [line for _, line in parsed.left_out]
    boundaries = sorted({line for line, _ in positions}.union(others))
    entries = []
    for line, key in positions:
        following = bisect.bisect_right(boundaries, line)  # one search per key: the file may hold 60,000
        end = boundaries[following] - 1 if following < len(boundaries) else len(lines)
        source = "\n".join(lines[line - 1 : end]).rstrip("\n")
        entries.append(AuthorEntry(key, placeholder(source) or parsed.value.get(key), line, source))
    return entries


# Patterns over file content run in linear time: anchored (a search tries one place), and no two
# adjacent quantifiers can take the same character (possessive where they could).
_PLACEHOLDER = LazyPattern(r"^[^:]*+:[ \t]++(\{\{.*\}\})[ \t]*+")


def placeholder(source: str) -> str | None:
    """`{{NAME}}` written as a value: a template placeholder, which YAML reads as a mapping."""
    match = _PLACEHOLDER.fullmatch(source.split("\n", 1)[0])
    return match.group(1) if match and "\n" not in source.strip() else None


_TABS_AT_LINE_START = LazyPattern(r"^\t+", re.M)
_KEY_LINE = LazyPattern(r"^([A-Za-z_][\w-]*+)[ \t]*+:(?:[ \t]|$)")


def _entries_from_lines(text: str) -> list[AuthorEntry]:
    """A line-based reading for frontmatter that is not valid YAML."""
    groups: list[tuple[str, int, list[str]]] = []
    in_example = False
    for number, line in enumerate(text.split("\n"), start=1):
        match = _KEY_LINE.match(line)
        starts_entry = match is not None and _starts_entry(match.group(1), in_example)
        if starts_entry and match is not None:
            groups.append((match.group(1), number, [line]))
            in_example = False
        elif groups and not line.startswith("#"):  # a comment line is no part of any value
            groups[-1][2].append(line)
        in_example = _example_state(line, in_example)
    return [
        AuthorEntry(key, _entry_value(key, lines), number, "\n".join(lines).rstrip("\n"))
        for key, number, lines in groups
    ]


def _starts_entry(key: str, in_example: bool) -> bool:
    if key in KNOWN_FIELDS:
        return True
    return not in_example and key.lower() not in DIALOGUE_LABELS


def _example_state(line: str, in_example: bool) -> bool:
    opened = line.rfind("<example>")
    closed = line.rfind("</example>")
    if opened < 0 and closed < 0:
        return in_example
    return opened > closed


def _entry_value(key: str, lines: list[str]) -> Any:
    """The value of one entry: YAML when the entry alone parses, else its text."""
    source = "\n".join(lines).rstrip("\n")
    first = lines[0].split(":", 1)[1].strip()
    if placeholder(source):
        return first
    for candidate in (source, _TABS_AT_LINE_START.sub(lambda m: "  " * len(m.group(0)), source)):
        alone = ccyaml.parse(candidate)
        if alone.ok and isinstance(alone.value, dict) and list(alone.value) == [key]:
            value = alone.value[key]
            # In frontmatter that is not YAML anyway, ` #` was text (Claude Code's fallback agrees).
            if isinstance(value, str) and " #" in first and len(lines) == 1 and first[:1] not in "\"'|>":
                return first
            return value
    rest = [line.strip() for line in lines[1:]]
    while rest and not rest[-1]:
        rest.pop()
    value = "\n".join([first, *rest]) if rest else first
    return _unquote(value)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        return inner.replace("''", "'") if value[0] == "'" else inner.replace('\\"', '"')
    return value


# --- examples -----------------------------------------------------------------------------------

_EXAMPLE_BLOCK = LazyPattern(r"<example>(.*?)(?:</example>|\Z)", re.S)
_COMMENTARY = LazyPattern(r"<commentary>(.*?)(?:</commentary>|\Z)", re.S)
_LABEL = LazyPattern(r"^\s*(context|user|assistant)\s*:\s*", re.I)


def extract_examples(description: str, first_line: int = 0) -> list[Example]:
    """The `<example>` blocks of a description, written with real or literal `\\n` breaks."""
    text = description.replace("\\n", "\n")
    examples = []
    lines = LineCounter(text)
    for match in _EXAMPLE_BLOCK.finditer(text):
        line = first_line + lines.line_of(match.start()) - 1 if first_line else 0
        examples.append(_parse_example(match.group(1), line))
    return examples


def _parse_example(block: str, line: int) -> Example:
    commentary = " ".join(part.strip() for part in _COMMENTARY.findall(block))
    dialogue = _COMMENTARY.sub("", block)
    parts: dict[str, list[str]] = {"context": [], "user": [], "assistant": []}
    current: str | None = None
    for raw in dialogue.split("\n"):
        label = _LABEL.match(raw)
        if label:
            current = label.group(1).lower()
            raw = raw[label.end() :]
        if current is not None and raw.strip():
            parts[current].append(raw.strip())
    return Example(
        context=" ".join(parts["context"]),
        user="\n".join(parts["user"]),
        assistant="\n".join(parts["assistant"]),
        commentary=commentary,
        line=line,
    )
