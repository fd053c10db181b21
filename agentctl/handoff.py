"""The team's text protocol: handoff requests and escalation tables in agent text.

Agents talk to each other only through their output:

    ## Handoff Requests

    ### -> DB Architect            (also "-->" and "→"; a display name or an agent name)
    **Task:** <specific work needed>
    **Context from my analysis:** <what they need to know>
    **I need back:** <specific deliverable>
    **Blocks:** <which part of my work waits on this>

Parsing is lenient (bold or not, any field order, extra blank lines, trailing prose); what cannot
be parsed is reported, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agentctl.lazyre import LazyPattern

_TARGET_HEADING = LazyPattern(r"^(#{2,4})[ \t]*(?:-->|->|→)[ \t]*(.+?)[ \t]*#*[ \t]*$", re.M)
_FIELD = LazyPattern(r"^\s*(?:[-*]\s*)?(?:\*\*|__)?([A-Za-z][A-Za-z ]*?)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.*)$")
FIELDS = {
    "task": "task",
    "context from my analysis": "context",
    "context": "context",
    "i need back": "need_back",
    "need back": "need_back",
    "blocks": "blocks",
}


@dataclass(slots=True)
class HandoffRequest:
    target: str
    line: int  # 1-based line of the `### -> Target` heading
    task: str = ""
    context: str = ""
    need_back: str = ""
    blocks: str = ""
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class NamedTarget:
    """A team member named in an agent's text: a handoff heading or an escalation table cell."""

    name: str
    line: int
    where: str  # "handoff heading" or "escalation table"


def is_placeholder(name: str) -> bool:
    return "<" in name or ">" in name or name.strip() in ("", "...", "…")


def handoff_targets(text: str) -> list[NamedTarget]:
    """Every `### -> Name` heading in `text`, placeholders (`<Display Name>`) left out."""
    targets = []
    for match in _TARGET_HEADING.finditer(text):
        name = match.group(2).strip().strip("*`").strip()
        if not is_placeholder(name):
            targets.append(NamedTarget(name, text.count("\n", 0, match.start()) + 1, "handoff heading"))
    return targets


def parse_handoffs(text: str) -> list[HandoffRequest]:
    """The requests of the `## Handoff Requests` section (or of any `### -> Name` headings)."""
    lines = text.split("\n")
    requests: list[HandoffRequest] = []
    current: HandoffRequest | None = None
    last_field: str | None = None
    for number, line in enumerate(lines, start=1):
        heading = _TARGET_HEADING.match(line)
        if heading:
            current = HandoffRequest(heading.group(2).strip().strip("*`").strip(), number)
            requests.append(current)
            last_field = None
            continue
        if current is None:
            continue
        if re.match(r"^#{1,3}\s", line):  # another section ends the request
            current, last_field = None, None
            continue
        last_field = _read_field(current, line, last_field)
    for request in requests:
        if not request.task:
            request.problems.append("no **Task:** line")
    return requests


def _read_field(request: HandoffRequest, line: str, last_field: str | None) -> str | None:
    match = _FIELD.match(line)
    key = FIELDS.get(match.group(1).strip().lower()) if match else None
    if match and key:
        setattr(request, key, match.group(2).strip())
        return key
    if last_field and line.strip():  # a continuation line of the previous field
        setattr(request, last_field, (getattr(request, last_field) + "\n" + line.strip()).strip())
    return last_field


def escalation_targets(text: str, heading: str = "Escalation") -> list[NamedTarget]:
    """The names in the "Escalate To" column of the tables under the `# Escalation` section."""
    section = _section(text, heading)
    if section is None:
        return []
    start_line, body = section
    targets: list[NamedTarget] = []
    column: int | None = None
    for offset, line in enumerate(body.split("\n")):
        cells = _cells(line)
        if not cells:
            column = None
            continue
        lowered = [cell.lower() for cell in cells]
        if "escalate to" in lowered:
            column = lowered.index("escalate to")
            continue
        if column is None or set(line.replace("|", "").strip()) <= set("-: "):
            continue
        if column < len(cells):
            for name in re.split(r"\s*(?:,|;|\band\b|&)\s*", cells[column]):  # "ML/AI Engineer" is one name
                name = name.strip().strip("*`").strip()
                if name and not is_placeholder(name):
                    targets.append(NamedTarget(name, start_line + offset, "escalation table"))
    return targets


def _section(text: str, heading: str) -> tuple[int, str] | None:
    """(first line number, text) of the `# heading` section, up to the next `# ` heading."""
    # A top-level `# Escalation` wins over a same-named subsection elsewhere (e.g. in a runbook).
    match = re.search(rf"^#\s+{re.escape(heading)}\b.*$", text, re.M) or re.search(
        rf"^##\s+{re.escape(heading)}\b.*$", text, re.M
    )
    if match is None:
        return None
    level = len(match.group(0)) - len(match.group(0).lstrip("#"))
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{level}}}\s", rest, re.M)
    body = rest[: end.start()] if end else rest
    return text.count("\n", 0, match.end()) + 1, body


def _cells(line: str) -> list[str]:
    stripped = line.strip()
    if not stripped.startswith("|"):
        return []
    return [cell.strip() for cell in stripped.strip("|").split("|")]


def first_step_paths(text: str) -> list[tuple[str, int]]:
    """Backticked paths (with a `/`) that the `# First Step` section tells the agent to read."""
    section = _section(text, "First Step")
    if section is None:
        return []
    start_line, body = section
    found = []
    for offset, line in enumerate(body.split("\n")):
        for token in re.findall(r"`([^`\s]+)`", line):
            if "/" in token and not token.startswith(("http://", "https://")):
                found.append((token, start_line + offset))
    return found
