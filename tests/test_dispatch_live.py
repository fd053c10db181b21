"""What a session is doing, as the live view, the progress lines and `runs show` say it: each running
call's latest tool use, turn, tokens and cost so far; a finished call's turns, tool uses and warnings;
the run's cost with the sessions still running; and never a secret the record leaves out."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentctl.cli import env
from agentctl.cli.callview import compact, tool_lines
from agentctl.cli.dispatch_cmd import CallTree, Progress, RunTally, above_the_tree, progress_line, progress_lines
from agentctl.cli.env import Environment
from agentctl.events import CallFinished, CallStarted, Event, RunStarted, ToolUse
from agentctl.providers.base import Activity, CallRequest, CallResponse, Usage
from tests.conftest import RunCli
from tests.test_dispatch import team
from tests.test_dispatch_provider_fields import Provider, reply, run

__all__ = ["team"]  # the fixture, shared with test_dispatch

KEY = "sk-ant-api03-" + "x" * 40  # the shape of an Anthropic key: redacted wherever it appears
DENIED = "Write denied: Cannot write to /repo/schema.sql while in plan mode."


def started(call_id: str = "c1", agent: str = "lead", parent: str | None = None) -> CallStarted:
    return CallStarted(call_id, None, parent, agent, "fresh", "claude-sonnet-5-5", 0, None, None)


def tool_use(summary: str, turns: int = 3, cost: float | None = 0.0421, call_id: str = "c1") -> ToolUse:
    return ToolUse(call_id, summary.split()[0], summary, turns, Usage(1200, 830, 13000, 0), cost)


def finished(cost: float | None = 0.05, warnings: list[str] | None = None, call_id: str = "c1") -> CallFinished:
    usage = Usage(1500, 910, 14000, 0)
    return CallFinished(call_id, "ok", usage, cost, 42_000, "Done.", None, warnings or [], turns=3, tool_uses=5)


class Clocked:
    """A tally and a tree on a clock the test moves: each event one second after the last."""

    def __init__(self) -> None:
        self.now = 0.0
        self.tally = RunTally(clock=lambda: self.now)
        self.tree = CallTree(self.tally)

    def feed(self, *events: Event) -> None:
        for event in events:
            self.tally.update(event)
            self.tree.update(event)
            self.now += 1.0

    def render(self, width: int = 200) -> list[str]:
        from rich.console import Console

        stream = io.StringIO()
        Console(file=stream, width=width, no_color=True).print(self.tree)
        return stream.getvalue().rstrip("\n").splitlines()


RUN = RunStarted("r", {"agent": "lead", "task": "x", "limits": {"max_calls": 40, "max_cost": 2}})


# The live tree


def test_a_running_session_shows_its_turn_tokens_cost_and_latest_tool_use() -> None:
    view = Clocked()
    view.feed(RUN, started(), tool_use("Read agents-shared/team-protocol.md", turns=2, cost=0.02))
    view.feed(tool_use("Bash pytest -q"))
    assert view.render() == [
        "dispatch: calls 1/40, cost ~$0.0421/$2",
        "└── … lead (fresh, c1) running 3.0s · turn 3 · 14.2k→830 tokens · $0.0421 · Bash pytest -q",
    ]


def test_a_finished_session_shows_its_turns_tool_uses_and_warnings() -> None:
    view = Clocked()
    view.feed(RUN, started(), tool_use("Bash pytest -q"), finished(warnings=[DENIED]))
    (_, line) = view.render()
    assert line == "└── ✓ lead (fresh, c1) ok 2.0s · 15.5k→910 tokens · $0.0500 · 3 turns, 5 tool uses · 1 warning"


def test_a_call_without_tool_uses_looks_as_it_did() -> None:
    view = Clocked()
    view.feed(RUN, started())
    assert view.render()[1] == "└── … lead (fresh, c1) running 1.0s"
    view.feed(CallFinished("c1", "ok", Usage(1200, 20), 0.001, 900, "Done.", None))
    assert view.render()[1] == "└── ✓ lead (fresh, c1) ok 1.0s · 1.2k→20 tokens · $0.0010"


def test_the_tool_summary_is_cut_at_the_terminals_edge_and_shown_as_written() -> None:
    view = Clocked()
    view.feed(RUN, started(), started("c2", "db-architect", parent="c1"))
    view.feed(tool_use("Bash echo [bold]loud[/] [redacted] && ls /very/long/path/to/somewhere/deep", call_id="c2"))
    lines = view.render(width=130)
    assert lines[2].startswith("    └── … db-architect (fresh, c2) running 2.0s · turn 3 · 14.2k→830 tokens · $0.0421")
    # rich markup in a summary is text, not style; the line ends with an ellipsis at the edge
    assert "Bash echo [bold]loud[/] [redacted]" in lines[2] and lines[2].endswith("…") and len(lines[2]) == 130


def test_a_summary_with_control_characters_stays_on_its_line() -> None:
    view = Clocked()
    view.feed(RUN, started(), tool_use("Bash printf 'a\nb' \x1b[2J"))
    line = view.render()[1]
    assert "\x1b" not in line and line.endswith("· Bash printf 'a b' [2J")


# The run's cost at the top: a session's estimate until its own cost replaces it


def test_the_tally_counts_running_sessions_and_replaces_their_estimate_with_the_final_cost() -> None:
    tally = RunTally(clock=lambda: 0.0)
    for event in (RUN, started(), started("c2", "db-architect"), tool_use("Read a", cost=0.01)):
        tally.update(event)
    tally.update(tool_use("Read b", cost=0.03))  # the session's so far: replaces 0.01, not added to it
    tally.update(tool_use("Grep x", cost=0.02, call_id="c2"))
    assert tally.text() == "calls 2/40, cost ~$0.0500/$2"
    tally.update(finished(cost=0.04))
    assert tally.text() == "calls 2/40, cost ~$0.0600/$2"
    tally.update(finished(cost=None, call_id="c2"))  # no cost of its own: its estimate goes too
    assert tally.text() == "calls 2/40, cost $0.0400/$2"


# One line per event on stderr


def test_a_tool_use_is_one_line_naming_the_call_and_its_agent() -> None:
    tally = RunTally()
    tally.update(started())
    assert progress_line(tool_use("Read agents-shared/team-protocol.md"), tally) == (
        "[c1] lead: Read agents-shared/team-protocol.md (turn 3)"
    )
    assert progress_line(ToolUse("c9", "WebSearch", "", None)) == "[c9]: WebSearch"
    (line,) = progress_lines(tool_use("Bash echo one\ntwo\r\x1b[31mred " + "x" * 300), tally)
    assert line.startswith("[c1] lead: Bash echo one two [31mred xxx") and line.endswith("… (turn 3)")
    assert len(line) < 160


def test_a_finished_call_says_its_turns_and_tool_uses_and_then_its_warnings() -> None:
    tally = RunTally(clock=lambda: 0.0)
    for event in (RUN, started(), finished(warnings=[DENIED, "the answer was cut\nat max_tokens=8192"])):
        tally.update(event)
    lines = progress_lines(finished(warnings=[DENIED, "the answer was cut\nat max_tokens=8192"]), tally)
    assert lines == [
        "[c1] ok in 42000 ms, 1500 in / 910 out tokens (cache 14000 read, 0 written), $0.0500, 3 turns, "
        "5 tool uses [run: calls 1/40, cost $0.0500/$2]",
        f"warning: [c1] lead: {DENIED}",
        "warning: [c1] lead: the answer was cut at max_tokens=8192",
    ]
    # Above the live tree: the warnings stay, the tree itself shows the call and its tool uses.
    assert above_the_tree(finished(warnings=[DENIED]), tally) == [f"warning: [c1] lead: {DENIED}"]
    assert above_the_tree(tool_use("Read a"), tally) == []


@pytest.fixture
def stderr() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    env.use(Environment(stdout=io.StringIO(), stderr=stream, stdin=io.BytesIO(), environ={}))
    try:
        yield stream
    finally:
        env.use(Environment())


def test_progress_without_a_terminal_prints_each_tool_use(stderr: io.StringIO) -> None:
    progress = Progress(live=False)
    for event in (RUN, started(), tool_use("Read agents-shared/team-protocol.md", turns=1), tool_use("Bash ls")):
        progress.event(event)
    assert stderr.getvalue().splitlines()[2:] == [
        "[c1] lead: Read agents-shared/team-protocol.md (turn 1)",
        "[c1] lead: Bash ls (turn 3)",
    ]


# Redaction: the live view gets the events as recorded


def test_the_live_view_and_the_record_get_the_same_redacted_tool_use(team: Path) -> None:
    def answer(request: CallRequest) -> CallResponse:
        assert request.on_activity is not None
        request.on_activity(Activity("Bash", f"Bash curl -H 'x-api-key: {KEY}' api", 1, 1, Usage(10, 2)))
        return reply("Done.", warnings=[f"Bash denied: it held {KEY}"])

    dispatched, seen = run(team, Provider(answer))
    lines = [line for event in seen for line in progress_lines(event, None)]
    assert "[c1]: Bash curl -H 'x-api-key: [redacted]' api (turn 1)" in lines
    assert "warning: [c1]: Bash denied: it held [redacted]" in lines
    assert not [line for line in lines if KEY in line]
    (call,) = dispatched.record["calls"]
    assert call["tools"] == ["Bash curl -H 'x-api-key: [redacted]' api"]


# runs show


def sessions(request: CallRequest) -> CallResponse:
    """A session of twelve tool uses, one of them denied."""
    assert request.on_activity is not None
    for number in range(1, 13):
        request.on_activity(Activity("Read", f"Read src/file{number}.py", number, number, Usage(100 * number, 5)))
    return reply("Done.", turns=12, tool_uses=12, session_id="s-1", warnings=[DENIED])


def test_runs_show_lists_each_calls_tool_uses_and_warnings_and_the_totals_per_model(cli: RunCli, team: Path) -> None:
    dispatched, _ = run(team, Provider(sessions))
    shown = cli("runs", "show", dispatched.result.run_id, cwd=team)
    assert shown.exit_code == 0
    lines = shown.stdout.splitlines()
    start = lines.index("c1 lead: 12 turns, 12 tool uses")
    assert lines[start + 1 : start + 14] == [
        *(f"  Read src/file{number}.py" for number in range(1, 11)),
        "  … and 2 more",
        f"  warning: {DENIED}",
        "",
    ]
    (model_header,) = [line for line in lines if line.startswith("model ")]
    model = dispatched.record["calls"][0]["model"]
    assert model_header.split() == ["model", "calls", "in", "out", "cache", "read", "cache", "write", "cost"]
    assert lines[lines.index(model_header) + 1].split()[:2] == [model, "1"]
    record = cli("runs", "show", dispatched.result.run_id, "--format", "json", cwd=team).json()
    assert [total["model"] for total in record["by_model"]] == [model] and record["by_model"][0]["calls"] == 1
    (call,) = record["calls"]
    assert len(call["tools"]) == 12 and call["warnings"] == [DENIED] and call["turns"] == 12


def test_a_failed_session_still_lists_what_it_did(cli: RunCli, team: Path) -> None:
    from agentctl.providers.base import ProviderError

    def failing(request: CallRequest) -> CallResponse:
        assert request.on_activity is not None
        request.on_activity(Activity("Grep", "Grep words", 1, 1, Usage(10, 2)))
        raise ProviderError("in-test: the session used all its turns", "limit")

    dispatched, _ = run(team, Provider(failing))
    shown = cli("runs", "show", dispatched.result.run_id, cwd=team).stdout.splitlines()
    assert shown[shown.index("c1 lead: 1 tool use") + 1] == "  Grep words"


def test_tool_lines_and_token_counts() -> None:
    assert tool_lines(["Read a", "Bash b\x1b[0m"], shown=1) == ["Read a", "… and 1 more"]
    assert tool_lines(["Bash b\x1b[0m"]) == ["Bash b [0m"]
    counts = {830: "830", 14_200: "14.2k", 999_949: "999.9k", 999_950: "1.0M", 2_500_000: "2.5M"}
    assert {count: compact(count) for count in counts} == counts
