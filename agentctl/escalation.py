"""What an agent file says about its team: escalation tables, `### -> Name` headings, First Step paths.

validate (wiring rules), graph, route and the prompt builder read these from every agent file of a
team, so this module is small and cheap to import; handoff.py, which reads a model's answers, builds
on its arrow and heading helpers. Every line is looked at by str methods first: patterns run only on
lines that start with `#` or `|`, and each is linear (possessive where a run could split two ways).
"""

from __future__ import annotations

import re

from agentctl.lazyre import LazyPattern
from agentctl.records import record

# "->", "-->", "--->", "—>", "–>", "→", "⟶": models and authors write all of them.
ARROW = r"(?:-{1,3}>|[—–]{1,2}>|→|⟶)"
_TARGET_HEADING = LazyPattern(rf"^(#{{2,4}})[ \t]*+{ARROW}[ \t]*+(.*)$", re.M)
_NAME_SEPARATOR = LazyPattern(r",|;|\band\b|&")
_BACKTICKED = LazyPattern(r"`([^`\s]++)`")


@record
class NamedTarget:
    """A team member named in an agent's text: a handoff heading or an escalation table cell."""

    name: str
    line: int
    where: str  # "handoff heading" or "escalation table"


def is_placeholder(name: str) -> bool:
    return "<" in name or ">" in name or name.strip() in ("", "...", "…")


def handoff_targets(text: str) -> list[NamedTarget]:
    """Every `### -> Name` heading in `text`, placeholders (`<Display Name>`) left out.

    Fences are not skipped here: an agent file's handoff examples live in fences, and validate
    checks that the names they teach are on the roster.
    """
    targets = []
    for number, line in enumerate(text.split("\n"), start=1):
        match = _TARGET_HEADING.match(line) if line.startswith("##") else None  # only headings can
        if match is None:
            continue
        name = closing_stripped(match.group(2)).strip().strip("*`").strip()
        if not is_placeholder(name):
            targets.append(NamedTarget(name, number, "handoff heading"))
    return targets


def closing_stripped(title: str) -> str:
    """A heading's text without its optional closing `#`s and the spaces around them."""
    return title.rstrip(" \t\r").rstrip("#").rstrip(" \t")


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
            for name in _NAME_SEPARATOR.split(cells[column]):  # "ML/AI Engineer" is one name
                name = name.strip().strip("*`").strip()
                if name and not is_placeholder(name):
                    targets.append(NamedTarget(name, start_line + offset, "escalation table"))
    return targets


def _section(text: str, heading: str) -> tuple[int, str] | None:
    """(first line number, text) of the `# heading` section, up to the next heading of its level.

    A top-level `# Escalation` wins over a same-named subsection elsewhere (e.g. in a runbook). The
    text is searched with str.find for the heading's words and for line starts holding `#`: each
    line is looked at once, at C speed (validate reads two sections of every agent of the team)."""
    title = _section_title(text, heading)
    if title is None:
        return None
    level, start = title
    first = text.find("\n", start)
    if first < 0:
        return text.count("\n", 0, start) + 2, ""
    end = _next_heading(text, first, level)
    return text.count("\n", 0, start) + 2, text[first + 1 : end]


def _section_title(text: str, heading: str) -> tuple[int, int] | None:
    """(level, offset of its line) of the `#` or `##` heading line titled `heading` (level 1 first)."""
    best: tuple[int, int] | None = None
    at = text.find(heading)
    while at >= 0:
        start = text.rfind("\n", 0, at) + 1
        level = _title_level(text, start, at, at + len(heading))
        if level and (best is None or level < best[0]):
            best = (level, start)
            if level == 1:
                break
        line_end = text.find("\n", at)
        at = -1 if line_end < 0 else text.find(heading, line_end)
    return best


def _title_level(text: str, start: int, at: int, after: int) -> int:
    """1 or 2 when the line from `start` is `#`/`##`, blanks, then the heading at `at`; else 0."""
    prefix = text[start:at]
    hashes = len(prefix) - len(prefix.lstrip("#"))
    blanks = prefix[hashes:]
    word_ends = after >= len(text) or not (text[after].isalnum() or text[after] == "_")
    if hashes in (1, 2) and blanks and not blanks.strip() and "\n" not in blanks and word_ends:
        return hashes
    return 0


def _next_heading(text: str, first: int, level: int) -> int:
    """Where the line of the next heading of `level` or above begins after offset `first` (a line
    break), or the end of the text."""
    at = text.find("\n#", first)
    while at >= 0:
        line_end = text.find("\n", at + 1)
        line = text[at + 1 : line_end if line_end >= 0 else len(text)]
        if 1 <= _heading_level(line) <= level:
            return at
        at = -1 if line_end < 0 else text.find("\n#", line_end)
    return len(text)


def _heading_level(line: str) -> int:
    """The level of a `#` heading line (`## x` is 2), 0 for any other line."""
    if line[:1] != "#":
        return 0
    level = len(line) - len(line.lstrip("#"))
    return level if line[level : level + 1] in (" ", "\t", "\r", "") else 0


def _cells(line: str) -> list[str]:
    stripped = line.strip()
    if not stripped.startswith("|"):
        return []
    return [cell.strip() for cell in stripped.strip("|").split("|")]


# What a path that stands for many (`agents-memory/<agent-name>/`, `.../*.md`) holds: never a real path.
_PATH_PLACEHOLDER = ("<", ">", "{", "}", "*", "...", "…", "$")


def named_paths(lines: list[str], first_line: int, prefixes: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """(path, line, column) of every backticked path in `lines` (the file's lines from `first_line`,
    1-based) that starts with one of `prefixes`, placeholders (`agents-memory/<agent-name>/`) left out."""
    found = []
    for offset, line in enumerate(lines):
        if "`" not in line:
            continue
        for match in _BACKTICKED.finditer(line):
            token = match.group(1)
            if token.startswith(prefixes) and not any(mark in token for mark in _PATH_PLACEHOLDER):
                found.append((token, first_line + offset, match.start() + 1))
    return found


def first_step_paths(text: str) -> list[tuple[str, int]]:
    """Backticked paths (with a `/`) that the `# First Step` section tells the agent to read."""
    section = _section(text, "First Step")
    if section is None:
        return []
    start_line, body = section
    found = []
    for offset, line in enumerate(body.split("\n")):
        for token in _BACKTICKED.findall(line):
            if "/" in token and not token.startswith(("http://", "https://")):
                found.append((token, start_line + offset))
    return found
