"""agentctl runs list | show | report | resume: the records of past dispatches
(`<root>/.agentctl/runs/<run-id>/`).

Every command of the group finds the runs folder with `_runs_dir` and a run with `_resolve`
(exact id, unique prefix, or "last"); a new command is one more function on `runs_app`.
"""

import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentctl.cli import env as environment
from agentctl.cli.callview import compact, dollars, printable, tool_lines, work_text
from agentctl.cli.common import (
    PROVIDERS_HELP,
    AllowedToolsOption,
    DataFormat,
    DisallowedToolsOption,
    FormatOption,
    PermissionModeOption,
    ProviderName,
    RootOption,
    columns,
    settings_for,
    write_json,
)
from agentctl.errors import ExitCode, UsageError
from agentctl.textlines import shorten

if TYPE_CHECKING:
    from agentctl.runs import AgentTotal, CallRecord, RunRecord, RunSummary

runs_app = typer.Typer(
    help="Records of past dispatches: list them, show one, write one as an HTML page, resume one.",
    no_args_is_help=True,
)

RunArgument = Annotated[str, typer.Argument(help="A run id, a unique prefix of one, or 'last'.")]
TREE_BRANCH, TREE_LAST = "\u251c\u2500 ", "\u2514\u2500 "  # ├─  └─
TREE_BELOW = {"": "", TREE_BRANCH: "\u2502  ", TREE_LAST: "   "}  # what runs down past each branch


def _runs_dir(root: Path | None) -> Path:
    return settings_for(root).runs_dir


def _resolve(root: Path | None, wanted: str) -> tuple[Path, str]:
    """The runs folder and the id of the run that `wanted` names (exit 2 when none or several)."""
    from agentctl.runs import find_run

    runs_dir = _runs_dir(root)
    return runs_dir, find_run(runs_dir, wanted)


@runs_app.command("list")
def list_command(
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Show at most N, newest first.")] = None,
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """List the runs, newest first."""
    from agentctl.runs import list_runs

    runs_dir = _runs_dir(root)
    runs = list_runs(runs_dir, limit)
    current = environment.current()
    if output is DataFormat.json:
        write_json({"runs": [run.to_json() for run in runs]})
        return ExitCode.OK
    if not runs:
        current.out(f"no runs yet in {_shown(runs_dir)}: each `agentctl dispatch` records one there")
        return ExitCode.OK
    header = ["id", "when", "agent", "status", "calls", "tokens", "cost", "task"]
    current.out(columns([_list_row(run) for run in runs], header))
    current.err(f"{len(runs)} run(s)")
    return ExitCode.OK


def _list_row(run: "RunSummary") -> list[str]:
    return [
        run.run_id,
        _when(run.started),
        run.agent or "?",
        run.status,
        str(run.calls),
        compact(run.total_tokens),
        _cost(run.cost_usd, run.cost_complete),
        shorten(run.task, 60),
    ]


@runs_app.command("show")
def show_command(run: RunArgument, output: FormatOption = DataFormat.text, root: RootOption = None) -> int:
    """Show one run: its calls as a tree (with what each session did: turns, tool uses, warnings), tokens
    and cost per agent and per model, and the result."""
    from agentctl.runs import load_run

    record = load_run(*_resolve(root, run))
    if output is DataFormat.json:
        write_json(record.to_json())
    else:
        environment.current().out("\n".join(_show_lines(record)))
    return ExitCode.OK


@runs_app.command("report")
def report_command(
    run: RunArgument,
    output_file: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE|-",
            help="Write the page to FILE (default: report-<run id>.html in the working directory); - writes it "
            "on stdout.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists (a regular file only).")] = False,
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """Write one self-contained HTML page for a run (or a batch: every task's status and cost in a
    sortable table): the tree of calls, a timeline of who waited for
    whom, tokens and cost per agent and per model, failures, warnings, limits and the final answer.

    The page loads nothing (no network, no fonts, no scripts from elsewhere): open it in any browser,
    attach it to an issue. An existing FILE is left alone unless --force."""
    from agentctl.report import run_report_html, write_report
    from agentctl.runs import load_run
    from agentctl.walk import display_path

    current = environment.current()
    if output_file == "-" and output is DataFormat.json:
        raise UsageError("-o - writes the page on stdout, where --format json writes its document", hint=_PICK_ONE)
    batch_id = _batch_named(root, run)
    if batch_id is not None:
        from agentctl.batch.runner import batch_summary
        from agentctl.report import batch_report_html

        page, name, what = batch_report_html(batch_summary(settings_for(root), batch_id)), batch_id, "batch"
    else:
        record = load_run(*_resolve(root, run))
        page, name, what = run_report_html(record), record.run_id, "run"
    if output_file == "-":
        current.stdout.write(page)
        return ExitCode.OK
    target = Path(current.cwd, output_file or f"report-{name}.html")
    size = write_report(target, page, force=force)
    shown = display_path(target, current.cwd)
    if output is DataFormat.json:
        write_json({f"{what}_id": name, "path": shown, "bytes": size})
    else:
        current.out(f"wrote {shown}: {what} {name}, {size:,} bytes")
    return ExitCode.OK


