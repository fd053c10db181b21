"""Reading run records: a run folder -> RunRecord (calls, handoffs, totals), the list of runs, a run by name.

Readers never fail on a damaged record: a missing or unreadable file, a bad line, an event that
contradicts the ones before it become `problems` of the record, in reading order. The lines are read
as agentctl.events (parse_event); a kind this version does not know is skipped.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentctl.bounds import RUN_FILE_BYTES
from agentctl.errors import AgentctlError, UsageError
from agentctl.events import (
    BadEvent,
    CallFinished,
    CallStarted,
    Event,
    Handoff,
    MemoryRefused,
    MemorySaved,
    RunFinished,
    RunStarted,
    RunWarning,
    ToolUse,
    Waiting,
    as_str,
    never_started,
    parse_event,
)
from agentctl.fsutil import read_bounded
from agentctl.providers.base import Usage
from agentctl.records import field, fields_of, record
from agentctl.runs.layout import (
    EVENTS_FILE,
    LIST_HINT,
    RESULT_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    is_plain_name,
    run_directory,
)

NEWEST = ("last", "latest")
FINISHED_CALL = ("ok", "replayed")  # what resume may reuse


@record
class CallRecord:
    """One agent call: its `call_started` event, completed by its `call_finished` when there is one."""

    id: str
    key: str | None
    parent: str | None
    agent: str
    mode: str
    model: str | None
    depth: int
    task: str | None
    prompt_hash: str | None
    started: str | None
    status: str = "running"  # no call_finished (yet): in flight, or the run was killed
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    latency_ms: int | None = None
    output: str | None = None
    error: dict[str, Any] | None = None
    finished: str | None = None
    warnings: list[str] = field(default_factory=list)
    session_id: str | None = None  # the provider's own session: a continuation of a replay resumes it
    turns: int | None = None  # the provider's own turns and tool uses, when it reports them
    tool_uses: int | None = None
    tools: list[str] = field(default_factory=list)  # each tool use's summary, in order (tool_use events)

    @property
    def spent(self) -> bool:
        """Whether this call's tokens and cost were spent here (a replayed call's were spent before)."""
        return self.status != "replayed"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent": self.parent,
            "agent": self.agent,
            "mode": self.mode,
            "model": self.model,
            "usage": self.usage.to_json(),
            "cost_usd": self.cost_usd,
            "latency_ms": self.latency_ms,
            "status": self.status,
            "key": self.key,
            "depth": self.depth,
            "task": self.task,
            "error": self.error,
        } | self._optional_json()

    def _optional_json(self) -> dict[str, Any]:
        """What a provider said of the call beyond its answer, only when it said it: a session's id, turns
        and tool uses (claude-code), and its warnings (a tool use that was denied)."""
        said = {"session_id": self.session_id, "turns": self.turns, "tool_uses": self.tool_uses}
        listed = {"tools": self.tools, "warnings": self.warnings}
        return {key: value for key, value in said.items() if value is not None} | {
            key: value for key, value in listed.items() if value
        }


def handoff_json(handoff: Handoff) -> dict[str, Any]:
    """A handoff in a run's JSON: its event's fields, as its last event left them."""
    return {key: value for key, value in handoff.to_json().items() if key != "event"}


@record
class MemoryRecord:
    """A memory note an agent's answer asked to save: where it was written, or why it was not."""

    agent: str | None
    status: str  # saved, refused
    path: str | None  # relative to the root, as the engine reported it; None when refused
    topic: str | None
    reason: str | None
    call_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "path": self.path,
            "status": self.status,
            "reason": self.reason,
            "call_id": self.call_id,
            "topic": self.topic,
        }


@record
class WaitRecord:
    """A pause before a call's retry (a 429's retry-after, an overload backoff)."""

    call_id: str | None
    seconds: float | None
    attempt: int | None
    reason: str | None


