"""Rules about whether and how Claude Code loads the file (CC*, NM001)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from agentctl import claude_code, spec
from agentctl.bounds import YAML_DEPTH
from agentctl.spec import AgentFile
from agentctl.textlines import shorten
from agentctl.validate.model import Diagnostic
from agentctl.validate.positions import file_line, frontmatter_line, key_position, value_position
from agentctl.validate.rules import finding

FMT_HINT = "run `agentctl fmt` to rewrite the frontmatter as valid YAML"

# What libyaml's terse messages mean in agent files.
_PLAIN_WORDS = (
    ("mapping values are not allowed here", "an unquoted value holds ': '"),
    ("found character '\\t' that cannot start any token", "a tab is used as indentation"),
    ("found a tab character", "a tab is used as indentation"),
    ("could not find expected ':'", "a line is neither `key: value` nor indented under one"),
    ("expected <block end>, but found", "text follows a value where a new `key:` should start"),
    ("found unexpected end of stream", "a quote is never closed"),
    ("not indented deeper than its key", "a quoted value continues on a line that is not indented"),
)


def plain_yaml_problem(message: str) -> str:
    for technical, plain in _PLAIN_WORDS:
        if technical in message:
            return plain
    return message


def check_file_access(agent: AgentFile) -> Iterator[Diagnostic]:
    if agent.read_error:
        yield finding("CC010", 1, 1, f"cannot read the file: {agent.read_error}", "check its permissions")
    elif agent.binary:
        yield finding("CC010", 1, 1, "the file is binary, not markdown", "remove it from the agents folder")
    elif agent.too_large:
        yield finding(
            "CC010",
            1,
            1,
            "the file is larger than 1 MiB: Claude Code skips it",
            "move long material into files the agent reads",
        )
    if agent.invalid_utf8_line is not None:
        yield finding(
            "CC011",
            agent.invalid_utf8_line,
            1,
            "the line holds bytes that are not UTF-8; Claude Code shows U+FFFD (\ufffd) in their place",
            "re-save the file as UTF-8",
        )


def check_frontmatter(agent: AgentFile) -> Iterator[Diagnostic]:
    reading = agent.reading
    if reading is None:
        return
    if reading.status == "absent":
        yield _no_frontmatter(agent.text)
        return
    yield from _over_budget(agent)
    if reading.status == "invalid":
        yield _unparseable(agent)
    elif reading.status == "recovered":
        yield _recovered(agent)
    elif reading.status == "lenient" and reading.parsed and reading.parsed.standard_error:
        problem = reading.parsed.standard_error
        yield finding(
            "CC005",
            frontmatter_line(agent, problem.line),
            problem.column,
            f"standard YAML parsers reject the frontmatter ({plain_yaml_problem(problem.message)}); "
            "Claude Code reads it",
            "remove tab characters from indentation and blank lines",
        )
    yield from _cut_short(agent)
    yield from _not_a_mapping(agent)
    yield from _duplicate_keys(agent)


def _no_frontmatter(text: str) -> Diagnostic:
    stripped = text.lstrip("\ufeff")
    first = next((line for line in stripped.split("\n") if line.strip()), "")
    hint = "start the file with a line `---`, then `name:` and `description:`, then a line `---`"
    if not stripped.strip():
        reason = "the file is empty"
    elif first.strip().startswith("---") and first.strip() != first.rstrip():
        reason = "the frontmatter is indented; `---` must start the first line"
    elif first.rstrip() == "---" and not stripped.startswith("---"):
        reason = "blank lines come before `---`; it must be the very first line"
    elif stripped.startswith("----"):
        reason = "the frontmatter opens with more than three dashes"
    elif stripped.startswith("---"):
        reason = "the frontmatter is never closed"
        hint = "add a line `---` after the last frontmatter key"
    else:
        reason = "the file does not start with `---`"
    return finding("CC001", 1, 1, f"Claude Code finds no frontmatter and skips the file: {reason}", hint)


def _over_budget(agent: AgentFile) -> Iterator[Diagnostic]:
    reading = agent.reading
    if reading is None or reading.over_budget is None:
        return
    yield finding(
        "CC015",
        frontmatter_line(agent, reading.over_budget_line or 1),
        1,
        f"{reading.over_budget}: agentctl reads only the frontmatter's other keys",
        f"write the value out plainly: at most {YAML_DEPTH} levels of nesting, no chains of `&anchor`/`*alias`",
    )


def _unparseable(agent: AgentFile) -> Diagnostic:
    reading = agent.reading
    assert reading is not None and reading.parsed is not None and reading.parsed.error is not None
    problem = reading.parsed.error
    line = frontmatter_line(agent, problem.line)
    return finding(
        "CC002",
        line,
        problem.column,
        f"the frontmatter is not YAML ({plain_yaml_problem(problem.message)}) and Claude Code's fallback "
        "cannot read it either: Claude Code skips the file without a message",
        f"{FMT_HINT}, or quote the value on line {line}",
    )


def _recovered(agent: AgentFile) -> Diagnostic:
    reading = agent.reading
    assert reading is not None and reading.parsed is not None and reading.parsed.error is not None
    problem = reading.parsed.error
    line = frontmatter_line(agent, problem.line)
    changes = fallback_changes(agent)
    if changes:
        return finding(
            "CC003",
            line,
            problem.column,
            "Claude Code's fallback misreads the frontmatter: " + "; ".join(changes),
            FMT_HINT,
        )
    return finding(
        "CC004",
        line,
        problem.column,
        f"the frontmatter is not valid YAML ({plain_yaml_problem(problem.message)}); Claude Code's fallback "
        "recovers it, other tools and future Claude Code versions may not",
        FMT_HINT,
    )


def fallback_changes(agent: AgentFile) -> list[str]:
    """What Claude Code's fallback reads differently from what the author wrote."""
    reading = agent.reading
    assert reading is not None
    theirs, ours = reading.data, agent.spec.raw
    changes = []
    description = ours.get("description")
    if isinstance(description, str) and theirs.get("description") != description:
        kept = str(theirs.get("description", ""))
        changes.append(f"it keeps only {shorten(kept, 60)!r} of the description")
    swallowed = [key for key in theirs if key not in ours]
    if swallowed:
        lines = _lines_of_keys(agent, swallowed)
        named = ", ".join(swallowed[:10]) + (f" and {len(swallowed) - 10:,} more" if len(swallowed) > 10 else "")
        changes.append(f"it reads {lines} as the keys {named}")
    for key in ("name", "tools", "model"):
        if key in ours and key in theirs and theirs[key] != ours[key]:
            changes.append(f"it reads `{key}` as {shorten(str(theirs[key]), 60)!r}")
    return changes


