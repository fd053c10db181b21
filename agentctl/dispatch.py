"""`agentctl dispatch` as one library call: the team, the provider, the record, the engine.

    run_dispatch(settings, DispatchOptions(agent="db-architect", task="..."), environ) -> Dispatched

The CLI parses flags into DispatchOptions and renders what comes back; orchestrators written in
Python can call the same function. `plan_dispatch` is the dry run: the prompts and estimates of the
first call, with no provider at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
import signal
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl import providers
from agentctl.config import Settings
from agentctl.engine import Limits, RunResult
from agentctl.errors import ExitCode, Terminated, UsageError
from agentctl.providers.base import Permissions, Provider, in_range
from agentctl.records import field, record
from agentctl.redact import secret_values

if TYPE_CHECKING:
    from agentctl.engine import Budget, Engine
    from agentctl.events import Event
    from agentctl.memory import MemoryStore
    from agentctl.prompts import Prompt, PromptBuilder
    from agentctl.providers.models import ModelMap
    from agentctl.providers.pricing import PriceTable
    from agentctl.route_llm import Routing
    from agentctl.runs import CallRecord
    from agentctl.spec import AgentFile
    from agentctl.team import Team

EXPECTED_ANSWER_TOKENS = 2000  # the dry run's guess at one answer's length (the ceiling is max_tokens)
Clock = Callable[[], dt.datetime]


@record
class DispatchOptions:
    agent: str
    task: str
    context: str | None = None
    provider: str | None = None  # None: [dispatch] provider, else anthropic
    script: Path | None = None  # the scripted provider's replies
    model: str | None = None  # overrides every agent's model
    limits: Limits | None = None  # None: [dispatch] settings, else the defaults
    memory: bool = True  # put relevant notes into prompts and save the notes agents return
    resume_from: str | None = None  # a run id whose completed calls are replayed
    routing: Routing | None = None  # how the agent was chosen when the task was routed (route_dispatch)
    cwd: Path | None = None  # the project the agents work in (claude-code runs its tools there); None: the root
    permissions: Permissions = field(default_factory=Permissions)  # what calls that run tools may do
    max_turns: int | None = None  # claude-code: model turns per session (None: [claude_code] max_turns)


@record
class Dispatched:
    result: RunResult
    record: dict[str, Any]  # the dispatch JSON contract (DESIGN.md), read back from the run's record


# What each limit may be: (a whole number?, the lowest value, whether that value itself is allowed).
# A cap is raised, never lifted: 0 is not "no limit" (Limits has the defaults).
LIMIT_RULES: dict[str, tuple[bool, float, bool]] = {
    "max_depth": (True, 0, True),
    "max_rounds": (True, 1, True),
    "max_calls": (True, 1, True),
    "max_tokens": (True, 1, True),
    "max_cost": (False, 0, False),
    "parallel": (True, 1, True),
    "timeout": (False, 0, False),
}


def limits_from(settings: Settings, **flags: Any) -> Limits:
    """Flags over [dispatch] settings over the defaults; a flag left as None does not count.

    Every value is checked here, once: a bad one is a UsageError naming the flag (or the setting)
    and the range it must be in."""
    configured = {key: value for key, value in settings.dispatch.items() if key in LIMIT_RULES}
    given = {key: value for key, value in flags.items() if value is not None}
    for key, value in configured.items():
        check_limit(key, value, f"[dispatch] {key}")
    for key, value in given.items():
        check_limit(key, value, f"--{key.replace('_', '-')}")
    return Limits(**(configured | given))


def permissions_from(
    settings: Settings, mode: str | None = None, allowed: str | None = None, disallowed: str | None = None
) -> Permissions:
    """Flags over [claude_code] settings: what calls that run tools may do (None and empty: plan mode)."""
    from agentctl.providers.claude_code import PERMISSION_MODES

    configured = settings.claude_code
    mode = mode if mode is not None else configured.get("permission_mode")
    if mode is not None and mode not in PERMISSION_MODES:
        raise UsageError(f"--permission-mode {mode!r} is not a mode", hint=f"modes: {', '.join(PERMISSION_MODES)}")
    return Permissions(
        mode,
        _tool_names(allowed) if allowed is not None else tuple(configured.get("allowed_tools") or ()),
        _tool_names(disallowed) if disallowed is not None else tuple(configured.get("disallowed_tools") or ()),
    )


def _tool_names(text: str) -> tuple[str, ...]:
    """`Read, Bash(git log:*)` -> ("Read", "Bash(git log:*)"): commas outside parentheses split."""
    names, depth, current = [], 0, ""
    for character in text:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if character == "," and depth <= 0:
            names.append(current.strip())
            current = ""
        else:
            current += character
    names.append(current.strip())
    return tuple(name for name in names if name)


def check_limit(key: str, value: object, source: str) -> None:
    """UsageError unless `value` is in LIMIT_RULES[key]'s range (finite; a whole number where one is meant)."""
    whole, lowest, inclusive = LIMIT_RULES[key]
    if in_range(value, whole, lowest, above=not inclusive):
        return
    what = "a whole number" if whole else "a number"
    bound = f"at least {lowest:g}" if inclusive else f"above {lowest:g}"
    unit = {"max_cost": " (USD)", "timeout": " (seconds)"}.get(key, "")
    lifted = " (0 is not 'no limit': give a larger number to raise it)" if key.startswith("max_") and value == 0 else ""
    raise UsageError(
        f"{source} must be {what} {bound}{unit}, not {value!r}{lifted}",
        hint=f"defaults: {_defaults_text()}" if key in ("max_calls", "max_cost") else None,
    )


