"""The events of a run: one class per kind, from the engine to events.jsonl, the live view and back.

The engine emits them (engine.Engine._emit); the recorder writes each as one JSON line (`to_json`,
stamped with its `seq` and `time`: runs/recorder.py); `agentctl dispatch` shows them as they come
(cli/dispatch_cmd.py); the runs reader folds the lines back into a RunRecord (`parse_event`:
runs/reader.py). `to_json` is the format of a line, byte for byte: the keys in that order, the
optional ones only when they are set. DESIGN.md ("Conventions users see") lists what each holds.

A log is a file anyone can edit, so `from_json` reads a wrong type as absent, and raises BadEvent
(whose message is the record's problem) only for a line that cannot be its kind at all. A kind this
version does not know (a newer writer's) reads as None and is skipped.

A new kind is a class here (`kind`, its fields, `to_json`, `from_json`), an entry in EVENT_TYPES,
and its handling where it matters: the reader's `_Builder.fold`, the live view's `progress_line`,
`RunTally` and `CallTree`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Protocol, Self

from agentctl.providers.base import BadUsage, Usage
from agentctl.records import field, record

STAMPS = ("event", "seq", "time")  # the keys every line has: its kind, and what the recorder adds


class Event(Protocol):
    """What every kind has: its name (the `event` key of its line), and its line both ways."""

    kind: ClassVar[str]

    def to_json(self) -> dict[str, Any]: ...

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self: ...


class BadEvent(ValueError):
    """A line of a known kind that cannot be read as one; its message is the problem to report."""


@record
class RunStarted:
    """A run, or a resume of one, begins: its id and what it was asked to do (run.json's meta,
    whose keys are flattened into the line: agent, task, provider, limits, resumed_from...)."""

    kind: ClassVar[str] = "run_started"
    run_id: str | None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def agent(self) -> str | None:
        return as_str(self.meta.get("agent"))

    @property
    def task(self) -> str | None:
        return as_str(self.meta.get("task"))

    @property
    def limits(self) -> dict[str, Any]:
        limits = self.meta.get("limits")
        return limits if isinstance(limits, dict) else {}

    def to_json(self) -> dict[str, Any]:
        return {"event": self.kind, "run_id": self.run_id, **self.meta}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        meta = {key: value for key, value in data.items() if key not in (*STAMPS, "run_id")}
        return cls(as_str(data.get("run_id")), meta)


@record
class CallStarted:
    """A call to an agent starts: where it sits in the tree (`key`, `parent`, `depth`) and what it sends."""

    kind: ClassVar[str] = "call_started"
    call_id: str
    key: str | None
    parent: str | None  # the call whose answer asked for this one (its requester, or its previous round)
    agent: str
    mode: str  # fresh, continuation, handoff
    model: str | None
    depth: int
    prompt_hash: str | None
    task: str | None
    memories: list[str] = field(default_factory=list)  # the memory notes put into its prompt

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "call_id": self.call_id,
            "key": self.key,
            "parent": self.parent,
            "agent": self.agent,
            "mode": self.mode,
            "model": self.model,
            "depth": self.depth,
            "prompt_hash": self.prompt_hash,
            "task": self.task,
            "memories": self.memories,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        call_id = data.get("call_id")
        if not isinstance(call_id, str):
            raise BadEvent("call_started without a call_id")
        return cls(
            call_id,
            as_str(data.get("key")),
            as_str(data.get("parent")),
            as_str(data.get("agent")) or "?",
            as_str(data.get("mode")) or "?",
            as_str(data.get("model")),
            as_int(data.get("depth")) or 0,
            as_str(data.get("prompt_hash")),
            as_str(data.get("task")),
            [str(name) for name in as_list(data.get("memories"))],
        )


@record
class CallFinished:
    """A call ends: ok, failed, interrupted, or replayed from an earlier run's record."""

    kind: ClassVar[str] = "call_finished"
    call_id: str
    status: str
    usage: Usage
    cost_usd: float | None
    latency_ms: int | None
    output: str | None
    error: dict[str, Any] | None  # {"kind", "message"}
    warnings: list[str] = field(default_factory=list)
    session_id: str | None = None  # the provider's own session, which a continuation may resume
    turns: int | None = None  # the provider's own turns within the call, when it reports them
    tool_uses: int | None = None
    reported_usage: Usage | None = None  # what the provider claimed, when it was counted at the bound
    replayed_from: str | None = None  # the call of the earlier run that a replay reuses
    # Read only: why the line's usage could not be read (the reader reports it, and keeps the call's usage).
    usage_problem: str | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        line = {
            "event": self.kind,
            "call_id": self.call_id,
            "status": self.status,
            "usage": self.usage.to_json(),
            "cost_usd": self.cost_usd,
            "latency_ms": self.latency_ms,
            "output": self.output,
            "error": self.error,
            "warnings": self.warnings,
        }
        reported = self.reported_usage.to_json() if self.reported_usage is not None else None
        optional = {
            "session_id": self.session_id,
            "turns": self.turns,
            "tool_uses": self.tool_uses,
            "reported_usage": reported,
            "replayed_from": self.replayed_from,
        }
        return line | {key: value for key, value in optional.items() if value is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        call_id = data.get("call_id")
        if not isinstance(call_id, str):
            raise BadEvent(never_started(call_id))
        usage, problem = _usage(data.get("usage"))
        error = data.get("error")
        return cls(
            call_id,
            as_str(data.get("status")) or "unknown",
            usage or Usage(),
            as_float(data.get("cost_usd")),
            as_int(data.get("latency_ms")),
            as_str(data.get("output")),
            error if isinstance(error, dict) else None,
            [str(warning) for warning in as_list(data.get("warnings"))],
            session_id=as_str(data.get("session_id")),
            turns=as_int(data.get("turns")),
            tool_uses=as_int(data.get("tool_uses")),
            reported_usage=_usage(data.get("reported_usage"))[0],
            replayed_from=as_str(data.get("replayed_from")),
            usage_problem=problem,
        )


def never_started(call_id: object) -> str:
    """The problem of a call_finished line whose call has no call_started line before it."""
    return f"call_finished for a call that never started: {call_id!r}"


def _usage(counts: object) -> tuple[Usage | None, str | None]:
    """A recorded usage, or why it is not one: the one reader of outside counts (1e400 once exited 3)."""
    try:
        if not isinstance(counts, dict | None):
            raise BadUsage(f"{type(counts).__name__}, not a mapping of counts")
        return (Usage.from_counts(counts) if counts is not None else None), None
    except BadUsage as bad:
        return None, str(bad)


@record
class Waiting:
    """A call waits before its next attempt (a 429's retry-after, an overload backoff): said before the wait."""

    kind: ClassVar[str] = "waiting"
    call_id: str | None
    seconds: float | None
    attempt: int | None  # the attempt that follows the wait (2: the first retry)
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "call_id": self.call_id,
            "seconds": self.seconds,
            "attempt": self.attempt,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            as_str(data.get("call_id")),
            as_float(data.get("seconds")),
            as_int(data.get("attempt")),
            as_str(data.get("reason")),
        )


