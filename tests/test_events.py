"""agentctl.events: one class per kind of run event, its line both ways, and the one registry of kinds."""

from __future__ import annotations

from typing import Any

import pytest

from agentctl.events import (
    EVENT_TYPES,
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
    parse_event,
)
from agentctl.providers.base import Usage

ONE_OF_EACH: list[Event] = [
    RunStarted("r1", {"agent": "lead", "task": "t", "limits": {"max_calls": 40}, "resumed_from": None}),
    CallStarted("c1", "r", None, "lead", "fresh", "claude-sonnet-5-5", 0, "ab" * 32, "t", ["agents-memory/a.md"]),
    CallFinished("c1", "ok", Usage(10, 2, 3, 4), 0.5, 12, "out", None, ["w"], "s1", 3, 7, Usage(99, 2), "c9"),
    Waiting("c1", 30.0, 2, "429 rate_limit_error"),
    ToolUse("c1", "Read", "Read agents-shared/team-protocol.md", 2, Usage(1200, 40), 0.004),
    Handoff("c1", "lead", "DB Architect", "db-architect", "index", "ok", None, "c2"),
    MemorySaved("lead", "agents-memory/lead/x.md", "c1"),
    MemoryRefused("lead", "topic", "too long", "c1"),
    RunWarning("no price", "c1"),
    RunFinished("ok", "answer", 0, None),
]


def test_every_kind_is_registered_once_under_its_name() -> None:
    assert sorted(EVENT_TYPES) == sorted(type(event).kind for event in ONE_OF_EACH)
    assert all(cls.kind == kind for kind, cls in EVENT_TYPES.items())


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda event: type(event).kind)
def test_a_line_reads_back_as_the_event_it_was(event: Event) -> None:
    line = event.to_json()
    assert next(iter(line)) == "event" and line["event"] == type(event).kind
    assert parse_event(line | {"seq": 3, "time": "2026-01-02T03:04:05+00:00"}) == event


def test_optional_keys_are_written_only_when_set_and_in_order() -> None:
    plain = CallFinished("c1", "ok", Usage(), None, 5, "x", None)
    assert list(plain.to_json()) == [
        "event",
        "call_id",
        "status",
        "usage",
        "cost_usd",
        "latency_ms",
        "output",
        "error",
        "warnings",
    ]
    assert list(ONE_OF_EACH[2].to_json())[-5:] == [
        "session_id",
        "turns",
        "tool_uses",
        "reported_usage",
        "replayed_from",
    ]
    assert RunWarning("m").to_json() == {"event": "warning", "message": "m"}
    assert list(ONE_OF_EACH[0].to_json()) == ["event", "run_id", "agent", "task", "limits", "resumed_from"]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ({"event": "call_started", "call_id": 7}, "call_started without a call_id"),
        ({"event": "call_finished"}, "call_finished for a call that never started: None"),
        ({"event": "call_finished", "call_id": 5}, "call_finished for a call that never started: 5"),
    ],
)
def test_a_line_that_cannot_be_its_kind_says_why(line: dict[str, Any], problem: str) -> None:
    with pytest.raises(BadEvent, match=f"^{problem}$"):
        parse_event(line)


def test_wrong_types_read_as_absent_and_unknown_kinds_as_none() -> None:
    assert parse_event({"event": "from-the-future", "x": 1}) is None
    odd = {"event": "call_finished", "call_id": "c1", "usage": {"input_tokens": -1}, "cost_usd": "1", "turns": True}
    finished = parse_event(odd)
    assert isinstance(finished, CallFinished) and finished.usage == Usage() and finished.usage_problem is not None
    assert finished.status == "unknown" and finished.cost_usd is None and finished.turns is None
    handoff = parse_event({"event": "handoff", "from": 3})
    assert handoff == Handoff(None, None, "", None, "", "unknown", None, None)
    assert parse_event({"event": "warning", "message": 5}) == RunWarning("5")
