"""agentctl validate [PATH...]"""

from pathlib import Path
from typing import Annotated

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import (
    AgentsJsonOption,
    NoUserOption,
    ReportFormat,
    ReportFormatOption,
    RootOption,
    settings_for,
    try_settings,
)
from agentctl.errors import ExitCode


def validate_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders to check (default: the team).")] = None,
    output: ReportFormatOption = ReportFormat.text,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    changed: Annotated[
        str | None,
        typer.Option(
            "--changed",
            metavar="[REF]",
            help="Report only files changed since REF (default HEAD), untracked ones included.",
        ),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            help="Report only this rule (id, name, or a family: TM, FM00); repeatable. Replaces the config's select.",
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option("--ignore", help="A rule (id, name, or a family) to skip; repeatable."),
    ] = None,
    no_user: NoUserOption = False,
    agents_json: AgentsJsonOption = None,
    root: RootOption = None,
) -> int:
    """Say what Claude Code will do with every agent file, and what is wrong with it."""
    from agentctl.cli.render import render_report
    from agentctl.validate import chosen_rules, validate

    current = environment.current()
    settings = try_settings(root) if paths else settings_for(root)
    changed_files = None
    if changed is not None:
        from agentctl.vcs import changed_files as git_changed

        changed_files = git_changed(current.cwd, changed)
    selected, ignored = chosen_rules(settings, select or [], ignore or [])
    absolute = [path if path.is_absolute() else current.cwd / path for path in paths or []]
    from agentctl.sources import SourceOptions, higher_places, lower_places

    # The other places only matter to a team: NM005-NM007 compare the team's agents with them.
    agents_file = agents_json if agents_json is None or agents_json.is_absolute() else current.cwd / agents_json
    options = SourceOptions(current.environ, no_user, agents_file)
    others = [*higher_places(options), *lower_places(options)] if settings is not None else []
    report = validate(
        absolute, settings, current.cwd, changed=changed_files, ignore=ignored, other_places=others, select=selected
    )
    if not any(file.kind == "agent" for file in report.files):
        where = ", ".join(str(path) for path in paths or []) or "the team's folders"
        current.err(f"warning: nothing to check: no agent files in {where}")
    render_report(report, output.value, strict)
    return ExitCode.PROBLEMS if report.failed(strict) else ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command("validate")(validate_command)
