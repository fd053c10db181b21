"""agentctl batch run TASKS.jsonl | status [ID] | results ID | cancel ID

With `--format json` every exit prints one JSON document: the batch's summary (run, status), its
tasks' results (results), the API batches asked to cancel (cancel), or the CLI boundary's error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentctl.cli import env as environment
from agentctl.cli.common import DataFormat, FormatOption, RootOption, settings_for, write_json
from agentctl.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from agentctl.batch.runner import BatchProgress

batch_app = typer.Typer(
    help="Many tasks through the team on the Message Batches API, at half the price.", no_args_is_help=True
)
BatchArgument = Annotated[str, typer.Argument(help="A batch id, a unique prefix of one, or 'last'.")]


@batch_app.command("run")
def run_command(
    tasks: Annotated[
        Path | None, typer.Argument(help='TASKS.jsonl: one {"task": ..., "agent"?: ..., "id"?: ...} per line.')
    ] = None,
    resume: Annotated[
        str | None, typer.Option("--resume", metavar="ID", help="Go on with a batch that was stopped or killed.")
    ] = None,
    max_cost: Annotated[
        float | None,
        typer.Option("--max-cost", help="USD for the whole batch, at batch prices [10]; checked before each round."),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Use this model for every agent.")] = None,
    no_memory: Annotated[bool, typer.Option("--no-memory", help="Leave memory notes out of prompts.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the first round's size and estimated cost; send nothing.")
    ] = False,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", min=0.01, help="Seconds before the first status check (doubles to 60).")
    ] = 5.0,
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """Run every task through the team, one round of calls per batch: first calls, then the
    handoffs they ask for, then continuations, until no task has work left or a limit is reached."""
    from agentctl.batch.runner import BatchOptions, run_batch
    from agentctl.batch.runner import dry_run as plan

    if (tasks is None) == (resume is None):
        raise UsageError("give TASKS.jsonl, or --resume ID", hint="agentctl batch run tasks.jsonl")
    current = environment.current()
    settings = settings_for(root)
    if tasks is not None and not tasks.is_absolute():
        tasks = current.cwd / tasks
    options = BatchOptions(tasks, resume, max_cost, model, None, not no_memory, poll_interval)
    if dry_run:
        if tasks is None:
            raise UsageError(
                "--dry-run takes TASKS.jsonl, not --resume", hint="agentctl batch run tasks.jsonl --dry-run"
            )
        planned = plan(settings, options, current.environ)
        if output is DataFormat.json:
            write_json(planned)
        else:
            _print_plan(planned)
        return ExitCode.OK
    progress = _ProgressView()
    outcome = run_batch(settings, options, current.environ, on_progress=progress)
    progress.close()
    if output is DataFormat.json:
        write_json(outcome.summary)
    else:
        _print_summary(outcome.summary)
    return outcome.exit_code


@batch_app.command("status")
def status_command(
    batch: BatchArgument = "last", output: FormatOption = DataFormat.text, root: RootOption = None
) -> int:
    """A batch's rounds, cost and tasks, as its record tells."""
    from agentctl.batch.record import find_batch
    from agentctl.batch.runner import batch_summary

    settings = settings_for(root)
    summary = batch_summary(settings, find_batch(settings.root, batch))
    if output is DataFormat.json:
        write_json(summary)
    else:
        _print_summary(summary)
    return ExitCode.OK


@batch_app.command("results")
def results_command(
    batch: BatchArgument = "last", output: FormatOption = DataFormat.text, root: RootOption = None
) -> int:
    """Every task's status and final answer."""
    from agentctl.batch.record import find_batch
    from agentctl.batch.runner import batch_results

    settings = settings_for(root)
    batch_id = find_batch(settings.root, batch)
    rows = batch_results(settings, batch_id)
    if output is DataFormat.json:
        write_json({"batch_id": batch_id, "results": rows})
        return ExitCode.OK
    current = environment.current()
    for row in rows:
        current.out(f"== {row['id']} ({row['agent'] or '?'}): {row['status']}")
        current.out((row.get("result") or row.get("error") or "").strip() or "(no answer)")
        current.out("")
    return ExitCode.OK


