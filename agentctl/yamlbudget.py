"""Parse budgets for YAML from outside: aliases and nesting, measured before anything recurses.

YAML can describe far more than it writes: nine lines of `&a [*b, *b, ...]` describe 43 million
nodes (a "billion laughs"), and `x: [[[[...` thousands of levels deep makes every recursive walk
(PyYAML's composer and constructor, agentctl's own checks, `json.dumps`) fail. agentctl reads YAML
from agent files and from scripts, so it

- composes the node graph without recursing in Python: libyaml (C) refuses nesting past 1,000
  levels itself; the pure-Python parser's events are read one by one and refused past
  bounds.YAML_DEPTH (`compose`, which raises `TooDeep`);
- measures what the graph expands to, visiting each distinct node once (aliases share their
  node, so a bomb costs its written size to measure): `Measure`;
- leaves out what is over the budget (`within_budget`): the top-level entries of a mapping whose
  values nest deeper than bounds.YAML_DEPTH, or whose aliases would add more than
  bounds.YAML_NODES nodes, or that contain themselves. Only then is the graph constructed and
  walked, and every walk of what is left is bounded.
"""

from __future__ import annotations

import yaml
from yaml.composer import Composer
from yaml.events import CollectionEndEvent, CollectionStartEvent, Event
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from agentctl.bounds import YAML_DEPTH, YAML_NODES
from agentctl.records import record
from agentctl.textlines import shorten

TOO_DEEP = f"nests more than {YAML_DEPTH} levels deep (agentctl's limit)"
# Expansions are counted up to this many nodes: a 1 MiB text can describe 2**100000 of them, and
# adding such numbers costs time of its own.
INFINITE = 10**15


class TooDeep(Exception):
    """The text nests deeper than agentctl reads; `line` (0-based) is where it went too deep."""

    def __init__(self, line: int) -> None:
        super().__init__(TOO_DEEP)
        self.line = line


class EventReplay:
    """The event side of a PyYAML loader, playing recorded events (for Composer, in a mixin)."""

    def __init__(self, events: list[Event]) -> None:
        self._events = events
        self._next = 0

    def check_event(self, *choices: type) -> bool:
        if self._next >= len(self._events):
            return False
        return not choices or isinstance(self._events[self._next], choices)

    def peek_event(self) -> Event:
        return self._events[self._next]

    def get_event(self) -> Event:
        event = self._events[self._next]
        self._next += 1
        return event

    def dispose(self) -> None:
        self._events = []


def compose(text: str, loader_class: type, replay_class: type) -> Node | None:
    """The node graph of `text`, composed with `loader_class` (its resolver, its scanner).

    A libyaml loader composes in C and refuses more than 1,000 levels itself. A pure-Python loader
    would recurse in its composer and slow down quadratically with depth in its scanner, so its
    events are read first, with the depth counted, and composed by `replay_class` (EventReplay,
    Composer and the same resolver). TooDeep past the limit; yaml.YAMLError for text that is not
    YAML."""
    if _composes_in_c(loader_class):
        loader = loader_class(text)
        try:
            return loader.get_single_node()  # type: ignore[no-any-return]
        except yaml.YAMLError as error:
            if "maximum nesting depth" in str(error):  # libyaml's own limit (1,000 levels)
                raise TooDeep(_error_line(error)) from None
            raise
        finally:
            loader.dispose()
    replay = replay_class(_events_within_depth(text, loader_class))
    try:
        return replay.get_single_node()  # type: ignore[no-any-return]
    finally:
        replay.dispose()


def _composes_in_c(loader_class: type) -> bool:
    c_parser = getattr(getattr(yaml, "cyaml", None), "CParser", None)  # absent without libyaml
    return c_parser is not None and issubclass(loader_class, c_parser)


def _events_within_depth(text: str, loader_class: type) -> list[Event]:
    loader = loader_class(text)
    events: list[Event] = []
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            events.append(event)
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > YAML_DEPTH + 1:  # the document's own top level is not a level of nesting
                    raise TooDeep(getattr(event.start_mark, "line", 0))
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    finally:
        loader.dispose()
    return events


def _error_line(error: yaml.YAMLError) -> int:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return int(getattr(mark, "line", 0))


def replay_class(resolver: type) -> type:
    """A loader class that composes recorded events with `resolver` (for `compose`)."""

    class Replay(EventReplay, Composer, resolver):  # type: ignore[misc]
        def __init__(self, events: list[Event]) -> None:
            EventReplay.__init__(self, events)
            Composer.__init__(self)
            resolver.__init__(self)  # type: ignore[misc]

    return Replay


# --- measuring ---------------------------------------------------------------------------------------


@record
class Cost:
    """What a node graph expands to."""

    nodes: int = 0  # nodes once every alias is replaced by what it names (at most INFINITE)
    written: int = 0  # distinct nodes not counted before (those the text writes out)
    depth: int = 0  # levels of collections: 0 for a scalar, 1 for [x], 2 for [[x]]

    @property
    def aliased(self) -> int:
        """The nodes that exist only through aliases."""
        return max(0, self.nodes - self.written)

    @property
    def recursive(self) -> bool:
        """The graph contains itself (`&a [*a]`): it expands without end."""
        return self.nodes >= INFINITE and self.depth >= INFINITE

    def __add__(self, other: Cost) -> Cost:
        return Cost(min(INFINITE, self.nodes + other.nodes), self.written + other.written, max(self.depth, other.depth))


