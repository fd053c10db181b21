"""Rules about `tools` and `disallowedTools` (TL*)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from functools import cache

from agentctl import reference
from agentctl.lazyre import LazyPattern
from agentctl.spec import AgentFile
from agentctl.validate.model import Diagnostic
from agentctl.validate.positions import file_line, key_position
from agentctl.validate.rules import SUGGESTIONS_PER_FILE, finding

_AGENT_LIKE = LazyPattern(r"^[a-z][a-z0-9]*+(?:-[a-z0-9]++)++")  # anchored: a search stays linear too


def check_tools(agent: AgentFile) -> Iterator[Diagnostic]:
    for key in ("tools", "disallowedTools"):
        names = agent.spec.tools if key == "tools" else agent.spec.disallowed_tools
        if key not in agent.spec.raw:
            continue
        yield from _shape_problems(agent, key)
        places = ToolPlaces(agent, key)
        seen: set[str] = set()
        for index, tool in enumerate(names or []):
            if tool in seen:
                yield finding(
                    "TL005",
                    *places.of(tool, occurrence=2),
                    f"`{tool}` is listed twice in `{key}`",
                    "delete the second one",
                )
            seen.add(tool)
            yield from _name_problems(tool, places.of(tool), suggest=index < SUGGESTIONS_PER_FILE)
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


def _name_problems(tool: str, position: tuple[int, int], suggest: bool) -> Iterator[Diagnostic]:
    base = tool.split("(", 1)[0].strip()
    problem = tool_name_problem(base, suggest)
    if problem is None:
        if base.startswith("mcp__"):
            yield from _mcp_tool_problems(base, position, suggest)
        return
    kind, hint = problem
    if kind == "malformed-mcp":
        yield finding("TL004", *position, f"`{tool}` is not an MCP tool name", hint)
    elif kind == "renamed":
        new = reference.claude_code().renamed_tools[base]
        yield finding("TL002", *position, f"`{base}` was renamed `{new}`; the old name still works for now", hint)
    elif kind == "removed":
        yield finding("TL003", *position, f"`{base}` no longer exists in Claude Code; the agent will not get it", hint)
    else:
        yield finding("TL001", *position, f"`{base}` is not a Claude Code tool; the agent will not get it", hint)


def _mcp_tool_problems(name: str, position: tuple[int, int], suggest: bool) -> Iterator[Diagnostic]:
    """TL009: a well-formed `mcp__<server>__<tool>` whose server agentctl knows the tools of
    (data/mcp_servers.json, read from the servers' packages) and whose tool is not one of them."""
    server, _, tool = name[5:].partition("__")
    if not tool:
        return  # `mcp__server`: every tool of the server
    from agentctl.mcp_catalog import unknown_tool

    found = unknown_tool(server, tool, suggest)
    if found is not None:
        known, hint = found
        yield finding(
            "TL009",
            *position,
            f"`{name}`: the {server} MCP server ({known.package} {known.version}) has no tool `{tool}`;"
            " the agent will not get it",
            hint,
        )


def tool_name_problem(base: str, suggest: bool) -> tuple[str, str] | None:
    """What is wrong with a tool's name (the part before any `(`) by the one catalogue of Claude
    Code's tools (data/claude_code.json): (`malformed-mcp` | `renamed` | `removed` | `unknown`, a
    hint), or None for a tool Claude Code has. Agents' `tools` (TL*) and skills' `allowed-tools`
    (SK007) read names through it."""
    facts = reference.claude_code()
    if base.startswith("mcp"):
        if is_mcp_tool_name(base):
            return None
        return "malformed-mcp", "write MCP tools as mcp__<server>__<tool>, or mcp__<server> for all its tools"
    if base in facts.tools:
        return None
    if base in facts.renamed_tools:
        return "renamed", f"write `{facts.renamed_tools[base]}`"
    if base in facts.removed_tools:
        return "removed", facts.removed_tools[base]
    return "unknown", _unknown_tool_hint(base, facts.tools, suggest)


@cache
def _unknown_tool_hint(name: str, known: frozenset[str], suggest: bool) -> str:
    lowered = _by_lower_case(known)
    if name.lower() in lowered:
        return f"tool names are case-sensitive: write `{lowered[name.lower()]}`"
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.7) if suggest else []
    if close:
        return f"did you mean `{close[0]}`?"
    if _AGENT_LIKE.fullmatch(name):
        return "this looks like an agent's name, not a tool's: to delegate to agents, name the tool `Agent`"
    return f"known tools: {', '.join(sorted(known))}"


@cache
def _by_lower_case(known: frozenset[str]) -> dict[str, str]:
    return {tool.lower(): tool for tool in known}


def _allowed_and_disallowed(agent: AgentFile) -> Iterator[Diagnostic]:
    allowed = set(agent.spec.tools or [])
    places: ToolPlaces | None = None
    for tool in agent.spec.disallowed_tools or []:
        if tool in allowed:
            places = places or ToolPlaces(agent, "disallowedTools")
            yield finding(
                "TL006",
                *places.of(tool),
                f"`{tool}` is both allowed and disallowed; Claude Code withholds it",
                "remove it from one of the two lists",
            )


class ToolPlaces:
    """Where each tool is written in a `tools`/`disallowedTools` entry (or a skill's `allowed-tools`),
    found in one pass over its lines (a search per tool would cost the entry's length per tool: 50,000
    tools fit in 1 MiB)."""

    def __init__(self, agent: AgentFile, key: str) -> None:
        self.key_position = key_position(agent, key)
        self.places: dict[str, list[tuple[int, int]]] = {}
        line, column = self.key_position
        for number in range(line, line + _ENTRY_LINES):
            text = file_line(agent, number)
            if number > line and (not text.startswith((" ", "\t", "-")) or text.strip() == "---"):
                break
            start = text.find(":", column - 1) + 1 if number == line else 0
            for match in _WRITTEN_TOOL.finditer(text, start):
                name = match.group().strip(_QUOTES_AND_BRACKETS)
                if name:
                    column_of_name = match.start() + match.group().index(name) + 1
                    self.places.setdefault(name, []).append((number, column_of_name))

    def of(self, tool: str, occurrence: int = 1) -> tuple[int, int]:
        """The line and column of the `occurrence`-th time `tool` is written; else the key's."""
        found = self.places.get(tool, [])
        return found[occurrence - 1] if len(found) >= occurrence else self.key_position


_ENTRY_LINES = 60  # an entry's lines looked at for its tools
# A tool as written: a run without commas or spaces, a parenthesised part whole (`Bash(git add:*)`).
_WRITTEN_TOOL = LazyPattern(r"(?:[^\s,()]++|\([^()]*+\))++")
_QUOTES_AND_BRACKETS = "\"'[]"


def is_mcp_tool_name(name: str) -> bool:
    """`mcp__server` or `mcp__server__tool` (the tool may hold `*`): what `mcp__[A-Za-z0-9_.-]+?
    (?:__[A-Za-z0-9_.*-]+)?` matches whole, checked without that pattern's quadratic backtracking."""
    rest = name[5:] if name.startswith("mcp__") else ""
    if not rest or name.endswith("__") or not _MCP_CHARACTERS.fullmatch(rest):
        return False
    if "*" not in rest:
        return True
    split = rest.find("__", 1)  # the server is the shortest name before a `__`; a `*` only after it
    return 0 < split < rest.index("*")


_MCP_CHARACTERS = LazyPattern(r"[A-Za-z0-9_.*-]++")


CHECKS = (check_tools,)
