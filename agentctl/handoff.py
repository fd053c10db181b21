"""The team's text protocol: what an agent's output asks of the team, and escalation tables.

Agents talk to each other only through their output:

    ## Handoff Requests

    ### -> DB Architect            (also "-->", "→", "—>"; a display name or an agent name)
    **Task:** <specific work needed>
    **Context from my analysis:** <what they need to know>
    **I need back:** <specific deliverable>
    **Blocks:** <which part of my work waits on this>

    ## Continuation Plan
    If I receive handoff results, I will: ...

    ## Memory Notes

    ### <topic-slug>
    ```markdown
    <the whole note>
    ```

`parse_output` reads all three and never raises. Parsing is lenient (bold, underscored or plain
field names, colon inside or outside the bold, list items, any field order, blank lines, prose
around the blocks, CRLF); what cannot be parsed is reported with its line, never guessed. Text
inside code fences is quoted, not said: a `### -> X` in a fence is an example, not a request.

Decisions, for the dispatcher and for agents' authors:
- `### -> X` headings (levels 2 to 4) count anywhere outside fences, as they always have; a
  `## Handoff Requests` section is the protocol's place for them but not a condition.
- `### To: X` counts only inside a `## Handoff Requests` section: elsewhere it is too common a
  heading to mean a request.
- Field names are known (Task, Context / Context from my analysis, I need back, Blocks) or, when
  emphasised (`**Deadline:**`), unknown: kept in `extra` and reported. A plain `Note: ...` line is
  text, so that `p95: 1.4 s` inside a Context is not mistaken for a field.
- The last field of a request ends at its first blank line: what follows is the requester's
  closing prose, not part of the request.
- Only a missing or empty Task is a problem: a request without Context, I need back or Blocks is
  still one the target can work on.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from agentctl.escalation import ARROW, closing_stripped, is_placeholder
from agentctl.lazyre import LazyPattern
from agentctl.records import field, record

if TYPE_CHECKING:
    from agentctl.team import Team

# Every pattern here reads model output or file content, so each runs in linear time: no two
# quantifiers next to each other can share a character (possessive `*+` where they would), and a
# heading's closing `#`s and spaces are stripped in Python (`escalation.closing_stripped`) rather
# than by a lazy group before `[ \t]*#*[ \t]*$`, which backtracks cubically on a line of spaces.
_REQUEST_HEADING = LazyPattern(rf"^ {{0,3}}(#{{2,4}})[ \t]*+(?:\*\*|__)?+[ \t]*+{ARROW}[ \t]*+(.*)$")
_TO_HEADING = LazyPattern(r"^ {0,3}(#{2,4})[ \t]++(?:\*\*|__)?+to[ \t]*+:[ \t]*+(.*)$", re.I)
_HEADING = LazyPattern(r"^ {0,3}(#{1,6})(?:[ \t]++(.*))?$")
_FENCE = LazyPattern(r"^[ \t]*+(`{3,}+|~{3,}+)(.*)$")
# A field line: optional list marker, then `**Name:**`, `**Name**:`, `__Name:__`, `*Name*:` or `Name:`.
# The name (at most 49 characters) is the only part that backtracks.
_FIELD_LINE = LazyPattern(
    r"^[ \t]*+(?:[-*+][ \t]++|\d{1,3}[.)][ \t]++)?+"
    r"(?P<open>\*\*|__|\*|_)?+[ \t]*+"
    r"(?P<name>[A-Za-z][A-Za-z0-9 '’/&()-]{0,48}?)[ \t]*+"
    r"(?P<inner>:)?+[ \t]*+(?(open)(?P<close>(?P=open))?+)[ \t]*+(?(inner)|:)"
    r"[ \t]*+(?P<value>.*)$"
)
_NOTE_FIELD_HEADING = LazyPattern(r"^[A-Za-z][A-Za-z ]{0,30}:")  # format B's `## Insight: ...`
_APPLIES_WHEN = LazyPattern(r"applies[ _-]when", re.I)
_DATED_TOPIC = LazyPattern(r"^\d{4}-\d{2}-\d{2}-|\.md$")
_MARKUP = LazyPattern(r"[*_`:]")
# Names in one "Escalate To" cell; the spaces around a separator are stripped from each name after.

FIELDS = {
    "task": "task",
    "the task": "task",
    "context from my analysis": "context",
    "context from the analysis": "context",
    "context from analysis": "context",
    "context": "context",
    "i need back": "need_back",
    "need back": "need_back",
    "what i need back": "need_back",
    "blocks": "blocks",
    "blocking": "blocks",
}
FIELD_LABELS = {"task": "Task", "context": "Context from my analysis", "need_back": "I need back", "blocks": "Blocks"}
SECTIONS = {
    "handoff requests": "handoffs",
    "handoff request": "handoffs",
    "handoffs": "handoffs",
    "continuation plan": "plan",
    "memory notes": "memory",
    "memory note": "memory",
}


@record
class Problem:
    """Something in an agent's output that could not be read as the protocol says."""

    line: int  # 1-based
    message: str

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "message": self.message}


