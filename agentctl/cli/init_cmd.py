"""agentctl init [PROJECT] [--team DIR | --from-catalogue DIR] [--layout ...] [--memory ...] [--agents ...]"""

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import DataFormat, FormatOption, write_json
from agentctl.errors import UsageError

if TYPE_CHECKING:
    from agentctl.install import InitResult, PlannedFile


class LayoutChoice(StrEnum):
    claude = "claude"
    top_level = "top-level"


class MemoryChoice(StrEnum):
    dated = "dated"
    native = "native"


def init_command(
    project: Annotated[Path, typer.Argument(help="The project's folder (default: the working directory).")] = Path(),
    team: Annotated[
        Path | None, typer.Option("--team", metavar="DIR", help="Install this team folder instead of the shipped team.")
    ] = None,
    catalogue: Annotated[
        Path | None,
        typer.Option("--from-catalogue", metavar="DIR", help="Install agents from a folder of agent files."),
    ] = None,
    layout: Annotated[
        LayoutChoice,
        typer.Option("--layout", help="claude: .claude/agents/ (Claude Code's); top-level: agents/ (agentctl's)."),
    ] = LayoutChoice.claude,
    memory: Annotated[
        MemoryChoice,
        typer.Option(
            "--memory",
            help="dated: the team's dated notes; native: Claude Code's agent memory (`memory: project`).",
        ),
    ] = MemoryChoice.dated,
    agents: Annotated[
        list[str] | None, typer.Option("--agents", metavar="NAME,...", help="Only these agents (default: all).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite team files that differ.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be written; write nothing.")] = False,
    output: FormatOption = DataFormat.text,
) -> int:
    """Write a team into a project, ready for Claude Code and for agentctl.

    The agents (their paths rewritten for the layout), the team protocol, memory, the MCP servers
    the agents name (.mcp.json, merged) and .gitignore entries. A file that differs is shown as a
    diff and nothing is written unless --force; a second run writes nothing.
    """
    from agentctl.install import InitOptions, run_init

    current = environment.current()
    if team is not None and catalogue is not None:
        raise UsageError("--team and --from-catalogue name two sources", hint="pass one of them")
    names = tuple(name.strip() for value in agents or [] for name in value.split(",") if name.strip())
    options = InitOptions(
        project=_absolute(project, current.cwd),
        team=_absolute(team, current.cwd) if team is not None else None,
        catalogue=_absolute(catalogue, current.cwd) if catalogue is not None else None,
        layout="claude" if layout is LayoutChoice.claude else "top-level",
        memory="native" if memory is MemoryChoice.native else "dated",
        agents=names,
        force=force,
        dry_run=dry_run,
    )
    result = run_init(options)
    if output is DataFormat.json:
        write_json(_document(result, current.cwd))
    else:
        _report(result, current.cwd)
    return result.exit_code


def _absolute(path: Path, cwd: Path) -> Path:
    return path if path.is_absolute() else cwd / path


def _document(result: "InitResult", cwd: Path) -> dict[str, object]:
    from agentctl.walk import display_path

    return {
        "project": display_path(result.project, cwd),
        "source": {"kind": result.source_kind, "path": display_path(result.source, cwd)},
        "layout": result.layout,
        "memory": result.memory,
        "status": result.status,
        "agents": result.agents,
        "files": [
            {
                "path": file.path,
                "kind": file.kind,
                "action": file.action,
                "reason": file.reason or None,
                "diff": file.diff() if file.action in ("update", "overwrite", "conflict") else None,
            }
            for file in result.files
        ],
        "mcp_servers": [
            {
                "server": need.server,
                "agents": need.agents,
                "status": need.status,
                "placeholders": need.placeholders,
                "docs": need.docs or None,
            }
            for need in result.servers
        ],
        "project_files": [{"path": path, "agents": agents} for path, agents in result.project_files.items()],
        "notes": result.notes,
    }


_SOURCES = {"shipped": "the shipped team", "team": "the team", "catalogue": "agents of the catalogue"}


def _report(result: "InitResult", cwd: Path) -> None:
    from agentctl.walk import display_path

    current = environment.current()
    where = ".claude/" if result.layout == "claude" else "the top level"
    source = _SOURCES[result.source_kind] + ("" if result.source_kind == "shipped" else f" {result.source}")
    current.out(
        f"{'would install' if result.dry_run else 'installing'} {source} ({len(result.agents)} agents) into "
        f"{display_path(result.project, cwd)}: {where}, {result.memory} memory"
    )
    for file in result.files:
        if file.action != "same":
            current.out(f"  {file.action:<9} {file.path}" + (f"  ({file.reason})" if file.reason else ""))
    unchanged = sum(file.action == "same" for file in result.files)
    if unchanged:
        current.out(f"  {unchanged} file(s) already as agentctl init writes them")
    _report_servers(result)
    if result.project_files:
        current.out("Your project's own files that the agents' First Step reads (add them when you can):")
        for path, agents in result.project_files.items():
            current.out(f"  {path}  ({', '.join(agents)})")
    for note in result.notes:
        current.out(f"note: {note}")
    _report_end(result)


def _report_servers(result: "InitResult") -> None:
    current = environment.current()
    if not result.servers:
        return
    current.out("MCP servers the agents name in `tools` (.mcp.json):")
    width = max(len(need.server) for need in result.servers)
    for need in result.servers:
        what = {
            "added": "added",
            "present": "already there (your entry is kept)",
            "placeholder": "not in agentctl's catalogue: a placeholder entry, fill in its command",
            "built-in": f"built into Claude Code, no .mcp.json entry ({need.docs})",
        }[need.status]
        current.out(f"  {need.server:<{width}}  {what}; for {', '.join(need.agents)}")
        for variable, meaning in need.placeholders.items():
            current.out(f"  {'':<{width}}  set {variable}: {meaning}")


def _report_end(result: "InitResult") -> None:
    current = environment.current()
    for file in result.conflicts:
        if file.old is not None:
            current.out(file.diff().rstrip("\n"))
    if result.conflicts:
        current.err(
            f"error: {len(result.conflicts)} file(s) of the project differ from what agentctl init writes"
            f" ({', '.join(file.path for file in result.conflicts[:5])}): nothing was written"
        )
        current.err("hint: pass --force to overwrite the team's files (never a memory note, an .mcp.json entry or")
        current.err("      a .gitignore line); a file that is not readable text must be fixed or moved first")
        return
    changed: list[PlannedFile] = [file for file in result.files if file.action in ("create", "update", "overwrite")]
    if not changed:
        current.out("nothing to do: the team is installed as agentctl init writes it")
    elif result.dry_run:
        current.out(f"dry run: {len(changed)} file(s) would be written; nothing was")
    else:
        current.out(f"wrote {len(changed)} file(s); check the team with `agentctl validate --strict` there")


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)
