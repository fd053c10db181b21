"""agentctl prompt AGENT --task T [--continuation FILE --result AGENT=FILE ...] [--handoff FILE]

Prints what dispatch would send an agent, for orchestrators that run the agents themselves:
`--format json` gives the Messages API's `system` and `messages`, ready to send.
"""

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import (
    DataFormat,
    FormatOption,
    RootOption,
    bounded_text,
    read_input,
    settings_for,
    write_json,
)
from agentctl.errors import ExitCode, UsageError
from agentctl.views import prompt_request

if TYPE_CHECKING:
    from agentctl.config import Settings
    from agentctl.prompts import Prompt
    from agentctl.spec import AgentFile


class Part(StrEnum):
    all = "all"
    system = "system"
    user = "user"


def prompt_command(
    agent: Annotated[str, typer.Argument(help="The agent: its name or roster display name.", show_default=False)],
    task: Annotated[str | None, typer.Option("--task", help="The task (`-`: read it from stdin).")] = None,
    task_file: Annotated[Path | None, typer.Option("--task-file", help="Read the task from this file.")] = None,
    continuation: Annotated[
        Path | None,
        typer.Option("--continuation", help="The agent's previous answer: render its continuation prompt."),
    ] = None,
    results: Annotated[
        list[str] | None,
        typer.Option("--result", help="With --continuation: AGENT=FILE, one delegate's answer (repeatable)."),
    ] = None,
    handoff: Annotated[
        Path | None,
        typer.Option("--handoff", help="A requester's answer: render the brief of its request to AGENT."),
    ] = None,
    requester: Annotated[
        str | None, typer.Option("--from", help="With --handoff: the agent that wrote the request.")
    ] = None,
    context: Annotated[str | None, typer.Option("--context", help="Extra context for a fresh prompt.")] = None,
    part: Annotated[Part, typer.Option("--part", help="Print only the system prompt or the user turn.")] = Part.all,
    no_memory: Annotated[bool, typer.Option("--no-memory", help="Leave memory notes out.")] = False,
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """Print the prompt dispatch would send AGENT (fresh, continuation or handoff), calling nothing."""
    from agentctl.prompts import continuation_prompt, handoff_prompt, home_of, prompt_builder
    from agentctl.team import load_team

    settings = settings_for(root)
    team = load_team(settings)
    target = team.resolve(agent)
    builder = prompt_builder(team, memory=not no_memory, home=home_of(environment.current().environ))
    today = _today()
    if handoff is not None:
        if requester is None:
            raise UsageError("--handoff needs --from AGENT: the agent that wrote the request")
        parent_task = _task(task, task_file) if task or task_file else "(not given)"
        answer = read_input(str(handoff))
        prompt = handoff_prompt(builder, target, team.resolve(requester), parent_task, answer, today, str(handoff))
        mode = "handoff"
    else:
        text = _task(task, task_file)
        if continuation is not None:
            previous = read_input(str(continuation))
            answers = [(name, read_input(file)) for name, file in _pairs(results or [])]
            prompt, mode = continuation_prompt(builder, target, text, previous, answers, today), "continuation"
        else:
            extra = None if context is None else bounded_text(context, "--context")
            prompt, mode = builder.fresh(target, text, today, extra), "fresh"
    if output is DataFormat.json:
        write_json(prompt_request(prompt, target.name or agent, mode, _model(settings, target), part.value))
    else:
        _print(prompt, mode, part)
    return ExitCode.OK


def _model(settings: "Settings", target: "AgentFile") -> str:
    """The model id dispatch would call; only JSON shows it (the lookup costs text output 3 ms)."""
    from agentctl.providers.models import ModelMap  # not dispatch's: that imports asyncio and the engine

    return ModelMap.build(settings.models).resolve(target.spec.model)


def _task(task: str | None, task_file: Path | None) -> str:
    """The task as dispatch reads it, within the size limit of a task."""
    from agentctl.cli.common import read_task

    return read_task(task, task_file)


def _today() -> str:
    import datetime as dt

    return dt.date.today().isoformat()


def _pairs(pairs: list[str]) -> list[tuple[str, str]]:
    """Each --result AGENT=FILE as (agent, file)."""
    found = []
    for pair in pairs:
        name, separator, file = pair.partition("=")
        if not separator or not file:
            raise UsageError(f"--result {pair!r} is not AGENT=FILE", hint="e.g. --result db-architect=answer.md")
        found.append((name, file))
    return found


def _print(prompt: "Prompt", mode: str, part: Part) -> None:
    current = environment.current()
    if part is Part.system:
        current.out("\n".join(block.text.rstrip() + "\n" for block in prompt.system))
    elif part is Part.user:
        current.out(prompt.user)
    else:
        for block in prompt.system:
            mark = ", cache breakpoint after it" if block.cache else ""
            current.out(f"=== system block `{block.name}`{mark} ===\n{block.text.rstrip()}\n")
        current.out(f"=== user turn ({mode}) ===\n{prompt.user}")


def register(app: typer.Typer) -> None:
    app.command("prompt")(prompt_command)