@record
class AgentTotal:
    """Calls, tokens and cost of one agent, or of one model (`by` names which)."""

    agent: str  # the agent's name, or the model's id
    calls: int
    usage: Usage
    cost_usd: float | None
    cost_complete: bool
    by: str = "agent"

    def to_json(self) -> dict[str, Any]:
        return {
            self.by: self.agent,
            "calls": self.calls,
            "usage": self.usage.to_json(),
            "cost_usd": self.cost_usd,
            "cost_complete": self.cost_complete,
        }


@record
class RunSummary:
    """One row of `agentctl runs list`."""

    run_id: str
    started: str | None
    agent: str | None
    task: str  # its first line, shortened
    status: str
    calls: int
    input_tokens: int
    output_tokens: int
    total_tokens: int  # cached tokens too: what --max-tokens counts
    cost_usd: float | None
    cost_complete: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started": self.started,
            "agent": self.agent,
            "task": self.task,
            "status": self.status,
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": self.cost_usd,
            "cost_complete": self.cost_complete,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSummary | None:
        """A cached summary, or None when it does not have the shape this version writes."""
        try:
            summary = cls(**{name: data[name] for name in fields_of(cls)})
        except (KeyError, TypeError):
            return None
        numbers = (summary.calls, summary.input_tokens, summary.output_tokens, summary.total_tokens)
        valid = isinstance(summary.run_id, str) and all(isinstance(number, int) for number in numbers)
        return summary if valid else None


