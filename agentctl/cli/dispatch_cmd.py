"""agentctl dispatch AGENT "TASK" [--format json] [--provider] [--model] [limits] [--timeout] [--dry-run] [--offline]

The subprocess contract (orchestrators call dispatch as a subprocess): with `--format json` every exit
prints one JSON document on stdout. A run that started prints its record, with an `error` object
added when it did not end ok (exits 1, 4, 5, 130 on Ctrl-C, 143 on SIGTERM); an error before the run
started is the CLI boundary's `{"version": 1, "error": {...}}`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentctl.bounds import DISPATCH_MAX_CALLS, DISPATCH_MAX_COST, DISPATCH_MAX_ROUNDS
from agentctl.cli import env as environment
from agentctl.cli.callview import dollars, plural, printable, tokens_text, tool_text, work_text
from agentctl.cli.common import (
    PROVIDERS_HELP,
    AllowedToolsOption,
    DataFormat,
    DisallowedToolsOption,
    FormatOption,
    PermissionModeOption,
    ProviderName,
    RootOption,
    bounded_text,
    read_task,
    settings_for,
    write_json,
)
from agentctl.errors import AgentctlError, ExitCode, UsageError, interruption_exit_code
from agentctl.events import (
    CallFinished,
    CallStarted,
    Event,
    Handoff,
    MemoryRefused,
    MemorySaved,
    RunStarted,
    RunWarning,
    ToolUse,
    Waiting,
)
from agentctl.records import record, replace

if TYPE_CHECKING:
    from agentctl.config import Settings
    from agentctl.dispatch import Dispatched, DispatchOptions, Plan
    from agentctl.engine import Limits, RunResult
    from agentctl.route_llm import Routing


def dispatch_command(
    agent: Annotated[
        str,
        typer.Argument(
            help="The agent (name or roster display name); or, alone, the task: then the team routes it.",
            show_default=False,
        ),
    ],
    task: Annotated[
        str | None, typer.Argument(help="The task; `-` or left out reads it from --task-file or stdin.")
    ] = None,
    task_file: Annotated[Path | None, typer.Option("--task-file", help="Read the task from this file.")] = None,
    context: Annotated[str | None, typer.Option("--context", help="Extra context for the first prompt.")] = None,
    provider: Annotated[
        ProviderName | None,
        typer.Option(
            "--provider",
            help=f"Who answers the calls [anthropic]: {PROVIDERS_HELP}; see also --dry-run.",
            case_sensitive=False,
        ),
    ] = None,
    script: Annotated[
        Path | None, typer.Option("--script", help="The scripted provider's replies (YAML or JSON).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Use this model (alias or id) for every agent call (not the routing call)."),
    ] = None,
    max_depth: Annotated[int | None, typer.Option("--max-depth", help="How deep handoffs may nest [3].")] = None,
    max_rounds: Annotated[
        int | None, typer.Option("--max-rounds", help=f"Continuation calls per agent and task [{DISPATCH_MAX_ROUNDS}].")
    ] = None,
    max_calls: Annotated[
        int | None,
        typer.Option("--max-calls", help=f"Start at most N calls [{DISPATCH_MAX_CALLS}; raise it on purpose]."),
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="Start a call only if the run's tokens stay within N, at worst.")
    ] = None,
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost",
            help="Start a call only if the run's cost stays within USD, at worst "
            f"[{DISPATCH_MAX_COST:g}; raise it on purpose].",
        ),
    ] = None,
    parallel: Annotated[int | None, typer.Option("--parallel", help="Calls in flight at once [4].")] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", metavar="SECONDS", help="The whole run's deadline: calls still going then are stopped."
        ),
    ] = None,
    no_memory: Annotated[
        bool, typer.Option("--no-memory", help="Leave memory notes out of prompts and save none.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Call nothing: print the plan, the limits and the estimates.")
    ] = False,
    show_prompt: Annotated[
        bool, typer.Option("--show-prompt", help="With --dry-run: print the first call's prompts too.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="When routing, take the top agent without asking.")] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="When routing, rank offline only: no routing model call.")
    ] = False,
    cwd: Annotated[
        Path | None,
        typer.Option("--cwd", help="claude-code: the project the agents work in (their tools run there) [the root]."),
    ] = None,
    permission_mode: PermissionModeOption = None,
    allowed_tools: AllowedToolsOption = None,
    disallowed_tools: DisallowedToolsOption = None,
    max_turns: Annotated[
        int | None, typer.Option("--max-turns", min=1, help="claude-code: model turns per session [30].")
    ] = None,
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """Send a task to an agent, run the handoffs it asks for, and print its final answer.

    Without an agent (`agentctl dispatch "TASK"`) the task is routed first: the offline ranking's top
    10 (`agentctl route`), of which the cheapest configured model picks one when the run makes real
    calls (not with --dry-run or --offline)."""
    from agentctl.dispatch import DispatchOptions, limits_from, permissions_from

    settings = settings_for(root)
    permissions = permissions_from(settings, permission_mode, allowed_tools, disallowed_tools)
    limits = limits_from(
        settings,
        max_depth=max_depth,
        max_rounds=max_rounds,
        max_calls=max_calls,
        max_tokens=max_tokens,
        max_cost=max_cost,
        parallel=parallel,
        timeout=timeout,
    )
    routing = None
    script_path = environment.current().cwd / script if script else None
    if task is None and task_file is None and not _names_an_agent(settings, agent):
        task = read_task(agent, None)  # the lone argument is the task
        why_offline = "a dry run makes no calls" if dry_run else "--offline" if offline else None
        routing = choose_agent(
            settings,
            task,
            limits,
            provider=provider.value if provider else None,
            script=script_path,
            offline=why_offline,
            ask=output is DataFormat.text and not yes,
        )
        agent = routing.chosen
    options = DispatchOptions(
        agent=agent,
        task=read_task(task, task_file),
        routing=routing,
        context=bounded_text(context, "--context") if context is not None else None,
        provider=provider.value if provider else None,
        script=script_path,
        model=model,
        limits=limits,
        memory=not no_memory,
        cwd=environment.current().cwd / cwd if cwd else None,
        permissions=permissions,
        max_turns=max_turns,
    )
    if dry_run:
        return show_plan(settings, options, output, show_prompt)
    return run_and_report(settings, options, output)


def _names_an_agent(settings: Settings, name: str) -> bool:
    from agentctl.errors import UnknownAgentError
    from agentctl.team import load_team

    try:
        load_team(settings).resolve(name)
    except UnknownAgentError:
        return False
    return True


def choose_agent(
    settings: Settings,
    task: str,
    limits: Limits,
    *,
    provider: str | None,
    script: Path | None,
    offline: str | None,
    ask: bool,
) -> Routing:
    """Route the task (dispatch.route_dispatch); on a terminal, ask when the offline top two are close
    and the model did not choose. Says where it went on stderr."""
    from agentctl.dispatch import route_dispatch

    current = environment.current()
    routing = route_dispatch(
        settings, task, current.environ, provider=provider, script=script, limits=limits, offline=offline
    )
    for warning in routing.warnings:
        current.err(f"warning: {warning}")
    if routing.method == "offline" and routing.close and ask and current.interactive and current.stderr.isatty():
        routing = routing.picked(_ask(routing.offline[:3]))
    current.err(routed_line(routing))
    return routing


def routed_line(routing: Routing) -> str:
    """`routed to db-architect by claude-haiku-5-5 ($0.0001; offline #1: ...)`, or the offline score and why."""
    top = routing.offline[0]
    if routing.method == "model" and routing.model is not None:
        cost = routing.cost_usd
        spent = f"${cost:.6f}" if cost is not None else "cost unknown"  # a routing call costs fractions of a cent
        return f"routed to {routing.chosen} by {routing.model.model} ({spent}; offline #1: {top.agent} {top.score:.2f})"
    score = next((s.score for s in routing.offline if s.agent == routing.chosen), top.score)
    close = ", close call" if routing.close else ""
    # After a fallback the warning above has said why; otherwise say why the model was not asked.
    how = "your pick" if routing.method == "asked" else "offline" + ("" if routing.warnings else f": {routing.note}")
    return f"routed to {routing.chosen} (score {score:.2f}{close}; {how})"


def _ask(ranking: list[Any]) -> str:
    current = environment.current()
    for number, score in enumerate(ranking, start=1):
        current.err(f"  {number}. {score.agent} ({score.score:.2f}): {score.why}")
    current.stderr.write(f"Which agent? [1-{len(ranking)}, Enter for 1] ")
    current.stderr.flush()
    answer = current.stdin.readline().decode("utf-8", "replace").strip()
    if not answer:
        return str(ranking[0].agent)
    if answer.isdigit() and 1 <= int(answer) <= len(ranking):
        return str(ranking[int(answer) - 1].agent)
    raise UsageError(
        f"{answer!r} is not one of 1-{len(ranking)}", hint="run again, or pass --yes to take the top agent"
    )


def run_and_report(settings: Settings, options: DispatchOptions, output: DataFormat) -> int:
    """Run it and render the run; `runs resume` comes here too. Every exit of a run that started
    prints its record with --format json (the subprocess contract in this module's docstring)."""
    from agentctl.dispatch import run_dispatch

    current = environment.current()
    progress = Progress.for_environment(current)
    try:
        with progress:
            dispatched = run_dispatch(settings, options, current.environ, on_event=progress.event)
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (errors.Terminated)
        return _interrupted(settings, progress.run_id, output, stop)
    except AgentctlError as error:
        if progress.run_id is not None and output is DataFormat.json:
            _write_record(settings, progress.run_id, error.message, error.hint, error.exit_code)
        raise  # the boundary prints error: and hint: (and no second JSON document)
    return report(dispatched, output)


def report(dispatched: Dispatched, output: DataFormat) -> int:
    current = environment.current()
    result, record = dispatched.result, dispatched.record
    if output is DataFormat.json:
        write_json(
            record if result.exit_code == ExitCode.OK else with_error(record, *_failure(result), result.exit_code)
        )
    elif result.result is not None:
        current.out(result.result)
    total = record.get("total", {})
    cost = total.get("cost_usd")
    current.err(
        f"run {result.run_id}: {result.status}"
        + (f" ({result.reason})" if result.reason else "")
        + f", {len(record.get('calls', []))} call(s), {total.get('input_tokens', 0)} in / "
        f"{total.get('output_tokens', 0)} out tokens, " + (dollars(cost) if cost is not None else "cost unknown")
    )
    if result.status == "failed" and result.result is None and result.reason:
        current.err(f"error: {result.reason}")
        if result.hint:
            current.err(f"hint: {result.hint}")
    return result.exit_code


def with_error(record: dict[str, Any], message: str, hint: str | None, code: int) -> dict[str, Any]:
    """The run record of a run that did not end ok, with the boundary's error object added."""
    return record | {"error": {"message": message, "hint": hint, "exit_code": code}}


def _failure(result: RunResult) -> tuple[str, str | None]:
    """Why the run did not end ok, and what to do about it."""
    message = result.reason or f"the run ended with status {result.status}"
    if result.hint:
        return message, result.hint
    if result.status == "budget":
        return message, f"raise the limit that stopped it ({RAISE_LIMITS})"
    if result.status == "interrupted":
        return message, f"`agentctl runs resume {result.run_id}` continues it"
    return message, f"`agentctl runs show {result.run_id}` shows which calls failed and why"


def _interrupted(settings: Settings, run_id: str | None, output: DataFormat, stop: KeyboardInterrupt) -> int:
    code = interruption_exit_code(stop)
    what = "terminated (SIGTERM)" if code == ExitCode.TERMINATED else "interrupted"
    if run_id is None:
        # Nothing was recorded: the boundary says so, with its JSON error document. Raised as an
        # AgentctlError, since typer turns a KeyboardInterrupt out of a command into a bare exit 130.
        raise AgentctlError(f"{what} before the run started", exit_code=code) from None
    hint = f"`agentctl runs resume {run_id}` continues it"
    if output is DataFormat.json:
        _write_record(settings, run_id, what, hint, code)
    environment.current().err(f"{what}: run {run_id} is recorded; {hint}")
    return code


def _write_record(settings: Settings, run_id: str, message: str, hint: str | None, code: int) -> None:
    """The record of a run that an error or a signal ended, as --format json prints it."""
    from agentctl.runs import load_run

    record = load_run(settings.runs_dir, run_id).to_json()
    write_json(with_error(record, record.get("reason") or message, hint, code))


# --- the dry run --------------------------------------------------------------------------------------


def show_plan(settings: Settings, options: DispatchOptions, output: DataFormat, show_prompt: bool = False) -> int:
    from agentctl.dispatch import plan_dispatch

    plan = plan_dispatch(settings, options)
    current = environment.current()
    if output is DataFormat.json:  # the prompt blocks are always in it: a program reads what it needs
        write_json(plan.to_json() | ({"routing": options.routing.to_json()} if options.routing else {}))
        return ExitCode.OK
    routed = [routing_line(options.routing)] if options.routing else []
    current.out("\n".join(plan_lines(plan, show_prompt) + routed))
    for warning in plan.warnings:
        current.err(f"warning: {warning}")
    return ExitCode.OK


def routing_line(routing: Routing) -> str:
    """What the dry run's routing was, and what a real run's would be."""
    shortlist = ", ".join(f"{score.agent} {score.score:.2f}" for score in routing.offline[:3])
    return (
        f"Routing: offline ranking only ({routing.note}): {shortlist}. Without --dry-run or --offline, the "
        f"routing model (the cheapest configured one) picks among the top {len(routing.offline)}, within the limits."
    )


def plan_lines(plan: Plan, show_prompt: bool = False) -> list[str]:
    """The plan, the limits and the estimates; the rendered prompts before them only when asked for
    (they run to hundreds of lines, and would push the plan off the screen)."""
    return (prompt_lines(plan) if show_prompt else []) + summary_lines(plan, show_prompt)


def prompt_lines(plan: Plan) -> list[str]:
    from agentctl.memory import estimate_tokens

    lines: list[str] = []
    for block in plan.prompt.system:
        breakpoint_note = ", cache breakpoint after it" if block.cache else ""
        lines += [f"=== system block `{block.name}` (~{estimate_tokens(block.text)} tokens{breakpoint_note}) ==="]
        lines += [block.text.rstrip(), ""]
    return [*lines, "=== user turn (fresh) ===", plan.prompt.user.rstrip(), ""]


def summary_lines(plan: Plan, show_prompt: bool = False) -> list[str]:
    limits = plan.limits
    cost = dollars(plan.cost_usd) if plan.cost_usd is not None else "unknown"
    ceiling = dollars(plan.cost_ceiling_usd) if plan.cost_ceiling_usd is not None else "unknown"
    return [
        f"Dry run: nothing was sent. {plan.display_name} (`{plan.agent}`) would get the task on {plan.model}.",
        "Plan:",
        f"  1. {plan.agent}, fresh mode: about {plan.input_tokens} input tokens "
        f"(memory notes: {len(plan.prompt.memories)}), answer up to {plan.max_tokens} tokens",
        f"  2. each `## Handoff Requests` block in its answer runs on the agent it names "
        f"(its escalations name: {', '.join(plan.may_hand_off_to) or 'nobody'})",
        f"  3. {plan.agent} continues with the results; at most {limits.max_rounds} rounds, "
        f"handoffs nest at most {limits.max_depth} deep, {limits.parallel} calls at once",
        *limit_lines(limits),
        f"Estimate of the first call: {plan.input_tokens} input tokens; {cost} with a 2,000-token answer, "
        f"at most {ceiling} with a {plan.max_tokens}-token answer (prices: {plan.model}).",
        *([] if show_prompt else [_prompt_pointer(plan)]),
        "Run the same command without --dry-run to make the calls (ANTHROPIC_API_KEY must be set).",
    ]


RAISE_LIMITS = "--max-calls, --max-tokens, --max-cost, --timeout, or under [dispatch] in agentctl.toml"


def limit_lines(limits: Limits) -> list[str]:
    """The run's caps as the plan shows them, and how to raise them."""
    timeout = limits.timeout
    return [
        f"  limits: calls {_limit(limits.max_calls)}, tokens {_limit(limits.max_tokens)}, "
        f"cost {_limit(limits.max_cost, '$')}, time {_duration(timeout) if timeout is not None else 'no limit'}",
        f"  (raise them with {RAISE_LIMITS})",
    ]


def _prompt_pointer(plan: Plan) -> str:
    from agentctl.memory import estimate_tokens

    blocks = ", ".join(f"{block.name} ~{estimate_tokens(block.text)}" for block in plan.prompt.system)
    return (
        f"Prompts: {len(plan.prompt.system)} system block(s) ({blocks} tokens) and the user turn; "
        f"--show-prompt prints them, as does `agentctl prompt {plan.agent} --task ...`."
    )


def _limit(value: float | None, unit: str = "") -> str:
    return "no limit" if value is None else f"{unit}{value:g}"


def _duration(seconds: float) -> str:
    """4m12s, 1h05m, 42s: a time span at the precision a person reads it."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


# --- progress -----------------------------------------------------------------------------------------


class Progress:
    """One line per event on stderr; on a terminal, a live tree of the calls instead. Both show the
    run's use of its caps, what each running session is doing; memory notes written, warnings and a
    finished call's own warnings (a tool use that was denied) are said in both. The events come
    redacted (Engine._emit); what a model wrote is shown on one line, control characters made spaces."""

    def __init__(self, live: bool) -> None:
        self.live = live
        self.run_id: str | None = None
        self.tally = RunTally()
        self.tree: CallTree | None = None
        self._live: Any = None

    @classmethod
    def for_environment(cls, current: environment.Environment) -> Progress:
        return cls(current.stderr.isatty() and not current.environ.get("NO_COLOR"))

    def __enter__(self) -> Progress:
        if self.live:
            from rich.live import Live

            self.tree = CallTree(self.tally)
            self._live = Live(self.tree, console=environment.current().console(stderr=True), refresh_per_second=8)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def event(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_id = event.run_id
        self.tally.update(event)
        if self.tree is None:
            for line in progress_lines(event, self.tally):
                environment.current().err(line)
            return
        self.tree.update(event)
        for line in above_the_tree(event, self.tally):  # printed above the live view, where they stay
            self._live.console.print(line, markup=False, highlight=False)


KEPT_ABOVE_THE_TREE = (RunWarning, MemorySaved, MemoryRefused)


def progress_lines(event: Event, tally: RunTally | None = None) -> list[str]:
    """What one event prints without the live view: its line, and after a finished call's line its
    own warnings; each on one line."""
    lines = [progress_line(event, tally), *call_warnings(event, tally)]
    return [printable(line) for line in lines if line]


def above_the_tree(event: Event, tally: RunTally | None = None) -> list[str]:
    """What one event prints above the live view, where it stays when the tree moves on."""
    lines = [progress_line(event, tally)] if isinstance(event, KEPT_ABOVE_THE_TREE) else []
    return [printable(line) for line in [*lines, *call_warnings(event, tally)] if line]


def progress_line(event: Event, tally: RunTally | None = None) -> str | None:
    match event:
        case RunStarted():
            return f"run {event.run_id}: {event.agent} on {json.dumps((event.task or '')[:80])}"
        case CallStarted():
            return f"[{event.call_id}] {event.agent} {event.mode} started on {event.model}"
        case ToolUse():
            turn = f" (turn {event.turns})" if event.turns is not None else ""
            return f"{_who(event.call_id, tally)}: {tool_text(event.summary, event.tool)}{turn}"
        case CallFinished():
            return _finished_line(event) + (f" [run: {tally.text()}]" if tally is not None else "")
        case Waiting():
            return f"[{event.call_id}] {waiting_text(event)}"
        case Handoff():
            reason = f": {event.reason}" if event.reason else ""
            return f"handoff {event.from_agent} -> {event.to or event.target}: {event.status}{reason}"
        case MemorySaved() | MemoryRefused():
            return memory_line(event)
        case RunWarning():
            return f"warning: {event.message}"
    return None  # run_finished: the summary line says it


def call_warnings(event: Event, tally: RunTally | None = None) -> list[str]:
    """A finished call's own warnings: `warning: [c1] lead: Write denied: ...` (a tool use that was
    denied, an answer cut at max_tokens)."""
    if not isinstance(event, CallFinished):
        return []
    return [f"warning: {_who(event.call_id, tally)}: {warning}" for warning in event.warnings]


def _who(call_id: str | None, tally: RunTally | None) -> str:
    """`[c1] lead`: a call, and its agent when the run has said it."""
    agent = tally.agents.get(call_id or "") if tally is not None else None
    return f"[{call_id or '?'}]" + (f" {agent}" if agent else "")


def _finished_line(event: CallFinished) -> str:
    usage = event.usage
    cost_text = dollars(event.cost_usd) if event.cost_usd is not None else "cost unknown"
    work = work_text(event.turns, event.tool_uses)
    error = event.error or {}
    detail = error.get("message") or (error.get("kind") if error.get("kind") != event.status else None)
    error_text = f": {detail}" if detail else ""
    return (
        f"[{event.call_id}] {event.status} in {event.latency_ms} ms, {usage.input_tokens} in / "
        f"{usage.output_tokens} out tokens (cache {usage.cache_read_input_tokens} read, "
        f"{usage.cache_creation_input_tokens} written), {cost_text}" + (f", {work}" if work else "") + error_text
    )


def waiting_text(event: Waiting) -> str:
    """A retry's pause, said before it starts: `waiting 30 s: 429 rate_limit_error (attempt 2)`."""
    seconds = event.seconds
    span = f"{seconds:g} s" if isinstance(seconds, int | float) else "a while"
    attempt = f" (attempt {event.attempt})" if event.attempt is not None else ""
    return f"waiting {span}: {event.reason or 'before a retry'}{attempt}"


