"""Never spend without a limit: default caps, a cost cap that parallel calls cannot pass, usage
reports checked against what was sent, bounded retry waits, run deadlines, bounded answers, and
memory notes that never carry a key to disk.

Runs use the real CLI with the scripted provider, or the real SDK against the loopback Messages
API (tests/messages_server.py). Slow replies and long retry-afters are held by the test watchdog
(`timeout` marks), never by a timed assertion.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from agentctl.bounds import ANSWER_CHARS
from agentctl.engine import Budget, Limits
from tests.conftest import RunCli, agent_text, make_team
from tests.messages_server import Fault, MessagesServer, Reply
from tests.test_dispatch import handoffs, request

SPECIALISTS = ("alpha", "beta", "gamma", "delta", "epsilon")
ROSTER = "\n".join(
    [
        "# Team Protocol",
        "",
        "## Roster",
        "",
        "| Agent | Display name | Domain | When to request | Memory |",
        "|---|---|---|---|---|",
    ]
    + [f"| {name} | {name.title()} | area {name} | when {name} | A |" for name in ("lead", *SPECIALISTS)]
)
KEY = "sk-ant-api03-SENTINEL-spending-0123456789abcdefghijkl"


@pytest.fixture
def team(tmp_path: Path) -> Path:
    agents = {
        f"{name}.md": agent_text(name, f"The {name}.", body=f"You are {name}.\n") for name in ("lead", *SPECIALISTS)
    }
    return make_team(tmp_path / "team", agents, protocol=ROSTER)


def write_script(root: Path, script: dict[str, Any]) -> str:
    path = root / "script.json"
    path.write_text(json.dumps(script))
    return str(path)


def dispatch(cli: RunCli, root: Path, script: dict[str, Any], *args: str, env: dict[str, str] | None = None) -> Any:
    script_path = write_script(root, script)
    return cli(
        "dispatch", "lead", "Plan the export", "--script", script_path, "--format", "json", *args, cwd=root, env=env
    )


def run_events(root: Path, run_id: str) -> list[dict[str, Any]]:
    lines = (root / ".agentctl" / "runs" / run_id / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def assert_record_intact(root: Path, run_id: str) -> list[dict[str, Any]]:
    events = run_events(root, run_id)
    started = {e["call_id"] for e in events if e["event"] == "call_started"}
    finished = {e["call_id"] for e in events if e["event"] == "call_finished"}
    assert started == finished and events[-1]["event"] == "run_finished"
    return events


# --- default caps ---------------------------------------------------------------------------------


def storm_script(replies: int) -> dict[str, Any]:
    """Every answer asks each specialist for something new: the team that made 9,424 calls."""
    answers = []
    for number in range(replies):
        asks = [request(name.title(), f"Check part {number} {name}") for name in SPECIALISTS]
        answers.append(handoffs(*asks))
    return {"*": answers}


def test_a_team_that_always_hands_off_stops_at_the_default_call_cap(cli: RunCli, team: Path) -> None:
    result = dispatch(cli, team, storm_script(400))
    assert result.exit_code == 5, result.stderr
    data = result.json()
    assert data["status"] == "budget" and "--max-calls 40 reached" in data["reason"]
    assert len(data["calls"]) == 40, "exactly the default cap, never more"
    assert "raise it with --max-calls" in data["reason"]
    assert "budget" in {handoff["status"] for handoff in data["handoffs"]}
    assert_record_intact(team, data["run_id"])


def test_a_raised_call_cap_is_the_new_ceiling(cli: RunCli, team: Path) -> None:
    result = dispatch(cli, team, storm_script(400), "--max-calls", "55")
    assert result.exit_code == 5 and len(result.json()["calls"]) == 55


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-cost", "nan"], "--max-cost must be a number above 0 (USD), not nan"),
        (["--max-cost", "inf"], "--max-cost must be a number above 0 (USD), not inf"),
        (["--max-cost", "0"], "--max-cost must be a number above 0 (USD), not 0.0 (0 is not 'no limit'"),
        (["--max-cost", "-1"], "--max-cost must be a number above 0"),
        (["--max-calls", "0"], "--max-calls must be a whole number at least 1, not 0 (0 is not 'no limit'"),
        (["--max-tokens", "-5"], "--max-tokens must be a whole number at least 1"),
        (["--parallel", "0"], "--parallel must be a whole number at least 1, not 0"),
        (["--max-depth", "-1"], "--max-depth must be a whole number at least 0, not -1"),
        (["--max-rounds", "0"], "--max-rounds must be a whole number at least 1"),
        (["--timeout", "-1"], "--timeout must be a number above 0 (seconds), not -1.0"),
        (["--timeout", "nan"], "--timeout must be a number above 0 (seconds), not nan"),
    ],
)
def test_every_limit_is_checked_once_and_nothing_is_recorded(
    cli: RunCli, team: Path, args: list[str], message: str
) -> None:
    result = dispatch(cli, team, {"lead": ["Never."]}, *args)
    assert result.exit_code == 2, result.stderr
    assert f"error: {message}" in result.stderr
    assert not (team / ".agentctl" / "runs").exists() or not any((team / ".agentctl" / "runs").iterdir())
    assert result.json()["error"]["exit_code"] == 2


def settings_of(team: Path, dispatch: dict[str, Any] | None = None, anthropic: dict[str, Any] | None = None) -> Any:
    """The team's settings with [dispatch] / [anthropic] values the config file's schema may not take."""
    from agentctl.config import load_settings
    from agentctl.records import replace

    return replace(load_settings(cwd=team, environ={}), dispatch=dispatch or {}, anthropic=anthropic or {})


def test_a_limit_from_the_config_file_is_checked_and_named(team: Path) -> None:
    from agentctl.dispatch import limits_from
    from agentctl.errors import UsageError

    with pytest.raises(UsageError, match=r"\[dispatch\] max_cost must be a number above 0"):
        limits_from(settings_of(team, dispatch={"max_cost": float("nan")}))
    with pytest.raises(UsageError, match=r"\[dispatch\] max_calls must be a whole number at least 1, not 0"):
        limits_from(settings_of(team, dispatch={"max_calls": 0}))
    raised = limits_from(settings_of(team, dispatch={"max_cost": 9.5, "max_calls": 80, "timeout": 600}))
    assert (raised.max_cost, raised.max_calls, raised.timeout) == (9.5, 80, 600)
    assert limits_from(settings_of(team, dispatch={"max_cost": 9.5}), max_cost=3.0).max_cost == 3.0, "flags win"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("max_retries = -1", "[anthropic] max_retries must be a whole number of retries from 0 to 20, not -1"),
        ("max_tokens = 0", "[anthropic] max_tokens must be a whole number of tokens from 1"),
        ("timeout = -1.0", "[anthropic] timeout must be a number of seconds above 0"),
        ("max_retry_wait = -3.0", "[anthropic] max_retry_wait must be a number of seconds from 0"),
    ],
)
def test_anthropic_settings_are_checked_before_any_record(cli: RunCli, team: Path, setting: str, message: str) -> None:
    (team / "agentctl.toml").write_text(f"[anthropic]\n{setting}\n")
    for provider in ("scripted", "anthropic"):
        env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
        result = dispatch(cli, team, {"lead": ["Never."]}, "--provider", provider, env=env)
        assert result.exit_code == 2, result.stderr
        # The config file's own check may say it first; either way it names the setting.
        assert setting.split(" =")[0] in result.stderr and "Traceback" not in result.stderr
        assert not (team / ".agentctl" / "runs").exists() or not any((team / ".agentctl" / "runs").iterdir())


def test_anthropic_settings_are_range_checked_at_use() -> None:
    from agentctl.errors import UsageError
    from agentctl.providers.anthropic import AnthropicConfig

    for settings in ({"max_retries": -1}, {"call_timeout": 0.0}, {"timeout": float("inf")}, {"max_tokens": True}):
        with pytest.raises(UsageError, match=rf"\[anthropic\] {next(iter(settings))} must be"):
            AnthropicConfig.from_settings(settings, {})
    config = AnthropicConfig.from_settings({"max_retry_wait": 5.0, "call_timeout": 30, "max_tokens": 100}, {})
    assert (config.max_retry_wait, config.call_timeout, config.max_tokens, config.max_retries) == (5.0, 30, 100, 2)


# --- the cost cap is a ceiling ----------------------------------------------------------------------


def priced_team(team: Path, max_tokens: int = 1000) -> None:
    # $1,000 per million tokens: a call of 400 + 1,000 tokens costs $1.40.
    (team / "agentctl.toml").write_text(
        f'[anthropic]\nmax_tokens = {max_tokens}\n\n[prices."test-model"]\ninput = 1000.0\noutput = 1000.0\n'
    )


def test_parallel_calls_never_overshoot_the_cost_cap(cli: RunCli, team: Path) -> None:
    priced_team(team)
    usage = {"input_tokens": 400, "output_tokens": 1000}
    asks = [request(name.title(), f"Check the {name} part") for name in SPECIALISTS[:4]]
    script: dict[str, Any] = {
        "lead": [{"text": handoffs(*asks), "usage": usage}, {"text": "Done.", "usage": usage}],
        **{name: [{"text": f"{name} ok", "usage": usage, "delay": 0.1}] for name in SPECIALISTS[:4]},
    }
    # Before the ceiling: the four handoffs started together once $1.40 was spent, and the run cost $7.00.
    result = dispatch(cli, team, script, "--model", "test-model", "--max-cost", "6", "--parallel", "4")
    assert result.exit_code == 5, result.stderr
    data = result.json()
    assert data["total"]["cost_usd"] <= 6.0
    assert sum(call["cost_usd"] for call in data["calls"]) <= 6.0
    assert "--max-cost 6 reached" in data["reason"] and "the next call may cost up to" in data["reason"]
    assert "budget" in {handoff["status"] for handoff in data["handoffs"]}
    assert_record_intact(team, data["run_id"])


def test_a_call_that_does_not_fit_waits_for_the_calls_in_flight(cli: RunCli, team: Path) -> None:
    priced_team(team)
    usage = {"input_tokens": 400, "output_tokens": 1000}
    asks = [request(name.title(), f"Check the {name} part") for name in SPECIALISTS[:4]]
    script: dict[str, Any] = {
        "lead": [{"text": handoffs(*asks), "usage": usage}, {"text": "Done.", "usage": usage}],
        **{name: [{"text": f"{name} ok", "usage": usage, "delay": 0.05}] for name in SPECIALISTS[:4]},
    }
    # $20 holds fewer than four worst cases at once, but every call fits once the others have ended.
    result = dispatch(cli, team, script, "--model", "test-model", "--max-cost", "20")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert [call["status"] for call in data["calls"]] == ["ok"] * 6
    assert data["total"]["cost_usd"] == pytest.approx(6 * 1.4)


def test_an_unpriced_model_is_bounded_by_the_call_cap_and_says_so(cli: RunCli, team: Path) -> None:
    result = dispatch(cli, team, {"lead": ["Hi."]}, "--model", "nobody-prices-this")
    assert result.exit_code == 0, result.stderr
    warning = "no price for model nobody-prices-this"
    assert result.stderr.count(warning) == 1, "warned once"
    assert "--max-cost cannot bound its calls; only --max-calls 40 does" in result.stderr


def test_the_budget_holds_worst_cases_and_releases_them() -> None:
    async def scenario() -> list[Any]:
        budget = Budget(Limits(max_cost=1.0, max_calls=10))
        first = await budget.admit(100, 0.6)
        assert first is not None and budget.held_cost == 0.6
        waiting = asyncio.ensure_future(budget.admit(100, 0.6))  # 0.6 + 0.6 > 1.0 while the first runs
        await asyncio.sleep(0)
        assert not waiting.done()
        budget.spend(50, 0.3)
        budget.release(first)
        second = await waiting  # 0.3 spent + 0.6 fits
        assert second is not None and budget.calls == 2
        budget.spend(50, 0.3)
        budget.release(second)
        third = await budget.admit(100, 0.6)  # 0.6 spent + 0.6: over, and nothing runs: the run stops
        return [third, budget.reason, budget.held_cost, budget.holders]

    third, reason, held, holders = asyncio.run(scenario())
    assert third is None and (held, holders) == (0.0, 0)
    assert reason.startswith("--max-cost 1 reached: $0.6000 spent, and the next call may cost up to $0.6000")


# --- usage sanity ---------------------------------------------------------------------------------------


def api_team(team: Path) -> dict[str, str]:
    (team / "agentctl.toml").write_text("[anthropic]\nmax_retries = 1\ntimeout = 5.0\nmax_tokens = 1024\n")
    return {"ANTHROPIC_API_KEY": KEY}


def api_dispatch(cli: RunCli, team: Path, server: MessagesServer, *args: str) -> Any:
    env = api_team(team) | {"ANTHROPIC_BASE_URL": server.url}
    return cli("dispatch", "lead", "Plan the export", "--format", "json", *args, cwd=team, env=env)


def test_a_usage_of_a_trillion_tokens_is_counted_at_the_plausible_bound(cli: RunCli, team: Path) -> None:
    with MessagesServer(reply=Reply("Done.", input_tokens=10**12, output_tokens=10**12)) as server:
        result = api_dispatch(cli, team, server)
        sent = server.requests[0].raw
    assert result.exit_code == 0, result.stderr
    data = result.json()
    (call,) = data["calls"]
    usage = call["usage"]
    assert usage["output_tokens"] == 1024 + 16, "max_tokens and a small slack"
    assert 0 < usage["input_tokens"] <= len(sent) + 512, "at most a token per byte sent, plus framing"
    assert call["cost_usd"] < 0.1
    events = run_events(team, data["run_id"])
    finished = next(e for e in events if e["event"] == "call_finished")
    assert finished["reported_usage"]["input_tokens"] == 10**12, "the report is kept as it came"
    warning = next(e for e in events if e["event"] == "warning")
    assert warning["call_id"] == "c1" and "call c1: the usage report is implausible" in warning["message"]
    assert "usage report is implausible" in result.stderr


def test_a_plausible_usage_is_counted_as_reported(cli: RunCli, team: Path) -> None:
    with MessagesServer(reply=Reply("Done.", input_tokens=30, output_tokens=7, cache_read_input_tokens=20)) as server:
        result = api_dispatch(cli, team, server)
    (call,) = result.json()["calls"]
    assert call["usage"] == {
        "input_tokens": 30,
        "output_tokens": 7,
        "cache_read_input_tokens": 20,
        "cache_creation_input_tokens": 0,
    }
    finished = next(e for e in run_events(team, result.json()["run_id"]) if e["event"] == "call_finished")
    assert "reported_usage" not in finished


@pytest.mark.parametrize("count", [-5, "many", 3.5], ids=["negative", "text", "fraction"])
def test_a_usage_that_is_not_a_count_is_a_bad_response_not_a_crash(cli: RunCli, team: Path, count: Any) -> None:
    with MessagesServer(reply=Reply("Done.", input_tokens=count)) as server:
        result = api_dispatch(cli, team, server)
    assert result.exit_code == 4, result.stderr
    assert "Traceback" not in result.stderr and "input_tokens is" in result.stderr
    events = assert_record_intact(team, result.json()["run_id"])
    finished = next(e for e in events if e["event"] == "call_finished")
    assert finished["error"]["kind"] == "bad_response"


def test_a_scripted_usage_over_the_bound_is_counted_at_it(cli: RunCli, team: Path) -> None:
    result = dispatch(cli, team, {"lead": [{"text": "Hi.", "usage": {"input_tokens": 10**12, "output_tokens": 5}}]})
    assert result.exit_code == 0
    (call,) = result.json()["calls"]
    assert call["usage"]["input_tokens"] < 10**6 and call["usage"]["output_tokens"] == 5


# --- waits and deadlines ----------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_long_retry_after_fails_the_call_at_once_and_says_how_long(cli: RunCli, team: Path) -> None:
    with MessagesServer(reply=Fault.rate_limit(retry_after=3600)) as server:
        result = api_dispatch(cli, team, server)
        assert len(server.requests) == 1, "no second request"
    assert result.exit_code == 4, result.stderr
    assert "the API asked to wait 3600 s before a retry, longer than [anthropic] max_retry_wait (60 s)" in result.stderr
    assert "HTTP 429: rate_limit_error" in result.stderr
    events = assert_record_intact(team, result.json()["run_id"])
    assert not [e for e in events if e["event"] == "waiting"]


def test_a_short_retry_after_is_waited_and_recorded(cli: RunCli, team: Path) -> None:
    with MessagesServer(reply="After the wait.") as server:
        server.inject(Fault.rate_limit(retry_after=0.01), nth=1)
        result = api_dispatch(cli, team, server)
    assert result.exit_code == 0, result.stderr
    events = run_events(team, result.json()["run_id"])
    (waiting,) = [e for e in events if e["event"] == "waiting"]
    assert (waiting["call_id"], waiting["seconds"], waiting["attempt"]) == ("c1", 0.01, 2)
    assert waiting["reason"] == "429 rate_limit_error, retry-after 0.01 s"
    kinds = [e["event"] for e in events]
    assert kinds.index("call_started") < kinds.index("waiting") < kinds.index("call_finished")


@pytest.mark.timeout(60)
def test_the_run_timeout_cancels_slow_calls_and_ends_with_exit_5(cli: RunCli, team: Path) -> None:
    asks = [request("Alpha", "Check a"), request("Beta", "Check b")]
    script = {
        "lead": [handoffs(*asks), "never"],
        "alpha": [{"text": "slow", "delay": 120}],
        "beta": [{"text": "slow", "delay": 120}],
    }
    result = dispatch(cli, team, script, "--timeout", "0.5")
    assert result.exit_code == 5, result.stderr
    data = result.json()
    assert data["status"] == "budget" and data["reason"] == "--timeout 0.5 s reached"
    assert [call["status"] for call in data["calls"]] == ["ok", "interrupted", "interrupted"]
    assert data["result"].startswith("My analysis so far."), "the first agent's last answer"
    assert_record_intact(team, data["run_id"])


@pytest.mark.timeout(60)
def test_the_run_timeout_ends_a_slow_api_call(cli: RunCli, team: Path) -> None:
    with MessagesServer(reply=Reply("late", delay=60)) as server:
        result = api_dispatch(cli, team, server, "--timeout", "0.5")
    assert result.exit_code == 5, result.stderr
    data = result.json()
    assert data["reason"] == "--timeout 0.5 s reached" and data["calls"][0]["status"] == "interrupted"
    assert_record_intact(team, data["run_id"])


@pytest.mark.timeout(60)
def test_the_call_deadline_covers_retries_and_waits(team: Path) -> None:
    from agentctl.dispatch import DispatchOptions, run_dispatch

    settings = settings_of(team, anthropic={"max_retries": 5, "call_timeout": 1.0})
    with MessagesServer(reply=Fault.overloaded(retry_after=2)) as server:
        env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": server.url}
        dispatched = run_dispatch(settings, DispatchOptions("lead", "Plan the export"), env)
        assert len(server.requests) == 1, "no retry that the deadline would cut"
    assert dispatched.result.exit_code == 4
    assert "a retry after 2 s would end past [anthropic] call_timeout (1 s)" in (dispatched.result.reason or "")


# --- answers ------------------------------------------------------------------------------------------


def test_an_answer_over_the_limit_fails_its_call_unparsed(cli: RunCli, team: Path) -> None:
    long_answer = handoffs(request("Alpha", "Never run this")) + "x" * ANSWER_CHARS
    result = dispatch(cli, team, {"lead": [long_answer]})
    assert result.exit_code == 4, result.stderr
    data = result.json()
    assert [call["status"] for call in data["calls"]] == ["failed"] and data["handoffs"] == []
    assert "more than the 2,097,152 agentctl reads; it was not parsed" in result.stderr


def test_an_api_answer_over_the_limit_is_not_read_to_the_end(cli: RunCli, team: Path) -> None:
    with MessagesServer(reply=Reply("y" * (ANSWER_CHARS + 100), chunk_size=256 * 1024)) as server:
        result = api_dispatch(cli, team, server)
    assert result.exit_code == 4, result.stderr
    assert "the answer is longer than 2,097,152 characters" in result.stderr
    assert len(server.requests) == 1, "not retried"


def test_answers_are_parsed_off_the_event_loop(cli: RunCli, team: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import agentctl.handoff

    parsed_on: list[int] = []
    original = agentctl.handoff.parse_output

    def recording(text: str) -> Any:
        parsed_on.append(threading.get_ident())
        return original(text)

    monkeypatch.setattr(agentctl.handoff, "parse_output", recording)
    result = dispatch(cli, team, {"lead": [handoffs(request("Alpha", "Check a")), "Done."], "alpha": ["A."]})
    assert result.exit_code == 0, result.stderr
    assert len(parsed_on) == 3 and threading.get_ident() not in parsed_on


# --- memory notes -------------------------------------------------------------------------------------


def test_a_key_in_a_memory_note_lands_redacted(cli: RunCli, team: Path) -> None:
    env_secret = "env-secret-value-0123456789"
    note = (
        "## Memory Notes\n\n### export-credentials\n```markdown\n# Export credentials\n\n"
        f"**Applies when:** calling the export API with {env_secret}\n\n"
        f"The export job reads the key {KEY} from the vault.\nIt retries twice.\nIt logs to stderr.\n```\n"
    )
    result = dispatch(cli, team, {"lead": ["Answer.\n\n" + note]}, env={"EXPORT_TOKEN": env_secret})
    assert result.exit_code == 0, result.stderr
    (saved,) = (team / "agents-memory" / "lead").glob("*.md")
    text = saved.read_text()
    assert KEY not in text and env_secret not in text
    assert text.count("[redacted]") == 2 and "It retries twice." in text
    events = run_events(team, result.json()["run_id"])
    assert any(e["event"] == "memory_saved" for e in events)


def test_a_routing_answer_far_longer_than_a_name_is_not_read() -> None:
    from agentctl.providers.base import CallRequest, CallResponse, Usage
    from agentctl.route_llm import Candidate, choose_with_model

    class Verbose:
        name = "verbose"

        async def complete(self, request: CallRequest) -> CallResponse:
            return CallResponse("alpha " * 100_000, Usage(10, 64), request.model)

        async def aclose(self) -> None:
            return None

    choice = choose_with_model(Verbose(), "m", "Plan the export", [Candidate("alpha", "The alpha.")])
    assert choice.agent is None and "600,000 characters, not a name" in choice.note