def _defaults_text() -> str:
    defaults = Limits()
    return f"--max-calls {defaults.max_calls}, --max-cost {defaults.max_cost:g} (USD)"


def run_dispatch(
    settings: Settings,
    options: DispatchOptions,
    environ: Mapping[str, str],
    on_event: Callable[[Event], None] | None = None,
    clock: Clock | None = None,
    entropy: Callable[[], str] | None = None,
    provider: Provider | None = None,
) -> Dispatched:
    """Run the task through the team; the record is complete whatever happens (even Ctrl-C).

    `provider` replaces the one the options name (a library caller's own, or a test's). A resume
    holds the run it resumes (runs.lock_run) until it ends: a run still going, or being resumed by
    another process, is refused with exit 2 before anything is sent. Ctrl-C raises KeyboardInterrupt
    and SIGTERM errors.Terminated, each after the record is closed."""
    from agentctl.runs import lock_run

    held: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    if options.resume_from is not None:
        held = lock_run(settings.runs_dir, options.resume_from)
    with held:
        return _dispatch(settings, options, environ, on_event, clock or _now, entropy or _entropy, provider)


def _dispatch(
    settings: Settings,
    options: DispatchOptions,
    environ: Mapping[str, str],
    on_event: Callable[[Event], None] | None,
    clock: Clock,
    entropy: Callable[[], str],
    provider: Provider | None,
) -> Dispatched:
    from agentctl.engine import Engine
    from agentctl.runs import RunRecorder, load_run, new_run_id

    team, agent = _team_and_agent(settings, options.agent)
    limits = options.limits or limits_from(settings)
    provider_name = _provider_name(settings, options.provider, options.script)
    provider = provider or _run_provider(provider_name, settings, environ, provider_options(options))
    replay = _replay(settings, options.resume_from)
    run_id = new_run_id(clock(), entropy())
    meta = _meta(options, agent, provider_name, limits)
    recorder = RunRecorder.create(settings.runs_dir, run_id, meta, clock, secrets=secret_values(environ))
    try:
        engine = Engine(
            team,
            provider,
            team_prompts(team, options.memory, environ),
            recorder,
            model_map(settings),
            price_table(settings),
            limits,
            store=memory_store(team, environ) if options.memory else None,
            model_override=options.model,
            max_tokens=answer_tokens(settings),
            today=clock().date().isoformat(),
            replay=replay,
            on_event=on_event,
            cwd=options.cwd or settings.root,
            permissions=options.permissions,
        )
        _count_routing(engine.budget, options.routing)
        engine.start(meta)
        result = _run_loop(engine, provider, agent, options)
    finally:
        recorder.close()
    recorded = load_run(settings.runs_dir, run_id)
    record = recorded.to_json()
    if options.routing is not None:  # as run.json keeps it: through the secret filter (the model's answer)
        record["routing"] = recorded.meta.get("routing")
    return Dispatched(result, record)