@record
class HandoffRequest:
    target: str  # as written, without markup or a trailing "(agent-name)"
    line: int  # 1-based line of the `### -> Target` heading
    task: str = ""
    context: str = ""
    need_back: str = ""
    blocks: str = ""
    problems: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)  # emphasised fields the protocol does not have
    agent: str | None = None  # the agent the roster resolves `target` to (set by resolve_targets)
    aliases: list[str] = field(default_factory=list)  # other readings of the heading, tried in resolution

    @property
    def dispatchable(self) -> bool:
        """Resolved to an agent and carrying a task: the only requests a dispatcher may run."""
        return self.agent is not None and bool(self.task.strip())

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "agent": self.agent,
            "line": self.line,
            "task": self.task,
            "context": self.context,
            "need_back": self.need_back,
            "blocks": self.blocks,
            "extra": dict(self.extra),
            "problems": list(self.problems),
        }


@record
class MemoryNote:
    """One `### <topic-slug>` note of a `## Memory Notes` section, for the dispatcher to save."""

    topic: str  # as written
    line: int  # 1-based line of the `### <topic-slug>` heading
    text: str  # the note itself (the fenced block's content when fenced)
    problems: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        """The file-name slug; a topic written as a file name (`2026-03-02-x.md`) loses date and suffix."""
        from agentctl.memory import slugify  # only callers that save or print notes pay for it

        return slugify(_DATED_TOPIC.sub("", self.topic.strip()))

    def to_json(self) -> dict[str, object]:
        return {"topic": self.topic, "slug": self.slug, "line": self.line, "text": self.text, "problems": self.problems}


@record
class AgentOutput:
    """What one agent's output says to the team, and what a reader should see of it."""

    answer: str  # the output without its Handoff Requests and Memory Notes sections
    handoffs: list[HandoffRequest] = field(default_factory=list)
    memory_notes: list[MemoryNote] = field(default_factory=list)
    continuation_plan: str | None = None
    problems: list[Problem] = field(default_factory=list)  # every problem, those of requests and notes too

    def to_json(self) -> dict[str, object]:
        return {
            "handoffs": [request.to_json() for request in self.handoffs],
            "memory_notes": [note.to_json() for note in self.memory_notes],
            "continuation_plan": self.continuation_plan,
            "problems": [problem.to_json() for problem in self.problems],
            "answer": self.answer,
        }


def parse_handoffs(text: str) -> list[HandoffRequest]:
    """The handoff requests of an agent's output (see `parse_output`)."""
    return parse_output(text).handoffs


# --- reading an agent's output -------------------------------------------------------------------------


@record
class _Section:
    kind: str  # "handoffs", "plan" or "memory"
    start: int  # 0-based index of the heading line
    end: int  # index of the first line after the section
    level: int


@record
class _Doc:
    """The output's lines, with what a markdown reader would see as headings (fences excluded)."""

    lines: list[str]
    fences: dict[int, int]  # opening line -> closing line of each closed fence
    fenced: list[bool]
    headings: dict[int, tuple[int, str]]  # line -> (level, title)
    arrows: dict[int, tuple[int, str]]  # line -> (level, raw target) of `### -> Target` headings
    unclosed: list[int]  # lines of fences never closed (read as text)
    heading_lines: list[int] = field(default_factory=list)  # sorted keys of `headings`, for bisect
    sections: list[_Section] = field(default_factory=list)
    by_kind: dict[str, list[_Section]] = field(default_factory=dict)  # `sections` of each kind, in order
    spans: list[tuple[int, int]] = field(default_factory=list)  # (first line, end) of each request


