"""agentctl handoffs parse [FILE|-]"""

from typing import TYPE_CHECKING, Annotated

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import DataFormat, FormatOption, RootOption, read_input, try_settings, write_json
from agentctl.errors import ExitCode

if TYPE_CHECKING:
    from agentctl.handoff import AgentOutput

handoffs_app = typer.Typer(
    help="What an agent's output asks of the team: handoff requests, memory notes, plan.", no_args_is_help=True
)


@handoffs_app.callback()
def _group() -> None:
    """Keep `parse` a subcommand (typer folds a one-command group into the command otherwise)."""


@handoffs_app.command("parse")
def parse_command(
    source: Annotated[
        str, typer.Argument(metavar="[FILE|-]", help="An agent's output; - or nothing: standard input.")
    ] = "-",
    output: FormatOption = DataFormat.text,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when anything could not be parsed.")] = False,
    root: RootOption = None,
) -> int:
    """Parse an agent's output: handoff requests (resolved through the roster), memory notes, plan."""
    from agentctl.handoff import parse_output, resolve_targets

    parsed = parse_output(read_input(source, "an agent's output file"))
    settings = try_settings(root)
    if settings is None:
        environment.current().err("warning: no team found here; targets are not resolved (pass --root)")
    else:
        from agentctl.team import load_team

        resolve_targets(parsed, load_team(settings))
    if output is DataFormat.json:
        write_json(parsed.to_json())
    else:
        _print_text(parsed)
    return ExitCode.PROBLEMS if strict and parsed.problems else ExitCode.OK


def _print_text(parsed: "AgentOutput") -> None:
    current = environment.current()
    dispatchable = sum(request.dispatchable for request in parsed.handoffs)
    current.out(f"handoff requests: {len(parsed.handoffs)} ({dispatchable} can be dispatched)")
    for request in parsed.handoffs:
        agent = f"= {request.agent}" if request.agent else "(not dispatched)"
        current.out(f"  {request.line:<5} -> {request.target or '?'} {agent}")
        current.out(f"        task: {_first_line(request.task) or '(none)'}")
    current.out(f"memory notes: {len(parsed.memory_notes)}")
    for note in parsed.memory_notes:
        current.out(f"  {note.line:<5} {note.topic} ({note.text.count(chr(10)) + 1 if note.text else 0} lines)")
    plan = parsed.continuation_plan
    current.out(f"continuation plan: {plan.count(chr(10)) + 1} lines" if plan else "continuation plan: none")
    current.out(f"problems: {len(parsed.problems)}")
    for problem in parsed.problems:
        current.out(f"  {problem.line:<5} {problem.message}")


def _first_line(text: str, width: int = 100) -> str:
    """The first line of a value, with an ellipsis when there is more."""
    first, _, rest = text.strip().partition("\n")
    if len(first) > width:
        return first[: width - 1] + "\u2026"
    return first + (" \u2026" if rest else "")


def register(app: typer.Typer) -> None:
    app.add_typer(handoffs_app, name="handoffs")
