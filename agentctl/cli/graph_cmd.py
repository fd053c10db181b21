"""agentctl graph [--format mermaid|dot|json|text]"""

from enum import StrEnum
from typing import Annotated

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import RootOption, settings_for, write_json
from agentctl.errors import ExitCode


class GraphFormat(StrEnum):
    text = "text"
    mermaid = "mermaid"
    dot = "dot"
    json = "json"


def graph_command(
    output: Annotated[
        GraphFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = GraphFormat.text,
    root: RootOption = None,
) -> int:
    """Who escalates to whom; lists unreachable agents and agents nobody hands work to."""
    from agentctl.graph import build_graph, to_dot, to_json, to_mermaid
    from agentctl.team import load_team

    current = environment.current()
    graph = build_graph(load_team(settings_for(root)))
    if output is GraphFormat.json:
        write_json(to_json(graph))
    elif output is GraphFormat.mermaid:
        current.out(to_mermaid(graph))
    elif output is GraphFormat.dot:
        current.out(to_dot(graph))
    else:
        for name in graph.agents:
            targets = [edge.target for edge in graph.edges if edge.source == name]
            current.out(f"{name} -> {', '.join(targets) if targets else '(nobody)'}")
        current.out("")
        current.out(f"dispatchers: {', '.join(graph.dispatchers) or 'none'}")
        current.out(f"unreachable (no dispatcher's escalations lead to them): {', '.join(graph.unreachable) or 'none'}")
        current.out(f"nobody hands work to: {', '.join(graph.no_hand_back) or 'none'}")
    for agent, name, line in graph.unresolved:
        current.err(f"warning: {agent}:{line} names {name!r}, who is not on the roster")
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command("graph")(graph_command)
