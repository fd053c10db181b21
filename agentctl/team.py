"""The team: its agent files, the roster in the team protocol, and name resolution.

The roster is the first markdown table in agents-shared/team-protocol.md whose header has an
"Agent" column and a "Display name" column, e.g.

    | Agent | Display name | Domain | When to request | Capabilities |
    |---|---|---|---|---|
    | `db-architect` | DB Architect | PostgreSQL schema ... | ... | MCP: postgres |

so that "DB Architect", "db-architect" and "DB-ARCHITECT" all resolve to the same agent.

Most teams have no roster table: then the roster is derived from the agent files Claude Code loads
(`db-architect` -> "DB Architect", the description's first line as the domain) and marked derived,
so that handoffs resolve, prompts list who exists and memory is saved for every agent all the same.

This module also decides which files of the agents folder are agents at all: a README (or another
document, DOCUMENT_STEMS) that Claude Code skips is not one; one it loads is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from agentctl.config import Settings
from agentctl.errors import UnknownAgentError, UsageError
from agentctl.lazyre import LazyPattern
from agentctl.records import field, record
from agentctl.spec import AgentFile, load_agent_file
from agentctl.walk import markdown_files


@record
class RosterEntry:
    agent: str
    display_name: str
    columns: dict[str, str] = field(default_factory=dict)  # every column, by lower-case header
    line: int = 0


@record
class Team:
    settings: Settings
    agents: list[AgentFile]
    roster: list[RosterEntry]
    roster_derived: bool = False  # no roster table: the roster was made from the agent files
    # Every name of an agent -> its file (name_index), built on the first lookup: validate resolves
    # every escalation row and handoff heading of the team through it.
    _names: dict[str, AgentFile | None] | None = field(default=None, repr=False, compare=False)

    def dispatchers(self) -> list[str]:
        """Agents that hold the Agent tool: work enters the team through them."""
        return [a.name for a in self.agents if a.name and a.verdict.tools and "Agent" in a.verdict.tools]

    def display_name(self, name: str) -> str | None:
        return next((entry.display_name for entry in self.roster if entry.agent == name), None)

    def resolve(self, wanted: str) -> AgentFile:
        """The agent called `wanted`: its name, roster display name, or file name, any case."""
        if self._names is None:
            self._names = name_index(self.agents, self.roster)
        agent = self._names.get(_normalise(wanted))
        if agent is not None:
            return agent
        raise UnknownAgentError(
            f"no agent called {wanted!r} in {self.settings.agents_dir}", hint=self._suggestion(wanted)
        )

    def _suggestion(self, wanted: str) -> str:
        import difflib  # only a failed lookup pays for it

        names = sorted({agent.name for agent in self.agents if agent.name} | {e.display_name for e in self.roster})
        close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.5)
        if close:
            return "did you mean " + " or ".join(repr(name) for name in close) + "?"
        return "`agentctl list` shows the team's agents"


_NAME_GAPS = LazyPattern(r"[\s_-]+")


def _normalise(name: str) -> str:
    return str(_NAME_GAPS.sub("-", name.strip().lower()))


# Files of the agents folder that are documents, not agents, unless Claude Code loads them (it
# loads a README.md with `name` and `description` frontmatter like any other file: checked against
# the binary, 2.1.330).
DOCUMENT_STEMS = frozenset(
    {"readme", "changelog", "contributing", "license", "claude", "agents", "code_of_conduct", "security", "history"}
)


def is_document(path: Path) -> bool:
    """Named like a document (README.md, CHANGELOG.md...), whatever it holds."""
    return path.stem.lower() in DOCUMENT_STEMS


def is_agent(agent: AgentFile) -> bool:
    """Whether a file of the agents folder is one of the team's agents: every file is, except a
    document that Claude Code skips (a README.md without frontmatter)."""
    return agent.verdict.loads or not is_document(agent.path)


def load_team(settings: Settings) -> Team:
    """Read every agent file of the team and its roster (derived from the agents without a table)."""
    if not settings.agents_dir.is_dir():
        raise UsageError(
            f"the agents folder {settings.agents_dir} does not exist",
            hint="create it, or point `agents` in agentctl.toml at yours",
        )
    agents = [agent for agent in map(load_agent_file, markdown_files(settings.agents_dir)) if is_agent(agent)]
    roster = read_roster(settings.protocol_file)
    if roster:
        return Team(settings=settings, agents=agents, roster=roster)
    return Team(settings=settings, agents=agents, roster=derived_roster(agents), roster_derived=True)


def team_roster(settings: Settings) -> tuple[list[RosterEntry], bool]:
    """The roster and whether it is derived, as load_team makes them: the protocol's table when it
    has one (the agent files are not read then), else the one derived from the agent files.
    A protocol that is there but cannot be read is exit 2 (protocol_text), not a team without one."""
    text = protocol_text(settings.protocol_file)
    roster = parse_roster(text) if text is not None else []
    if roster or not settings.agents_dir.is_dir():
        return roster, False
    team = load_team(settings)
    return team.roster, team.roster_derived


def derived_roster(agents: list[AgentFile]) -> list[RosterEntry]:
    """One entry per agent Claude Code loads (the first file of each name, as validate's duplicate
    rule keeps it): its name, a display name made from it, its description's first line as domain."""
    entries: dict[str, RosterEntry] = {}
    for agent in agents:
        name = agent.verdict.name
        if not agent.verdict.loads or not name or normalise_name(name) in entries:
            continue
        display = display_name_for(name)
        domain = (agent.verdict.description or "").strip().split("\n", 1)[0].strip()
        columns = {"agent": name, "display name": display, "domain": domain}
        entries[normalise_name(name)] = RosterEntry(name, display, columns)
    return list(entries.values())