def _count_routing(budget: Budget, routing: Routing | None) -> None:
    """The routing call was made before the run started: it counts against the run's caps as its calls do."""
    if routing is None or routing.model is None:
        return
    budget.calls += 1
    budget.spend(routing.usage.total_tokens, routing.cost_usd)


def _run_loop(engine: Engine, provider: Provider, agent: AgentFile, options: DispatchOptions) -> RunResult:
    """The engine in an event loop; SIGTERM while it runs ends it as Ctrl-C does, then raises Terminated."""
    sigterm = _SigtermStop(engine)
    try:
        return asyncio.run(_run(engine, provider, agent, options, sigterm))
    except asyncio.CancelledError:
        if sigterm.received:  # the engine has recorded the run as terminated; the caller exits 143
            raise Terminated() from None
        raise


async def _run(
    engine: Engine, provider: Provider, agent: AgentFile, options: DispatchOptions, sigterm: _SigtermStop
) -> RunResult:
    with sigterm.installed():
        try:
            return await engine.run(agent, options.task, options.context)
        finally:
            await provider.aclose()


TERMINATED_REASON = "terminated (SIGTERM)"


class _SigtermStop:
    """SIGTERM while the loop runs: cancel the run as Ctrl-C does, and remember that it was SIGTERM.

    The CLI's Python-level handler raises Terminated wherever the interpreter happens to be, which
    inside the event loop may be the middle of a callback. The loop's own handler cancels the main
    task instead, so the engine records the calls in flight as `interrupted` and `run_finished`
    ("terminated (SIGTERM)", exit 143) before the loop ends. A second SIGTERM stops at once, as a
    second Ctrl-C does."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.received = False

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        loop, task = asyncio.get_running_loop(), asyncio.current_task()
        previous = signal.getsignal(signal.SIGTERM)
        try:
            loop.add_signal_handler(signal.SIGTERM, self._stop, task)
            installed = True
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread, or no loop signals
            installed = False  # the caller's handler (the CLI's raises Terminated) stays in charge
        try:
            yield
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGTERM)
                if previous is not None:
                    signal.signal(signal.SIGTERM, previous)  # remove_signal_handler leaves SIG_DFL behind

    def _stop(self, task: asyncio.Task[Any] | None) -> None:
        if self.received:
            raise Terminated()  # a KeyboardInterrupt: the loop lets it through, and asyncio.run ends
        self.received = True
        # Engine.run reads these when the cancellation reaches it (its Ctrl-C reason is the default).
        self.engine.stop_reason, self.engine.stop_exit_code = TERMINATED_REASON, ExitCode.TERMINATED
        if task is not None:
            task.cancel()


def _meta(options: DispatchOptions, agent: AgentFile, provider: str, limits: Limits) -> dict[str, Any]:
    return {
        "agent": agent.name,
        "task": options.task,
        "context": options.context,
        "provider": provider,
        "model_override": options.model,
        "limits": limits.to_json(),
        "memory": options.memory,
        "resumed_from": options.resume_from,
        "routing": options.routing.to_json() if options.routing is not None else None,
        "cwd": str(options.cwd) if options.cwd is not None else None,
        "permissions": options.permissions.to_json(),
        "max_turns": options.max_turns,
    }


def _provider_name(settings: Settings, provider: str | None, script: Path | None) -> str:
    name = provider or settings.dispatch.get("provider") or ("scripted" if script else "anthropic")
    providers.provider_spec(str(name))  # an unknown one is exit 2 before anything else is checked
    return str(name)


def _run_provider(
    name: str, settings: Settings, environ: Mapping[str, str], options: providers.ProviderOptions
) -> Provider:
    """The provider a run uses, from the registry (agentctl.providers). [anthropic] is checked for every
    provider (its max_tokens sizes every call), and before any record exists: a bad setting is exit 2
    with nothing to clean up."""
    answer_tokens(settings)
    return providers.build_provider(name, settings, environ, options)


def provider_options(options: DispatchOptions) -> providers.ProviderOptions:
    return providers.ProviderOptions(options.script, options.cwd, options.model, options.max_turns)


def answer_tokens(settings: Settings) -> int:
    """[anthropic] max_tokens, checked (UsageError), else the default: the length limit of every answer."""
    from agentctl.providers.anthropic import AnthropicConfig

    return AnthropicConfig.from_settings(settings.anthropic, {}).max_tokens


def model_map(settings: Settings) -> ModelMap:
    from agentctl.providers.models import ModelMap

    return ModelMap.build(settings.models)


def price_table(settings: Settings) -> PriceTable:
    from agentctl.providers.pricing import PriceTable

    return PriceTable(settings.prices)


def _team_and_agent(settings: Settings, wanted: str) -> tuple[Team, AgentFile]:
    from agentctl.team import load_team

    team = load_team(settings)
    agent = team.resolve(wanted)
    if not agent.spec.body.strip():
        raise UsageError(
            f"{agent.path}: the agent has no system prompt (nothing below its frontmatter)",
            hint="write the agent's instructions below the closing ---",
        )
    return team, agent


def team_prompts(team: Team, memory: bool, environ: Mapping[str, str] | None = None) -> PromptBuilder:
    """The prompt builder of a run (dispatch's, or every task of a batch): `memory` puts relevant
    notes into prompts; the environment's HOME holds the `user` memory scope."""
    from agentctl.prompts import home_of, prompt_builder

    return prompt_builder(team, memory=memory, home=home_of(environ or {}))


def memory_store(team: Team, environ: Mapping[str, str]) -> MemoryStore:
    """The store a dispatch saves notes in; the environment's HOME holds the `user` memory scope."""
    from agentctl.memory import MemoryStore
    from agentctl.prompts import home_of

    store = MemoryStore(team.settings, home=home_of(environ))
    store.use_agents(team.agents)
    return store


def _replay(settings: Settings, run_id: str | None) -> dict[str, CallRecord]:
    if run_id is None:
        return {}
    from agentctl.runs import load_run

    return load_run(settings.runs_dir, run_id).completed_calls()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).astimezone()


