"""agentctl fmt [PATH...] [--check] [--diff]"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import DataFormat, FormatOption, RootOption, try_settings, write_json
from agentctl.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from agentctl.fmt import FormatRun


def fmt_command(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Agent files or folders (default: the team's agents).")
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="Change nothing; exit 1 if a file would change.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print the changes as a unified diff; change nothing.")] = False,
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """Rewrite agent frontmatter as valid YAML that Claude Code reads as intended.

    A rewritten file stays the same file: a symlink stays a link and its target gets the new text
    (only a target inside the team or the paths named), hard links stay linked, owner and mode are
    kept. Read-only files, symlinks leading out of the team, files without frontmatter or not
    UTF-8 are reported and left as they are.
    """
    from agentctl.fmt import format_paths

    current = environment.current()
    settings = try_settings(root)
    targets = [path if path.is_absolute() else current.cwd / path for path in paths or []]
    if not targets:
        if settings is None:
            raise UsageError("no paths to format", hint="pass agent files or folders, or run inside a team")
        targets = [settings.agents_dir]
    run = format_paths(targets, settings, write=not (check or diff))
    _report(run, check or diff, diff, output, current.cwd)
    failed = any(result.problem for result in run.results)
    would_change = check and any(result.changed for result in run.results)
    return ExitCode.PROBLEMS if failed or would_change else ExitCode.OK


def _report(run: "FormatRun", dry_run: bool, diff: bool, output: DataFormat, cwd: Path) -> None:
    from agentctl.walk import display_path

    current = environment.current()
    results = run.results
    changed = [result for result in results if result.changed]
    failed = [result for result in results if result.problem]
    if output is DataFormat.json:
        write_json(
            {
                "files": [
                    {"path": display_path(r.path, cwd), "changed": r.changed, "problem": r.problem, "notes": r.notes}
                    for r in results
                ],
                "removed": [display_path(path, cwd) for path in run.removed],
                "summary": {"files": len(results), "changed": len(changed), "failed": len(failed)},
            }
        )
        return
    for path in run.removed:
        current.err(f"removed {display_path(path, cwd)}: a temporary file left by a killed run")
    import difflib  # only --diff prints one; `agentctl --help` imports this module

    verb = "would reformat" if dry_run else "reformatted"
    for result in changed:
        shown = display_path(result.path, cwd)
        if diff:
            current.out(
                "".join(
                    difflib.unified_diff(
                        result.original.splitlines(keepends=True),
                        result.formatted.splitlines(keepends=True),
                        shown,
                        shown,
                    )
                )
            )
        else:
            current.out(f"{verb} {shown}: {'; '.join(result.notes)}")
    for result in failed:
        current.err(f"cannot format {display_path(result.path, cwd)}: {result.problem}")
    unchanged = len(results) - len(changed) - len(failed)
    current.err(f"{len(changed)} file(s) {verb}, {unchanged} unchanged, {len(failed)} not formattable")


def register(app: typer.Typer) -> None:
    app.command("fmt")(fmt_command)