# Words that read as initials in a display name: `db-architect` -> "DB Architect", as teams write
# their handoff targets (`### -> DB Architect`); resolution ignores case, so "Db Architect" works too.
_INITIALS = {"qa": "QA", "ml": "ML", "ai": "AI", "ui": "UI", "ux": "UX", "api": "API", "db": "DB", "e2e": "E2E"}


def display_name_for(name: str) -> str:
    """The display name a roster row would give agent `name`: its words capitalised."""
    words = _NAME_GAPS.sub(" ", name).split()
    return " ".join(_INITIALS.get(word.lower(), word[:1].upper() + word[1:]) for word in words) or name


def read_protocol(path: Path, errors: str = "replace") -> str:
    """The team protocol's text, read within bounds.PROTOCOL_BYTES; bytes that are not UTF-8 are
    replaced (`errors="strict"`: UnicodeDecodeError, for a caller that writes the text back).
    OSError when it cannot be read: missing, a directory, a FIFO, a link loop, too large (fsutil's
    errors carry a readable `strerror`)."""
    from agentctl.bounds import PROTOCOL_BYTES
    from agentctl.fsutil import read_bounded

    return read_bounded(path, PROTOCOL_BYTES).decode("utf-8", errors=errors)


def protocol_text(path: Path, errors: str = "replace") -> str | None:
    """The team protocol's text; None when the team has none; UsageError (exit 2) when it is there but
    cannot be read (a FIFO, a folder, a link loop, too large): going on without it would silently
    lose the team's rules and roster."""
    if not os.path.lexists(path):
        return None
    try:
        return read_protocol(path, errors)
    except OSError as error:
        raise UsageError(
            f"cannot read the team protocol {path}: {error.strerror}",
            hint="make it a regular markdown file, or remove it",
        ) from None


def read_roster(path: Path) -> list[RosterEntry]:
    """The roster of the protocol at `path`; empty when there is none or it cannot be read (`list`
    and `route` work without one; the prompt builder reads the protocol itself, and stops on an
    unreadable one)."""
    try:
        text = read_protocol(path)
    except OSError:
        return []
    return parse_roster(text)