def _entropy() -> str:
    return secrets.token_hex(3)


# --- routing ------------------------------------------------------------------------------------------


def route_dispatch(
    settings: Settings,
    task: str,
    environ: Mapping[str, str],
    *,
    provider: str | None = None,
    script: Path | None = None,
    limits: Limits | None = None,
    offline: str | None = None,
) -> Routing:
    """Choose the agent for `dispatch "TASK"` (route_llm.route_task): the routing model picks from the
    offline shortlist through the provider the run will use (`provider`, `script` as DispatchOptions
    name them), within `limits`; `offline` (why: a dry run, --offline) routes without the model.

    Pass the result as DispatchOptions.routing: the run counts the routing call against its caps
    and records both rankings."""
    from agentctl.route_llm import route_task

    name = _provider_name(settings, provider, script)

    def build() -> Provider:
        return _run_provider(name, settings, environ, providers.ProviderOptions(script=script))

    return route_task(settings, task, limits or limits_from(settings), build, offline)


# --- the dry run --------------------------------------------------------------------------------------


@record
class Plan:
    agent: str
    display_name: str
    model: str
    task: str
    prompt: Prompt
    input_tokens: int
    max_tokens: int
    cost_usd: float | None  # the first call, with an answer of EXPECTED_ANSWER_TOKENS
    cost_ceiling_usd: float | None  # the first call, with an answer of max_tokens
    may_hand_off_to: list[str]
    limits: Limits
    warnings: list[str] = field(default_factory=list)
    # What --max-cost holds for the first call while it runs: its worst case (engine.Budget).
    cost_reserved_usd: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": True,
            "agent": self.agent,
            "model": self.model,
            "task": self.task,
            "limits": self.limits.to_json(),
            "first_call": {
                "system": [
                    {
                        "name": block.name,
                        "cache_control": block.cache,
                        "tokens": _tokens(block.text),
                        "text": block.text,
                    }
                    for block in self.prompt.system
                ],
                "user": self.prompt.user,
                "memories": self.prompt.memories,
                "input_tokens": self.input_tokens,
                "max_tokens": self.max_tokens,
                "cost_usd": self.cost_usd,
                "cost_ceiling_usd": self.cost_ceiling_usd,
                "cost_reserved_usd": self.cost_reserved_usd,
            },
            "may_hand_off_to": self.may_hand_off_to,
            "warnings": self.warnings,
        }