def _batch_named(root: Path | None, wanted: str) -> str | None:
    """The batch `wanted` names, when it names no run: a batch id or a unique prefix of one (`last`
    stays the last run)."""
    from agentctl.batch.record import batch_ids

    settings = settings_for(root)
    ids = batch_ids(settings.root)
    if not wanted or wanted.lower() in ("last", "latest") or not ids:
        return None
    if wanted in ids:  # a batch's own id (its tasks' runs start with it)
        return wanted
    from agentctl.runs import find_run

    try:
        find_run(settings.runs_dir, wanted)
        return None
    except UsageError:
        matches = [batch_id for batch_id in ids if batch_id.startswith(wanted)]
        return wanted if wanted in matches else matches[0] if len(matches) == 1 else None


_PICK_ONE = "give -o a file name with --format json, or leave --format json out"


def _show_lines(record: "RunRecord") -> list[str]:
    sections = [_header(record), _calls(record), _handoffs(record), _per_agent(record), _per_model(record)]
    sections.append(_notes(record))
    lines: list[str] = []
    for section in sections:
        if section:
            lines += [*section, ""]
    return lines + _result(record)


def _header(record: "RunRecord") -> list[str]:
    status = record.status + (f" (exit {record.exit_code})" if record.exit_code is not None else "")
    if record.status == "incomplete":
        status += ": no run_finished event (killed, or still running)"
    fields = [("status", status), ("reason", record.reason), ("agent", record.agent or "?")]
    fields += [("task", _indented(record.task or "?")), ("started", _when(record.started, seconds=True))]
    fields += [("finished", _finished(record)), ("resumed from", record.resumed_from)]
    return [f"run {record.run_id}"] + [f"  {label:<13}{value}" for label, value in fields if value]


def _finished(record: "RunRecord") -> str | None:
    from agentctl.runs import duration_text

    if not record.finished:
        return None
    took = _seconds_between(record.started, record.finished)
    return _when(record.finished, seconds=True) + (f" (took {duration_text(took * 1000)})" if took is not None else "")


def _calls(record: "RunRecord") -> list[str]:
    if not record.calls:
        return ["no calls"]
    header = ["call", "mode", "model", "status", "in", "out", "cache read", "cache write", "cost", "time"]
    rows = [[branch + f"{call.id} {call.agent}", *_call_cells(call)] for branch, call in _tree(record.calls)]
    work = [line for call in record.calls for line in _work_lines(call)]
    errors = [f"{call.id} {call.agent} {call.status}: {_error_text(call)}" for call in record.calls if _says(call)]
    return [columns(rows, header), *work, *errors]


