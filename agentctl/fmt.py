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

Hostile files are findings, never hangs: reads are bounded (bounds.AGENT_FILE_BYTES, regular files
only), frontmatter over the parser's budget is left alone, and every walk over values here is
iterative and visits each value once, however often YAML aliases repeat it.

Writes keep the file what it was (fsutil.rewrite_bytes: owner, mode, hard links; atomic where it
can be) and never leave the folders agentctl may write in: a symlink is written through only to a
target inside the team (or inside what the user named); a read-only file is left as it is.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from agentctl import bounds, ccyaml, claude_code, fsutil, spec
from agentctl.records import field, record
from agentctl.spec import AgentFile, AuthorEntry

if TYPE_CHECKING:
    from agentctl.config import Settings

LIST_AS_LINE = frozenset({"tools", "disallowedTools"})
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9(][^\n\t]*")
_PLAIN_UNSAFE = re.compile(r": |\s#|---|[:\s]$|^[-?:,\[\]{}#&*!|>'\"%@`]")


@record
class FormatResult:
    path: Path
    original: str = ""
    formatted: str = ""
    problem: str | None = None  # why the file cannot be formatted
    notes: list[str] = field(default_factory=list)  # what the rewrite changed

    @property
    def changed(self) -> bool:
        return self.problem is None and self.formatted != self.original


@record
class FormatRun:
    """What one `agentctl fmt` did: a result per agent file, and the stale temporaries it removed."""

    results: list[FormatResult]
    removed: list[Path] = field(default_factory=list)


def format_paths(targets: list[Path], settings: Settings | None, write: bool) -> FormatRun:
    """Format every agent file below `targets` (absolute); with `write`, write the changes back.

    Writes stay inside the team's root and the folders in `targets`, and keep each file what it
    was (owner, mode, hard links); a file that cannot be written so gets a problem instead."""
    from agentctl.validate.discovery import discover

    candidates = [candidate for candidate in discover(targets, settings) if candidate.kind == "agent"]
    results = [format_file(candidate.path) for candidate in candidates]
    if not write:
        return FormatRun(results)
    areas = writable_areas(targets, settings)
    removed = _remove_stale_temporaries_beside(results, areas)
    where = "the team" if settings is not None else "the folders named"
    for result in results:
        if result.changed:
            write_result(result, areas, where)
    return FormatRun(results, removed)


