"""agentctl new NAME --role "..." """

from typing import Annotated

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import DataFormat, FormatOption, RootOption, settings_for, write_json
from agentctl.errors import ExitCode


def new_command(
    name: Annotated[str, typer.Argument(help="The agent's name: lowercase letters, digits and hyphens.")],
    role: Annotated[str, typer.Option("--role", help="One line: what the agent does (its description).")],
    display_name: Annotated[str, typer.Option("--display-name", help="The roster's display name.")] = "",
    model: Annotated[str, typer.Option("--model", help="Model alias or id.")] = "sonnet",
    tools: Annotated[str, typer.Option("--tools", help="Comma-separated tools.")] = "Read, Grep, Glob, Bash",
    color: Annotated[str, typer.Option("--color", help="Display colour in Claude Code.")] = "blue",
    when: Annotated[str, typer.Option("--when", help="The roster's 'When to request' (default: the role).")] = "",
    capabilities: Annotated[str, typer.Option("--capabilities", help="The roster's 'Capabilities'.")] = "",
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """Write a new agent from the template and add its row to the roster (if the team has a roster table)."""
    from agentctl.claude_code import split_tools
    from agentctl.scaffold import NewAgent, create_agent
    from agentctl.validate import display_path, validate

    current = environment.current()
    settings = settings_for(root)
    request = NewAgent(name, role, display_name, model, split_tools([tools]), color, when, capabilities)
    created = create_agent(settings, request)
    report = validate([created.path], settings, current.cwd)
    shown = display_path(created.path, current.cwd)
    if output is DataFormat.json:
        write_json(
            {
                "path": shown,
                "name": name,
                "display_name": created.display_name,
                "roster_line": created.roster_line,
                "diagnostics": [d.to_json() for file in report.files for d in file.diagnostics],
            }
        )
    else:
        current.out(f"created {shown}")
        if created.roster_line:
            where = f"{display_path(created.protocol, current.cwd)}:{created.roster_line}"
            current.out(f"added {created.display_name!r} to the roster ({where})")
        else:
            current.out(f"no roster table: the team knows it as {created.display_name!r} from its file")
        for diagnostic in (d for file in report.files for d in file.diagnostics):
            location = f"{diagnostic.line}:{diagnostic.column}"
            current.out(f"  {location} {diagnostic.severity} {diagnostic.rule} {diagnostic.message}")
    return ExitCode.PROBLEMS if report.failed(strict=True) else ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command("new")(new_command)