def parse_output(text: str) -> AgentOutput:
    """Read an agent's output: handoff requests, continuation plan, memory notes, problems.

    Never raises: whatever the text, the result says what was found and what was not understood.
    """
    doc = _read_doc(text)
    doc.sections = _find_sections(doc)
    for section in doc.sections:
        doc.by_kind.setdefault(section.kind, []).append(section)
    problems: list[Problem] = []
    output = AgentOutput(answer="")
    output.handoffs = _read_requests(doc, problems)
    output.memory_notes = _read_notes(doc, problems)
    output.continuation_plan = _read_plan(doc, problems)
    problems.extend(_empty_sections(doc, output))
    reported = {problem.line for problem in problems}
    problems.extend(
        Problem(index + 1, "a code fence opened here is never closed; its lines are read as text")
        for index in doc.unclosed
        if index + 1 not in reported  # a memory note already said so
    )
    output.problems = sorted(problems, key=lambda problem: problem.line)
    output.answer = _answer(doc)
    return output


def _read_doc(text: str) -> _Doc:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    fences, unclosed = _find_fences(lines)
    fenced = [False] * len(lines)
    for opening, closing in fences.items():
        fenced[opening : closing + 1] = [True] * (closing + 1 - opening)
    doc = _Doc(lines, fences, fenced, {}, {}, unclosed)
    for index, line in enumerate(lines):
        if fenced[index] or "#" not in line:
            continue
        heading = _HEADING.match(line)
        if heading:
            doc.headings[index] = (len(heading.group(1)), closing_stripped(heading.group(2) or "").strip())
        arrow = _REQUEST_HEADING.match(line)
        if arrow:  # `###->X` too, which a markdown reader would not call a heading
            doc.arrows[index] = (len(arrow.group(1)), closing_stripped(arrow.group(2)))
            doc.headings[index] = (len(arrow.group(1)), line.strip().lstrip("#").strip())
    doc.heading_lines = list(doc.headings)  # ascending: lines were read in order
    return doc


def _find_fences(lines: list[str]) -> tuple[dict[int, int], list[int]]:
    """Closed fences (a closer uses the opener's character, at least as many, and no info string)."""
    fences: dict[int, int] = {}
    opener: tuple[int, str, int] | None = None
    for index, line in enumerate(lines):
        if "```" not in line and "~~~" not in line:
            continue
        match = _FENCE.match(line)
        if match is None:
            continue
        marks, rest = match.group(1), match.group(2)
        if opener is None:
            if not (marks[0] == "`" and "`" in rest):  # ```x``` is inline code, not a fence
                opener = (index, marks[0], len(marks))
        elif marks[0] == opener[1] and len(marks) >= opener[2] and not rest.strip():
            fences[opener[0]] = index
            opener = None
    return fences, [opener[0]] if opener else []


def _section_kind(title: str) -> str | None:
    return SECTIONS.get(" ".join(_MARKUP.sub(" ", title).lower().split()))


def _find_sections(doc: _Doc) -> list[_Section]:
    sections = []
    for index, (level, title) in doc.headings.items():
        kind = _section_kind(title) if level <= 3 else None
        if kind is not None:
            sections.append(_Section(kind, index, _section_end(doc, index, level, kind), level))
    return sections


def _section_end(doc: _Doc, start: int, level: int, kind: str) -> int:
    for index in _headings_between(doc, start, len(doc.lines)):
        if index in doc.arrows:
            if kind == "handoffs":
                continue  # requests live inside their section, whatever their heading level
            return index  # requests written after a plan are not part of the plan
        heading_level, title = doc.headings[index]
        if heading_level <= 3 and _section_kind(title) is not None:
            return index
        if kind == "memory":
            # An unfenced note brings its own `# Title` and format B's `## Insight: ...` headings.
            if 1 < heading_level <= level and not _NOTE_FIELD_HEADING.match(title):
                return index
        elif heading_level <= level:
            return index
    return len(doc.lines)