def format_file(path: Path) -> FormatResult:
    try:
        data = fsutil.read_bounded(path, bounds.AGENT_FILE_BYTES)
    except fsutil.FileTooLargeError as error:
        return FormatResult(path, problem=f"{error.strerror}: Claude Code skips agent files this large; shorten it")
    except fsutil.NotRegularFileError as error:
        return FormatResult(path, problem=f"{error.strerror}: nothing to format")
    except OSError as error:
        return FormatResult(path, problem=f"cannot read: {error.strerror or error}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return FormatResult(path, problem="not UTF-8: re-save it as UTF-8 first")
    try:
        return format_text(path, text)
    except RecursionError:
        # The last line of defence: the parser and the walks here measure depth before they recurse.
        return FormatResult(path, text, text, problem=_too_deep())


def format_text(path: Path, text: str) -> FormatResult:
    agent = spec.parse_agent_text(path, text)
    if agent.reading is None or agent.reading.block is None:
        return FormatResult(path, text, text, problem="no frontmatter to format")
    region = _frontmatter_region(text)
    if region is None:
        return FormatResult(path, text, text, problem="the frontmatter is never closed by a `---` line")
    head, frontmatter, tail = region
    entries = spec.author_entries(agent.reading)
    problem = _over_budget(agent, frontmatter, entries) or _unreadable_shape(agent, frontmatter, entries)
    if problem is not None:
        return FormatResult(path, text, text, problem=problem)
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
    """Every entry re-emitted; comment lines kept where they were (an indented one dedented),
    everything else rebuilt. A comment inside an entry's lines that its value does not hold follows
    the entry, so that no line the author wrote is dropped."""
    starts = {entry.line - 1: entry for entry in entries}
    inside = {entry.line - 1 + offset for entry in entries for offset in range(entry.source.count("\n") + 1)}
    output: list[str] = []
    for index, line in enumerate(frontmatter.replace("\r\n", "\n").split("\n")):
        if index in starts:
            output += emit_entry(starts[index].key, starts[index].value) + _comments_of(starts[index])
        elif index not in inside and line.lstrip(" \t").startswith("#"):
            output.append(line.lstrip(" \t"))
    return "".join(line + newline for line in output)


def _comments_of(entry: AuthorEntry) -> list[str]:
    """The comment lines among an entry's continuation lines that its value does not contain."""
    value = entry.value if isinstance(entry.value, str) else ""
    lines = [line.lstrip(" \t") for line in entry.source.split("\n")[1:]]
    return [line for line in lines if line.startswith("#") and line not in value]


def _unreadable_shape(agent: AgentFile, frontmatter: str, entries: list[AuthorEntry]) -> str | None:
    """Why the author's keys cannot be known, so that a rewrite would lose them: a frontmatter that
    YAML reads as a list or a single value, or text with no `key:` line at all."""
    parsed = agent.reading.parsed if agent.reading else None
    if parsed is not None and parsed.ok and parsed.value is not None and not isinstance(parsed.value, dict):
        shape = "a list" if isinstance(parsed.value, list) else "a single value"
        return (
            f"the frontmatter is {shape}, not `key: value` lines: fmt cannot tell which keys were meant "
            "(write each as `key: value`, e.g. `name: reviewer`)"
        )
    content = [line for line in frontmatter.split("\n") if line.strip() and not line.lstrip().startswith("#")]
    if content and not entries:
        return "no line of the frontmatter reads as `key: value`: fmt cannot tell which keys were meant"
    return None


def _entry_fixes(frontmatter: str, entries: list[AuthorEntry], agent: AgentFile, newline: str) -> tuple[str, list[str]]:
    lines = frontmatter.split("\n")
    replacements: dict[int, tuple[int, list[str]]] = {}  # first line -> (line count, new lines)
    notes = []
    for entry in entries:
        span = _value_span(entry)
        reason = _entry_fix_reason(entry)
        if reason is not None:
            replacements[entry.line - 1] = (span, emit_entry(entry.key, entry.value))
            notes.append(reason)
    for first, count in _shadowed_copies(lines, agent.reading.parsed if agent.reading else None):
        replacements[first] = (count, [])
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
    return "\n".join(output), list(dict.fromkeys(notes))  # each change said once


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
    return any(isinstance(item, str) and "---" in item for item in _scalars(value))


def _shadowed_copies(lines: list[str], parsed: ccyaml.YamlResult | None) -> list[tuple[int, int]]:
    """Every copy of a key written more than once except the last (the one YAML keeps): the first
    line (0-based) and line count of each. One pass over the lines, however many copies."""
    later: dict[str, list[int]] = {}  # key -> 0-based lines of its second and later copies
    for key, line in parsed.duplicate_keys if parsed else []:
        later.setdefault(key, []).append(line - 1)
    shadowed = [line for copies in later.values() for line in sorted(copies)[:-1]]
    shadowed += _first_copies(lines, {key: min(copies) for key, copies in later.items()})
    return [(start, _entry_line_count(lines, start)) for start in sorted(set(shadowed))]


def _first_copies(lines: list[str], before: dict[str, int]) -> list[int]:
    """The line of each key's first copy (`key:` at the start of a line, before `before[key]`)."""
    found: dict[str, int] = {}
    for number, line in enumerate(lines[: max(before.values(), default=0)]):
        key = line.split(":", 1)[0].rstrip() if ":" in line else None
        if key is not None and key not in found and number < before.get(key, -1):
            found[key] = number
    return list(found.values())


def _entry_line_count(lines: list[str], start: int) -> int:
    """Lines of the entry starting at `start`: its own, and the indented or blank ones after it."""
    end = start + 1
    while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
        end += 1
    return end - start


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


# --- budgets: hostile frontmatter ---------------------------------------------------------------


def _over_budget(agent: AgentFile, frontmatter: str, entries: list[AuthorEntry]) -> str | None:
    """Why the frontmatter must be left as it is: a parse behind the author's reading went over the
    parser's budget (it left values out: a rewrite would drop them, or write their text back as a
    string)."""
    reason = next(
        (result.over_budget for result in _author_parses(agent, frontmatter, entries) if result.over_budget), None
    )
    return f"{reason.rstrip('.')}: not rewritten" if reason is not None else None


def _author_parses(agent: AgentFile, frontmatter: str, entries: list[AuthorEntry]) -> Iterator[ccyaml.YamlResult]:
    """The parses the author's reading rests on (spec.author_entries keeps their values, not their
    budget reasons): Claude Code's text; all of it when Claude Code stopped at a `---` inside a
    value; each entry alone when the frontmatter is not valid YAML (an entry over the budget then
    reads as its text)."""
    reading = agent.reading
    if reading is not None and reading.parsed is not None:
        yield reading.parsed
    if reading is not None and reading.block is not None and frontmatter != reading.block.text:
        yield ccyaml.parse(frontmatter)
    if _needs_full_rewrite(agent):
        yield from (ccyaml.parse(entry.source) for entry in entries)


def _too_deep() -> str:
    return f"the frontmatter nests too deeply (agentctl's limit is {bounds.YAML_DEPTH} levels): not rewritten"


def _scalars(value: Any) -> Iterator[Any]:
    """Every scalar inside `value`, without recursion. A list or mapping is walked once however
    often YAML aliases repeat it, so an alias bomb costs what its text does."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if not isinstance(item, (dict, list)):
            yield item
        elif id(item) not in seen:
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)


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


# --- writing back --------------------------------------------------------------------------------


def writable_areas(targets: list[Path], settings: Settings | None) -> list[Path]:
    """The folders fmt may write in, symlinks resolved: the team's root, and each folder the user
    named (a named file's own folder). A symlink that leads anywhere else is not written through."""
    folders = [settings.root] if settings is not None else []
    folders += [target if target.is_dir() else target.parent for target in targets]
    return [Path(os.path.realpath(folder)) for folder in folders]


def write_result(result: FormatResult, areas: list[Path], where: str = "the team") -> None:
    """Write a changed file back: through a symlink only to a target inside `areas`, keeping the
    file's owner, mode and hard links. A file that cannot be written so keeps its text and gets a
    problem instead (it counts as not formatted)."""
    target = Path(os.path.realpath(result.path))
    if not _inside(target, areas):
        result.problem = (
            f"a symlink leads it outside {where}, to {target}: not rewritten; "
            f"run `agentctl fmt {target}` on the target itself, or copy it into {where}"
        )
        return
    try:
        fsutil.rewrite_bytes(target, result.formatted.encode("utf-8"))
    except fsutil.ReadOnlyFileError:
        result.problem = "read-only: not rewritten (make it writable, e.g. `chmod u+w`, to format it)"
    except OSError as error:
        result.problem = f"cannot write: {error.strerror or error}; not rewritten"


def _inside(path: Path, areas: list[Path]) -> bool:
    return any(path.is_relative_to(area) for area in areas)


def _remove_stale_temporaries_beside(results: list[FormatResult], areas: list[Path]) -> list[Path]:
    """Delete the temporaries that killed runs left in the folders fmt writes in (the files' own
    folders and their symlinks' targets' folders), never outside `areas`."""
    folders: set[Path] = set()
    for result in results:
        folders |= {Path(os.path.realpath(result.path.parent)), Path(os.path.realpath(result.path)).parent}
    removed: list[Path] = []
    for folder in sorted(folders):
        if _inside(folder, areas):
            removed += fsutil.remove_stale_temporaries(folder)
    return removed