def _work_lines(call: "CallRecord") -> list[str]:
    """What a call's provider said of its work (one that runs the agent itself): its turns and tool
    uses, each tool use's summary (the first ten), and the call's warnings (a tool use that was
    denied, an answer cut short)."""
    # A session that failed reports no count; its tool_use events still say what it did.
    tool_uses = call.tool_uses if call.tool_uses is not None else len(call.tools) or None
    work = work_text(call.turns, tool_uses)
    below = [*tool_lines(call.tools), *(f"warning: {printable(warning)}" for warning in call.warnings)]
    if work is None and not below:
        return []
    return [f"{call.id} {call.agent}" + (f": {work}" if work else ""), *(f"  {line}" for line in below)]


def _says(call: "CallRecord") -> bool:
    """Whether the call's error says more than its status (an interrupted call's does not)."""
    error = call.error or {}
    return bool(error.get("message")) or error.get("kind") not in (None, call.status)


def _call_cells(call: "CallRecord") -> list[str]:
    from agentctl.runs import duration_text

    usage = call.usage
    kind = (call.error or {}).get("kind")
    kind = kind if kind != call.status else None
    cost = "-" if call.cost_usd is None and not usage.total_tokens else _cost(call.cost_usd, True)
    return [
        call.mode,
        call.model or "?",
        call.status + (f" ({kind})" if kind else ""),
        f"{usage.input_tokens:,}",
        f"{usage.output_tokens:,}",
        f"{usage.cache_read_input_tokens:,}",
        f"{usage.cache_creation_input_tokens:,}",
        cost,
        duration_text(call.latency_ms),
    ]


def _error_text(call: "CallRecord") -> str:
    error = call.error or {}
    return ": ".join(str(part) for part in (error.get("kind"), error.get("message")) if part) or "failed"


def _tree(calls: "list[CallRecord]") -> "list[tuple[str, CallRecord]]":
    """The calls in start order below their parents, each with the branch drawn before it."""
    ids = {call.id for call in calls}
    children: dict[str, list[CallRecord]] = {}
    roots = []
    for call in calls:
        if call.parent in ids and call.parent != call.id:
            children.setdefault(call.parent, []).append(call)
        else:
            roots.append(call)
    rows: list[tuple[str, CallRecord]] = []
    seen: set[int] = set()
    stack = [(call, "", "") for call in reversed(roots)]  # iterative: a damaged log may nest deep
    while stack:
        call, lead, branch = stack.pop()
        if id(call) not in seen:
            seen.add(id(call))
            rows.append((lead + branch, call))
            below, kids = lead + TREE_BELOW[branch], children.get(call.id, [])
            branches = [TREE_BRANCH] * (len(kids) - 1) + [TREE_LAST]
            stack += [(kid, below, mark) for kid, mark in zip(kids[::-1], branches[::-1], strict=False)]
    # Calls whose parents form a loop (only a damaged log has one) are still shown.
    return rows + [("? ", call) for call in calls if id(call) not in seen]


def _handoffs(record: "RunRecord") -> list[str]:
    if not record.handoffs:
        return []
    rows = [
        [
            f"{handoff.from_call or '?'} {handoff.from_agent or '?'}",
            handoff.to or repr(handoff.target),
            handoff.status + (f" ({handoff.reason})" if handoff.reason else ""),
            handoff.call_id or "-",
            shorten(handoff.task, 60),
        ]
        for handoff in record.handoffs
    ]
    return [columns(rows, ["handoff from", "to", "status", "call", "task"])]


TOTALS_HEADER = ["calls", "in", "out", "cache read", "cache write", "cost"]


def _per_agent(record: "RunRecord") -> list[str]:
    """Calls, tokens and cost per agent, and the run's total."""
    totals = record.by_agent()
    if not totals:
        return []
    grand = record.total()
    calls = sum(total.calls for total in totals)
    rows = [*_total_rows(totals), _row("total", calls, grand, _cost(grand["cost_usd"], grand["cost_complete"]))]
    lines = [columns(rows, ["agent", *TOTALS_HEADER])]
    if not grand["cost_complete"]:
        lines.append("+ some calls used a model without a price: the cost shown is a lower bound")
    return lines


def _per_model(record: "RunRecord") -> list[str]:
    """Calls, tokens and cost per model (the run's total is under the agents)."""
    totals = record.by_model()
    return [columns(_total_rows(totals), ["model", *TOTALS_HEADER])] if totals else []


