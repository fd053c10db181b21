"""Agent files of a plugin (a folder with `.claude-plugin/plugin.json`).

Claude Code reads them with its lenient plugin loader (agentctl.sources): it refuses none, names one
without `name` after its file, describes one without `description` as "Agent from <plugin> plugin",
and ignores the keys that would give a plugin more power than its user granted. So the loading
rules that say "Claude Code skips the file" do not apply; PL001 and PL002 say what it does instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from agentctl.validate.positions import key_position
from agentctl.validate.rules import finding

if TYPE_CHECKING:
    from agentctl.sources import Plugin
    from agentctl.spec import AgentFile
    from agentctl.validate.model import Diagnostic

# What the project loader refuses and the plugin loader takes: no or unreadable frontmatter, no
# name or description, a name with `:` or a leading `-`, malformed permission hooks (ignored there).
PROJECT_LOADER_RULES = frozenset({"CC001", "CC002", "CC006", "CC007", "CC009", "CC012", "NM001"})


def check_plugin_agent(agent: AgentFile, plugin: Plugin, found: list[Diagnostic]) -> list[Diagnostic]:
    """The findings of one plugin agent: the file's own, less the project loader's refusals, plus
    what the plugin loader fills in (PL001) and ignores (PL002)."""
    kept = [diagnostic for diagnostic in found if diagnostic.rule not in PROJECT_LOADER_RULES]
    return kept + list(_defaults(agent, plugin)) + list(_ignored_keys(agent))


def _defaults(agent: AgentFile, plugin: Plugin) -> Iterator[Diagnostic]:
    """`agent` as the project loader read it; what the plugin loader puts in place of what is missing."""
    from agentctl.sources import plugin_verdict

    data = agent.reading.data if agent.reading is not None else {}
    if agent.too_large or agent.read_error is not None:
        return
    verdict = plugin_verdict(agent, plugin, [])
    if not isinstance(data.get("name"), str) or not data.get("name"):
        yield finding(
            "PL001",
            *key_position(agent, "name"),
            f"no `name`: Claude Code names the agent after its file ({agent.path.stem!r}, scoped by the plugin)",
            f"add `name: {agent.path.stem}` to say so",
        )
    if verdict.description == f"Agent from {plugin.name} plugin":
        yield finding(
            "PL001",
            *key_position(agent, "description"),
            f"no `description`: Claude Code describes the agent as {verdict.description!r}, which tells "
            "the model nothing about when to use it",
            "add a `description` saying when to use the agent",
        )


def _ignored_keys(agent: AgentFile) -> Iterator[Diagnostic]:
    from agentctl.sources import PLUGIN_IGNORED_KEYS

    data = agent.reading.data if agent.reading is not None else {}
    for key in PLUGIN_IGNORED_KEYS:
        if key in data:
            yield finding(
                "PL002",
                *key_position(agent, key),
                f"Claude Code ignores `{key}` in a plugin's agent",
                f"remove it, or define the agent in .claude/agents/ to use `{key}`",
            )
