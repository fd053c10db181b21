"""agentctl prompt AGENT --task T [--continuation FILE --result AGENT=FILE ...] [--handoff FILE]

Prints what dispatch would send an agent, for orchestrators that run the agents themselves:
`--format json` gives the Messages API's `system` and `messages`, ready to send.
"""

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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

if TYPE_CHECKING:
    from agentctl.config import Settings
    from agentctl.prompts import HandoffResult, Prompt, PromptBuilder
    from agentctl.spec import AgentFile
    from agentctl.team import Team


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
    from agentctl.prompts import home_of, prompt_builder
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
        prompt = _handoff_prompt(builder, team, target, handoff, team.resolve(requester), parent_task, today)
        mode = "handoff"
    else:
        text = _task(task, task_file)
        if continuation is not None:
            previous = read_input(str(continuation))
            done = _results(team, previous, results or [])
            prompt, mode = builder.continuation(target, text, previous, done, today), "continuation"
        else:
            extra = None if context is None else bounded_text(context, "--context")
            prompt, mode = builder.fresh(target, text, today, extra), "fresh"
    if output is DataFormat.json:
        write_json(_api_request(prompt, target.name or agent, mode, _model(settings, target), part))
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


def _results(team: "Team", previous: str, pairs: list[str]) -> "list[HandoffResult]":
    """Each AGENT=FILE as a handoff result, its task taken from the previous answer's request."""
    from agentctl.handoff import parse_output, resolve_targets
    from agentctl.prompts import HandoffResult

    requests = resolve_targets(parse_output(previous), team)
    found = []
    for pair in pairs:
        name, separator, file = pair.partition("=")
        if not separator or not file:
            raise UsageError(f"--result {pair!r} is not AGENT=FILE", hint="e.g. --result db-architect=answer.md")
        agent = team.resolve(name)
        agent_name = agent.name or name
        task = next((r.task for r in requests if r.agent == agent_name), "(the request in your previous answer)")
        display = team.display_name(agent_name) or agent_name
        found.append(HandoffResult(agent_name, display, task, "ok", read_input(file)))
    return found


def _handoff_prompt(
    builder: "PromptBuilder",
    team: "Team",
    target: "AgentFile",
    path: Path,
    requester: "AgentFile",
    parent: str,
    today: str,
) -> "Prompt":
    from agentctl.handoff import parse_output, resolve_targets

    text = read_input(str(path))
    requests = [r for r in resolve_targets(parse_output(text), team) if r.agent == target.name]
    if not requests:
        raise UsageError(
            f"{path} holds no handoff request to {target.name}",
            hint="`agentctl handoffs parse FILE` shows the requests it holds",
        )
    return builder.handoff(target, requester.team_name, parent, requests[0], today)


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


def _api_request(prompt: "Prompt", agent: str, mode: str, model: str, part: Part) -> dict[str, Any]:
    system: list[dict[str, Any]] = []
    for block in prompt.system:
        entry: dict[str, Any] = {"type": "text", "text": block.text}
        if block.cache:
            entry["cache_control"] = {"type": "ephemeral"}
        system.append(entry)
    data: dict[str, Any] = {"agent": agent, "mode": mode, "model": model, "memories": prompt.memories}
    if part is not Part.user:
        data["system"] = system
    if part is not Part.system:
        data["messages"] = [{"role": "user", "content": prompt.user}]
    return data


def register(app: typer.Typer) -> None:
    app.command("prompt")(prompt_command)
