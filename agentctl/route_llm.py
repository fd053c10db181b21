"""Ask a small model which agent should take a task: `agentctl route --llm`, `agentctl dispatch "TASK"`.

The candidates (name and description) go in, one name comes out; the name must be one of the
candidates, or the offline ranking stands. Any failure (no key, an API error, an answer that names
no candidate) falls back to the offline ranking and says why: routing never fails because a model did.

`route_task` is a dispatch's routing decision: the offline ranking's top SHORTLIST agents, the
routing model's pick among them when the run makes real calls and the call fits the run's caps,
both recorded (`Routing.to_json`, the `routing` section of the dispatch JSON).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from agentctl.errors import UsageError
from agentctl.providers.base import CallRequest, Provider, ProviderError, SystemBlock, Usage, UsageBound
from agentctl.records import field, record
from agentctl.team import normalise_name  # how the roster compares names

if TYPE_CHECKING:
    from agentctl.config import Settings
    from agentctl.engine import Limits
    from agentctl.providers.pricing import PriceTable
    from agentctl.route import RouteScore
    from agentctl.spec import AgentFile
    from agentctl.team import Team

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


def routing_request(model: str, task: str, candidates: list[Candidate]) -> CallRequest:
    """The one call routing makes. Providers see the agent `router` (a script's replies go under it),
    which no team file defines: the system prompt is SYSTEM alone."""
    return CallRequest(
        "route",
        "router",
        "fresh",
        model,
        [SystemBlock("router", SYSTEM)],
        routing_prompt(task, candidates),
        ANSWER_TOKENS,
    )


async def _ask(provider: Provider, request: CallRequest, timeout: float | None) -> tuple[str, Usage]:
    try:
        async with asyncio.timeout(timeout):
            response = await provider.complete(request)
    finally:
        await provider.aclose()
    return response.text, response.usage


def choose_with_model(
    provider: Provider, model: str, task: str, candidates: list[Candidate], timeout: float | None = None
) -> LlmChoice:
    """One call (within `timeout` seconds, when given); never raises for what the model or the API does."""
    try:
        answer, usage = asyncio.run(_ask(provider, routing_request(model, task, candidates), timeout))
    except ProviderError as error:
        return LlmChoice(
            None, f"the model could not be asked ({error.message}); using the offline ranking", model, Usage()
        )
    except TimeoutError:
        within = f" within {timeout:g} s (--timeout)" if timeout is not None else ""
        return LlmChoice(None, f"the model did not answer{within}; using the offline ranking", model, Usage())
    if len(answer) > MAX_ANSWER_CHARS:
        note = f"the model answered {len(answer):,} characters, not a name; using the offline ranking"
        return LlmChoice(None, note, model, usage)
    chosen = pick(answer, candidates)
    if chosen is None:
        shown = " ".join(answer.split())[:80]
        note = f"the model answered {shown!r}, which names no agent of the list; using the offline ranking"
        return LlmChoice(None, note, model, usage, answer)
    return LlmChoice(chosen, f"chosen by {model}", model, usage, answer)


# --- a dispatch's routing -----------------------------------------------------------------------------

SHORTLIST = 10  # the offline ranking's top agents the model chooses among (and the record keeps)
CLOSE_MARGIN = 0.05  # a runner-up this close to the top score is too close for the offline ranking to pick alone
RoutingMethod = Literal["model", "offline", "asked"]


@record
class ModelPick:
    """What the routing model answered, and what the call spent (counted against the run's caps)."""

    model: str
    agent: str | None  # None: no usable answer; `note` says why
    answer: str  # its text, when it was short enough to read
    note: str
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "agent": self.agent,
            "answer": self.answer,
            "note": self.note,
            "usage": self.usage.to_json(),
            "cost_usd": self.cost_usd,
        }


@record
class Routing:
    """How a dispatch's agent was chosen: the offline ranking, the model's pick, and who decided."""

    chosen: str
    method: RoutingMethod  # model: its pick; offline: the ranking's top; asked: the user's pick on a close call
    note: str  # why this method, in words
    offline: list[RouteScore]  # the offline ranking's top SHORTLIST, best first
    model: ModelPick | None = None  # None: the model was not asked
    close: bool = False  # the offline top two are within CLOSE_MARGIN
    warnings: list[str] = field(default_factory=list)

    @property
    def usage(self) -> Usage:
        return self.model.usage if self.model is not None else Usage()

    @property
    def cost_usd(self) -> float | None:
        return self.model.cost_usd if self.model is not None else 0.0

    def picked(self, agent: str) -> Routing:
        """The same routing, decided by the user's pick among the offline ranking's top."""
        note = f"asked: the offline top two are within {CLOSE_MARGIN:g}"
        return Routing(agent, "asked", note, self.offline, self.model, self.close, self.warnings)

    def to_json(self) -> dict[str, Any]:
        rows = [{"agent": score.agent, "score": score.score, "why": score.why} for score in self.offline]
        chosen = [row for row in rows if row["agent"] == self.chosen]
        return {
            "chosen": self.chosen,
            "method": self.method,
            "note": self.note,
            "offline": rows,
            "model": self.model.to_json() if self.model is not None else None,
            "usage": self.usage.to_json(),
            "cost_usd": self.cost_usd,
            # The order routing settled on, as `route --llm` prints it: the chosen agent, then the rest.
            "ranking": chosen + [row for row in rows if row["agent"] != self.chosen],
            "close": self.close,
            "asked": self.method == "asked",
            "warnings": self.warnings,
        }


def route_task(
    settings: Settings,
    task: str,
    limits: Limits,
    provider: Callable[[], Provider] | None = None,
    offline: str | None = None,
) -> Routing:
    """Choose the agent for a dispatch's task.

    The offline ranking gives the shortlist; the routing model (`route_model`) picks one of it through
    `provider()` (the provider the run will use), unless `offline` says why not (a dry run, --offline)
    or `provider` is None. The call is made only when its worst case fits `limits`; any failure of the
    model leaves the offline ranking's top, with a warning. UsageError when no agent matches the task."""
    from agentctl.route import team_index

    ranking = team_index(settings).rank(task, SHORTLIST)
    if not ranking or ranking[0].score <= 0:
        raise UsageError(
            "no agent of the team matches the task's words, so it cannot be routed",
            hint='name the agent: agentctl dispatch AGENT "TASK" (`agentctl list` shows them)',
        )
    close = len(ranking) > 1 and ranking[0].score - ranking[1].score < CLOSE_MARGIN
    if offline is not None or provider is None:
        return Routing(ranking[0].agent, "offline", offline or "routed offline", ranking, close=close)
    return _route_with_model(settings, task, limits, provider, ranking, close)


def _route_with_model(
    settings: Settings,
    task: str,
    limits: Limits,
    provider: Callable[[], Provider],
    ranking: list[RouteScore],
    close: bool,
) -> Routing:
    from agentctl.providers.base import plausible_usage
    from agentctl.providers.pricing import PriceTable
    from agentctl.team import load_team

    team = load_team(settings)
    model = route_model(settings, team.agents)
    candidates = _candidates(team, ranking)
    request = routing_request(model, task, candidates)
    prices = PriceTable(settings.prices)
    refusal = unaffordable(limits, prices, model, request.bound())
    if refusal is not None:
        return _fallback(ranking, close, f"{refusal}; routed offline")
    try:
        built = provider()
    except ProviderError as error:
        reason = f"{error.message}; {error.hint}" if error.hint else error.message
        return _fallback(ranking, close, f"the model could not be asked ({reason}); using the offline ranking")
    choice = choose_with_model(built, model, task, candidates, limits.timeout)
    usage = plausible_usage(choice.usage, request.bound()) or choice.usage  # as the engine counts a call
    pick = ModelPick(model, choice.agent, choice.answer, choice.note, usage, prices.cost(model, usage))
    if choice.agent is None:
        return _fallback(ranking, close, choice.note, pick)
    return Routing(choice.agent, "model", f"{choice.note} from the offline top {len(ranking)}", ranking, pick, close)


def _fallback(ranking: list[RouteScore], close: bool, note: str, pick: ModelPick | None = None) -> Routing:
    """The offline ranking's top, with a warning that says why the model's pick is not used."""
    return Routing(ranking[0].agent, "offline", note, ranking, pick, close, [note])


def _candidates(team: Team, ranking: list[RouteScore]) -> list[Candidate]:
    descriptions = {agent.name: agent.spec.description or "" for agent in team.agents if agent.name}
    return [Candidate(score.agent, descriptions.get(score.agent, "")) for score in ranking]


def unaffordable(limits: Limits, prices: PriceTable, model: str, bound: UsageBound) -> str | None:
    """Why a routing call within `bound` may not be made under `limits` (None: it fits every cap).

    Its worst case must fit --max-tokens and --max-cost on its own, and it must leave a call of
    --max-calls for the agent. A model without a price is not asked: its cost could not be held."""
    ceiling = prices.ceiling(model, bound)
    if ceiling is None:
        return f"no price for the routing model {model} (add it under [prices], or set [dispatch] route_model)"
    if limits.max_calls is not None and limits.max_calls < 2:
        return f"--max-calls {limits.max_calls} leaves no call for routing besides the agent's"
    if limits.max_tokens is not None and bound.total_tokens > limits.max_tokens:
        return f"the routing call may use up to {bound.total_tokens:,} tokens, over --max-tokens {limits.max_tokens}"
    if limits.max_cost is not None and ceiling > limits.max_cost:
        return f"the routing call may cost up to ${ceiling:.4f} on {model}, over --max-cost {limits.max_cost:g}"
    return None


def route_model(settings: Settings | None, agents: Iterable[AgentFile] = ()) -> str:
    """The model that routes: `[dispatch] route_model` when set, else the cheapest configured model.

    Configured: the model map's aliases (the families the SDK knows, and `[models]`), its default,
    and the model of each of `agents`. Cheapest: the lowest input + output price per million tokens
    in the price table (`[prices]` included); a model without a price cannot be weighed and is left
    out. With no price at all, the map's haiku."""
    from agentctl.providers.models import ModelMap
    from agentctl.providers.pricing import PriceTable

    models = ModelMap.build(settings.models if settings is not None else None)
    named = settings.dispatch.get("route_model") if settings is not None else None
    if named:
        return models.resolve(str(named))
    prices = PriceTable(settings.prices if settings is not None else None)
    configured = {*models.aliases.values(), models.resolve(None), *(models.resolve(a.spec.model) for a in agents)}
    priced = [(price.input + price.output, model) for model in configured if (price := prices.price_of(model))]
    return min(priced)[1] if priced else models.resolve("haiku")
