"""Who escalates to whom: the team's escalation graph, from tables and `### -> Name` headings.

A team without a roster table rarely has those either: there, an agent without them is drawn with
an edge to every agent whose name or display name its body mentions ("mention")."""

from __future__ import annotations

from agentctl import escalation
from agentctl.lazyre import LazyPattern
from agentctl.records import field, record
from agentctl.spec import AgentFile
from agentctl.team import Team, normalise_name
from agentctl.textlines import LineCounter


@record
class Edge:
    source: str
    target: str
    line: int  # where the source's file names the target first
    via: str  # "escalation table", "handoff heading" or "mention" (a team without a roster table)


@record
class TeamGraph:
    agents: list[str]
    display_names: dict[str, str]
    edges: list[Edge]
    dispatchers: list[str]  # agents holding the Agent tool: work enters the team through them
    unreachable: list[str] = field(default_factory=list)  # no dispatcher's escalations lead to them
    no_hand_back: list[str] = field(default_factory=list)  # nobody escalates to them
    unresolved: list[tuple[str, str, int]] = field(default_factory=list)  # (agent, name, line)


def build_graph(team: Team) -> TeamGraph:
    """The escalation graph of a loaded team (names resolved through the roster)."""
    names = [agent.name for agent in team.agents if agent.name]
    lookup = {normalise_name(name): name for name in names}
    for entry in team.roster:
        if normalise_name(entry.agent) in lookup:
            lookup[normalise_name(entry.display_name)] = lookup[normalise_name(entry.agent)]
    edges: dict[tuple[str, str], Edge] = {}
    unresolved: list[tuple[str, str, int]] = []
    mentions = _Mentions(names, team) if team.roster_derived else None
    for agent in team.agents:
        if not agent.name:
            continue
        for target in _named_targets(agent, mentions):
            resolved = lookup.get(normalise_name(target.name))
            if resolved is None:
                unresolved.append((agent.name, target.name, target.line))
            elif resolved != agent.name:
                edges.setdefault((agent.name, resolved), Edge(agent.name, resolved, target.line, target.where))
    dispatchers = team.dispatchers()
    graph = TeamGraph(
        sorted(names), {e.agent: e.display_name for e in team.roster}, sorted(edges.values(), key=_order), dispatchers
    )
    graph.unresolved = unresolved
    graph.unreachable = _unreachable(graph)
    escalated_to = {edge.target for edge in graph.edges}
    graph.no_hand_back = [name for name in graph.agents if name not in escalated_to]
    return graph


def _named_targets(agent: AgentFile, mentions: _Mentions | None) -> list[escalation.NamedTarget]:
    """The agents `agent` escalates or hands off to; without tables or headings in a team without a
    roster table, the agents its body mentions."""
    targets = [*escalation.escalation_targets(agent.text), *escalation.handoff_targets(agent.text)]
    if not targets and mentions is not None:
        return mentions.of(agent)
    return targets


MOST_WORDS = 8
# Runs of name characters: a name is one run (`db-architect`), a display name one or more.
_WORD = LazyPattern(r"[\w-]++")


class _Mentions:
    """The agents a text names, as written (case and all: `frontend` in "frontend code" is a word,
    `Frontend` or `frontend-dev` a name), each at its first place. One pass over the words: each
    word start looks up the runs of up to as many words as the longest name has, so the time is
    linear in the text whatever the number of agents."""

    def __init__(self, names: list[str], team: Team) -> None:
        written = [*names, *(entry.display_name for entry in team.roster if entry.agent in names)]
        # A name of more words than MOST_WORDS is not looked for: it would make every word cost more.
        self.known = {words for words in map(tuple, map(str.split, written)) if 0 < len(words) <= MOST_WORDS}
        self.longest = max(map(len, self.known), default=0)

    def of(self, agent: AgentFile) -> list[escalation.NamedTarget]:
        body = agent.spec.body
        matches = list(_WORD.finditer(body))
        words = [match.group() for match in matches]
        lines = LineCounter(body)  # asked in increasing order: one pass
        found: dict[str, escalation.NamedTarget] = {}
        for start in range(len(words)):
            for size in range(1, min(self.longest, len(words) - start) + 1):
                candidate = tuple(words[start : start + size])
                key = normalise_name(" ".join(candidate))
                if candidate in self.known and key not in found:
                    line = agent.spec.body_line - 1 + lines.position(matches[start].start())[0]
                    found[key] = escalation.NamedTarget(" ".join(candidate), line, "mention")
        return list(found.values())


def _order(edge: Edge) -> tuple[str, str]:
    return edge.source, edge.target


def _unreachable(graph: TeamGraph) -> list[str]:
    """Agents no path from a dispatcher reaches; without dispatchers, agents nobody escalates to."""
    if not graph.dispatchers:
        targets = {edge.target for edge in graph.edges}
        return [name for name in graph.agents if name not in targets]
    targets_of: dict[str, list[str]] = {}
    for edge in graph.edges:  # each edge looked at once, not once per agent reached
        targets_of.setdefault(edge.source, []).append(edge.target)
    seen = set(graph.dispatchers)
    frontier = list(graph.dispatchers)
    while frontier:
        for target in targets_of.get(frontier.pop(), []):
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return [name for name in graph.agents if name not in seen]


def to_json(graph: TeamGraph) -> dict[str, object]:
    """The graph as JSON data (the CLI adds the document's version)."""
    return {
        "agents": [{"name": name, "display_name": graph.display_names.get(name)} for name in graph.agents],
        "edges": [{"from": e.source, "to": e.target, "line": e.line, "via": e.via} for e in graph.edges],
        "dispatchers": graph.dispatchers,
        "unreachable": graph.unreachable,
        "no_hand_back": graph.no_hand_back,
        "unresolved": [{"agent": agent, "name": name, "line": line} for agent, name, line in graph.unresolved],
    }


def _node_id(name: str) -> str:
    return name.replace("-", "_")


def to_mermaid(graph: TeamGraph) -> str:
    lines = ["flowchart LR"]
    for name in graph.agents:
        label = graph.display_names.get(name, name).replace('"', "'")
        lines.append(f'    {_node_id(name)}["{label}"]')
    lines += [f"    {_node_id(edge.source)} --> {_node_id(edge.target)}" for edge in graph.edges]
    lines += [f"    class {_node_id(name)} unreachable" for name in graph.unreachable]
    if graph.unreachable:
        lines.append("    classDef unreachable stroke-dasharray: 5 5")
    return "\n".join(lines) + "\n"


def to_dot(graph: TeamGraph) -> str:
    lines = ["digraph team {", "    rankdir=LR;", "    node [shape=box];"]
    for name in graph.agents:
        label = graph.display_names.get(name, name).replace('"', '\\"')
        style = ", style=dashed" if name in graph.unreachable else ""
        lines.append(f'    "{name}" [label="{label}"{style}];')
    lines += [f'    "{edge.source}" -> "{edge.target}";' for edge in graph.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"