def _lines_of_keys(agent: AgentFile, keys: list[str]) -> str:
    block = agent.reading.block if agent.reading else None
    if block is None:
        return "lines"
    wanted = set(keys)
    with_colons = [key for key in keys if ":" in key]  # rare: looked for one by one
    numbers = [
        block.first_line + index
        for index, line in enumerate(block.text.split("\n"))
        if _starts_with_key(line, wanted, with_colons)
    ]
    if not numbers:
        return "lines"
    return f"line {numbers[0]}" if len(numbers) == 1 else f"lines {numbers[0]}-{numbers[-1]}"


def _starts_with_key(line: str, keys: set[str], with_colons: list[str]) -> bool:
    """Whether the line is `key:` (spaces allowed before the colon) for one of `keys`: a set lookup,
    as a pattern of thousands of alternatives tried on every line is quadratic."""
    head, colon, _ = line.partition(":")
    if colon and head.rstrip() in keys:
        return True
    return any(line.startswith(key) and line[len(key) :].lstrip().startswith(":") for key in with_colons)


def _cut_short(agent: AgentFile) -> Iterator[Diagnostic]:
    block = agent.reading.block if agent.reading else None
    if block is None or block.text.endswith("\n") or block.text == "":
        return
    if spec.intended_frontmatter_text(block) == block.text:
        return
    line = block.first_line + block.text.count("\n")
    column = len(block.text) - block.text.rfind("\n")
    yield finding(
        "CC008",
        line,
        column,
        "Claude Code ends the frontmatter at this `---` inside a value: the rest of the frontmatter "
        "becomes part of the system prompt",
        "`agentctl fmt` rewrites the value so that no `---` appears in it",
    )


def _not_a_mapping(agent: AgentFile) -> Iterator[Diagnostic]:
    reading = agent.reading
    if reading is None or reading.status not in ("valid", "lenient") or reading.parsed is None:
        return
    value = reading.parsed.value
    if value is not None and not isinstance(value, dict):
        kind = "a list" if isinstance(value, list) else "a single value"
        block = reading.block
        yield finding(
            "CC012",
            block.first_line if block else 1,
            1,
            f"the frontmatter is {kind}, not `key: value` lines: Claude Code skips the file",
            "write the frontmatter as `name: ...` and `description: ...` lines, without `- `",
        )


