"""`agentctl fmt`: rewrite frontmatter as valid YAML that Claude Code reads as the author meant.

- Frontmatter that is not valid YAML (Claude Code skips it, or its fallback recovers or misreads
  it) is rewritten whole from the author's reading: every value, including the whole
  description that the fallback would truncate.
- Valid frontmatter keeps its text and comments; only entries that need it are rewritten:
  tool lists written as YAML lists become one comma-separated line, values holding `---`
  (where Claude Code would end the frontmatter) are escaped, duplicate keys lose their
  shadowed copies.
- The body is never touched, byte for byte; line endings and a byte-order mark are kept.
- A rewrite is kept only if Claude Code's model reads the result with the same name,
  description and tools as the author meant, and a standard YAML parser accepts it.
  Running fmt again changes nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agentctl import ccyaml, claude_code, spec
from agentctl.spec import AgentFile, AuthorEntry

LIST_AS_LINE = frozenset({"tools", "disallowedTools"})
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9(][^\n\t]*")
_PLAIN_UNSAFE = re.compile(r": |\s#|---|[:\s]$|^[-?:,\[\]{}#&*!|>'\"%@`]")


@dataclass(slots=True)
class FormatResult:
    path: Path
    original: str = ""
    formatted: str = ""
    problem: str | None = None  # why the file cannot be formatted
    notes: list[str] = field(default_factory=list)  # what the rewrite changed

    @property
    def changed(self) -> bool:
        return self.problem is None and self.formatted != self.original


def format_file(path: Path) -> FormatResult:
    try:
        data = path.read_bytes()
    except OSError as error:
        return FormatResult(path, problem=f"cannot read: {error.strerror}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return FormatResult(path, problem="not UTF-8: re-save it as UTF-8 first")
    return format_text(path, text)


def format_text(path: Path, text: str) -> FormatResult:
    agent = spec.parse_agent_text(path, text)
    if agent.reading is None or agent.reading.block is None:
        return FormatResult(path, text, text, problem="no frontmatter to format")
    region = _frontmatter_region(text)
    if region is None:
        return FormatResult(path, text, text, problem="the frontmatter is never closed by a `---` line")
    head, frontmatter, tail = region
    entries = spec.author_entries(agent.reading)
    newline = "\r\n" if "\r\n" in frontmatter else "\n"
    if _needs_full_rewrite(agent):
        new_frontmatter, notes = _full_rewrite(frontmatter, entries, newline), ["rewrote the frontmatter as valid YAML"]
    else:
        new_frontmatter, notes = _entry_fixes(frontmatter, entries, agent, newline)
    if new_frontmatter == frontmatter:
        return FormatResult(path, text, text)
    formatted = head + new_frontmatter + tail
    problem = _verify(path, formatted, entries)
    if problem is not None:
        return FormatResult(path, text, text, problem=problem)
    return FormatResult(path, text, formatted, notes=notes)


def _frontmatter_region(text: str) -> tuple[str, str, str] | None:
    """(opening line, frontmatter lines, closing line + body), split at the real closing line."""
    start = 1 if text.startswith("\ufeff") else 0
    opening_end = text.find("\n", start) + 1
    if opening_end == 0:
        return None
    position = opening_end
    while position < len(text):
        end = text.find("\n", position)
        line = text[position : end if end >= 0 else len(text)]
        if line.rstrip(" \t\r") == "---":
            return text[:opening_end], text[opening_end:position], text[position:]
        if end < 0:
            return None
        position = end + 1
    return None


def _needs_full_rewrite(agent: AgentFile) -> bool:
    reading = agent.reading
    assert reading is not None
    if reading.status != "valid":
        return True
    value = reading.parsed.value if reading.parsed else None
    return value is not None and not isinstance(value, dict)


# --- rewriting -----------------------------------------------------------------------------------


def _full_rewrite(frontmatter: str, entries: list[AuthorEntry], newline: str) -> str:
    """Every entry re-emitted; comment lines kept where they were, everything else rebuilt."""
    starts = {entry.line - 1: entry for entry in entries}
    output: list[str] = []
    for index, line in enumerate(frontmatter.replace("\r\n", "\n").split("\n")):
        if index in starts:
            output += emit_entry(starts[index].key, starts[index].value)
        elif line.startswith("#"):
            output.append(line)
    return "".join(line + newline for line in output)


def _entry_fixes(frontmatter: str, entries: list[AuthorEntry], agent: AgentFile, newline: str) -> tuple[str, list[str]]:
    lines = frontmatter.split("\n")
    duplicates = {
        line for _, line in (agent.reading.parsed.duplicate_keys if agent.reading and agent.reading.parsed else [])
    }
    replacements: dict[int, tuple[int, list[str]]] = {}  # first line -> (line count, new lines)
    notes = []
    for entry in entries:
        span = _value_span(entry)
        reason = _entry_fix_reason(entry)
        if reason is not None:
            replacements[entry.line - 1] = (span, emit_entry(entry.key, entry.value))
            notes.append(reason)
    for duplicate_line in sorted(duplicates):
        shadowed = _shadowed_span(lines, duplicate_line, entries)
        if shadowed is not None:
            replacements[shadowed[0]] = (shadowed[1], [])
            notes.append("removed a shadowed duplicate key")
    output: list[str] = []
    index = 0
    while index < len(lines):
        if index in replacements:
            count, new = replacements[index]
            output += [line + ("\r" if newline == "\r\n" else "") for line in new]
            index += count
            continue
        output.append(lines[index])
        index += 1
    return "\n".join(output), notes


def _value_span(entry: AuthorEntry) -> int:
    """How many lines the entry's key and value take (trailing blanks and comments excluded)."""
    lines = entry.source.split("\n")
    while len(lines) > 1 and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
        lines.pop()
    return len(lines)


