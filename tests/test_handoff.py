"""Parsing the team's text protocol leniently: handoff requests and escalation tables."""

from __future__ import annotations

from agentctl.handoff import escalation_targets, first_step_paths, handoff_targets, parse_handoffs

ANSWER = """My analysis: the words query needs an index.

## Handoff Requests

### -> DB Architect
**Task:** Design the index for `transcription_words`.
**Context from my analysis:** p95 is 1.4 s
on the editor's words endpoint.
**I need back:** the CREATE INDEX statement
**Blocks:** the pagination change

### --> Backend Architect
Task: check the endpoint's query shape
I need back: yes or no

### → ML/AI Engineer
Some prose without fields.

## Continuation Plan
1. Apply the index.
"""


def test_requests_with_any_arrow_bold_or_not_and_continuation_lines() -> None:
    requests = parse_handoffs(ANSWER)
    assert [request.target for request in requests] == ["DB Architect", "Backend Architect", "ML/AI Engineer"]
    db = requests[0]
    assert db.task == "Design the index for `transcription_words`."
    assert db.context == "p95 is 1.4 s\non the editor's words endpoint."
    assert (db.need_back, db.blocks, db.line) == ("the CREATE INDEX statement", "the pagination change", 5)
    assert (requests[1].task, requests[1].need_back) == ("check the endpoint's query shape", "yes or no")
    assert requests[2].problems == ["no **Task:** line"]  # reported, not guessed


def test_placeholders_are_not_targets() -> None:
    assert handoff_targets("### -> <Display Name>\n### -> DB Architect\n")[0].name == "DB Architect"
    assert len(handoff_targets("### -> <Display Name>\n")) == 0


def test_escalation_table_under_the_top_level_heading() -> None:
    text = (
        "# Runbooks\n\n## Escalation\n\nCall someone.\n\n"
        "# Escalation\n\n| Signal | Escalate To | Example |\n|---|---|---|\n"
        "| Schema | DB Architect | an index |\n| ML | ML/AI Engineer, Backend QA | a model |\n\n# Next\n"
    )
    assert [(t.name, t.line) for t in escalation_targets(text)] == [
        ("DB Architect", 11),
        ("ML/AI Engineer", 12),
        ("Backend QA", 12),
    ]


def test_first_step_paths_are_backticked_paths() -> None:
    text = "# First Step\n1. Read `agents-shared/team-protocol.md` and `testing.md`.\n2. See `https://x.y/z`.\n# Identity\n`not/this.md`\n"
    assert first_step_paths(text) == [("agents-shared/team-protocol.md", 2)]
