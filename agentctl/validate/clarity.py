"""Rules about cost and clarity (CQ*)."""

from __future__ import annotations

from collections.abc import Iterator

from agentctl.lazyre import LazyPattern
from agentctl.spec import AgentFile
from agentctl.textlines import LineCounter
from agentctl.validate.model import Diagnostic
from agentctl.validate.positions import key_position
from agentctl.validate.rules import finding

DESCRIPTION_BUDGET = 1024
_TODO = LazyPattern(r"\b(TODO|FIXME|XXX)\b")


def check_description_cost(agent: AgentFile) -> Iterator[Diagnostic]:
    description = agent.verdict.description if agent.verdict.loads else agent.spec.description
    if not description:
        return
    position = key_position(agent, "description")
    tokens = max(1, len(description) // 4)
    if len(description) > DESCRIPTION_BUDGET:
        yield finding(
            "CQ001",
            *position,
            f"the description is {len(description):,} characters (about {tokens:,} tokens), "
            "sent to the model in every session",
            f"keep it under {DESCRIPTION_BUDGET:,} characters: say when to use the agent; move the rest into the body",
        )
    examples = agent.spec.examples
    if examples:
        size = sum(len(example.context + example.user + example.assistant + example.commentary) for example in examples)
        yield finding(
            "CQ002",
            *position,
            f"the description holds {len(examples)} <example> block(s), "
            f"about {size:,} characters sent in every session",
            "move the examples into the body, where they cost nothing until the agent runs",
        )


def check_body(agent: AgentFile) -> Iterator[Diagnostic]:
    if not agent.verdict.loads and agent.reading is None:
        return
    if agent.reading is not None and agent.reading.block is not None and not agent.spec.body.strip():
        yield finding(
            "CQ003",
            agent.spec.body_line,
            1,
            "the body is empty: the agent runs with no system prompt",
            "write the agent's instructions below the closing `---`",
        )


def check_todo_markers(agent: AgentFile) -> Iterator[Diagnostic]:
    text = agent.text
    if "TODO" not in text and "FIXME" not in text and "XXX" not in text:  # the regex is 50x slower
        return
    lines = LineCounter(text)
    for match in _TODO.finditer(text):
        yield finding(
            "CQ004",
            *lines.position(match.start()),
            f"a {match.group(1)} marker is left in the agent (the model reads it too)",
            "finish or remove it before the agent ships",
        )


CHECKS = (check_description_cost, check_body, check_todo_markers)