# A table's separator row, `|---|:---:|`. The protocol is outside text: every quantifier here is
# possessive, as no two adjacent ones can share a character (`\s*` around an optional `|` before
# `\s*$` would try every split of a run of spaces).
_SEPARATOR = LazyPattern(r"^\|?+\s*+:?+-{3,}+:?+\s*+(?:\|\s*+:?+-{3,}+:?+\s*+)*+\|?+\s*+$")


def parse_roster(text: str) -> list[RosterEntry]:
    """The entries of the first table with `Agent` and `Display name` columns."""
    lines = text.split("\n")
    for index in range(len(lines) - 1):
        header = _cells(lines[index])
        lowered = [cell.lower() for cell in header]
        if "agent" in lowered and "display name" in lowered and _SEPARATOR.match(lines[index + 1].strip()):
            return _table_rows(lines, index + 2, lowered)
    return []


def _table_rows(lines: list[str], start: int, headers: list[str]) -> list[RosterEntry]:
    entries = []
    for number in range(start, len(lines)):
        if not lines[number].strip().startswith("|"):
            break
        cells = _cells(lines[number])
        columns = dict(zip(headers, cells, strict=False))
        agent = columns.get("agent", "").strip("`* ")
        if agent:
            entries.append(RosterEntry(agent, columns.get("display name", agent).strip("* "), columns, number + 1))
    return entries


def _cells(line: str) -> list[str]:
    stripped = line.strip()
    if not stripped.startswith("|"):
        return []
    return [cell.strip() for cell in stripped.strip("|").split("|")]


def name_index(agents: Sequence[AgentFile], roster: Sequence[RosterEntry]) -> dict[str, AgentFile | None]:
    """Every way a team names an agent, normalised (normalise_name), -> the agent file it means: an
    agent's name and file name, and a roster row's agent and display names. A roster name means its
    row's agent (None when no file defines it), before an agent file of that name; the first file
    and the first row of a name win, as Claude Code and the roster are read in order."""
    files: dict[str, AgentFile] = {}
    for agent in agents:
        for name in (agent.name or "", agent.path.stem):
            files.setdefault(_normalise(name), agent)
    index: dict[str, AgentFile | None] = dict(files)
    named_by_roster: set[str] = set()
    for entry in roster:
        for name in (entry.agent, entry.display_name):
            key = _normalise(name)
            if key not in named_by_roster:
                named_by_roster.add(key)
                index[key] = files.get(_normalise(entry.agent))
    return index


def normalise_name(name: str) -> str:
    """How names are compared: case, spaces, hyphens and underscores do not matter."""
    return _normalise(name)


def project_paths(protocol_text: str) -> list[str]:
    """The path prefixes the protocol's `Paths` section marks as the project's (not the team's).

    They are the backticked paths on the line(s) of the item that mentions "project paths", e.g.
    ``**Project paths** (`cofee_backend/...`, `docker-compose.yml`) are relative to ...``.
    """
    match = _PATHS_HEADING.search(protocol_text)
    if match is None:
        return []
    rest = protocol_text[match.end() :]
    end = _SECTION_HEADING.search(rest)
    section = rest[: end.start()] if end else rest
    prefixes: list[str] = []
    for item in _ITEM_BREAK.split(section):
        if "project path" in item.lower():
            for token in _BACKTICKED.findall(item):
                prefixes.append(token.split("...", 1)[0].split("…", 1)[0])
    return prefixes


_PATHS_HEADING = LazyPattern(r"^#{1,3}\s++Paths\b.*$", re.M)
_SECTION_HEADING = LazyPattern(r"^#{1,3}\s", re.M)
# Items of a section: split at blank lines (every line break of the blank run, possessively) and
# before list items.
_ITEM_BREAK = LazyPattern(r"\n(?:[^\S\n]*+\n)++|\n(?=\s*+(?:\d++\.|[-*])\s)")
_BACKTICKED = LazyPattern(r"`([^`\s]++)`")