@record
class RunRecord:
    """A run as its files tell it. `status` is "incomplete" when no run_finished closes the log."""

    run_id: str
    directory: Path
    meta: dict[str, Any]  # run.json
    calls: list[CallRecord] = field(default_factory=list)
    handoffs: list[Handoff] = field(default_factory=list)  # each request as its last event left it
    status: str = "incomplete"
    result: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    problems: list[str] = field(default_factory=list)  # damaged lines and files, in reading order
    started: str | None = None
    finished: str | None = None
    info: dict[str, Any] = field(default_factory=dict)  # the last run_started event
    warnings: list[str] = field(default_factory=list)
    memory: list[MemoryRecord] = field(default_factory=list)  # memory_saved / memory_refused events
    waits: list[WaitRecord] = field(default_factory=list)  # waiting events: retries after a pause

    @property
    def agent(self) -> str | None:
        return as_str(self.info.get("agent")) or as_str(self.meta.get("agent"))

    @property
    def task(self) -> str | None:
        return as_str(self.info.get("task")) or as_str(self.meta.get("task"))

    @property
    def resumed_from(self) -> str | None:
        return as_str(self.info.get("resumed_from")) or as_str(self.meta.get("resumed_from"))

    @property
    def result_path(self) -> Path | None:
        path = self.directory / RESULT_FILE
        return path if path.is_file() else None

    def total(self) -> dict[str, Any]:
        """Tokens and cost spent. `cost_usd` sums the known costs; `cost_complete` is False when a
        call that used tokens has no price (its model is not in the table), and `cost_usd` is null
        when no such call has a price at all."""
        usage, cost, complete = _tally(self.calls)
        return {"cost_usd": cost, **usage.to_json(), "cost_complete": complete}

    def by_agent(self) -> list[AgentTotal]:
        """Calls, tokens and cost per agent, in the order the agents first appear."""
        return self._totals("agent")

    def by_model(self) -> list[AgentTotal]:
        """Calls, tokens and cost per model, in the order the models first appear."""
        return self._totals("model")

    def _totals(self, by: str) -> list[AgentTotal]:
        groups: dict[str, list[CallRecord]] = {}
        for call in self.calls:
            name = call.agent if by == "agent" else call.model or "unknown"
            groups.setdefault(name, []).append(call)
        totals = []
        for name, calls in groups.items():
            usage, cost, complete = _tally(calls)
            totals.append(AgentTotal(name, sum(call.spent for call in calls), usage, cost, complete, by))
        return totals

    def completed_calls(self) -> dict[str, CallRecord]:
        """Structural key -> the last call under it that finished well: what a resume reuses."""
        return {call.key: call for call in self.calls if call.key and call.status in FINISHED_CALL}

    def summary(self) -> RunSummary:
        usage, cost, complete = _tally(self.calls)
        return RunSummary(
            self.run_id,
            self.started,
            self.agent,
            first_line(self.task or ""),
            self.status,
            sum(call.spent for call in self.calls),
            usage.input_tokens,
            usage.output_tokens,
            usage.total_tokens,
            cost,
            complete,
        )

    def to_json(self) -> dict[str, Any]:
        """The dispatch JSON contract of DESIGN.md, plus keys a reader of a past run wants."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "agent": self.agent,
            "result": self.result,
            "calls": [call.to_json() for call in self.calls],
            "handoffs": [handoff_json(handoff) for handoff in self.handoffs],
            "total": self.total(),
            "by_agent": [total.to_json() for total in self.by_agent()],
            "by_model": [total.to_json() for total in self.by_model()],
            "task": self.task,
            "started": self.started,
            "finished": self.finished,
            "resumed_from": self.resumed_from,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "warnings": self.warnings,
            "problems": self.problems,
            "memory": [note.to_json() for note in self.memory],
        }


def _tally(calls: Iterable[CallRecord]) -> tuple[Usage, float | None, bool]:
    """Usage and cost of the calls that spent them; see RunRecord.total for the cost rules."""
    usage, costs, complete = Usage(), [], True
    for call in calls:
        if not call.spent:
            continue
        usage = usage + call.usage
        if call.cost_usd is not None:
            costs.append(call.cost_usd)
        elif call.usage.total_tokens:  # a call that failed before any token cost nothing
            complete = False
    cost = round(sum(costs), 6) if costs or complete else None  # rounding hides float noise
    return usage, cost, complete


def first_line(text: str, width: int = 100) -> str:
    """The first non-blank line of `text`, spaces collapsed, cut to `width` characters."""
    line = next((" ".join(line.split()) for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "\u2026"


def duration_text(milliseconds: float | None) -> str:
    """A call's or a run's time as people read it: `840 ms`, `1.2 s`, `4m12s`; `-` when unknown
    (`runs show` and the report page)."""
    if milliseconds is None:
        return "-"
    if milliseconds < 1000:
        return f"{milliseconds:.0f} ms"
    if milliseconds < 60_000:
        return f"{milliseconds / 1000:.1f} s"
    minutes, rest = divmod(round(milliseconds / 1000), 60)
    return f"{minutes}m{rest:02d}s"


def load_run(runs_dir: Path, run_id: str) -> RunRecord:
    """Read one run. Damaged files or lines become `problems`; only a missing run is an error."""
    return read_run(run_directory(runs_dir, run_id))


def list_runs(runs_dir: Path, limit: int | None = None) -> list[RunSummary]:
    """The runs, newest first (run ids sort by start time). Closed runs are read from their
    summary.json; runs still going, killed, or resumed since, from their log."""
    return [_summary_of(runs_dir / run_id) for run_id in _run_ids(runs_dir)[:limit]]


def find_run(runs_dir: Path, wanted: str) -> str:
    """The run id that `wanted` names: an exact id, a unique prefix, or "last"/"latest"."""
    ids = _run_ids(runs_dir)
    if not ids:
        raise UsageError(f"no runs yet in {runs_dir}", hint="`agentctl dispatch` records one")
    return pick_id(ids, wanted, ("run", "runs"), f"no run {wanted!r} in {runs_dir}", LIST_HINT)


def pick_id(ids: list[str], wanted: str, noun: tuple[str, str], missing: str, hint: str) -> str:
    """The id of `ids` (newest first) that `wanted` names: an exact id, a unique prefix, or
    "last"/"latest"; UsageError `missing` (with `hint`) or naming the ids a short prefix matches.
    Runs and batches are named the same way; `noun` is what an id names, singular and plural."""
    if wanted.lower() in NEWEST:
        return ids[0]
    matches = [known for known in ids if known.startswith(wanted)] if wanted else []
    if wanted in matches or len(matches) == 1:
        return wanted if wanted in matches else matches[0]
    if not matches:
        raise UsageError(missing, hint=hint)
    shown = ", ".join(matches[:8]) + (f" and {len(matches) - 8} more" if len(matches) > 8 else "")
    raise UsageError(f"{wanted!r} matches {len(matches)} {noun[1]}: {shown}", hint=f"give more of the {noun[0]} id")


def _run_ids(runs_dir: Path) -> list[str]:
    try:
        with os.scandir(runs_dir) as entries:
            names = [entry.name for entry in entries if is_plain_name(entry.name) and entry.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as error:
        raise AgentctlError(f"cannot read the runs folder {runs_dir}: {error.strerror}") from None
    return sorted(names, reverse=True)


def read_run(directory: Path) -> RunRecord:
    """A run folder as a RunRecord (the recorder reads it too, for summary.json)."""
    problems: list[str] = []
    record = RunRecord(directory.name, directory, _read_meta(directory, problems), problems=problems)
    builder = _Builder(record)
    for event, line in event_lines(_read_log(directory, problems), problems):
        builder.apply(event, line)
    record.started = record.started or as_str(record.meta.get("created"))
    return record


def _read_meta(directory: Path, problems: list[str]) -> dict[str, Any]:
    try:
        meta = json.loads(read_bounded(directory / RUN_FILE, RUN_FILE_BYTES))
    except FileNotFoundError:
        problems.append(f"{RUN_FILE} is missing")
        return {}
    except (OSError, ValueError) as error:
        problems.append(f"{RUN_FILE} cannot be read: {getattr(error, 'strerror', None) or error}")
        return {}
    if not isinstance(meta, dict):
        problems.append(f"{RUN_FILE} is not a JSON object")
        return {}
    return meta


def _read_log(directory: Path, problems: list[str]) -> bytes:
    try:
        return read_bounded(directory / EVENTS_FILE, RUN_FILE_BYTES)
    except FileNotFoundError:
        problems.append(f"{EVENTS_FILE} is missing")
    except OSError as error:
        problems.append(f"{EVENTS_FILE} cannot be read: {error.strerror}")
    return b""


def event_lines(data: bytes, problems: list[str]) -> list[tuple[dict[str, Any], int]]:
    """The JSON objects of a log that are events, with their line numbers; each bad line becomes a
    problem. What an event holds is agentctl.events' to read (the recorder only needs their `seq`)."""
    lines = data.split(b"\n")
    events = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
        except ValueError:  # bad JSON or bad UTF-8
            # The last piece has no newline after it: the writer stopped in the middle of it.
            cut = number == len(lines)
            problems.append(f"{EVENTS_FILE} line {number}: " + ("cut short" if cut else "not valid JSON"))
            continue
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            problems.append(f"{EVENTS_FILE} line {number}: not an event")
            continue
        events.append((event, number))
    return events


