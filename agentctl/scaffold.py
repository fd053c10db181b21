"""`agentctl new`: a new agent from the template, with its roster row (when the team has a roster
table), validating clean."""

from __future__ import annotations

import re
from pathlib import Path

from agentctl import fmt, prompts, reference
from agentctl.config import Settings
from agentctl.errors import UsageError
from agentctl.fsutil import atomic_create_text, atomic_write_text
from agentctl.records import field, record
from agentctl.spec import AgentFile
from agentctl.team import RosterEntry, display_name_for, load_team, normalise_name, parse_roster
from agentctl.textlines import shorten

NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
# Claude Code takes names up to 256 characters (claude_code.MAX_NAME_LENGTH), but the name is also
# a file name (255 bytes at most, and the atomic write's temporary adds 14 to it), a folder in
# agents-memory/ and a roster cell.
MAX_NAME_LENGTH = 64
DISPLAY_NAME_PUNCTUATION = frozenset(" -_.&/+()'")
# A model alias or id, one word: `sonnet`, `claude-opus-4-1-20250805`, `claude-sonnet-4-5[1m]`.
MODEL_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\[\]-]{0,99}")
COLOR_PATTERN = re.compile(r"[A-Za-z][A-Za-z-]{0,31}")
# Control characters and line breaks (NEL, U+2028, U+2029): each option is one line of the agent
# file or one roster cell, and must not start another.
LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
DEFAULT_TOOLS = ("Read", "Grep", "Glob", "Bash")


@record
class NewAgent:
    name: str
    role: str
    display_name: str = ""
    model: str = "sonnet"
    tools: list[str] = field(default_factory=lambda: list(DEFAULT_TOOLS))
    color: str | None = None
    when: str = ""
    capabilities: str = ""


@record
class Created:
    path: Path
    protocol: Path
    roster_line: int  # 0: the team has no roster table (its roster is derived from the agent files)
    display_name: str


def create_agent(settings: Settings, request: NewAgent) -> Created:
    """Write agents/NAME.md from the template and add its roster row when the team has a roster
    table (without one, the roster is derived from the agent files: the new file is enough);
    refuse what would clash."""
    request.display_name = request.display_name or display_name_for(request.name)
    team = load_team(settings)
    _refuse_bad_request(request, team.agents, team.roster)
    if (settings.agents_dir / f"{request.name}.md").exists():
        raise UsageError(f"an agent called {request.name!r} already exists", hint="pick another name")
    path = settings.agents_dir / f"{request.name}.md"
    dispatchers = set(team.dispatchers())
    text = render_agent(settings, request, [entry.display_name for entry in team.roster if entry.agent in dispatchers])
    new_protocol, line = (None, 0) if team.roster_derived else add_roster_row(_protocol_text(settings), request)
    try:
        atomic_create_text(path, text)
    except FileExistsError:
        raise UsageError(f"{path} already exists", hint="pick another name") from None
    if new_protocol is not None:
        atomic_write_text(settings.protocol_file, new_protocol)
    return Created(path, settings.protocol_file, line, request.display_name)


def _protocol_text(settings: Settings) -> str:
    """The protocol as it will be written back: UTF-8 only (a replaced byte would be lost)."""
    from agentctl.team import read_protocol

    path = settings.protocol_file
    try:
        return read_protocol(path, errors="strict")
    except UnicodeDecodeError:
        raise UsageError(
            f"{path} is not UTF-8 text: agentctl new does not rewrite it", hint="save it as UTF-8"
        ) from None
    except OSError as error:
        raise UsageError(f"cannot read the team protocol {path}: {error.strerror}") from None


def _refuse_bad_request(request: NewAgent, agents: list[AgentFile], roster: list[RosterEntry]) -> None:
    _refuse_bad_words(request)
    wanted = {normalise_name(request.name), normalise_name(request.display_name)}
    taken = {normalise_name(agent.name) for agent in agents if agent.name} | {
        normalise_name(agent.path.stem) for agent in agents
    }
    taken |= {normalise_name(entry.agent) for entry in roster} | {
        normalise_name(entry.display_name) for entry in roster
    }
    if wanted & taken:
        raise UsageError(
            f"an agent called {request.name!r} already exists", hint="pick another name, or edit the existing agent"
        )
    request.tools = _current_tools(request.tools)