def _enclosing(doc: _Doc, index: int, kind: str) -> _Section | None:
    """The section of `kind` that holds line `index` (sections never overlap: each ends where the
    next begins), found by bisection: an answer may hold thousands of sections and requests."""
    sections = doc.by_kind.get(kind, [])
    position = bisect.bisect_left(sections, index, key=_start_of) - 1
    if position >= 0 and index < sections[position].end:
        return sections[position]
    return None


def _start_of(section: _Section) -> int:
    return section.start


# --- handoff requests ---------------------------------------------------------------------------------


def _read_requests(doc: _Doc, problems: list[Problem]) -> list[HandoffRequest]:
    starts = _request_starts(doc)
    requests = []
    for position, (index, level, raw) in enumerate(starts):
        section = _enclosing(doc, index, "handoffs")
        bound = min(starts[position + 1][0] if position + 1 < len(starts) else len(doc.lines), _end_of(section, doc))
        end = _request_end(doc, index, level, bound)
        doc.spans.append((index, end))
        request, found = _read_request(doc, index, raw, end)
        requests.append(request)
        problems.extend(Problem(problem.line, f"{_who(request)}: {problem.message}") for problem in found)
    return requests


def _end_of(section: _Section | None, doc: _Doc) -> int:
    return section.end if section else len(doc.lines)


def _request_starts(doc: _Doc) -> list[tuple[int, int, str]]:
    """(line index, heading level, raw target) of every request heading, in order."""
    starts = [(index, level, raw) for index, (level, raw) in doc.arrows.items()]
    for section in doc.sections:
        if section.kind != "handoffs":
            continue
        for index in _headings_between(doc, section.start, section.end):
            match = None if index in doc.arrows else _TO_HEADING.match(doc.lines[index])
            if match:
                starts.append((index, len(match.group(1)), closing_stripped(match.group(2))))
    return sorted(starts)


def _request_end(doc: _Doc, start: int, level: int, bound: int) -> int:
    """A request ends at the next heading of its level or above (`####` notes inside one are text)."""
    limit = max(3, level)
    return next((index for index in _headings_between(doc, start, bound) if doc.headings[index][0] <= limit), bound)


def _headings_between(doc: _Doc, start: int, end: int) -> Iterator[int]:
    """Heading lines strictly after `start` and before `end`, one at a time: a caller that stops at
    the first one it wants reads no further (a list of all of them per section is quadratic)."""
    lines = doc.heading_lines
    for position in range(bisect.bisect_right(lines, start), bisect.bisect_left(lines, end)):
        yield lines[position]


def _read_request(doc: _Doc, index: int, raw: str, end: int) -> tuple[HandoffRequest, list[Problem]]:
    target, aliases = _clean_target(raw)
    request = HandoffRequest(target, index + 1, aliases=aliases)
    problems = []
    if not target:
        problems.append(Problem(index + 1, "no target after the arrow"))
    elif is_placeholder(target):
        problems.append(Problem(index + 1, f"the target {target!r} is a placeholder, not a team member"))
    values = _field_values(doc, index + 1, end, problems)
    for key, value in values.items():
        if key in FIELD_LABELS:
            setattr(request, key, value)
        else:
            request.extra[key] = value
    if "task" not in values:
        problems.append(Problem(index + 1, "no **Task:** line"))
    elif not request.task:
        problems.append(Problem(index + 1, "the **Task:** is empty"))
    request.problems = [problem.message for problem in problems]
    return request, problems


def _clean_target(raw: str) -> tuple[str, list[str]]:
    """The target without markup, and other readings: `DB Architect (db-architect)`, `DB Architect: why`."""
    name = raw.replace("**", "").replace("__", "").replace("`", "").strip().strip("*_").strip().lstrip("@")
    name = name.rstrip(" .,;:").strip()
    aliases = []
    parenthesis = _trailing_parenthesis(name)
    if parenthesis is not None:
        name = parenthesis[0]
        aliases.append(parenthesis[1].strip("`*@ "))
    for separator in (": ", " — ", " – ", " - "):
        if separator in name:
            aliases.append(name.split(separator, 1)[0].strip())
    return name, [alias for alias in aliases if alias]


def _trailing_parenthesis(name: str) -> tuple[str, str] | None:
    """`DB Architect (db-architect)` -> ("DB Architect", "db-architect"): a closing (...) holding no
    other parenthesis, after some text. (Found with rfind: a lazy regex rescans spaces quadratically.)"""
    if not name.endswith(")"):
        return None
    opening = name.rfind("(", 0, len(name) - 1)
    inner = name[opening + 1 : -1]
    if opening < 1 or ")" in inner:
        return None
    return name[:opening].strip(), inner