def plan_dispatch(settings: Settings, options: DispatchOptions, today: dt.date | None = None) -> Plan:
    """What a dispatch would send first, and roughly what it would cost: no provider, no network."""
    from agentctl.providers.base import Usage, usage_bound

    limits = options.limits or limits_from(settings)
    max_tokens = answer_tokens(settings)
    team, agent = _team_and_agent(settings, options.agent)
    name = agent.team_name
    model = options.model or model_map(settings).resolve(agent.spec.model)
    day = (today or _now().date()).isoformat()
    prompt = team_prompts(team, options.memory).fresh(agent, options.task, day, options.context)
    cached = _cached_prefix_tokens(prompt)
    input_tokens = sum(_tokens(block.text) for block in prompt.system) + _tokens(prompt.user)
    prices = price_table(settings)
    # A first call writes the stable prefix to the cache (1.25x input); later ones read it (0.1x).
    first = Usage(input_tokens=input_tokens - cached, cache_creation_input_tokens=cached)
    expected = prices.cost(model, first + Usage(output_tokens=EXPECTED_ANSWER_TOKENS))
    ceiling = prices.cost(model, first + Usage(output_tokens=max_tokens))
    warnings = [] if expected is not None else [f"no price for model {model}: cost unknown; add it under [prices]"]
    return Plan(
        name,
        team.display_name(name) or name,
        model,
        options.task,
        prompt,
        input_tokens,
        max_tokens,
        expected,
        ceiling,
        _escalation_targets(team, agent),
        limits,
        warnings,
        prices.ceiling(model, usage_bound(prompt.system, prompt.user, max_tokens)),
    )


def _escalation_targets(team: Team, agent: AgentFile) -> list[str]:
    """The agents its escalation table and handoff headings name: whom it may hand work to."""
    from agentctl.graph import build_graph

    return [edge.target for edge in build_graph(team).edges if edge.source == agent.name]


def _cached_prefix_tokens(prompt: Prompt) -> int:
    """Tokens up to and including the last block with a cache breakpoint."""
    last = max((index for index, block in enumerate(prompt.system) if block.cache), default=-1)
    return sum(_tokens(block.text) for block in prompt.system[: last + 1])


def _tokens(text: str) -> int:
    from agentctl.memory import estimate_tokens

    return estimate_tokens(text)


# --- resume -------------------------------------------------------------------------------------------


def resume_options(settings: Settings, wanted: str, **overrides: Any) -> DispatchOptions:
    """The options of a recorded run, to run it again replaying its completed calls.

    `overrides` (provider, script, model, permissions) replace the recorded ones when not None;
    permissions are never taken from the record."""
    from agentctl.runs import find_run, load_run

    run_id = find_run(settings.runs_dir, wanted)
    record = load_run(settings.runs_dir, run_id)
    if record.status == "ok":
        raise UsageError(f"run {run_id} finished ok: there is nothing to resume", hint=f"agentctl runs show {run_id}")
    meta = record.meta
    if not record.agent or not record.task:
        raise UsageError(f"run {run_id} does not say which agent and task it ran (run.json is damaged)")
    given = {key: value for key, value in overrides.items() if value is not None}
    return DispatchOptions(
        agent=record.agent,
        task=record.task,
        context=meta.get("context"),
        provider=given.get("provider", meta.get("provider")),
        script=given.get("script"),
        model=given.get("model", meta.get("model_override")),
        limits=_recorded_limits(run_id, meta.get("limits")),
        memory=bool(meta.get("memory", True)),
        resume_from=run_id,
        cwd=Path(meta["cwd"]) if isinstance(meta.get("cwd"), str) else None,
        # Never read back from a record (a file anyone can edit): leave to edit is asked for again.
        permissions=given.get("permissions", Permissions()),
        max_turns=meta["max_turns"] if in_range(meta.get("max_turns"), True, 1) else None,
    )


def _recorded_limits(run_id: str, recorded: object) -> Limits:
    """The limits a run was started with, checked as flags are (run.json is a file anyone can edit).

    A limit recorded as null (runs of agentctl before the default caps) takes today's default: a
    resume never runs without a call cap and a cost cap."""
    values = recorded if isinstance(recorded, dict) else {}
    kept = {key: value for key, value in values.items() if key in LIMIT_RULES and value is not None}
    for key, value in kept.items():
        check_limit(key, value, f"run {run_id}'s recorded {key}")
    return Limits(**kept)