def _total_rows(totals: "list[AgentTotal]") -> list[list[str]]:
    """One row per agent or model."""
    return [
        _row(total.agent, total.calls, total.usage.to_json(), _cost(total.cost_usd, total.cost_complete))
        for total in totals
    ]


def _row(name: str, calls: int, usage: dict[str, Any], cost: str) -> list[str]:
    return [name, str(calls), *_usage_cells(usage), cost]


def _usage_cells(usage: dict[str, Any]) -> list[str]:
    keys = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    return [f"{usage[key]:,}" for key in keys]


def _notes(record: "RunRecord") -> list[str]:
    lines = [f"warning: {warning}" for warning in record.warnings]
    for wait in record.waits:
        seconds = f"{wait.seconds:g} s" if wait.seconds is not None else "a while"
        attempt = f" before attempt {wait.attempt}" if wait.attempt is not None else ""
        lines.append(f"{wait.call_id or '?'} waited {seconds}{attempt}: {wait.reason or 'no reason given'}")
    for note in record.memory:
        what = note.path if note.status == "saved" else repr(note.topic or "?")
        why = f" ({note.reason})" if note.reason else ""
        lines.append(f"memory {note.status}: {note.agent or '?'}: {what or '?'}{why}")
    return lines + [f"record problem: {problem}" for problem in record.problems]


def _result(record: "RunRecord") -> list[str]:
    path = record.result_path
    where = f"(saved as {_shown(path)})" if path else None
    if record.result is None:
        return [f"no result {where}" if where else "no result"]
    return [p for p in ("result:", record.result.rstrip("\n"), where) if p is not None]


# Formatting


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it lies below it."""
    try:
        return str(path.relative_to(environment.current().cwd))
    except ValueError:
        return str(path)


def _indented(text: str) -> str:
    """A multi-line value under its label: later lines line up with the first."""
    return "\n".join(text.strip("\n").splitlines()).replace("\n", "\n" + " " * 15)


def _parse_time(value: str | None) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _when(value: str | None, seconds: bool = False) -> str:
    """A recorded time as written by the run's clock, without the noise of microseconds."""
    moment = _parse_time(value)
    if moment is None:
        return value or "?"
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _seconds_between(start: str | None, end: str | None) -> float | None:
    first, last = _parse_time(start), _parse_time(end)
    try:
        return (last - first).total_seconds() if first and last else None
    except TypeError:  # one time has a zone and the other not
        return None


def _cost(value: float | None, complete: bool) -> str:
    """Dollars; "+" marks a lower bound (a call without a price), "?" no price at all."""
    if value is None:
        return "?"
    return dollars(value) + ("" if complete else "+")


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")


@runs_app.command("resume")
def resume_command(
    run: RunArgument,
    provider: Annotated[
        ProviderName | None,
        typer.Option(
            "--provider", help=f"Use this provider instead of the run's ({PROVIDERS_HELP}).", case_sensitive=False
        ),
    ] = None,
    script: Annotated[Path | None, typer.Option("--script", help="The scripted provider's replies.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Use this model for the calls still to make.")] = None,
    permission_mode: PermissionModeOption = None,
    allowed_tools: AllowedToolsOption = None,
    disallowed_tools: DisallowedToolsOption = None,
    output: FormatOption = DataFormat.text,
    root: RootOption = None,
) -> int:
    """Run an interrupted or failed run again; calls that completed are replayed, not repeated.

    A claude-code run resumes the sessions its finished calls ran in. Permissions are never read back
    from the record: give --permission-mode again for a run that could edit."""
    from agentctl.cli.dispatch_cmd import run_and_report
    from agentctl.dispatch import permissions_from, resume_options

    settings = settings_for(root)
    script_path = environment.current().cwd / script if script else None
    permissions = permissions_from(settings, permission_mode, allowed_tools, disallowed_tools)
    options = resume_options(
        settings,
        run,
        provider=provider.value if provider else None,
        script=script_path,
        model=model,
        permissions=permissions,
    )
    return run_and_report(settings, options, output)