def _entry_fix_reason(entry: AuthorEntry) -> str | None:
    if spec.placeholder(entry.source):
        return f"quoted the placeholder in `{entry.key}`"
    value = entry.value
    if entry.key in LIST_AS_LINE and isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return f"wrote `{entry.key}` on one line"
    if _holds_dashes(entry.value):
        return f"escaped `---` in `{entry.key}`"
    return None


def _holds_dashes(value: Any) -> bool:
    if isinstance(value, str):
        return "---" in value
    if isinstance(value, list):
        return any(_holds_dashes(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_dashes(item) for item in value.values())
    return False


def _shadowed_span(lines: list[str], duplicate_line: int, entries: list[AuthorEntry]) -> tuple[int, int] | None:
    """The first copy of a key written twice: its first line and line count."""
    later = next((entry for entry in entries if entry.line == duplicate_line), None)
    key = later.key if later else None
    pattern = re.compile(rf"{re.escape(key)}\s*:") if key else None
    for number in range(duplicate_line - 1):
        if pattern and pattern.match(lines[number]):
            end = number + 1
            while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
                end += 1
            return number, end - number
    return None


# --- emitting canonical YAML ----------------------------------------------------------------------


def emit_entry(key: str, value: Any) -> list[str]:
    """One `key: value` entry as YAML lines that Claude Code and standard parsers agree on."""
    if key in LIST_AS_LINE and isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = ", ".join(value)
    if isinstance(value, str):
        return [f"{key}: {line}" if i == 0 else line for i, line in enumerate(emit_string(value))]
    if value is None:
        return [f"{key}:"]
    dumped = yaml.safe_dump(
        {key: value}, default_flow_style=False, sort_keys=False, allow_unicode=True, width=1_000_000
    )
    return dumped.rstrip("\n").split("\n")


def emit_string(value: str) -> list[str]:
    """A string as a YAML scalar: plain when safe, a literal block for several lines, else quoted."""
    if _PLAIN_SAFE.fullmatch(value) and not _PLAIN_UNSAFE.search(value) and _reads_back(value, value):
        return [value]
    if "\n" in value.strip("\n") and "---" not in value and not value.startswith((" ", "\t")):
        block = _literal_block(value)
        if _reads_back("\n".join(block), value):
            return block
    return [_double_quoted(value)]


def _literal_block(value: str) -> list[str]:
    trailing = len(value) - len(value.rstrip("\n"))
    indicator = "|-" if trailing == 0 else "|" if trailing == 1 else "|+"
    body = value.rstrip("\n") if trailing <= 1 else value[:-1]
    return [indicator] + [f"  {line}" if line else "" for line in body.split("\n")]


def _double_quoted(value: str) -> str:
    quoted = json.dumps(value, ensure_ascii=False)
    # Claude Code ends the frontmatter at any `---`; an escaped dash keeps the text the same.
    return quoted.replace("---", "-\\x2d-")


def _reads_back(scalar: str, expected: str) -> bool:
    """Whether Bun (YAML 1.2, Claude Code) and a YAML 1.1 reader both get `expected` back."""
    document = "k: " + scalar + "\n"
    result = ccyaml.parse(document)
    if not (result.ok and result.standard_error is None and result.value == {"k": expected}):
        return False
    try:
        return bool(yaml.safe_load(document) == {"k": expected})  # `yes` is a boolean to YAML 1.1
    except yaml.YAMLError:
        return False


# --- verification -----------------------------------------------------------------------------------


def _verify(path: Path, formatted: str, entries: list[AuthorEntry]) -> str | None:
    """Why the rewrite must not be written, or None when Claude Code reads it as intended."""
    after = spec.parse_agent_text(path, formatted)
    reading = after.reading
    if reading is None or reading.status != "valid":
        return "the rewrite would still not be valid YAML (please report this)"
    intended = {entry.key: entry.value for entry in entries}
    expected = claude_code.judge(intended)
    got = after.verdict
    if (got.loads, got.name, got.description, got.tools) != (
        expected.loads,
        expected.name,
        expected.description,
        expected.tools,
    ):
        return "the rewrite would change what Claude Code reads (please report this)"
    return None
