"""What a provider may say of its own work (cost, session, turns, tool uses), and what the engine gives it
(the agent file, the project, the session to resume): counted, capped, recorded, replayed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentctl.config import load_settings
from agentctl.dispatch import Dispatched, DispatchOptions, resume_options, run_dispatch
from agentctl.events import CallFinished, Event
from agentctl.providers.base import CallRequest, CallResponse, ProviderError, Usage
from agentctl.runs import load_run
from tests.conftest import RunCli
from tests.test_dispatch import events, handoffs, request, team

__all__ = ["team"]  # the fixture, shared with test_dispatch

Answer = Callable[[CallRequest], CallResponse]


class Provider:
    """A provider in a few lines: each request is kept, and `answer` says what comes back."""

    name = "in-test"

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[CallRequest] = []

    async def complete(self, request: CallRequest) -> CallResponse:
        self.requests.append(request)
        return self.answer(request)

    async def aclose(self) -> None:
        pass


def reply(text: str, **fields: Any) -> CallResponse:
    return CallResponse(text, Usage(100, 20), "claude-sonnet-5-5", **fields)


def run(team: Path, provider: Provider, options: DispatchOptions | None = None) -> tuple[Dispatched, list[Event]]:
    seen: list[Event] = []
    settings = load_settings(cwd=team, environ={})
    options = options or DispatchOptions("lead", "Plan the words index")
    return run_dispatch(settings, options, {}, on_event=seen.append, provider=provider), seen


def by_agent_and_mode(answers: dict[tuple[str, str], CallResponse]) -> Answer:
    return lambda request: answers[(request.agent, request.mode)]


def test_the_providers_cost_is_counted_instead_of_the_price_tables(team: Path) -> None:
    provider = Provider(lambda request: reply("Done.", cost_usd=0.0123))
    dispatched, seen = run(team, provider)
    assert dispatched.result.exit_code == 0
    (call,) = dispatched.record["calls"]
    assert call["cost_usd"] == 0.0123 and dispatched.record["total"]["cost_usd"] == 0.0123
    (finished,) = [event for event in seen if isinstance(event, CallFinished)]
    assert finished.cost_usd == 0.0123 and "session_id" not in finished.to_json()


def test_a_provider_cost_beyond_max_cost_starts_no_further_call(team: Path) -> None:
    first = handoffs(request("DB Architect", "Design the index"))
    provider = Provider(lambda request: reply(first if request.agent == "lead" else "Index.", cost_usd=5.0))
    dispatched, _ = run(team, provider)
    result, record = dispatched.result, dispatched.record
    assert (result.status, result.exit_code) == ("budget", 5) and "--max-cost 2 reached: $5.0000 spent" in str(
        result.reason
    )
    assert [call["agent"] for call in record["calls"]] == ["lead"] and record["total"]["cost_usd"] == 5.0
    assert [handoff["status"] for handoff in record["handoffs"]] == ["budget"]


@pytest.mark.parametrize("cost", [float("nan"), float("inf"), -0.01, True, "0.1"])
def test_a_cost_that_is_not_an_amount_fails_the_call(team: Path, cost: Any) -> None:
    dispatched, _ = run(team, Provider(lambda request: reply("Done.", cost_usd=cost)))
    (call,) = dispatched.record["calls"]
    assert call["status"] == "failed" and call["error"]["kind"] == "bad_response" and call["cost_usd"] is None
    assert "in-test: unreadable cost report: cost_usd is" in call["error"]["message"]
    assert dispatched.result.exit_code == 4  # as for a usage that is not a count: the first agent has no answer


def test_the_session_is_recorded_and_resumed_by_the_continuation_of_the_same_work(team: Path) -> None:
    answers = {
        ("lead", "fresh"): reply(handoffs(request("DB Architect", "Design the index")), session_id="lead-1"),
        ("db-architect", "handoff"): reply("Index.", session_id="db-1", turns=3, tool_uses=5),
        ("lead", "continuation"): reply("Final plan.", session_id="lead-2"),
    }
    provider = Provider(by_agent_and_mode(answers))
    dispatched, _ = run(team, provider)
    assert dispatched.result.exit_code == 0
    resumed = {(r.agent, r.mode): r.resume_session for r in provider.requests}
    assert resumed == {("lead", "fresh"): None, ("db-architect", "handoff"): None, ("lead", "continuation"): "lead-1"}
    finished = [e for e in events(team, dispatched.result.run_id) if e["event"] == "call_finished"]
    assert [e.get("session_id") for e in finished] == ["lead-1", "db-1", "lead-2"]
    assert [(e.get("turns"), e.get("tool_uses")) for e in finished] == [(None, None), (3, 5), (None, None)]
    calls = load_run(team / ".agentctl" / "runs", dispatched.result.run_id).calls
    assert [(c.session_id, c.turns, c.tool_uses) for c in calls][1] == ("db-1", 3, 5)


def test_a_request_names_its_agent_file_and_the_project(team: Path) -> None:
    provider = Provider(lambda request: reply("Done."))
    run(team, provider)
    (sent,) = provider.requests
    assert sent.agent_file is not None and sent.agent_file.name == "lead" and sent.cwd == team


def test_a_replayed_call_gives_the_resumed_continuation_its_session(team: Path) -> None:
    def first_run(request: CallRequest) -> CallResponse:
        if request.mode == "continuation":
            raise ProviderError("in-test: overloaded", "overloaded")
        return reply(handoffs(request_block) if request.agent == "lead" else "Index.", session_id=request.agent)

    request_block = request("DB Architect", "Design the index")
    failed, _ = run(team, Provider(first_run))
    assert failed.result.exit_code == 1
    provider = Provider(lambda request: reply("Final plan."))
    options = resume_options(load_settings(cwd=team, environ={}), failed.result.run_id)
    resumed, _ = run(team, provider, options)
    assert [call["status"] for call in resumed.record["calls"]] == ["replayed", "replayed", "ok"]
    (continuation,) = provider.requests
    assert continuation.mode == "continuation" and continuation.resume_session == "lead"
    replays = [e for e in events(team, resumed.result.run_id) if e.get("status") == "replayed"]
    assert [e["session_id"] for e in replays] == ["lead", "db-architect"]


def test_runs_show_prints_the_turns_and_tool_uses_of_a_call(cli: RunCli, team: Path) -> None:
    dispatched, _ = run(team, Provider(lambda request: reply("Done.", turns=4, tool_uses=12)))
    shown = cli("runs", "show", dispatched.result.run_id, cwd=team)
    assert shown.exit_code == 0 and "c1 lead: 4 turns, 12 tool uses" in shown.stdout.splitlines()
    record = cli("runs", "show", dispatched.result.run_id, "--format", "json", cwd=team).json()
    (call,) = record["calls"]
    assert (call["turns"], call["tool_uses"]) == (4, 12)  # added keys: only where a provider said them
    plain, _ = run(team, Provider(lambda request: reply("Done.")))
    assert "turns" not in json.dumps(
        cli("runs", "show", plain.result.run_id, "--format", "json", cwd=team).json()["calls"]
    )
