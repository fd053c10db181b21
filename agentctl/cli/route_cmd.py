"""agentctl route TASK [-n/--limit N] [--format text|json] [--agents-dir DIR] [--llm]"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import (
    DataFormat,
    FormatOption,
    LimitOption,
    RootOption,
    TopAlias,
    bounded_text,
    columns,
    limit_or_top,
    read_input,
    settings_for,
    write_json,
)
from agentctl.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from agentctl.config import Settings
    from agentctl.route import RouteIndex, RouteScore, SkippedAgent
    from agentctl.spec import AgentFile

TaskArgument = Annotated[str, typer.Argument(help='The task, in words; "-" reads it from standard input.')]
AgentsDirOption = Annotated[
    Path | None,
    typer.Option(
        "--agents-dir",
        help="Route among the agent files below this folder (a Claude Code project's agents, a catalogue); "
        "no team needed.",
    ),
]


LlmOption = Annotated[
    bool,
    typer.Option(
        "--llm",
        help="Ask a small model (the cheapest configured one, or [dispatch] route_model); any failure falls back "
        "to the offline ranking.",
    ),
]


def route_command(
    task: TaskArgument,
    limit: LimitOption = 5,
    output: FormatOption = DataFormat.text,
    agents_dir: AgentsDirOption = None,
    llm: LlmOption = False,
    root: RootOption = None,
    top: TopAlias = None,
) -> int:
    """Rank the agents for a task, offline: score and the words or examples that matched."""
    top = limit_or_top(limit, top)
    text = _task_text(task)
    index, where, skipped = _folder(agents_dir, text) if agents_dir is not None else _team(root)
    if not index.agents:
        raise UsageError(
            f"no agent in {where} that Claude Code loads",
            hint="`agentctl validate` says why each file is skipped",
        )
    ranking = index.rank(text, None if llm else top)
    extra: dict[str, object] = {}
    if llm:
        ranking, extra = _ask_model(text, ranking, agents_dir, root)
        ranking = ranking[:top]
    if output is DataFormat.json:
        rows = [{"agent": s.agent, "score": s.score, "why": s.why} for s in ranking]
        left_out = {"skipped": [agent.to_json() for agent in skipped]} if agents_dir is not None else {}
        write_json({"task": text, "ranking": rows} | extra | left_out)
    else:
        _print_ranking(ranking)
    _warn_skipped(skipped)
    if ranking and ranking[0].score == 0:
        environment.current().err("warning: no word of the task matches any agent; the order is by name")
    return ExitCode.OK


def _task_text(task: str) -> str:
    given = bounded_text(read_input("-", "the task in words") if task == "-" else task, "the task")
    text = " ".join(given.split())
    if not text:
        raise UsageError("the task is empty", hint='give the task in words, or "-" to read it from standard input')
    return text


def _folder(directory: Path, task: str) -> "tuple[RouteIndex, str, list[SkippedAgent]]":
    from agentctl.route import RouteIndex, agents_in, skipped_agents

    path = environment.current().cwd / directory
    if not path.is_dir():
        raise UsageError(f"--agents-dir {directory}: no such folder", hint="give a folder that holds agent .md files")
    agents = agents_in(path)
    return RouteIndex.from_agents(agents), str(directory), skipped_agents(agents, task)


def _warn_skipped(skipped: "list[SkippedAgent]") -> None:
    """One line per file Claude Code skips: left out of the ranking, and where `fmt` would put it."""
    from agentctl.walk import display_path

    current = environment.current()
    for agent in skipped:
        shown = display_path(agent.path, current.cwd)
        after = (
            f"after `agentctl fmt {shown}` it would rank #{agent.rank_after_fmt} ({agent.score_after_fmt:.2f})"
            if agent.rank_after_fmt is not None
            else "`agentctl fmt` cannot make Claude Code load it; `agentctl validate` says why"
        )
        current.err(f"warning: {shown} is left out: Claude Code skips it ({agent.reason}); {after}")


def _team(root: Path | None) -> "tuple[RouteIndex, str, list[SkippedAgent]]":
    """The team's cached index; its skipped agents are `agentctl validate`'s to report."""
    from agentctl.route import team_index

    settings = settings_for(root)
    return team_index(settings), str(settings.agents_dir), []


def _ask_model(
    task: str, ranking: "list[RouteScore]", agents_dir: Path | None, root: Path | None
) -> "tuple[list[RouteScore], dict[str, object]]":
    """The model's pick first, the offline order after it; the offline ranking alone on any failure."""
    from agentctl.cli.common import try_settings
    from agentctl.providers import build_provider
    from agentctl.providers.base import ProviderError
    from agentctl.route_llm import MAX_CANDIDATES, Candidate, choose_with_model, route_model

    current = environment.current()
    settings = try_settings(root) if agents_dir is None else None
    agents = _agents(agents_dir, settings)
    model = route_model(settings, agents)
    descriptions = {agent.name: agent.spec.description or "" for agent in agents if agent.name}
    candidates = [Candidate(score.agent, descriptions.get(score.agent, "")) for score in ranking[:MAX_CANDIDATES]]
    try:
        provider = build_provider("anthropic", settings, current.environ)
    except ProviderError as error:
        reason = f"{error.message}; {error.hint}" if error.hint else error.message
        return ranking, _fallback(f"the model could not be asked ({reason}); using the offline ranking", model)
    choice = choose_with_model(provider, model, task, candidates)
    if choice.agent is None:
        return ranking, _fallback(choice.note, model)
    chosen = next(score for score in ranking if score.agent == choice.agent)
    chosen.why = f"{choice.note}; offline: {chosen.why}"
    rest = [score for score in ranking if score.agent != choice.agent]
    return [chosen, *rest], {"method": "llm", "model": model, "note": choice.note}


def _fallback(note: str, model: str) -> dict[str, object]:
    environment.current().err(f"warning: {note}")
    return {"method": "offline", "model": model, "note": note}


def _agents(agents_dir: Path | None, settings: "Settings | None") -> "list[AgentFile]":
    from agentctl.route import agents_in
    from agentctl.team import load_team

    if agents_dir is not None:
        return agents_in(environment.current().cwd / agents_dir)
    return load_team(settings).agents if settings is not None else []


def _print_ranking(ranking: "list[RouteScore]") -> None:
    rows = [[str(rank), score.agent, f"{score.score:.2f}", score.why] for rank, score in enumerate(ranking, start=1)]
    environment.current().out(columns(rows, ["#", "agent", "score", "why"]))


def register(app: typer.Typer) -> None:
    app.command("route")(route_command)
