"""Rules for Claude Code's own agent memory (MM*): the folders an agent's `memory:` field gives it
(`.claude/agent-memory/<agent>/`, `.claude/agent-memory-local/<agent>/`, `~/.claude/agent-memory/<agent>/`),
their MEMORY.md and its topic files.

memory.py reads each folder as Claude Code 2.1.332 does and records every file's issues by kind
(MEMORY.md's window, its links, secrets, unreadable or garbled files); this module gives each kind
its rule, and says which of the project's folders no agent reads (MM005). `agentctl validate` checks
the memory files below its paths, `agentctl memory lint` those of every scope; both through here.
The dated notes of agents-memory/ have rules of their own (TM005-TM009, wiring.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agentctl import memory
from agentctl.validate.model import Diagnostic, FileReport
from agentctl.validate.rules import finding
from agentctl.walk import real_path

if TYPE_CHECKING:
    from agentctl.config import Settings
    from agentctl.memory import MemoryEntry
    from agentctl.spec import AgentFile

# Each kind of issue memory.py finds: its rule and how to fix it.
ISSUE_RULES: dict[str, tuple[str, str]] = {
    memory.WINDOW: (
        "MM001",
        "keep MEMORY.md an index of one-line entries; move detail into topic files it links to",
    ),
    memory.BROKEN_LINK: ("MM002", "fix the link's file name, or delete the entry"),
    memory.UNLINKED: ("MM003", "add a `- [Title](file.md) — when it applies` line to MEMORY.md, or delete the file"),
    memory.SECRET: ("MM004", "delete the key from the file (and rotate it: it has been in the agent's context)"),
    memory.UNREADABLE: ("MM006", "make it a regular, readable file under 1 MiB inside the agent's folder"),
    memory.NOT_UTF8: ("MM007", "re-save the file as UTF-8"),
}
# The scopes whose folders belong to the project (its `.claude/`): MM005 judges only these; the user
# scope's folders (~/.claude/agent-memory/) are shared by every project's agents of the name.
PROJECT_SCOPES = {"agent-memory": "project", "agent-memory-local": "local"}


def entry_findings(entries: Sequence[MemoryEntry], agents: Iterable[AgentFile] | None) -> dict[str, list[Diagnostic]]:
    """The MM findings of each file (by `entry.file`), in the entries' order. `agents`: every agent
    that may read the project's memory folders, None when the entries are not the project's (no MM005)."""
    found = {
        entry.file: [
            finding(ISSUE_RULES[i.kind][0], i.line, i.column, i.message, ISSUE_RULES[i.kind][1]) for i in entry.issues
        ]
        for entry in entries
    }
    if agents is None:
        return found
    scopes = declared_scopes(agents)
    judged: set[tuple[str, str]] = set()
    for entry in entries:
        folder = (entry.scope, entry.agent)
        if entry.scope in PROJECT_SCOPES.values() and folder not in judged:
            judged.add(folder)  # one finding a folder, on its first file (MEMORY.md when there is one)
            unread = unclaimed(entry.agent, entry.scope, scopes)
            if unread is not None:
                found[entry.file].append(finding("MM005", 1, 1, *unread))
    return found


def declared_scopes(agents: Iterable[AgentFile]) -> dict[str, set[str]]:
    """Agent name -> the `memory:` scopes its definitions declare ("" for none, or one Claude Code
    does not know: it gives that agent no memory)."""
    scopes: dict[str, set[str]] = {}
    for agent in agents:
        scope = agent.spec.memory if agent.spec.memory in memory.NATIVE_SCOPES else ""
        scopes.setdefault(agent.team_name, set()).add(scope)
    return scopes


def unclaimed(agent: str, scope: str, scopes: Mapping[str, set[str]]) -> tuple[str, str] | None:
    """(message, hint) when no agent called `agent` declares `memory: scope`: Claude Code gives an
    agent only its own scope's folder, so nothing reads this one."""
    declared = scopes.get(agent)
    if declared is None:
        return (
            f"no agent is called {agent!r}: Claude Code never reads this {scope} memory folder",
            "rename the folder to the name of the agent it belongs to, or delete it",
        )
    if scope in declared:
        return None
    others = sorted(value for value in declared if value)
    said = f"declares `memory: {others[0]}`" if others else "declares no `memory:`"
    return (
        f"the agent {agent!r} {said}: Claude Code never reads its {scope} memory folder",
        f"add `memory: {scope}` to {agent}'s frontmatter, or move what is worth keeping to the folder it reads",
    )


def check_native_memory(reports: list[FileReport], settings: Settings | None, agents: Iterable[AgentFile]) -> None:
    """Add MM findings to the reports of Claude Code's agent memory files (kind `agent-memory`).

    Each agent folder is read whole (links are checked against its files) and only the files
    reported get findings. `agents` are those of Claude Code's places other than the project (the
    user's, ...); the project's own are the checked ones and those of its agents folders."""
    folders: dict[tuple[Path, str], dict[Path, FileReport]] = {}
    for report in reports:
        place = _agent_folder(report.path) if report.kind == "agent-memory" else None
        if place is not None:
            folders.setdefault(place, {})[report.real_path] = report
    if not folders:
        return
    project = real_path(settings.root / ".claude") if settings is not None else None
    readers: list[AgentFile] | None = None
    for (base, agent), reported in folders.items():
        scope = PROJECT_SCOPES[base.name] if real_path(base.parent) == project else ""
        entries = [e for e in memory.native_entries(base, scope, agent) if real_path(Path(e.file)) in reported]
        if scope and readers is None:
            readers = [*project_agents(reports, settings), *agents] if settings is not None else list(agents)
        found = entry_findings(entries, readers if scope else None)
        for entry in entries:
            reported[real_path(Path(entry.file))].diagnostics += found[entry.file]


def _agent_folder(path: Path) -> tuple[Path, str] | None:
    """(the scope's folder, the agent) of a file right in `<.claude>/agent-memory*/<agent>/`; None
    for any other file there (Claude Code reads only those files: MEMORY.md and the ones it links)."""
    parts = path.parts
    if ".claude" not in parts:
        return None
    rest = parts[len(parts) - parts[::-1].index(".claude") :]
    if len(rest) != 3 or rest[0] not in PROJECT_SCOPES:
        return None
    return path.parent.parent, rest[1]


def project_agents(reports: Sequence[FileReport], settings: Settings) -> list[AgentFile]:
    """The agents of the project: those checked, and those of its agents folders (the team's, and
    `.claude/agents/` when the team is elsewhere) that were not, read once each."""
    from agentctl.spec import load_agent_file
    from agentctl.validate.discovery import discover

    loaded = {report.real_path: report.agent for report in reports if report.kind == "agent" and report.agent}
    for folder in dict.fromkeys((settings.agents_dir, settings.root / ".claude" / "agents")):
        if not folder.is_dir():
            continue
        for candidate in discover([folder], settings, explicit=False):
            if candidate.kind == "agent" and candidate.resolved not in loaded:
                loaded[candidate.resolved] = load_agent_file(candidate.path)
    return list(loaded.values())