class _Builder:
    """Folds the events of a log into a RunRecord."""

    def __init__(self, record: RunRecord) -> None:
        self.record = record
        self.calls: dict[str, CallRecord] = {}
        self.handoffs: dict[tuple[str | None, str, str], Handoff] = {}

    def apply(self, data: dict[str, Any], line: int) -> None:
        try:
            event = parse_event(data)
        except BadEvent as bad:
            return self.problem(line, str(bad))
        if event is not None:  # None: a kind this version does not know (a newer writer's): skipped
            self.fold(event, as_str(data.get("time")), line)
        return None

    def fold(self, event: Event, time: str | None, line: int) -> None:
        """One event, written at `time` (the recorder's stamp), into the record."""
        match event:
            case RunStarted():
                self.run_started(event, time)
            case CallStarted():
                self.call_started(event, time, line)
            case CallFinished():
                self.call_finished(event, time, line)
            case Handoff():
                self.handoff(event)
            case MemorySaved() | MemoryRefused():
                self.memory(event)
            case ToolUse():
                self.tool_use(event)
            case Waiting():
                self.record.waits.append(WaitRecord(event.call_id, event.seconds, event.attempt, event.reason))
            case RunWarning():
                self.record.warnings.append(event.message)
            case RunFinished():
                self.run_finished(event, time)

    def problem(self, line: int, text: str) -> None:
        self.record.problems.append(f"{EVENTS_FILE} line {line}: {text}")

    def run_started(self, event: RunStarted, time: str | None) -> None:
        record = self.record
        record.info = {key: value for key, value in event.to_json().items() if key != "event"}
        record.started = record.started or time  # a resume keeps the first start
        # A resumed run is unfinished again until its own run_finished.
        record.status, record.result, record.finished = "incomplete", None, None
        record.exit_code = record.reason = None

    def call_started(self, event: CallStarted, time: str | None, line: int) -> None:
        if event.call_id in self.calls:
            self.problem(line, f"call {event.call_id} started twice; the later one is kept")
        call = CallRecord(
            id=event.call_id,
            key=event.key,
            parent=event.parent,
            agent=event.agent,
            mode=event.mode,
            model=event.model,
            depth=event.depth,
            task=event.task,
            prompt_hash=event.prompt_hash,
            started=time,
        )
        self.record.calls.append(call)
        self.calls[event.call_id] = call

    def call_finished(self, event: CallFinished, time: str | None, line: int) -> None:
        call = self.calls.get(event.call_id)
        if call is None:
            return self.problem(line, never_started(event.call_id))
        call.status = event.status
        if event.usage_problem is None:
            call.usage = event.usage
        else:
            self.problem(line, f"call {call.id}: usage is not a set of token counts ({event.usage_problem})")
        call.cost_usd, call.latency_ms, call.output = event.cost_usd, event.latency_ms, event.output
        call.error, call.finished, call.warnings = event.error, time, event.warnings
        call.session_id, call.turns, call.tool_uses = event.session_id, event.turns, event.tool_uses
        return None

    def tool_use(self, event: ToolUse) -> None:
        call = self.calls.get(event.call_id or "")
        if call is not None:
            call.tools.append(event.summary or event.tool)

    def handoff(self, event: Handoff) -> None:
        new = copy.copy(event)  # the record's entry moves on with later events; the event stays as read
        known = self.handoffs.get((new.from_call, new.target, new.task))
        if known is None:
            self.handoffs[(new.from_call, new.target, new.task)] = new
            self.record.handoffs.append(new)
            return
        # A later event on the same request moves it on (dispatched -> ok / failed).
        known.status, known.reason = new.status, new.reason
        known.to, known.call_id = new.to or known.to, new.call_id or known.call_id

    def memory(self, event: MemorySaved | MemoryRefused) -> None:
        if isinstance(event, MemorySaved):
            note = MemoryRecord(event.agent, "saved", event.path, None, None, event.call_id)
        else:
            note = MemoryRecord(event.agent, "refused", None, event.topic, event.reason, event.call_id)
        self.record.memory.append(note)

    def run_finished(self, event: RunFinished, time: str | None) -> None:
        record = self.record
        record.status, record.result = event.status, event.result
        record.exit_code, record.reason, record.finished = event.exit_code, event.reason, time


def _summary_of(directory: Path) -> RunSummary:
    cached = _cached_summary(directory)
    return cached if cached is not None else read_run(directory).summary()


def _cached_summary(directory: Path) -> RunSummary | None:
    """summary.json, if it describes the log as it is now (same size: nothing appended since)."""
    try:
        data = json.loads(read_bounded(directory / SUMMARY_FILE, RUN_FILE_BYTES))
        size = (directory / EVENTS_FILE).stat().st_size
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("events_size") != size:
        return None
    return RunSummary.from_json(data)