class Measure:
    """Costs of nodes, each distinct node visited once (without recursion); `written` counts the
    nodes a call reaches first, so that costs of a document's entries taken in order add up."""

    def __init__(self) -> None:
        self._costs: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, depth)

    def cost(self, root: Node) -> Cost:
        known = len(self._costs)
        nodes, depth = self._walk(root)
        return Cost(nodes, len(self._costs) - known, depth)

    def _walk(self, root: Node) -> tuple[int, int]:
        costs = self._costs
        pending: list[tuple[Node, bool]] = [(root, False)]
        open_nodes: set[int] = set()
        while pending:
            node, finished = pending.pop()
            key = id(node)
            if finished:
                open_nodes.discard(key)
                costs[key] = self._combine(node)
            elif key not in costs and key not in open_nodes:  # an open node here: `&a [*a]`
                open_nodes.add(key)
                pending.append((node, True))
                pending.extend((child, False) for child in children(node))
        return costs.get(id(root), (INFINITE, INFINITE))

    def _combine(self, node: Node) -> tuple[int, int]:
        nodes, depth = 1, 0 if isinstance(node, ScalarNode) else 1
        for child in children(node):
            child_nodes, child_depth = self._costs.get(id(child), (INFINITE, INFINITE))  # missing: open
            nodes = min(INFINITE, nodes + child_nodes)
            depth = max(depth, min(INFINITE, child_depth + 1))
        return nodes, depth


def children(node: Node) -> list[Node]:
    if isinstance(node, ScalarNode):
        return []
    if isinstance(node, SequenceNode):
        return list(node.value)
    return [part for pair in node.value for part in pair]


# --- leaving out what is over the budget -----------------------------------------------------------


@record
class LeftOut:
    """A top-level entry (or the whole document, key None) that is over a budget."""

    key: str | None
    line: int  # 1-based
    problem: str  # "nests 3,000 levels deep (agentctl's limit is 100)"

    def sentence(self) -> str:
        return f"`{shorten(self.key, 40)}` {self.problem}" if self.key is not None else f"the YAML {self.problem}"


def within_budget(root: Node | None) -> tuple[Node | None, list[LeftOut]]:
    """`root` without the top-level entries over the budgets, and what was left out.

    A mapping keeps every entry that fits, in order, while the nodes its aliases add stay within
    bounds.YAML_NODES in all; any other document that does not fit is left out whole (None)."""
    if root is None:
        return None, []
    problem = document_problem(root)  # one walk: almost every document fits, and needs no more
    if problem is None:
        return root, []
    if not isinstance(root, MappingNode):
        return None, [LeftOut(None, root.start_mark.line + 1, problem)]
    measure = Measure()
    kept: list[tuple[Node, Node]] = []
    left_out: list[LeftOut] = []
    spent = 0
    for key, value in root.value:
        cost = measure.cost(key) + measure.cost(value)
        problem = budget_problem(cost, YAML_NODES - spent)
        if problem is None:
            spent += cost.aliased
            kept.append((key, value))
        else:
            name = str(key.value) if isinstance(key, ScalarNode) else None
            left_out.append(LeftOut(name, key.start_mark.line + 1, problem))
    if left_out:
        root.value = kept
    return root, left_out


def document_problem(root: Node) -> str | None:
    """Why the document as a whole is over the budgets, or None (its top level is no nesting)."""
    whole = Measure().cost(root)
    if not whole.recursive:
        whole.depth = max(0, whole.depth - 1)
    return budget_problem(whole, YAML_NODES)


def budget_problem(cost: Cost, nodes_left: int) -> str | None:
    """Why a value of this cost is over the budget (with `nodes_left` alias nodes to spend), or None."""
    if cost.recursive:
        return "contains itself through a YAML alias, so it never ends"
    if cost.depth > YAML_DEPTH:
        return f"nests {describe_count(cost.depth)} levels deep (agentctl's limit is {YAML_DEPTH})"
    if cost.aliased > nodes_left:
        return (
            f"uses YAML aliases that expand to {describe_count(cost.aliased)} nodes "
            f"(agentctl's limit is {YAML_NODES:,} for the whole document)"
        )
    return None


def describe_count(count: int) -> str:
    return f"more than {INFINITE:,}" if count >= INFINITE else f"{count:,}"


def summary(left_out: list[LeftOut]) -> str | None:
    """One sentence for all that was left out (the first, and how many more)."""
    if not left_out:
        return None
    others = len(left_out) - 1
    more = f", and {others} more top-level key{'s are' if others > 1 else ' is'} over the budget too" if others else ""
    return left_out[0].sentence() + more


def too_deep(line: int, key: str | None) -> LeftOut:
    return LeftOut(key, line + 1, TOO_DEEP)
