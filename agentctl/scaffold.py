"""`agentctl new`: a new agent from the template, with its roster row, validating clean."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from agentctl import claude_code, fmt, prompts, reference
from agentctl.config import Settings
from agentctl.errors import UsageError
from agentctl.fsutil import atomic_create_text, atomic_write_text
from agentctl.spec import AgentFile
from agentctl.team import RosterEntry, load_team, normalise_name, parse_roster

NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
DEFAULT_TOOLS = ("Read", "Grep", "Glob", "Bash")


@dataclass(slots=True)
class NewAgent:
    name: str
    role: str
    display_name: str = ""
    model: str = "sonnet"
    tools: list[str] = field(default_factory=lambda: list(DEFAULT_TOOLS))
    color: str | None = None
    when: str = ""
    capabilities: str = ""


@dataclass(slots=True)
class Created:
    path: Path
    protocol: Path
    roster_line: int
    display_name: str


def create_agent(settings: Settings, request: NewAgent) -> Created:
    """Write agents/NAME.md from the template and add its roster row; refuse what would clash."""
    request.display_name = request.display_name or display_name_for(request.name)
    team = load_team(settings)
    _refuse_bad_request(settings, request, team.agents, team.roster)
    path = settings.agents_dir / f"{request.name}.md"
    dispatchers = set(team.dispatchers())
    text = render_agent(settings, request, [entry.display_name for entry in team.roster if entry.agent in dispatchers])
    protocol_text = settings.protocol_file.read_text("utf-8")
    new_protocol, line = add_roster_row(protocol_text, request)
    try:
        atomic_create_text(path, text)
    except FileExistsError:
        raise UsageError(f"{path} already exists", hint="pick another name") from None
    atomic_write_text(settings.protocol_file, new_protocol)
    return Created(path, settings.protocol_file, line, request.display_name)


def display_name_for(name: str) -> str:
    small = {"qa": "QA", "ml": "ML", "ai": "AI", "ui": "UI", "ux": "UX", "api": "API", "db": "DB", "e2e": "E2E"}
    return " ".join(small.get(word, word.capitalize()) for word in name.split("-"))


def _refuse_bad_request(
    settings: Settings, request: NewAgent, agents: list[AgentFile], roster: list[RosterEntry]
) -> None:
    if not NAME_PATTERN.fullmatch(request.name) or len(request.name) > claude_code.MAX_NAME_LENGTH:
        raise UsageError(
            f"{request.name!r} is not a valid agent name",
            hint="use lowercase letters, digits and hyphens, starting with a letter (e.g. data-engineer)",
        )
    wanted = {normalise_name(request.name), normalise_name(request.display_name)}
    taken = {normalise_name(agent.name) for agent in agents if agent.name} | {
        normalise_name(agent.path.stem) for agent in agents
    }
    taken |= {normalise_name(entry.agent) for entry in roster} | {
        normalise_name(entry.display_name) for entry in roster
    }
    if wanted & taken or (settings.agents_dir / f"{request.name}.md").exists():
        raise UsageError(
            f"an agent called {request.name!r} already exists", hint="pick another name, or edit the existing agent"
        )
    if not request.role.strip() or "\n" in request.role:
        raise UsageError(
            "--role must be one line saying what the agent does",
            hint='e.g. --role "Senior Data Engineer — ETL pipelines"',
        )
    if not settings.protocol_file.is_file() or not roster:
        raise UsageError(
            f"no roster in {settings.protocol_file}",
            hint="agentctl new adds the agent's row to the roster table of agents-shared/team-protocol.md",
        )
    unknown = [
        tool
        for tool in request.tools
        if tool.split("(")[0] not in reference.claude_code().tools and not tool.startswith("mcp__")
    ]
    if unknown:
        raise UsageError(
            f"unknown tool(s): {', '.join(unknown)}",
            hint="`agentctl rules` and the README list the tool rules; names are case-sensitive",
        )


def render_agent(settings: Settings, request: NewAgent, dispatchers: list[str]) -> str:
    escalations = [
        {"display_name": name, "signal": "Work that another specialist owns", "example": "Ask for it to be re-planned"}
        for name in dispatchers
    ]
    return prompts.render(
        "agent",
        {
            "name": request.name,
            "display_name": request.display_name,
            "role": request.role.strip(),
            "role_yaml": fmt.emit_string(request.role.strip())[0],
            "tools": request.tools,
            "model": request.model,
            "color": request.color or "blue",
            "escalations": escalations,
        },
        settings,
    )


def add_roster_row(protocol_text: str, request: NewAgent) -> tuple[str, int]:
    """The protocol with a row for the new agent after the roster's last row, and that row's line."""
    roster = parse_roster(protocol_text)
    lines = protocol_text.split("\n")
    last = roster[-1].line  # 1-based line of the last row
    headers = list(roster[-1].columns)
    values = {
        "agent": f"`{request.name}`",
        "display name": request.display_name,
        "domain": request.role.strip(),
        "when to request": request.when or request.role.strip(),
        "capabilities": request.capabilities,
    }
    cells = [values.get(header, "").replace("|", "\\|") for header in headers]
    lines.insert(last, "| " + " | ".join(cells) + " |")
    return "\n".join(lines), last + 1