def memory_line(event: MemorySaved | MemoryRefused) -> str:
    """What a memory note event wrote into the repository, or why it wrote nothing."""
    if isinstance(event, MemorySaved):
        return f"memory: wrote {event.path}"
    topic = json.dumps(event.topic or "")
    return f"memory: refused {event.agent}'s note {topic}: {event.reason}"


class RunTally:
    """What the run has used of its caps (calls, cost, time), folded from its events as they come;
    and each call's agent, for the lines that name only the call."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.limits: dict[str, Any] = {}
        self.started_at: float | None = None
        self.calls = 0  # started, replays left out: what --max-calls counts
        self.cost = 0.0  # of the calls that finished
        self.running: dict[str, float] = {}  # call id -> its session's cost so far (tool_use events)
        self.agents: dict[str, str] = {}  # call id -> agent

    def update(self, event: Event) -> None:
        match event:
            case RunStarted():
                self.limits = event.limits
                self.started_at = self.clock()
            case CallStarted():
                self.calls += 1
                self.agents[event.call_id] = event.agent
            case ToolUse(call_id=str() as call_id, cost_usd=float() as cost):
                self.running[call_id] = cost  # the session's so far: it replaces the previous one
            case CallFinished(status="replayed"):
                self.calls -= 1  # a replay is read from the record: no call, no cost
            case CallFinished():
                # The call's own cost (Claude Code's, for a session) replaces the estimate at the
                # price table's price that its tool uses carried.
                self.running.pop(event.call_id, None)
                self.cost += event.cost_usd or 0.0

    @property
    def spent(self) -> float:
        """The finished calls' cost, and what the sessions still running have spent so far."""
        return self.cost + sum(self.running.values())

    def text(self) -> str:
        """Each cap as used / allowed: `calls 3/40, cost $0.0123/$2, 4m12s left`; `~$` while a running
        session's cost so far (an estimate) is in it."""
        calls, cost = self.limits.get("max_calls"), self.limits.get("max_cost")
        parts = [f"calls {self.calls}" + (f"/{calls}" if calls is not None else "")]
        about = "~" if self.running else ""
        parts.append(f"cost {about}{dollars(self.spent)}" + (f"/${cost:g}" if isinstance(cost, int | float) else ""))
        left = self.time_left()
        return ", ".join(parts + ([f"{_duration(left)} left"] if left is not None else []))

    def time_left(self) -> float | None:
        timeout = self.limits.get("timeout")
        if not isinstance(timeout, int | float) or self.started_at is None:
            return None
        return max(0.0, timeout - (self.clock() - self.started_at))