def _who(request: HandoffRequest) -> str:
    return f"handoff to {request.target!r}" if request.target else "handoff"


_Line = tuple[str, bool]  # a value's line, and whether it lies in a code fence


def _field_values(doc: _Doc, start: int, end: int, problems: list[Problem]) -> dict[str, str]:
    """Each field's value: its first line's text and the lines after it, up to the next field."""
    values: dict[str, list[_Line]] = {}
    current: str | None = None
    segment = 0  # where the current field's latest value starts in values[current]
    for index in range(start, end):
        line, fenced = doc.lines[index], doc.fenced[index]
        found = None if fenced else _field(line)
        if found is None:
            if current is not None:
                values[current].append((line.rstrip() if fenced else line.strip(), fenced))
            continue
        current, label, value = found
        if current in values:
            problems.append(Problem(index + 1, f"{label} is given twice; the values are joined"))
            values[current].append(("", False))
        elif current not in FIELD_LABELS:
            problems.append(Problem(index + 1, f"unknown field {label} (kept in extra)"))
        values.setdefault(current, [])
        segment = len(values[current])
        values[current].append((value, False))
    if current is not None:
        values[current] = values[current][:segment] + _without_closing_prose(values[current][segment:])
    return {key: "\n".join(text for text, _ in lines).strip() for key, lines in values.items()}


def _field(line: str) -> tuple[str, str, str] | None:
    """(key, label, value) of a field line: a known field's key, or an emphasised unknown name."""
    if ":" not in line:
        return None
    match = _FIELD_LINE.match(line)
    if match is None:
        return None
    name = " ".join(match.group("name").split())
    emphasis = match.group("open")
    key = FIELDS.get(name.lower())
    if key is None and not emphasis:
        return None  # `p95: 1.4 s` in a value is text, not a field
    value = match.group("value").strip()
    if emphasis and not match.group("close") and value.endswith(emphasis):
        value = value[: -len(emphasis)].rstrip()  # `**Task: the whole line in bold**`
    return key or name, f"**{FIELD_LABELS[key] if key else name}:**", value


def _without_closing_prose(lines: list[_Line]) -> list[_Line]:
    """The last field ends at its first blank line (outside fences) after some text."""
    seen_text = False
    for position, (text, fenced) in enumerate(lines):
        if text.strip():
            seen_text = True
        elif seen_text and not fenced:
            return lines[:position]
    return lines


# --- resolution ------------------------------------------------------------------------------------------


def resolve_targets(output: AgentOutput | Iterable[HandoffRequest], team: Team) -> list[HandoffRequest]:
    """Set each request's `agent` through the roster (display name or agent name, any case).

    A target the roster does not resolve keeps `agent = None` (never dispatch it) and gets a
    problem, with a did-you-mean when a name is close; on an AgentOutput the problem is added to
    its `problems` too, so the requester can be told in its continuation.
    """
    requests = output.handoffs if isinstance(output, AgentOutput) else list(output)
    for request in requests:
        message = _resolve(request, team)
        if message is None or message in request.problems:
            continue
        request.problems.append(message)
        if isinstance(output, AgentOutput):
            output.problems.append(Problem(request.line, f"{_who(request)}: {message}"))
    if isinstance(output, AgentOutput):
        output.problems.sort(key=lambda problem: problem.line)
    return requests


def _resolve(request: HandoffRequest, team: Team) -> str | None:
    from agentctl.errors import UnknownAgentError

    request.agent = None
    if is_placeholder(request.target):
        return None  # already reported as a placeholder or a missing target
    hint = None
    for candidate in [request.target, *request.aliases]:
        try:
            agent = team.resolve(candidate)
        except UnknownAgentError as error:
            hint = hint or error.hint
            continue
        request.agent = agent.team_name
        return None
    suggestion = f"; {hint}" if hint and hint.startswith("did you mean") else ""
    return f"not on the roster{suggestion}"


# --- memory notes and the continuation plan ----------------------------------------------------------------