def _duplicate_keys(agent: AgentFile) -> Iterator[Diagnostic]:
    reading = agent.reading
    parsed = reading.parsed if reading else None
    if parsed is None or not parsed.ok:
        return
    for key, line in parsed.duplicate_keys:
        yield finding(
            "CC013",
            frontmatter_line(agent, line),
            1,
            f"`{key}` is written more than once; only the last one counts",
            "delete the copies you do not mean",
        )


def check_verdict(agent: AgentFile) -> Iterator[Diagnostic]:
    """Why Claude Code refuses a frontmatter that it did parse."""
    reading = agent.reading
    if reading is None or reading.status in ("absent", "invalid") or not reading.data:
        if (
            reading is not None
            and reading.status in ("valid", "lenient")
            and reading.parsed
            and reading.parsed.value is None
        ):
            yield finding(
                "CC006",
                key_position(agent, "name")[0],
                1,
                "the frontmatter is empty: Claude Code skips the file",
                _NAME_HINT,
            )
        return
    data = reading.data
    yield from _name_problems(agent, data)
    if claude_code.name_or_description_problem(data) is None:
        yield from _hooks_problems(agent, data)


_NAME_HINT = "add `name: your-agent-name` (lowercase letters and hyphens) to the frontmatter"


def _name_problems(agent: AgentFile, data: dict[str, Any]) -> Iterator[Diagnostic]:
    name, description = data.get("name"), data.get("description")
    line, column = value_position(agent, "name")
    if not isinstance(name, str) or not name:
        yield finding(
            "CC006",
            *key_position(agent, "name"),
            f"`name` is {_state(data, 'name')}: Claude Code skips the file",
            _NAME_HINT,
        )
        return
    problem = claude_code.name_or_description_problem({"name": name, "description": "x"})
    if problem is not None:
        yield finding(
            "NM001",
            line,
            column,
            f"Claude Code skips the file: {problem}",
            "use lowercase letters, digits and hyphens, starting with a letter",
        )
        return
    if not isinstance(description, str) or not description:
        hint = "add `description:` saying when the agent should be used"
        if isinstance(description, dict):
            hint = "quote the description: `{...}` makes YAML read a mapping"
        message = f"`description` is {_state(data, 'description')}: Claude Code skips the file"
        yield finding("CC007", *key_position(agent, "description"), message, hint)


def _state(data: dict[str, Any], key: str) -> str:
    """How a required key falls short: missing, empty, or not text."""
    if key not in data:
        return "missing"
    value = data[key]
    if value is None or value == "":
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}, not text"
    if isinstance(value, (int, float)):
        return f"the number {value}, not text"
    return f"{'a mapping' if isinstance(value, dict) else 'a list'}, not text"


def _hooks_problems(agent: AgentFile, data: dict[str, Any]) -> Iterator[Diagnostic]:
    if data.get("hooks") == []:
        yield finding(
            "FM010",
            *key_position(agent, "hooks"),
            "`hooks: []` is not a mapping of hook events: Claude Code skips the agent",
            "delete the `hooks:` line, or map event names to matchers",
        )
        return
    problem = claude_code.hooks_problem(data)
    if problem is not None:
        key = next((key for key in data if f"`{key}`" in problem), "hooks")
        yield finding(
            "CC009",
            *key_position(agent, key),
            f"Claude Code skips the agent: {problem}",
            "put hooks under `hooks:` as `EventName: [{matcher: ..., hooks: [{type: command, command: ...}]}]`",
        )


def check_comment_cuts(agent: AgentFile) -> Iterator[Diagnostic]:
    """A plain value with ` #` loses its tail: YAML reads a comment."""
    reading = agent.reading
    if reading is None or reading.status not in ("valid", "lenient"):
        return
    for key in ("name", "description", "model"):
        line_number = agent.spec.key_lines.get(key)
        value = reading.data.get(key)
        if line_number is None or not isinstance(value, str):
            continue
        line = file_line(agent, line_number)
        rest = line.split(":", 1)[1].strip() if ":" in line else ""
        if rest[:1] in ("'", '"', "|", ">") or not re.search(r"\s#", rest):
            continue
        column = line.find(" #") + 2
        yield finding(
            "CC014",
            line_number,
            column,
            f"`{key}` ends at ` #`: YAML reads the rest of the line as a comment",
            f'quote the value: {key}: "{shorten(rest, 40)}"',
        )


CHECKS = (check_file_access, check_frontmatter, check_verdict, check_comment_cuts)
