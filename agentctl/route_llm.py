"""`agentctl route --llm`: ask a small model which agent should take a task.

The candidates (name and description) go in, one name comes out; the name must be one of the
candidates, or the offline ranking stands. Any failure (no key, an API error, an answer that names
no candidate) falls back to the offline ranking and says why: routing never fails because a model did.
"""

from __future__ import annotations

import asyncio
import re

from agentctl.providers.base import CallRequest, Provider, ProviderError, SystemBlock, Usage
from agentctl.records import record
from agentctl.team import normalise_name  # how the roster compares names

MAX_CANDIDATES = 40  # beyond this the offline ranking's top candidates go in (a catalogue of 600)
MAX_DESCRIPTION = 400  # characters of each description: enough to tell agents apart
ANSWER_TOKENS = 64
# A 64-token answer is a few hundred characters; a longer one is not an answer to this question, and
# `pick` looks for every candidate's name in it, so it is not read at all.
MAX_ANSWER_CHARS = 4096
SYSTEM = (
    "You route a software engineering task to the one agent of a team best placed to do it. "
    "Reply with that agent's name exactly as listed, and nothing else."
)


@record
class Candidate:
    name: str
    description: str


@record
class LlmChoice:
    agent: str | None  # None: fall back to the offline ranking
    note: str  # what happened, for the user
    model: str
    usage: Usage
    answer: str = ""


def routing_prompt(task: str, candidates: list[Candidate]) -> str:
    lines = [f"Task: {' '.join(task.split())}", "", "Agents:"]
    for candidate in candidates:
        description = " ".join(candidate.description.split())
        if len(description) > MAX_DESCRIPTION:
            description = description[: MAX_DESCRIPTION - 1] + "\u2026"
        lines.append(f"- {candidate.name}: {description}")
    lines += ["", "Which agent should take the task? Answer with one name from the list."]
    return "\n".join(lines)


def pick(answer: str, candidates: list[Candidate]) -> str | None:
    """The candidate the answer names: the whole answer, else the one name it mentions."""
    names = {normalise_name(candidate.name): candidate.name for candidate in candidates}
    whole = normalise_name(answer.strip().strip("`*\"'. "))
    if whole in names:
        return names[whole]
    lowered = answer.lower().replace("_", "-")
    mentioned = {names[key] for key in names if re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", lowered)}
    return mentioned.pop() if len(mentioned) == 1 else None


async def _ask(provider: Provider, model: str, task: str, candidates: list[Candidate]) -> tuple[str, Usage]:
    request = CallRequest(
        "route",
        "router",
        "fresh",
        model,
        [SystemBlock("router", SYSTEM)],
        routing_prompt(task, candidates),
        ANSWER_TOKENS,
    )
    try:
        response = await provider.complete(request)
    finally:
        await provider.aclose()
    return response.text, response.usage


def choose_with_model(provider: Provider, model: str, task: str, candidates: list[Candidate]) -> LlmChoice:
    """One call; never raises for what the model or the API does."""
    try:
        answer, usage = asyncio.run(_ask(provider, model, task, candidates))
    except ProviderError as error:
        return LlmChoice(
            None, f"the model could not be asked ({error.message}); using the offline ranking", model, Usage()
        )
    if len(answer) > MAX_ANSWER_CHARS:
        note = f"the model answered {len(answer):,} characters, not a name; using the offline ranking"
        return LlmChoice(None, note, model, usage)
    chosen = pick(answer, candidates)
    if chosen is None:
        shown = " ".join(answer.split())[:80]
        note = f"the model answered {shown!r}, which names no agent of the list; using the offline ranking"
        return LlmChoice(None, note, model, usage, answer)
    return LlmChoice(chosen, f"chosen by {model}", model, usage, answer)
