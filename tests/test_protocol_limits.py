"""The dispatch limits the team protocol tells the agents are the ones `agentctl dispatch` keeps by
default: the shipped protocol and the Orchestrator say "handoff depth at most 3" and "at most 2
continuation rounds per specialist per task", and a dispatch without --max-depth/--max-rounds must
stop where they say, or the team and its tool disagree on when a run ends."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentctl import bounds
from agentctl.engine import Limits
from tests.conftest import RunCli
from tests.test_dispatch import dispatch, handoffs, request

ROOT = Path(__file__).resolve().parent.parent
TOLD = [ROOT / "agents-shared" / "team-protocol.md", ROOT / "agents" / "orchestrator.md"]


def told(pattern: str) -> set[int]:
    """Every number the shipped protocol and Orchestrator give for one limit (at least one each)."""
    numbers: set[int] = set()
    for path in TOLD:
        text = " ".join(path.read_text("utf-8").split())  # the sentence may break across lines
        found = re.findall(pattern, text)
        assert found, f"{path.name} no longer states the limit ({pattern})"
        numbers |= {int(number) for number in found}
    return numbers


def test_the_continuation_limit_agents_are_told_is_the_default() -> None:
    assert told(r"at most (\d+) continuation rounds per specialist per task") == {Limits().max_rounds}
    assert Limits().max_rounds == bounds.DISPATCH_MAX_ROUNDS


def test_the_depth_limit_agents_are_told_is_the_default() -> None:
    # "handoff depth at most 3 (Orchestrator → specialist → handoff → handoff)": the first agent is
    # depth 0, so three handoffs deep is max_depth 3.
    assert told(r"handoff depth at most (\d+)") == {Limits().max_depth}


@pytest.mark.parametrize("max_rounds", [None, 1])
def test_an_agent_that_keeps_handing_off_continues_at_most_the_limit(
    cli: RunCli, tmp_path: Path, max_rounds: int | None
) -> None:
    from tests.test_dispatch import lead_team

    team = lead_team(tmp_path)
    rounds = 6  # more than any limit: the lead asks a new question in every answer
    script = {
        "lead": [handoffs(request("DB Architect", f"Question {n}")) for n in range(rounds)],
        "db-architect": [f"Answer {n}." for n in range(rounds)],
    }
    args = [] if max_rounds is None else ["--max-rounds", str(max_rounds)]
    result = dispatch(cli, team, script, *args)
    assert result.exit_code == 0, result.stderr
    continuations = [c for c in result.json()["calls"] if c["agent"] == "lead" and c["mode"] == "continuation"]
    assert len(continuations) == (max_rounds or told(r"at most (\d+) continuation rounds per specialist").pop())
