"""agentctl export [-o FILE], agentctl import FILE [--into DIR]"""

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import DataFormat, FormatOption, RootOption, read_input, settings_for, write_json
from agentctl.errors import ExitCode

if TYPE_CHECKING:  # `agentctl --help` imports this module; only export and import load the team
    from agentctl.export import Export, Imported


def export_command(
    output_file: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the JSON to FILE (replaced if it exists); default: stdout."),
    ] = None,
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """Write the team as the JSON object `claude --agents` takes (run it: claude -p --agents FILE --agent NAME)."""
    from agentctl.export import dumps, export_team, write_export
    from agentctl.team import load_team

    current = environment.current()
    exported = export_team(load_team(settings_for(root)))
    text = dumps(exported.agents)
    target = Path(current.cwd, output_file) if output_file is not None else None
    if target is not None:
        write_export(target, text)
    _warn_export(exported)
    if output is DataFormat.json:
        write_json(_export_document(exported, target, text))
        return ExitCode.OK
    if target is None:
        current.out(text)
    else:
        _say_written(exported, target, text)
    return ExitCode.OK


def _export_document(exported: "Export", target: Path | None, text: str) -> dict[str, Any]:
    from agentctl.walk import display_path

    cwd = environment.current().cwd
    document: dict[str, Any] = {
        "path": display_path(target, cwd) if target is not None else None,
        "exported": list(exported.agents),
        "bytes": len(text.encode("utf-8")),
        "skipped": [{"path": display_path(s.path, cwd), "reason": s.reason} for s in exported.skipped],
        "left_out": [{"agent": item.agent, "key": item.key, "reason": item.reason} for item in exported.left_out],
    }
    if target is None:
        document["agents"] = exported.agents
    return document


def _warn_export(exported: "Export") -> None:
    """What export leaves out, on stderr: one line per file, one line per kind of value."""
    from agentctl.walk import display_path

    current = environment.current()
    for skipped in exported.skipped:
        current.err(f"warning: left out {display_path(skipped.path, current.cwd)}: {skipped.reason}")
    by_reason: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in exported.left_out:
        by_reason[(item.key, item.reason)].append(item.agent)
    for (key, reason), agents in by_reason.items():
        who = agents[0] if len(agents) == 1 else f"{len(agents)} agents"
        current.err(f"note: `{key}` of {who} left out: {reason}")


def _say_written(exported: "Export", target: Path, text: str) -> None:
    from agentctl.walk import display_path

    current = environment.current()
    shown = display_path(target, current.cwd)
    size = len(text.encode("utf-8"))
    count = len(exported.agents)
    current.out(f"wrote {shown}: {count} agent{'' if count == 1 else 's'}, {size:,} bytes")
    current.out(f'run one in Claude Code: claude -p --agents {shown} --agent NAME "TASK"')


def import_command(
    source: Annotated[
        str, typer.Argument(metavar="FILE|-", help="The JSON file (`claude --agents` form), or - for stdin.")
    ],
    into: Annotated[
        Path | None, typer.Option("--into", help="The folder to write agent files in (default: the team's agents).")
    ] = None,
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """Write one agent file per entry of a `claude --agents` JSON object; never overwrites a file."""
    from agentctl.export import import_agents, loads

    current = environment.current()
    folder = Path(current.cwd, into) if into is not None else settings_for(root).agents_dir
    data = loads(read_input(source, "the JSON file"), "standard input" if source == "-" else source)
    imported = import_agents(data, folder)
    if imported.ignored:
        ignored = ", ".join(imported.ignored)
        current.err(f"warning: `claude --agents` ignores these keys, and so does import: {ignored}")
    if output is DataFormat.json:
        write_json(_import_document(imported, folder))
        return ExitCode.OK
    _say_imported(imported, folder)
    return ExitCode.OK


def _import_document(imported: "Imported", folder: Path) -> dict[str, Any]:
    from agentctl.walk import display_path

    cwd = environment.current().cwd
    return {
        "into": display_path(folder, cwd),
        "written": [{"agent": path.stem, "path": display_path(path, cwd)} for path in imported.written],
        "ignored": imported.ignored,
    }


def _say_imported(imported: "Imported", folder: Path) -> None:
    from agentctl.walk import display_path

    current = environment.current()
    for path in imported.written:
        current.out(f"wrote {display_path(path, current.cwd)}")
    count = len(imported.written)
    current.out(f"{count} agent{'' if count == 1 else 's'} imported into {display_path(folder, current.cwd)}")


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
    app.command("import")(import_command)
