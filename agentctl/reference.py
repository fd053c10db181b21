"""Reference facts about Claude Code and the Anthropic models, read once per process.

The tool names, aliases and allowed values ship as rule data inside the wheel
(agentctl/data/claude_code.json). Model ids come from the installed anthropic SDK's `Model`
type, read as text: importing the SDK would cost read-only commands about two seconds.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

from agentctl.lazyre import LazyPattern
from agentctl.records import record


@record
class ClaudeCodeFacts:
    version: str
    tools: frozenset[str]
    renamed_tools: dict[str, str]
    removed_tools: dict[str, str]
    model_aliases: frozenset[str]
    permission_modes: tuple[str, ...]
    permission_mode_aliases: dict[str, str]
    effort_levels: tuple[str, ...]
    colors: tuple[str, ...]
    memory_scopes: tuple[str, ...]
    builtin_agents: tuple[str, ...]  # Claude Code's own agents; any other source's agent of a name hides one
    isolation_modes: tuple[str, ...]
    key_hints: dict[str, str]

    def current_tool_name(self, name: str) -> str | None:
        """The tool `name` stands for under its current name (`Task` -> `Agent`), as Claude Code
        takes it; None when Claude Code does not know it (removed or never a tool). MCP tools are
        the servers' own. `agentctl new --tools` takes what this takes, as validate's TL001-TL003 do."""
        if name in self.tools or name.startswith("mcp__"):
            return name
        return self.renamed_tools.get(name)


@cache
def claude_code() -> ClaudeCodeFacts:
    # A path beside this module, as the wheel installs it: importlib.resources would cost a read-only
    # command 10 ms of imports (zipfile, tempfile) for a package that is never zipped.
    raw = json.loads((Path(__file__).parent / "data" / "claude_code.json").read_text("utf-8"))
    return ClaudeCodeFacts(
        version=raw["claude_code_version"],
        tools=frozenset(raw["tools"]),
        renamed_tools=raw["renamed_tools"],
        removed_tools=raw["removed_tools"],
        model_aliases=frozenset(raw["model_aliases"]),
        permission_modes=tuple(raw["permission_modes"]),
        permission_mode_aliases=raw["permission_mode_aliases"],
        effort_levels=tuple(raw["effort_levels"]),
        colors=tuple(raw["colors"]),
        memory_scopes=tuple(raw["memory_scopes"]),
        builtin_agents=tuple(raw["builtin_agents"]),
        isolation_modes=tuple(raw["isolation_modes"]),
        key_hints=raw["key_hints"],
    )


_MODEL_LITERAL = LazyPattern(r'"(claude-[a-z0-9.\-]+)"')


@cache
def sdk_model_ids() -> frozenset[str]:
    """The model ids the installed anthropic SDK names in its `Model` type (empty if absent)."""
    spec = importlib.util.find_spec("anthropic")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    for location in spec.submodule_search_locations:
        try:
            return frozenset(_MODEL_LITERAL.findall((Path(location) / "types" / "model.py").read_text("utf-8")))
        except OSError:
            continue
    return frozenset()