@record
class LiveCall:
    """One call as the live view knows it: its start, its end when it came, the wait it is in, and
    its session's latest tool use."""

    started: CallStarted
    started_at: float
    finished: CallFinished | None = None
    ended_at: float | None = None
    waiting: tuple[float, Waiting] | None = None  # until when (the view's clock), and the wait
    activity: ToolUse | None = None

    @property
    def status(self) -> str:
        return self.finished.status if self.finished is not None else "running"


class CallTree:
    """The live view: each call under the call that asked for it, with its state, time, tokens, cost
    and, while a session runs, its turn and what it is doing now; the run's caps at the top."""

    def __init__(self, tally: RunTally | None = None) -> None:
        self.tally = tally or RunTally()
        self.clock = self.tally.clock
        self.calls: dict[str, LiveCall] = {}
        self.children: dict[str | None, list[str]] = {}

    def update(self, event: Event) -> None:
        match event:
            case CallStarted():
                self.calls[event.call_id] = LiveCall(event, self.clock())
                self.children.setdefault(event.parent, []).append(event.call_id)
            case CallFinished() if event.call_id in self.calls:
                call = self.calls[event.call_id]
                call.finished, call.ended_at, call.waiting = event, self.clock(), None
            case Waiting() if event.call_id in self.calls:
                seconds = event.seconds
                until = self.clock() + (seconds if isinstance(seconds, int | float) else 0)
                self.calls[event.call_id].waiting = (until, event)
            case ToolUse() if event.call_id in self.calls:
                self.calls[event.call_id].activity = event

    def __rich__(self) -> Any:
        from rich.text import Text
        from rich.tree import Tree

        top = Tree(Text(f"dispatch: {self.tally.text()}"), guide_style="dim")
        self._add(top, None)
        return top

    def _add(self, node: Any, parent: str | None) -> None:
        # A copy: rich renders from its refresh thread while events still arrive.
        for call_id in list(self.children.get(parent, [])):
            self._add(node.add(self._label(self.calls[call_id])), call_id)

    def _label(self, call: LiveCall) -> Any:
        from rich.text import Text

        marks = {"running": "…", "ok": "✓", "replayed": "↺", "failed": "✗", "interrupted": "■"}
        elapsed = (call.ended_at if call.ended_at is not None else self.clock()) - call.started_at
        started = call.started
        head = f"{marks.get(call.status, '?')} {started.agent} ({started.mode}, {started.call_id}) {self._state(call)}"
        label = " · ".join([f"{head} {elapsed:.1f}s", *call_details(call)])
        # Text, not markup: `[redacted]` and a command's brackets show as they are. One line, cut at
        # the terminal's edge: the tool summary, the part that may be cut, comes last.
        return Text(printable(label), no_wrap=True, overflow="ellipsis")

    def _state(self, call: LiveCall) -> str:
        """The call's status; while it waits to retry, the wait with its seconds counting down."""
        if call.waiting is None or call.waiting[0] <= self.clock():
            return call.status
        until, event = call.waiting
        return waiting_text(replace(event, seconds=round(until - self.clock())))


def call_details(call: LiveCall) -> list[str]:
    """What follows a call's state and time in the tree: a finished call's tokens, cost, turns and
    tool uses, warnings; a running session's turn, tokens and cost so far, and its latest tool use."""
    if call.finished is not None:
        finished = call.finished
        warnings = plural(len(finished.warnings), "warning") if finished.warnings else None
        work = work_text(finished.turns, finished.tool_uses)
        return _present(tokens_text(finished.usage), _dollars(finished.cost_usd), work, warnings)
    activity = call.activity
    if activity is None:
        return []
    turn = f"turn {activity.turns}" if activity.turns is not None else None
    tokens = tokens_text(activity.usage) if activity.usage is not None else None
    return _present(turn, tokens, _dollars(activity.cost_usd), tool_text(activity.summary, activity.tool))


def _present(*parts: str | None) -> list[str]:
    return [part for part in parts if part]


def _dollars(cost: float | None) -> str | None:
    return dollars(cost) if cost is not None else None


def register(app: typer.Typer) -> None:
    app.command("dispatch")(dispatch_command)
