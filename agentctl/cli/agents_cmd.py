"""agentctl list, agentctl show NAME"""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import (
    AgentsJsonOption,
    DataFormat,
    FormatOption,
    NoUserOption,
    PluginDirOption,
    RootOption,
    settings_for,
    write_json,
)
from agentctl.errors import ExitCode
from agentctl.views import agent_details, agent_summary, relative_to_root, roster_kind, source_fields

if TYPE_CHECKING:  # `agentctl --help` imports this module; only list and show load the team
    from pathlib import Path

    from agentctl.sources import SourceOptions


def list_command(
    output: FormatOption = DataFormat.text,
    no_user: NoUserOption = False,
    agents_json: AgentsJsonOption = None,
    plugin_dir: PluginDirOption = None,
    root: RootOption = None,
) -> int:
    """List the agents Claude Code reads with the team (managed, --agents, project, user, plugins)
    and what it makes of each."""
    from agentctl.sources import team_sources

    team, sources = team_sources(settings_for(root), _options(no_user, agents_json, plugin_dir))
    rows = [agent_summary(team, item.agent) | source_fields(team, item) for item in sources]
    if output is DataFormat.json:
        write_json({"root": str(team.settings.root), "roster": roster_kind(team), "agents": rows})
        return ExitCode.OK
    _print_table(rows, team.roster_derived)
    return ExitCode.OK


def show_command(
    name: Annotated[str, typer.Argument(help="Agent name, roster display name, or file name.")],
    output: FormatOption = DataFormat.text,
    no_user: NoUserOption = False,
    agents_json: AgentsJsonOption = None,
    plugin_dir: PluginDirOption = None,
    root: RootOption = None,
) -> int:
    """Show one agent in full: the one Claude Code keeps for the name, else the team's, else another
    place's."""
    from agentctl.sources import resolve_source, team_sources

    team, sources = team_sources(settings_for(root), _options(no_user, agents_json, plugin_dir))
    item = resolve_source(team, sources, name)
    details = agent_details(team, item.agent) | source_fields(team, item) | {"roster": roster_kind(team)}
    details["hides"] = [relative_to_root(team, agent) for agent in item.hides]
    if output is DataFormat.json:
        write_json(details)
        return ExitCode.OK
    _print_details(details)
    return ExitCode.OK


def _options(no_user: bool, agents_json: "Path | None", plugin_dirs: "list[Path] | None") -> "SourceOptions":
    from agentctl.sources import SourceOptions

    current = environment.current()
    absolute = [path if path.is_absolute() else current.cwd / path for path in plugin_dirs or []]
    if agents_json is not None and not agents_json.is_absolute():
        agents_json = current.cwd / agents_json
    return SourceOptions(current.environ, no_user, agents_json, absolute)


def _verdict_text(claude_code: dict[str, Any]) -> str:
    return "loads" if claude_code["loads"] else f"skipped: {claude_code['reason']}"


def _print_table(rows: list[dict[str, Any]], roster_derived: bool) -> None:
    """One line per agent. On a terminal every line fits its width: the description takes what is
    left, long names and tool lists are cut with an ellipsis, and tools then model are dropped
    before a row would wrap. Piped output is never cut."""
    from agentctl.cli.common import Fit, columns

    current = environment.current()
    table = [
        [
            row["name"] or "?",
            str(row["model"] or "inherit"),
            row["claude_code"]["tools_display"],
            row["description"],
            _verdict_text(row["claude_code"]),
        ]
        for row in rows
    ]
    header = ["name", "model", "tools", "description", "Claude Code"]
    # A team read alone keeps its five columns; the source column comes with the user level.
    sourced = any(row["source"] != "project" for row in rows)
    if sourced:
        header.append("source")
        for cells, row in zip(table, rows, strict=True):
            cells.append(_source_text(row))
    width = current.width
    fit = Fit(width, flexible=3, caps={0: 32, 1: 12, 2: 30, 4: 40, 5: 14}, droppable=(2, 1)) if width else None
    current.out(columns(table, header, fit))
    derived = " (no roster table: the roster is derived from the agent files)" if roster_derived else ""
    current.out(f"{len(rows)} agents{_source_counts(rows) if sourced else ''}{derived}")


def _source_text(row: dict[str, Any]) -> str:
    return f"{row['source']}, hidden" if row["hidden_by"] else row["source"]


def _source_counts(rows: list[dict[str, Any]]) -> str:
    """ " (3 project, 2 user, 1 hidden)": how many agents each place gives, and how many lose."""
    from agentctl.sources import SOURCES

    tally = {source: sum(row["source"] == source for row in rows) for source in SOURCES}
    counts = [f"{count} {source}" for source, count in tally.items() if count or source == "project"]
    hidden = sum(bool(row["hidden_by"]) for row in rows)
    return f" ({', '.join(counts)}{f', {hidden} hidden' if hidden else ''})"


def _print_details(details: dict[str, Any]) -> None:
    from agentctl.cli.common import painter

    current = environment.current()
    paint = painter(current.colour)
    title = details["name"] or "?"
    if details["display_name"]:
        title += f" ({details['display_name']}{', derived' if details['roster'] == 'derived' else ''})"
    lines = [f"{paint('bold', title)}  {details['path']}"]
    for label, value in (
        ("Claude Code", _verdict_text(details["claude_code"])),
        ("source", _source_line(details)),
        ("model", details["model"] or "inherit"),
        ("tools", details["claude_code"]["tools_display"]),
        ("examples", str(len(details["examples"]))),
    ):
        lines.append(f"  {paint('dim', f'{label:<12}')} {value}")
    lines += ["", paint("bold", "description"), details["description"], ""]
    where = f"(line {details['body_line']})"
    lines += [f"{paint('bold', 'system prompt')} {paint('dim', where)}"]
    lines.append(details["body"].strip())
    current.out("\n".join(lines))


def _source_line(details: dict[str, Any]) -> str:
    """Where Claude Code reads the agent, and which definition of its name wins."""
    source = details["source"] + (f" {details['plugin']!r}" if details["plugin"] else "")
    notes = []
    if details["hidden_by"]:
        notes.append(f"hidden by {details['hidden_by']} (Claude Code uses that one)")
    if details["hides"]:
        notes.append(f"hides {', '.join(details['hides'])}")
    if details["hides_builtin"]:
        notes.append(f"replaces the built-in agent {details['hides_builtin']}")
    if details["ignored_keys"]:
        notes.append(f"Claude Code ignores its {', '.join(details['ignored_keys'])} (a plugin agent)")
    return ", ".join([source, *notes])


def register(app: typer.Typer) -> None:
    app.command("list")(list_command)
    app.command("show")(show_command)