def _read_notes(doc: _Doc, problems: list[Problem]) -> list[MemoryNote]:
    notes = []
    for section in doc.sections:
        if section.kind != "memory":
            continue
        starts = [
            index
            for index in _headings_between(doc, section.start, section.end)
            if section.level < doc.headings[index][0] <= 4
        ]
        for position, index in enumerate(starts):
            end = starts[position + 1] if position + 1 < len(starts) else section.end
            note, found = _read_note(doc, index, end)
            notes.append(note)
            problems.extend(
                Problem(problem.line, f"memory note {note.topic!r}: {problem.message}") for problem in found
            )
    return notes


def _read_note(doc: _Doc, index: int, end: int) -> tuple[MemoryNote, list[Problem]]:
    topic = doc.headings[index][1].replace("**", "").replace("`", "").strip()
    problems: list[Problem] = []
    note = MemoryNote(topic, index + 1, _note_text(doc, index + 1, end, problems))
    if not note.slug:
        problems.append(Problem(index + 1, "the topic has no letters or digits to name a file with"))
    if not note.text:
        problems.append(Problem(index + 1, "the note is empty"))
    elif not _APPLIES_WHEN.search(note.text):
        problems.append(Problem(index + 1, "no 'Applies when' line"))
    note.problems = [problem.message for problem in problems]
    return note, problems


def _note_text(doc: _Doc, start: int, end: int, problems: list[Problem]) -> str:
    """The fenced block's content when the note starts with one, else the text under the heading."""
    first = next((index for index in range(start, end) if doc.lines[index].strip()), None)
    if first is None:
        return ""
    if first in doc.fences:
        closing = doc.fences[first]
        after = next((index for index in range(closing + 1, end) if doc.lines[index].strip()), None)
        if after is not None:
            problems.append(Problem(after + 1, "text after the fenced block is not part of the note"))
        return "\n".join(doc.lines[first + 1 : closing]).rstrip().lstrip("\n")
    if first in doc.unclosed:
        problems.append(Problem(first + 1, "the fenced block is never closed"))
        first += 1
    return "\n".join(doc.lines[first:end]).rstrip().lstrip("\n")


def _read_plan(doc: _Doc, problems: list[Problem]) -> str | None:
    plans = [section for section in doc.sections if section.kind == "plan"]
    for section in plans[:-1]:
        problems.append(Problem(section.start + 1, "a later Continuation Plan replaces this one"))
    if not plans:
        return None
    body = "\n".join(doc.lines[plans[-1].start + 1 : plans[-1].end]).strip()
    if not body:
        problems.append(Problem(plans[-1].start + 1, "the Continuation Plan is empty"))
    return body or None


def _empty_sections(doc: _Doc, output: AgentOutput) -> list[Problem]:
    problems = []
    requests = sorted(request.line - 1 for request in output.handoffs)
    notes = sorted(note.line - 1 for note in output.memory_notes)
    for section in doc.sections:
        if section.kind == "handoffs" and not _holds_any(requests, section):
            problems.append(Problem(section.start + 1, "a Handoff Requests section with no `### -> Target` heading"))
        if section.kind == "memory" and not _holds_any(notes, section):
            problems.append(Problem(section.start + 1, "a Memory Notes section with no `### <topic-slug>` heading"))
    return problems


def _holds_any(lines: list[int], section: _Section) -> bool:
    """Whether one of the sorted `lines` lies inside the section (after its heading)."""
    position = bisect.bisect_right(lines, section.start)
    return position < len(lines) and lines[position] < section.end


def _answer(doc: _Doc) -> str:
    """The output as a reader should see it: without the sections addressed to the dispatcher."""
    removed = [False] * len(doc.lines)
    spans = [(s.start, s.end) for s in doc.sections if s.kind in ("handoffs", "memory")] + doc.spans
    for start, end in spans:
        removed[start:end] = [True] * (end - start)
    kept: list[str] = []
    for index, line in enumerate(doc.lines):
        blank = not line.strip()
        if removed[index] or (blank and not doc.fenced[index] and (not kept or not kept[-1].strip())):
            continue  # one blank line where sections were cut out
        kept.append(line)
    while spans and kept and kept[-1].strip() in ("", "---", "***", "___"):
        kept.pop()  # the rule that separated the answer from the cut sections
    return "\n".join(kept).rstrip()