def _current_tools(tools: list[str]) -> list[str]:
    """The tools under their current names (`Task` -> `Agent`), as validate takes them: a name
    Claude Code still accepts is written the way it no longer warns about; UsageError for the rest."""
    facts = reference.claude_code()
    current, unknown = [], []
    for tool in tools:
        base, paren, rule = tool.partition("(")  # `Bash(git *)`: the rule stays as written
        name = facts.current_tool_name(base.strip())
        if name is None:
            unknown.append(tool)
        else:
            current.append(name + paren + rule)
    if unknown:
        removed = [f"{tool} ({facts.removed_tools[tool]})" for tool in unknown if tool in facts.removed_tools]
        raise UsageError(
            f"unknown tool(s): {', '.join(unknown)}",
            hint="; ".join(removed) or "`agentctl rules` and the README list the tool rules; names are case-sensitive",
        )
    return list(dict.fromkeys(current))  # `Task, Agent` is one tool


def _refuse_bad_words(request: NewAgent) -> None:
    """Each value goes into the agent's frontmatter or a roster cell as written: refuse what would
    break out of its line or its cell, before anything is read or written."""
    _check_name(request.name)
    _check_display_name(request.display_name)
    if not request.role.strip() or LINE_BREAKING.search(request.role):
        raise UsageError(
            "--role must be one line saying what the agent does",
            hint='e.g. --role "Senior Data Engineer — ETL pipelines"',
        )
    for option, value in (("--when", request.when), ("--capabilities", request.capabilities)):
        if LINE_BREAKING.search(value):
            raise UsageError(f"{option} must be one line, without control characters")
    if not MODEL_PATTERN.fullmatch(request.model):
        raise UsageError(
            f"--model {shorten(repr(request.model), 60)} is not a model alias or id", hint="e.g. sonnet, opus"
        )
    if request.color is not None and not COLOR_PATTERN.fullmatch(request.color):
        raise UsageError(
            f"--color {shorten(repr(request.color), 60)} is not a colour name", hint="e.g. blue, green, purple"
        )
    if any(LINE_BREAKING.search(tool) for tool in request.tools):
        raise UsageError("--tools must be one line of comma-separated tool names")


def _check_name(name: str) -> None:
    hint = "use lowercase letters, digits and hyphens, starting with a letter (e.g. data-engineer)"
    if len(name) > MAX_NAME_LENGTH:
        raise UsageError(f"the agent name is {len(name)} characters long; the most is {MAX_NAME_LENGTH}", hint=hint)
    if not NAME_PATTERN.fullmatch(name):
        raise UsageError(f"{name!r} is not a valid agent name", hint=hint)


def _check_display_name(display_name: str) -> None:
    if len(display_name) > MAX_NAME_LENGTH:
        raise UsageError(
            f"the display name is {len(display_name)} characters long; the most is {MAX_NAME_LENGTH}",
            hint='e.g. --display-name "Data Engineer"',
        )
    if not display_name[:1].isalnum() or not all(c.isalnum() or c in DISPLAY_NAME_PUNCTUATION for c in display_name):
        raise UsageError(
            f"{shorten(repr(display_name), 60)} is not a valid display name",
            hint="use letters, digits, spaces and - _ . & / + ( ) ', starting with a letter or digit",
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
            "protocol": _from_root(settings, settings.protocol_file) if settings.protocol_file.is_file() else None,
            "memory": _from_root(settings, settings.memory_dir),
        },
        settings,
    )


def _from_root(settings: Settings, path: Path) -> str:
    """`path` as the agent's First Step names it: from the root, where Claude Code runs."""
    try:
        return path.relative_to(settings.root).as_posix()
    except ValueError:
        return path.as_posix()


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