@batch_app.command("cancel")
def cancel_command(batch: BatchArgument, output: FormatOption = DataFormat.text, root: RootOption = None) -> int:
    """Ask the API to cancel the batch's batches still processing (their finished requests stay billed)."""
    from agentctl.batch.record import find_batch
    from agentctl.batch.runner import cancel_batch

    current = environment.current()
    settings = settings_for(root)
    batch_id = find_batch(settings.root, batch)
    canceled = cancel_batch(settings, batch_id, current.environ)
    if output is DataFormat.json:
        write_json({"batch_id": batch_id, "canceled": canceled})
    else:
        current.out(
            f"asked to cancel {len(canceled)} API batch(es) of {batch_id}"
            + (f": {', '.join(canceled)}" if canceled else "")
        )
    return ExitCode.OK


class _ProgressView:
    """On a terminal, one line per round that updates in place; elsewhere one line per change. Always
    on stderr: stdout holds the result (or the JSON document)."""

    def __init__(self) -> None:
        self.terminal = environment.current().stderr.isatty()
        self.open_line = False

    def __call__(self, progress: BatchProgress) -> None:
        current = environment.current()
        line = _progress_line(progress)
        if not self.terminal:
            current.err(line)
            return
        current.stderr.write("\r\x1b[2K" + line)
        current.stderr.flush()
        self.open_line = True
        if progress.phase in ("collected", "stopped"):
            current.stderr.write("\n")
            self.open_line = False

    def close(self) -> None:
        if self.open_line:
            environment.current().stderr.write("\n")


def _progress_line(progress: BatchProgress) -> str:
    done = progress.succeeded + progress.failed
    bar = _bar(done, progress.requests)
    text = (
        f"round {progress.round} {progress.phase:<10} {bar} {done}/{progress.requests} done, "
        f"{progress.processing} processing, {progress.failed} failed, "
        f"{progress.elapsed:.0f} s, ${progress.spent_usd:.4f}"
    )
    return text + (f" ({progress.note})" if progress.note else "")


def _bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total) if total else width
    return "[" + "#" * filled + "." * (width - filled) + "]"


def _print_plan(plan: dict[str, Any]) -> None:
    current = environment.current()
    first = plan["first_round"]
    current.out(f"{plan['tasks']} tasks; the first round: {first['requests']} requests, {first['bytes']:,} bytes")
    expected = first["cost_usd"]
    ceiling = first["cost_ceiling_usd"]
    current.out(
        f"estimated cost of the first round at batch prices: ${expected:.4f} (at most ${ceiling:.4f})"
        if expected is not None and ceiling is not None
        else "estimated cost: unknown (no price for " + ", ".join(first["unpriced_models"]) + ")"
    )
    current.out(f"the batch stops before a round that would pass --max-cost ${plan['max_cost_usd']:g}")
    for agent, count in plan["agents"].items():
        current.out(f"  {count:>6}  {agent}")
    for item in plan["unroutable"]:
        current.out(f"  line {item['line']} ({item['id']}): {item['error']}")


def _print_summary(summary: dict[str, Any]) -> None:
    current = environment.current()
    tasks = summary["tasks"]
    counts: dict[str, int] = {}
    for task in tasks:
        counts[task["status"]] = counts.get(task["status"], 0) + 1
    tally = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    current.out(f"batch {summary['batch_id']}: {summary['status']}; {len(tasks)} tasks ({tally})")
    for row in summary["rounds"]:
        current.out(
            f"  round {row['round']}: {row['requests']} requests, {row['succeeded']} succeeded, "
            f"{row['failed']} failed, {row.get('retried', 0)} retried, ${row['cost_usd']:.4f}"
        )
    current.out(f"cost ${summary['cost_usd']:.4f} at batch prices (cap ${summary['max_cost_usd']:g})")
    if summary["stopped"]:
        current.out(f"stopped: {summary['stopped']}")
    failed = [task for task in tasks if task["status"] in ("failed", "stopped")]
    for task in failed[:10]:
        current.out(f"  {task['id']}: {task['status']}: {task['error'] or ''}")
    current.out(f"answers: agentctl batch results {summary['batch_id']}; one task's calls: agentctl runs show RUN")


def register(app: typer.Typer) -> None:
    app.add_typer(batch_app, name="batch")
