"""agentctl dispatch AGENT "TASK" [--format json] [--provider] [--model] [limits] [--dry-run]"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import DataFormat, FormatOption, RootOption, read_input, settings_for, write_json
from agentctl.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from agentctl.config import Settings
    from agentctl.dispatch import Dispatched, DispatchOptions, Plan


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
        str | None, typer.Option("--provider", help="anthropic (default) or scripted; see also --dry-run.")
    ] = None,
    script: Annotated[
        Path | None, typer.Option("--script", help="The scripted provider's replies (YAML or JSON).")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Use this model (alias or id) for every call.")] = None,
    max_depth: Annotated[int | None, typer.Option("--max-depth", help="How deep handoffs may nest [3].")] = None,
    max_rounds: Annotated[
        int | None, typer.Option("--max-rounds", help="Continuation calls per agent and task [3].")
    ] = None,
    max_calls: Annotated[int | None, typer.Option("--max-calls", help="Stop starting calls after N calls.")] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="Stop starting calls once the run used N tokens.")
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", help="Stop starting calls once the run cost this many USD.")
    ] = None,
    parallel: Annotated[int | None, typer.Option("--parallel", help="Calls in flight at once [4].")] = None,
    no_memory: Annotated[
        bool, typer.Option("--no-memory", help="Leave memory notes out of prompts and save none.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Call nothing: print the plan, the prompts and the estimates.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="When routing, take the top agent without asking.")] = False,
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """Send a task to an agent, run the handoffs it asks for, and print its final answer.

    Without an agent (`agentctl dispatch "TASK"`) the team routes the task first (`agentctl route`)."""
    from agentctl.dispatch import DispatchOptions, limits_from

    settings = settings_for(root)
    routing = None
    if task is None and task_file is None and not _names_an_agent(settings, agent):
        task = read_task(agent, None)  # the lone argument is the task
        agent, routing = choose_agent(settings, task, ask=output is DataFormat.text and not yes)
    limits = limits_from(
        settings,
        max_depth=max_depth,
        max_rounds=max_rounds,
        max_calls=max_calls,
        max_tokens=max_tokens,
        max_cost=max_cost,
        parallel=parallel,
    )
    options = DispatchOptions(
        agent=agent,
        task=read_task(task, task_file),
        routing=routing,
        context=context,
        provider=provider,
        script=environment.current().cwd / script if script else None,
        model=model,
        limits=limits,
        memory=not no_memory,
    )
    if dry_run:
        return show_plan(settings, options, output)
    return run_and_report(settings, options, output)


def _names_an_agent(settings: Settings, name: str) -> bool:
    from agentctl.errors import UnknownAgentError
    from agentctl.team import load_team

    try:
        load_team(settings).resolve(name)
    except UnknownAgentError:
        return False
    return True


CLOSE_MARGIN = 0.05  # a runner-up this close to the top score is too close to pick alone


def choose_agent(settings: Settings, task: str, ask: bool) -> tuple[str, dict[str, Any]]:
    """Route the task; ask on a terminal when the top two are close. Returns the agent and the record."""
    from agentctl.route import team_index

    ranking = team_index(settings).rank(task, 5)
    if not ranking or ranking[0].score <= 0:
        raise UsageError(
            "no agent of the team matches the task's words, so it cannot be routed",
            hint='name the agent: agentctl dispatch AGENT "TASK" (`agentctl list` shows them)',
        )
    close = len(ranking) > 1 and ranking[0].score - ranking[1].score < CLOSE_MARGIN
    current = environment.current()
    chosen, asked = ranking[0].agent, False
    if close and ask and current.interactive and current.stderr.isatty():
        chosen, asked = _ask(ranking[:3]), True
    current.err(f"routed to {chosen} (score {ranking[0].score:.2f}{', close call' if close else ''})")
    record = {
        "chosen": chosen,
        "asked": asked,
        "close": close,
        "ranking": [{"agent": s.agent, "score": s.score, "why": s.why} for s in ranking],
    }
    return chosen, record


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


def read_task(task: str | None, task_file: Path | None) -> str:
    """The task from the argument, --task-file, or stdin (`-` or nothing): never empty."""
    if task not in (None, "-") and task_file is not None:
        raise UsageError("give the task as an argument or with --task-file, not both")
    if task_file is not None:
        text = read_input(str(task_file), "the task")
    elif task is None or task == "-":
        text = read_input("-", 'the task: agentctl dispatch AGENT "what to do"')
    else:
        text = task
    if not text.strip():
        raise UsageError("the task is empty", hint='agentctl dispatch AGENT "what to do" (or --task-file, or stdin)')
    return text.strip()


def run_and_report(settings: Settings, options: DispatchOptions, output: DataFormat) -> int:
    from agentctl.dispatch import run_dispatch

    current = environment.current()
    progress = Progress.for_environment(current)
    try:
        with progress:
            dispatched = run_dispatch(settings, options, current.environ, on_event=progress.event)
    except KeyboardInterrupt:
        return _interrupted(settings, progress, output)
    return report(dispatched, output)


def report(dispatched: Dispatched, output: DataFormat) -> int:
    current = environment.current()
    result, record = dispatched.result, dispatched.record
    if output is DataFormat.json:
        write_json(record)
    elif result.result is not None:
        current.out(result.result)
    total = record.get("total", {})
    cost = total.get("cost_usd")
    current.err(
        f"run {result.run_id}: {result.status}"
        + (f" ({result.reason})" if result.reason else "")
        + f", {len(record.get('calls', []))} call(s), {total.get('input_tokens', 0)} in / "
        f"{total.get('output_tokens', 0)} out tokens, " + (f"${cost:.4f}" if cost is not None else "cost unknown")
    )
    if result.status == "failed" and result.result is None and result.reason:
        current.err(f"error: {result.reason}")
        if result.hint:
            current.err(f"hint: {result.hint}")
    return result.exit_code


def _interrupted(settings: Settings, progress: Progress, output: DataFormat) -> int:
    from agentctl.runs import load_run

    current = environment.current()
    run_id = progress.run_id
    if run_id is None:
        current.err("interrupted before the run started")
        return ExitCode.INTERRUPTED
    record = load_run(settings.runs_dir, run_id).to_json()
    if output is DataFormat.json:
        write_json(record)
    current.err(f"interrupted: run {run_id} is recorded; `agentctl runs resume {run_id}` continues it")
    return ExitCode.INTERRUPTED


# --- the dry run --------------------------------------------------------------------------------------


def show_plan(settings: Settings, options: DispatchOptions, output: DataFormat) -> int:
    from agentctl.dispatch import plan_dispatch

    plan = plan_dispatch(settings, options)
    current = environment.current()
    if output is DataFormat.json:
        write_json(plan.to_json() | ({"routing": options.routing} if options.routing else {}))
        return ExitCode.OK
    current.out("\n".join(plan_lines(plan)))
    for warning in plan.warnings:
        current.err(f"warning: {warning}")
    return ExitCode.OK


def plan_lines(plan: Plan) -> list[str]:
    """The rendered prompts first, then the plan and the estimates: what a terminal leaves in view."""
    lines: list[str] = []
    for block in plan.prompt.system:
        breakpoint_note = ", cache breakpoint after it" if block.cache else ""
        lines += [f"=== system block `{block.name}` (~{max(1, len(block.text) // 4)} tokens{breakpoint_note}) ==="]
        lines += [block.text.rstrip(), ""]
    lines += ["=== user turn (fresh) ===", plan.prompt.user.rstrip(), ""]
    return lines + summary_lines(plan)


def summary_lines(plan: Plan) -> list[str]:
    limits = plan.limits
    cost = f"${plan.cost_usd:.4f}" if plan.cost_usd is not None else "unknown"
    ceiling = f"${plan.cost_ceiling_usd:.4f}" if plan.cost_ceiling_usd is not None else "unknown"
    return [
        f"Dry run: nothing was sent. {plan.display_name} (`{plan.agent}`) would get the task on {plan.model}.",
        "Plan:",
        f"  1. {plan.agent}, fresh mode: about {plan.input_tokens} input tokens "
        f"(memory notes: {len(plan.prompt.memories)}), answer up to {plan.max_tokens} tokens",
        f"  2. each `## Handoff Requests` block in its answer runs on the agent it names "
        f"(its escalations name: {', '.join(plan.may_hand_off_to) or 'nobody'})",
        f"  3. {plan.agent} continues with the results; at most {limits.max_rounds} rounds, "
        f"handoffs nest at most {limits.max_depth} deep, {limits.parallel} calls at once",
        f"  limits: calls {_limit(limits.max_calls)}, tokens {_limit(limits.max_tokens)}, "
        f"cost {_limit(limits.max_cost, '$')}",
        f"Estimate of the first call: {plan.input_tokens} input tokens; {cost} with a 2,000-token answer, "
        f"at most {ceiling} with a {plan.max_tokens}-token answer (prices: {plan.model}).",
        "Run the same command without --dry-run to make the calls (ANTHROPIC_API_KEY must be set).",
    ]


def _limit(value: float | None, unit: str = "") -> str:
    return "none" if value is None else f"{unit}{value}"


# --- progress -----------------------------------------------------------------------------------------


class Progress:
    """One line per event on stderr; on a terminal, a live tree of the calls instead."""

    def __init__(self, live: bool) -> None:
        self.live = live
        self.run_id: str | None = None
        self.tree: CallTree | None = None
        self._live: Any = None

    @classmethod
    def for_environment(cls, current: environment.Environment) -> Progress:
        return cls(current.stderr.isatty() and not current.environ.get("NO_COLOR"))

    def __enter__(self) -> Progress:
        if self.live:
            from rich.live import Live

            self.tree = CallTree()
            self._live = Live(self.tree, console=environment.current().console(stderr=True), refresh_per_second=8)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def event(self, event: dict[str, Any]) -> None:
        if event["event"] == "run_started":
            self.run_id = event.get("run_id")
        if self.tree is not None:
            self.tree.update(event)
            if event["event"] == "warning":
                environment.current().err(f"warning: {event['message']}")
            return
        line = progress_line(event)
        if line:
            environment.current().err(line)


def progress_line(event: dict[str, Any]) -> str | None:
    kind = event["event"]
    if kind == "run_started":
        return f"run {event.get('run_id')}: {event['agent']} on {json.dumps(event['task'][:80])}"
    if kind == "call_started":
        return f"[{event['call_id']}] {event['agent']} {event['mode']} started on {event['model']}"
    if kind == "call_finished":
        usage = event["usage"]
        cost = event.get("cost_usd")
        cost_text = f"${cost:.4f}" if cost is not None else "cost unknown"
        error = f": {event['error'].get('message')}" if event.get("error") else ""
        return (
            f"[{event['call_id']}] {event['status']} in {event['latency_ms']} ms, {usage['input_tokens']} in / "
            f"{usage['output_tokens']} out tokens (cache {usage['cache_read_input_tokens']} read, "
            f"{usage['cache_creation_input_tokens']} written), {cost_text}{error}"
        )
    if kind == "handoff":
        reason = f": {event['reason']}" if event.get("reason") else ""
        return f"handoff {event['from']} -> {event.get('to') or event['target']}: {event['status']}{reason}"
    if kind == "memory_saved":
        return f"memory: saved {event['path']}"
    if kind == "memory_refused":
        return f"memory: not saved ({event['topic']}): {event['reason']}"
    if kind == "warning":
        return f"warning: {event['message']}"
    if kind == "run_finished":
        return None  # the summary line says it
    return None


class CallTree:
    """The live view: each call under the call that asked for it, with its state, tokens, cost, time."""

    def __init__(self) -> None:
        import time

        self.clock = time.monotonic
        self.calls: dict[str, dict[str, Any]] = {}
        self.children: dict[str | None, list[str]] = {}

    def update(self, event: dict[str, Any]) -> None:
        if event["event"] == "call_started":
            self.calls[event["call_id"]] = dict(event, started_at=self.clock(), status="running")
            self.children.setdefault(event.get("parent"), []).append(event["call_id"])
        elif event["event"] == "call_finished" and event["call_id"] in self.calls:
            self.calls[event["call_id"]].update(event, ended_at=self.clock())

    def __rich__(self) -> Any:
        from rich.tree import Tree

        top = Tree("dispatch", guide_style="dim")
        self._add(top, None)
        return top

    def _add(self, node: Any, parent: str | None) -> None:
        for call_id in self.children.get(parent, []):
            self._add(node.add(self._label(self.calls[call_id])), call_id)

    def _label(self, call: dict[str, Any]) -> str:
        marks = {"running": "…", "ok": "✓", "replayed": "↺", "failed": "✗", "interrupted": "■"}
        elapsed = call.get("ended_at", self.clock()) - call["started_at"]
        usage = call.get("usage") or {}
        tokens = (
            f"{usage.get('input_tokens', 0) + usage.get('cache_read_input_tokens', 0)}→{usage.get('output_tokens', 0)}"
        )
        cost = call.get("cost_usd")
        cost_text = f"${cost:.4f}" if isinstance(cost, float) else ""
        return (
            f"{marks.get(call['status'], '?')} {call['agent']} ({call['mode']}, {call['call_id']}) "
            f"{call['status']} {elapsed:.1f}s {tokens if usage else ''} {cost_text}".rstrip()
        )


def register(app: typer.Typer) -> None:
    app.command("dispatch")(dispatch_command)