@record
class ToolUse:
    """A session (claude-code) uses a tool: its name and a short summary of its input (a path, a
    command, a query; never file contents), with the session's turns, tokens and cost so far."""

    kind: ClassVar[str] = "tool_use"
    call_id: str | None
    tool: str
    summary: str
    turns: int | None = None
    usage: Usage | None = None  # so far, within the call
    cost_usd: float | None = None  # so far, at the price table's price (the call's own cost comes at its end)

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "call_id": self.call_id,
            "tool": self.tool,
            "summary": self.summary,
            "turns": self.turns,
            "usage": self.usage.to_json() if self.usage is not None else None,
            "cost_usd": self.cost_usd,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            as_str(data.get("call_id")),
            as_str(data.get("tool")) or "tool",
            as_str(data.get("summary")) or "",
            as_int(data.get("turns")),
            _usage(data.get("usage"))[0],
            as_float(data.get("cost_usd")),
        )


@record
class Handoff:
    """A handoff request moves on: dispatched, then ok or failed; or refused, unknown, depth, budget."""

    kind: ClassVar[str] = "handoff"
    from_call: str | None
    from_agent: str | None  # `from` in the line
    target: str  # as the requester wrote it
    to: str | None  # the agent the target resolved to; None when the roster does not know it
    task: str
    status: str
    reason: str | None
    call_id: str | None  # the delegate's first call

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "from_call": self.from_call,
            "from": self.from_agent,
            "target": self.target,
            "to": self.to,
            "task": self.task,
            "status": self.status,
            "reason": self.reason,
            "call_id": self.call_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            as_str(data.get("from_call")),
            as_str(data.get("from")),
            as_str(data.get("target")) or "",
            as_str(data.get("to")),
            as_str(data.get("task")) or "",
            as_str(data.get("status")) or "unknown",
            as_str(data.get("reason")),
            as_str(data.get("call_id")),
        )


@record
class MemorySaved:
    """A memory note an answer asked for was written (`path` relative to the root)."""

    kind: ClassVar[str] = "memory_saved"
    agent: str | None
    path: str | None
    call_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {"event": self.kind, "agent": self.agent, "path": self.path, "call_id": self.call_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(as_str(data.get("agent")), as_str(data.get("path")), as_str(data.get("call_id")))


@record
class MemoryRefused:
    """A memory note an answer asked for was not written, and why."""

    kind: ClassVar[str] = "memory_refused"
    agent: str | None
    topic: str | None
    reason: str | None
    call_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "agent": self.agent,
            "topic": self.topic,
            "reason": self.reason,
            "call_id": self.call_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            as_str(data.get("agent")),
            as_str(data.get("topic")),
            as_str(data.get("reason")),
            as_str(data.get("call_id")),
        )


@record
class RunWarning:
    """Something the user should know (an unpriced model, an implausible usage report); `call_id` when
    it is about one call."""

    kind: ClassVar[str] = "warning"
    message: str
    call_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"event": self.kind, "message": self.message} | ({"call_id": self.call_id} if self.call_id else {})

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(str(data.get("message", "")), as_str(data.get("call_id")))


@record
class RunFinished:
    """The run ends: its status, final answer, exit code, and why when it did not end ok."""

    kind: ClassVar[str] = "run_finished"
    status: str  # ok, failed, budget, interrupted
    result: str | None
    exit_code: int | None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "status": self.status,
            "result": self.result,
            "exit_code": self.exit_code,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            as_str(data.get("status")) or "unknown",
            as_str(data.get("result")),
            as_int(data.get("exit_code")),
            as_str(data.get("reason")),
        )


# The one registry of kinds: the `event` of a line -> its class.
EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        RunStarted,
        CallStarted,
        CallFinished,
        Waiting,
        ToolUse,
        Handoff,
        MemorySaved,
        MemoryRefused,
        RunWarning,
        RunFinished,
    )
}


def parse_event(data: dict[str, Any]) -> Event | None:
    """The event a log line holds; None for a kind this version does not know. BadEvent for a line
    of a known kind that cannot be one (its message says why)."""
    kind = data.get("event")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    return cls.from_json(data) if cls is not None else None


# Tolerant field readers: a record is outside data; a wrong type reads as absent.


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value)


def as_float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
