"""Parsing the team's text protocol leniently: handoff requests and escalation tables."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentctl.config import load_settings
from agentctl.escalation import escalation_targets, first_step_paths, handoff_targets, is_placeholder
from agentctl.handoff import parse_handoffs, parse_output, resolve_targets
from agentctl.team import Team, load_team
from tests.conftest import REPO
from tests.test_property import MANGLERS

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


# --- parse_output: the whole of an agent's output ------------------------------------------------------


def fenced_examples(text: str, containing: str) -> list[str]:
    """The bodies of the fenced blocks of `text` that contain `containing` (the shipped examples)."""
    return [body for body in re.findall(r"^ *`{3,4}[a-z]*\n(.*?)^ *`{3,4} *$", text, re.M | re.S) if containing in body]


AGENT_FILES = sorted((REPO / "agents").glob("*.md"))
PROTOCOL = REPO / "agents-shared" / "team-protocol.md"


@pytest.fixture(scope="module")
def team() -> Team:
    if not (REPO / "agents" / "db-architect.md").is_file():
        pytest.skip("the team's agents are not in this checkout")
    return load_team(load_settings(cwd=REPO, environ={}))


def request_text(heading: str = "### -> DB Architect", task: str = "**Task:** Design the index") -> str:
    return f"Analysis.\n\n## Handoff Requests\n\n{heading}\n{task}\n"


def test_the_protocols_example_is_one_complete_request(team: Team) -> None:
    (example,) = fenced_examples(PROTOCOL.read_text("utf-8"), "## Handoff Requests")
    output = parse_output(example)
    (request,) = resolve_targets(output, team)
    assert (request.target, request.agent, request.line) == ("DB Architect", "db-architect", 3)
    assert request.task.startswith("Propose an index for the words fetch")
    assert request.context.startswith("At 1.2M rows") and request.need_back.startswith("Index definition")
    assert request.blocks == "The after-measurement of the words fetch scenario"
    assert output.problems == [] and request.problems == [] and request.dispatchable
    assert output.answer == ""


def test_the_protocols_continuation_plan_example() -> None:
    (example,) = fenced_examples(PROTOCOL.read_text("utf-8"), "## Continuation Plan")
    plan = parse_output(example).continuation_plan
    assert plan is not None and plan.startswith("If I receive handoff results, I will:\n1. Apply DB Architect's")


@pytest.mark.parametrize("path", AGENT_FILES, ids=lambda path: path.stem)
def test_every_shipped_agents_handoff_example_parses_and_resolves(path: Path, team: Team) -> None:
    text = path.read_text("utf-8")
    examples = fenced_examples(text, "## Handoff Requests")
    assert examples, "each agent teaches the handoff format with an example"
    for example in examples:
        output = parse_output(example)
        resolve_targets(output, team)
        assert output.handoffs
        for request in output.handoffs:
            if is_placeholder(request.target):  # the skeleton `### -> <Display Name>`
                assert request.agent is None and "placeholder" in request.problems[0]
            else:
                assert request.dispatchable and request.problems == [], request
                assert request.context and request.need_back and request.blocks


@pytest.mark.parametrize("path", AGENT_FILES, ids=lambda path: path.stem)
def test_examples_in_fences_are_not_requests(path: Path) -> None:
    text = path.read_text("utf-8")
    assert handoff_targets(text) or "<Display Name>" in text  # validate still sees the examples' names
    assert parse_output(text).handoffs == []  # but an agent quoting its format asks nobody for anything


@pytest.mark.parametrize("arrow", ["->", "-->", "--->", "→", "—>", "–>", "⟶"])
def test_every_arrow(arrow: str) -> None:
    (request,) = parse_output(request_text(f"### {arrow} DB Architect")).handoffs
    assert (request.target, request.task, request.line) == ("DB Architect", "Design the index", 5)


@pytest.mark.parametrize(("hashes", "found"), [("#", 0), ("##", 1), ("###", 1), ("####", 1), ("#####", 0)])
def test_heading_levels_two_to_four(hashes: str, found: int) -> None:
    assert len(parse_output(f"{hashes} -> DB Architect\n**Task:** x\n").handoffs) == found


@pytest.mark.parametrize(
    ("heading", "target"),
    [
        ("### -> DB Architect ##  ", "DB Architect"),  # a closing sequence and the spaces around it
        ("### -> DB Architect#", "DB Architect"),
        ("### -> DB#Architect", "DB#Architect"),  # a `#` inside the name is kept
        ("### ->   \t", ""),  # nothing after the arrow
        ("### -> ##", ""),  # only a closing sequence: no target, where `#` used to be one
        ("  ### **-> A**  ", "A"),
        ("## to: DB Architect ##", None),  # `To:` counts only in a Handoff Requests section
    ],
)
def test_a_headings_closing_hashes_and_spaces_are_not_the_target(heading: str, target: str | None) -> None:
    requests = parse_output(f"{heading}\n**Task:** x\n").handoffs
    assert [request.target for request in requests] == ([] if target is None else [target])
    names = [found.name for found in handoff_targets(heading + "\n")]
    assert names == ([target] if target and not heading.startswith(" ") else [])


@pytest.mark.parametrize(
    "heading",
    [
        "### -> db architect",
        "### -> DB-Architect",
        "### -> **DB Architect**",
        "### **-> DB Architect**",
        "### -> `db-architect`",
        "### -> Db Architect (db-architect)",
        "### -> DB Architect: the index for words",
        "### -> DB_ARCHITECT",
        "### -> DB Architect ###",
        "###->DB Architect",
    ],
)
def test_target_spellings_resolve_through_the_roster(heading: str, team: Team) -> None:
    output = parse_output(request_text(heading))
    (request,) = resolve_targets(output, team)
    assert request.agent == "db-architect" and output.problems == []
    assert "(" not in request.target and "*" not in request.target and "`" not in request.target


def test_to_heading_counts_inside_the_section_only(team: Team) -> None:
    inside = parse_output(request_text("### To: DB Architect"))
    assert [r.agent for r in resolve_targets(inside, team)] == ["db-architect"]
    assert parse_output("## Plans\n\n### To: do list\n**Task:** x\n").handoffs == []


def test_headings_outside_a_section_still_count() -> None:
    output = parse_output("Findings.\n\n### -> DB Architect\n**Task:** Design the index\n\nClosing words.\n")
    assert [r.target for r in output.handoffs] == ["DB Architect"] and output.problems == []
    assert output.answer == "Findings."  # the request is cut out of what the reader sees


@pytest.mark.parametrize(
    "line",
    [
        "**Task:** Design the index",
        "**Task**: Design the index",
        "Task: Design the index",
        "task : Design the index",
        "__Task:__ Design the index",
        "__Task__: Design the index",
        "*Task:* Design the index",
        "- **Task:** Design the index",
        "* Task: Design the index",
        "1. **Task:** Design the index",
        "**Task: Design the index**",
        "**The task:** Design the index",
    ],
)
def test_field_name_spellings(line: str) -> None:
    (request,) = parse_output(request_text(task=line)).handoffs
    assert request.task == "Design the index" and request.problems == []


@pytest.mark.parametrize("name", ["Context", "Context from my analysis", "context from the analysis"])
def test_context_aliases(name: str) -> None:
    (request,) = parse_output(request_text(task=f"**Task:** x\n**{name}:** p95 is 1.4 s")).handoffs
    assert request.context == "p95 is 1.4 s"


def test_any_order_multi_line_values_blank_lines_and_prose_around() -> None:
    text = (
        "I looked at the words endpoint.\n\n## Handoff Requests\n\nBefore the requests, a remark.\n\n"
        "### -> DB Architect\nPlease have a look.\n\n**Blocks:** the pagination change\n\n"
        "**I need back:**\n- the CREATE INDEX statement\n- the expected plan\n\n"
        "**Context from my analysis:** the query\n```sql\nSELECT * FROM words\n\nTask: not a field\n```\n"
        "takes 1.4 s.\n\n**Task:** Design the index\nfor `transcription_words`.\n\nThanks, I will wait for it.\n"
    )
    (request,) = parse_output(text).handoffs
    assert request.blocks == "the pagination change"
    assert request.need_back == "- the CREATE INDEX statement\n- the expected plan"
    assert request.context == "the query\n```sql\nSELECT * FROM words\n\nTask: not a field\n```\ntakes 1.4 s."
    assert request.task == "Design the index\nfor `transcription_words`."  # the closing prose is not the task
    assert request.problems == []


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_endings(newline: str) -> None:
    output = parse_output(ANSWER.replace("\n", newline))
    assert [r.target for r in output.handoffs] == ["DB Architect", "Backend Architect", "ML/AI Engineer"]
    assert output.handoffs[0].context == "p95 is 1.4 s\non the editor's words endpoint."
    assert output.continuation_plan == "1. Apply the index."
    assert "\r" not in output.answer


def test_fenced_headings_are_quotes_not_requests() -> None:
    text = (
        "Use this format:\n\n````\n```\n### -> DB Architect\n**Task:** x\n```\n````\n\n~~~\n## Handoff Requests\n~~~\n"
    )
    output = parse_output(text)
    assert output.handoffs == [] and output.problems == [] and "### -> DB Architect" in output.answer


def test_an_unclosed_fence_is_reported_and_read_as_text() -> None:
    output = parse_output("Code:\n```python\nx = 1\n\n## Handoff Requests\n### -> DB Architect\n**Task:** x\n")
    assert [r.target for r in output.handoffs] == ["DB Architect"]
    assert [(p.line, p.message) for p in output.problems] == [
        (2, "a code fence opened here is never closed; its lines are read as text")
    ]


def test_what_cannot_be_parsed_is_reported_with_its_line() -> None:
    text = (
        "## Handoff Requests\n\nNone needed.\n\n## Handoff Requests\n\n### ->\n**Task:** orphan\n\n"
        "### -> <Display Name>\n**Task:** <the work>\n\n### -> DB Architect\n**Deadline:** Friday\n"
        "**Task:** first\n**Task:** second\n\n### -> Backend QA\n**Task:**\n\n"
        "## Continuation Plan\n\n## Continuation Plan\n1. Go on.\n\n## Memory Notes\n\nNothing today.\n"
    )
    output = parse_output(text)
    assert [(p.line, p.message) for p in output.problems] == [
        (1, "a Handoff Requests section with no `### -> Target` heading"),
        (7, "handoff: no target after the arrow"),
        (10, "handoff to '<Display Name>': the target '<Display Name>' is a placeholder, not a team member"),
        (14, "handoff to 'DB Architect': unknown field **Deadline:** (kept in extra)"),
        (16, "handoff to 'DB Architect': **Task:** is given twice; the values are joined"),
        (18, "handoff to 'Backend QA': the **Task:** is empty"),
        (21, "a later Continuation Plan replaces this one"),
        (26, "a Memory Notes section with no `### <topic-slug>` heading"),
    ]  # a field's problem points at the field's line, a request's at its heading
    db = output.handoffs[2]
    assert (db.task, db.extra) == ("first\n\nsecond", {"Deadline": "Friday"})
    assert db.problems == [
        "unknown field **Deadline:** (kept in extra)",
        "**Task:** is given twice; the values are joined",
    ]
    assert output.handoffs[3].problems == ["the **Task:** is empty"]
    assert output.continuation_plan == "1. Go on."


def test_plain_unknown_names_are_text_emphasised_ones_are_extra_fields() -> None:
    text = request_text(task="**Task:** x\n**Context:** numbers\np95: 1.4 s\nNote: cold cache\n**Why:** users wait")
    (request,) = parse_output(text).handoffs
    assert request.context == "numbers\np95: 1.4 s\nNote: cold cache"
    assert request.extra == {"Why": "users wait"} and request.problems == ["unknown field **Why:** (kept in extra)"]


def test_the_answer_keeps_the_plan_and_drops_what_the_dispatcher_consumes() -> None:
    output = parse_output(
        ANSWER + "\n## Memory Notes\n\n### words-index\n```markdown\n# Words\n**Applies when:** x\n```\n"
    )
    assert output.answer == "My analysis: the words query needs an index.\n\n## Continuation Plan\n1. Apply the index."
    assert [note.topic for note in output.memory_notes] == ["words-index"]


def test_a_trailing_rule_before_the_cut_sections_goes_too() -> None:
    output = parse_output("Done.\n\n---\n\n## Handoff Requests\n### -> DB Architect\n**Task:** x\n")
    assert output.answer == "Done."


# --- memory notes --------------------------------------------------------------------------------------

FORMAT_A = "# Words index\n\n**Applies when:** paginating transcription words\n\nThe (transcription_id, start_ms) index\nserves the keyset.\nMeasured 1.4 s -> 12 ms.\n"
FORMAT_B = "# 2026-03-02-words-index.md\n## Insight: keyset on start_ms\n## Domain: indexing\nThe index serves it.\nMeasured 12 ms.\n## Source: the words task\n## Applies when: paginating words\n"


def test_memory_notes_fenced_in_both_formats() -> None:
    text = f"Answer.\n\n## Memory Notes\n\n### words-index\n```markdown\n{FORMAT_A}```\n\n### `keyset-start-ms`\n````md\n{FORMAT_B}````\n"
    output = parse_output(text)
    assert [(n.topic, n.slug, n.line, n.problems) for n in output.memory_notes] == [
        ("words-index", "words-index", 5, []),
        ("keyset-start-ms", "keyset-start-ms", 16, []),
    ]
    assert output.memory_notes[0].text == FORMAT_A.rstrip() and output.memory_notes[1].text == FORMAT_B.rstrip()
    assert output.problems == [] and output.answer == "Answer."


def test_memory_notes_unfenced_bodies_keep_their_own_headings() -> None:
    text = f"## Memory Notes\n\n### words-index\n{FORMAT_B}\n### words-a\n{FORMAT_A}\n## Summary\nDone.\n"
    output = parse_output(text)
    assert [n.text for n in output.memory_notes] == [FORMAT_B.rstrip(), FORMAT_A.rstrip()]
    assert output.answer == "## Summary\nDone."


def test_memory_note_problems() -> None:
    text = (
        "## Memory Notes\n\n### 2026-03-02-Words Index.md\n```markdown\n# Words\nno applies line\n```\nAlso this.\n\n"
        "### !!!\n```markdown\n# x\nApplies when: y\n```\n\n### empty-one\n\n### unclosed\n```markdown\n# U\nApplies when: z\n"
    )
    notes = parse_output(text).memory_notes
    assert notes[0].slug == "words-index"
    assert notes[0].problems == ["text after the fenced block is not part of the note", "no 'Applies when' line"]
    assert notes[1].problems == ["the topic has no letters or digits to name a file with"]
    assert notes[2].problems == ["the note is empty"]
    assert (notes[3].text, notes[3].problems) == ("# U\nApplies when: z", ["the fenced block is never closed"])
    unclosed = [p for p in parse_output(text).problems if p.line == 19]
    assert [p.message for p in unclosed] == ["memory note 'unclosed': the fenced block is never closed"]


# --- resolution and JSON -------------------------------------------------------------------------------


def test_unknown_targets_are_never_dispatchable_and_say_why(team: Team) -> None:
    text = request_text("### -> DB Architekt") + "\n### -> Release Manager\n**Task:** ship it\n"
    output = parse_output(text)
    requests = resolve_targets(output, team)
    assert [r.agent for r in requests] == [None, None] and not any(r.dispatchable for r in requests)
    assert requests[0].problems[0].startswith("not on the roster; did you mean 'DB Architect'")
    assert requests[1].problems == ["not on the roster"]
    assert [p.message.split(";")[0] for p in output.problems] == [
        "handoff to 'DB Architekt': not on the roster",
        "handoff to 'Release Manager': not on the roster",
    ]
    resolve_targets(output, team)  # resolving again adds nothing
    assert len(output.problems) == 2 and len(requests[1].problems) == 1


def test_resolve_a_plain_list_of_requests(team: Team) -> None:
    requests = resolve_targets(parse_handoffs(ANSWER), team)
    assert [r.agent for r in requests] == ["db-architect", "backend-architect", "ml-engineer"]
    assert [r.dispatchable for r in requests] == [True, True, False]  # the third has no task


def test_json_shape(team: Team) -> None:
    output = parse_output(ANSWER + "\n## Memory Notes\n\n### words-index\n```markdown\n# Words\nApplies when: x\n```\n")
    resolve_targets(output, team)
    data = json.loads(json.dumps(output.to_json()))
    assert list(data) == ["handoffs", "memory_notes", "continuation_plan", "problems", "answer"]
    assert list(data["handoffs"][0]) == [
        "target", "agent", "line", "task", "context", "need_back", "blocks", "extra", "problems",
    ]  # fmt: skip
    assert data["handoffs"][0]["agent"] == "db-architect" and data["handoffs"][0]["extra"] == {}
    assert data["memory_notes"] == [
        {"topic": "words-index", "slug": "words-index", "line": 24, "text": "# Words\nApplies when: x", "problems": []}
    ]
    assert data["problems"] == [{"line": 16, "message": "handoff to 'ML/AI Engineer': no **Task:** line"}]
    assert data["continuation_plan"] == "1. Apply the index."


# --- no text makes the parser raise ---------------------------------------------------------------------

SEED_OUTPUTS = [ANSWER, FORMAT_A, FORMAT_B, *(path.read_text("utf-8") for path in AGENT_FILES)]
SEED_OUTPUTS += [example for path in AGENT_FILES for example in fenced_examples(path.read_text("utf-8"), "### ")]
MARKDOWN_BITS = [
    "\n",
    "\r\n",
    "\r",
    "#",
    "### ",
    "## ",
    "-> ",
    "→",
    "—>",
    "**",
    "__",
    "`",
    "```",
    "~~~",
    ":",
    " ",
    "\t",
]
MARKDOWN_BITS += ["Task", "Context", "I need back", "Blocks", "Handoff Requests", "Memory Notes", "Continuation Plan"]
MARKDOWN_BITS += ["To:", "(", ")", "<", ">", "- ", "1. ", "Applies when", "x", "é", "\x00", "\u2028"]


@st.composite
def mangled_outputs(draw: st.DrawFn) -> str:
    data = draw(st.sampled_from(SEED_OUTPUTS)).encode("utf-8")
    for _ in range(draw(st.integers(1, 4))):
        data = draw(st.sampled_from(MANGLERS))(draw, data)
    return data.decode("utf-8", errors="replace")


def assert_well_formed(text: str) -> None:
    output = parse_output(text)
    last = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    for problem in output.problems:
        assert 1 <= problem.line <= last and problem.message
    for item in [*output.handoffs, *output.memory_notes]:
        assert 1 <= item.line <= last
    json.dumps(output.to_json())
    assert "\r" not in output.answer


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=400), st.lists(st.sampled_from(MARKDOWN_BITS), max_size=80).map("".join)))
def test_arbitrary_text_never_raises(text: str) -> None:
    assert_well_formed(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled_outputs())
def test_mangled_real_outputs_never_raise(text: str) -> None:
    assert_well_formed(text)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "text",
    [
        "# " + "Escalation " * 80_000 + "\nbody\n",
        "## Escalation\n" + "## Escalation x\n" * 50_000,
        "# First Step\n" + "#\n" * 100_000,
        "x" * 100_000 + "Escalation" * 20_000,
    ],
    ids=["markers-on-one-line", "many-level-2-titles", "many-heading-lines", "no-line-breaks"],
)
def test_sections_are_found_in_one_pass(text: str) -> None:
    """Each line is looked at once, whatever the number of heading words on it (the watchdog fails a
    quadratic search; the run takes milliseconds)."""
    escalation_targets(text)
    first_step_paths(text)
