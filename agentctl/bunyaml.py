"""YAML as Claude Code reads it: the full reader behind `agentctl.ccyaml.parse`.

Claude Code parses frontmatter with Bun's built-in YAML parser (YAML 1.2 core schema), not
with libyaml. The two agree on ordinary files; where they do not, Claude Code's reading is
what matters. This module reads with PyYAML (libyaml when available) and closes the gaps
that were found by differential testing against Bun 1.4.4, the runtime of Claude Code 2.1.330:

- scalars resolve by the YAML 1.2 core schema: `yes`/`no`/`on` stay strings, `012` is 12;
- unknown tags are ignored and keys become strings as JavaScript would make them;
- a block scalar at the very end of the text still ends with a newline;
- Bun tolerates tabs on blank and comment-only lines, and tabs after a block scalar's
  indentation, which libyaml refuses;
- Bun refuses a quoted scalar or flow collection whose continuation lines are not indented
  deeper than the block collection around it, which libyaml accepts.

`parse` says both what Bun makes of the text and whether a standard parser accepts it,
because "Claude Code reads it" and "it is valid YAML" are separate facts for a validator.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from agentctl import yamlbudget
from agentctl.ccyaml import YamlProblem, YamlResult, js_string
from agentctl.lazyre import LazyPattern
from agentctl.records import field, record
from agentctl.textlines import shorten
from agentctl.yamlbudget import LeftOut

# libyaml's parser is ~10x faster; PyYAML builds without it fall back to the pure-Python one.
_FastParser: Any = None
if getattr(yaml, "__with_libyaml__", False):
    import yaml.cyaml

    _FastParser = yaml.cyaml.CParser  # type: ignore[attr-defined]


class CoreSchemaResolver(BaseResolver):
    """Implicit types of the YAML 1.2 core schema, as Bun resolves them."""


_IMPLICIT = [
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        "float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+0123456789.",
    ),
    ("merge", r"<<", "<"),
]
for _kind, _pattern, _first in _IMPLICIT:
    CoreSchemaResolver.add_implicit_resolver(
        f"tag:yaml.org,2002:{_kind}", re.compile(rf"^(?:{_pattern})$"), list(_first)
    )


class BunConstructor(SafeConstructor):
    """Builds values the way Bun.YAML.parse hands them to JavaScript."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[str, Any]:  # type: ignore[override]
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            mapping[js_string(key)] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_map(self, node: MappingNode) -> Any:
        data: dict[str, Any] = {}
        yield data
        data.update(self.construct_mapping(node))

    def construct_yaml_int(self, node: ScalarNode) -> Any:
        text = str(self.construct_scalar(node))
        try:
            if text.startswith("0o"):
                return int(text[2:], 8)
            if text.startswith("0x"):
                return int(text[2:], 16)
            return int(text, 10)
        except ValueError:  # an explicit !!int on a non-number: Bun keeps the text
            return text

    def construct_yaml_float(self, node: ScalarNode) -> Any:
        text = str(self.construct_scalar(node))
        lowered = text.lower()
        if lowered.endswith("inf"):
            return -math.inf if lowered.startswith("-") else math.inf
        if lowered.endswith("nan"):
            return math.nan
        try:
            number = float(text)
        except ValueError:  # an explicit !!float on a non-number: Bun keeps the text
            return text
        # JavaScript has one number type: 1.0 and 1e3 are integers there.
        return int(number) if number.is_integer() else number

    def construct_by_kind(self, node: Node) -> Any:
        """Unknown or exotic tags: Bun ignores the tag and keeps the node's plain value."""
        if isinstance(node, ScalarNode):
            return self.construct_scalar(node)
        if isinstance(node, SequenceNode):
            return self.construct_sequence(node)
        return self.construct_mapping(node)  # type: ignore[arg-type]


# (types-PyYAML ties add_constructor to its own loader classes, hence the ignores.)
BunConstructor.add_constructor("tag:yaml.org,2002:map", BunConstructor.construct_yaml_map)  # type: ignore[type-var]
BunConstructor.add_constructor("tag:yaml.org,2002:int", BunConstructor.construct_yaml_int)  # type: ignore[type-var]
BunConstructor.add_constructor("tag:yaml.org,2002:float", BunConstructor.construct_yaml_float)  # type: ignore[type-var]
for _tag in ("binary", "timestamp", "omap", "pairs", "set"):
    BunConstructor.add_constructor(f"tag:yaml.org,2002:{_tag}", BunConstructor.construct_by_kind)  # type: ignore[type-var]
BunConstructor.add_constructor(None, BunConstructor.construct_by_kind)  # type: ignore[type-var]


class _PureLoader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    BunConstructor,
    CoreSchemaResolver,
):
    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        BunConstructor.__init__(self)
        CoreSchemaResolver.__init__(self)


if _FastParser is not None:

    class _FastLoader(_FastParser, BunConstructor, CoreSchemaResolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            _FastParser.__init__(self, stream)
            BunConstructor.__init__(self)
            CoreSchemaResolver.__init__(self)

    _LOADERS: tuple[type, ...] = (_FastLoader, _PureLoader)
else:  # pragma: no cover
    _LOADERS = (_PureLoader,)
# Composes what the pure-Python parser read (see yamlbudget.compose: it never recurses past the budget).
_BunReplay = yamlbudget.replay_class(CoreSchemaResolver)


class _FlowIndentError(Exception):
    def __init__(self, line: int, column: int) -> None:
        super().__init__(line)
        self.line = line
        self.column = column


_WHITESPACE_ONLY_LINE = LazyPattern(r"^[ \t]+$", re.M)
# Blank space holding a tab, then a comment: spaces, the first tab, any blank space (`[ \t]*\t[ \t]*`
# would split a run of tabs every possible way: cubic).
_TAB_BEFORE_COMMENT = LazyPattern(r"^ *+\t[ \t]*+(#.*)$", re.M)


def parse(text: str) -> YamlResult:
    """Parse `text` as Bun does, and note whether libyaml/PyYAML accept it too (any text).

    Within the parse budgets (agentctl.yamlbudget): top-level entries nested too deep or expanding
    through aliases past the limits are left out of the value, and `over_budget` says so."""
    if not text.endswith("\n"):
        text += "\n"  # Bun keeps a block scalar's final newline even at the end of the text
    try:
        loaded = _load(text, _LOADERS[0])
        standard_error = None
    except yaml.YAMLError as error:
        standard_error = _problem(error)
        try:
            loaded = _load_leniently(text)
        except yaml.YAMLError as lenient_error:
            return YamlResult(error=_problem(lenient_error), standard_error=standard_error)
    result = YamlResult(value=loaded.value, standard_error=standard_error)
    if loaded.left_out:
        result.over_budget = yamlbudget.summary(loaded.left_out)
        result.left_out = [(entry.key, entry.line) for entry in loaded.left_out]
    try:
        _check_flow_indentation(loaded.node, text.split("\n"))
    except _FlowIndentError as error:
        result.value = None
        result.error = YamlProblem(
            "a quoted value or [list] continues on a line that is not indented deeper than its key",
            error.line,
            error.column,
        )
        return result
    result.key_positions, result.duplicate_keys = _key_positions(loaded.node)
    return result


@record
class _Loaded:
    node: Node | None
    value: Any
    left_out: list[LeftOut] = field(default_factory=list)  # top-level entries over the parse budgets


def _load(text: str, loader_class: type) -> _Loaded:
    node, left_out = _compose_within_budget(text, loader_class)
    if node is not None and "\r\n" in text:
        _refold_crlf_quoted(node, text)
    value = BunConstructor().construct_document(node) if node is not None else None
    return _Loaded(node, value, left_out)


def _compose_within_budget(text: str, loader_class: type) -> tuple[Node | None, list[LeftOut]]:
    """The node graph of `text` without the top-level entries over the budgets.

    An entry nested too deep stops the parser itself (yamlbudget.TooDeep), so it is blanked out of
    the text (spaces keep every other line, column and offset where it was) and the text parsed
    again, while the reparsing stays within the text's length plus _REPARSE_ALLOWANCE (each attempt
    parses up to the next deep entry). Aliases are measured on the composed graph."""
    left_out: list[LeftOut] = []
    parsed = 0
    while True:
        try:
            node = yamlbudget.compose(text, loader_class, _BunReplay)
        except yamlbudget.TooDeep as deep:
            lines = text.split("\n")
            start = _entry_start(lines, deep.line)
            left_out.append(yamlbudget.too_deep(start, _key_of(lines[start])))
            parsed += sum(len(line) + 1 for line in lines[: deep.line])
            if parsed > len(text) + _REPARSE_ALLOWANCE:
                return None, [_unread(left_out)]
            text = _blank_entry(lines, start)
            continue
        except yaml.YAMLError:
            if left_out:  # the rest does not parse without what was left out (an alias into it)
                return None, [_unread(left_out)]
            raise
        node, over = yamlbudget.within_budget(node)
        return node, sorted(left_out + over, key=lambda entry: entry.line)


def _unread(deep: list[LeftOut]) -> LeftOut:
    """What is left out when the text is not read at all (the deep entries found so far, in one)."""
    first = f"`{shorten(deep[0].key, 40)}`" if deep[0].key is not None else "a top-level key"
    others = f" and {len(deep) - 1} more top-level keys" if len(deep) > 1 else ""
    return LeftOut(None, deep[0].line, f"has {first}{others} nested too deep; agentctl read none of it")


# Reparsing beyond the text's own length allowed for deep entries (a few in a small frontmatter).
_REPARSE_ALLOWANCE = 64 * 1024


def _entry_start(lines: list[str], line: int) -> int:
    """The 0-based line of the top-level `key:` whose value holds line `line`."""
    for index in range(min(line, len(lines) - 1), -1, -1):
        if _starts_entry(lines[index]):
            return index
    return 0


def _starts_entry(line: str) -> bool:
    if not line or line[0] in " \t\r#]}":
        return False
    return not (line[0] == "-" and line[1:2] in ("", " ", "\t", "\r"))  # a `- item` of a key's list


def _blank_entry(lines: list[str], start: int) -> str:
    end = next((index for index in range(start + 1, len(lines)) if _starts_entry(lines[index])), len(lines))
    return "\n".join([*lines[:start], *(" " * len(line) for line in lines[start:end]), *lines[end:]])


def _key_of(line: str) -> str | None:
    key, colon, _ = line.partition(":")
    return key.strip().strip("\"'") if colon else None


def _refold_crlf_quoted(node: Node, text: str) -> None:
    """Bun folds a CRLF line break inside a quoted scalar into a newline, not a space."""
    if isinstance(node, ScalarNode):
        if node.style in ('"', "'") and node.end_mark.line > node.start_mark.line:
            raw = text[node.start_mark.index + 1 : node.end_mark.index - 1]
            node.value = _fold_like_bun(raw, node.style)
        return
    children = node.value if isinstance(node, SequenceNode) else [n for pair in node.value for n in pair]
    for child in children:
        _refold_crlf_quoted(child, text)


def _fold_like_bun(raw: str, style: str) -> str:
    lines = raw.split("\n")
    pieces: list[str] = []
    breaks: list[bool] = []  # pending line breaks, True for CRLF
    for index, line in enumerate(lines):
        if index > 0:
            line = line.lstrip(" \t")
        if index < len(lines) - 1:
            breaks_before = line
            line = line.rstrip(" \t\r")
            if style == '"' and _ends_with_escape(line):
                pieces.append(line[:-1])  # an escaped line break joins the lines...
                breaks = [True] if breaks_before.endswith("\r") else []  # ...but Bun keeps CRLF's
                continue
            if line:
                pieces.append(_fold(breaks, style) + line if pieces else line)
                breaks = []
            breaks.append(breaks_before.endswith("\r"))
        else:
            pieces.append((_fold(breaks, style) if pieces else "") + line)
    folded = "".join(pieces)
    if style == "'":
        return folded.replace("''", "'")
    return str(_load(f'"{folded}"\n', _PureLoader).value)


def _ends_with_escape(line: str) -> bool:
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _fold(breaks: list[bool], style: str) -> str:
    if not breaks:
        return ""
    newline = "\\n" if style == '"' else "\n"
    if breaks[0]:
        return newline * len(breaks)
    return " " if len(breaks) == 1 else newline * (len(breaks) - 1)


def _load_leniently(text: str) -> _Loaded:
    """Retry what libyaml refused the ways Bun accepts it: pure-Python scanner, then tab lines."""
    try:
        return _load(text, _PureLoader)
    except yaml.YAMLError:
        cleaned = _TAB_BEFORE_COMMENT.sub(r"\1", _WHITESPACE_ONLY_LINE.sub("", text))
        cleaned = _LEADING_COMMA.sub(lambda m: m.group(1) + _COMMA_STAND_IN, cleaned)
        if cleaned == text:
            raise
        refused = _tab_line_bun_refuses(text.split("\n"))
        if refused is not None:
            raise yaml.MarkedYAMLError(
                problem="a line holding only whitespace contains a tab where Bun expects indentation",
                problem_mark=yaml.Mark("<frontmatter>", 0, refused, 0, "", 0),
            ) from None
        loaded = _load(cleaned, _PureLoader)
        if _COMMA_STAND_IN in cleaned:
            loaded.value = _restore_commas(loaded.value)
        return loaded


# Bun lets a block plain scalar start with ',' (YAML forbids it); a stand-in lets PyYAML agree.
_COMMA_STAND_IN = "\ue000"
_LEADING_COMMA = LazyPattern(r"^([ \t]*(?:- +)?|[^\n#]*?:[ \t]+),", re.M)


def _restore_commas(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(_COMMA_STAND_IN, ",")
    if isinstance(value, list):
        return [_restore_commas(item) for item in value]
    if isinstance(value, dict):
        return {_restore_commas(key): _restore_commas(item) for key, item in value.items()}
    return value


_BLOCK_SCALAR_START = LazyPattern(
    r"^( *)(?:- +)?[^#\s][^#]*:[ \t]+[|>][-+0-9]*[ \t]*(?:#.*)?$|^( *)- +[|>][-+0-9]*[ \t]*$"
)
# `key: value #comment`, read in two linear steps: the first `: ` that starts a value before any `#`,
# then a ` #` after that value's first character (one pattern backtracks over every colon, quadratically).
_VALUE_START = LazyPattern(r"^[^\s#][^#]*?:[ \t]++\S")
_COMMENT_START = LazyPattern(r"[ \t]#")


def _tab_line_bun_refuses(lines: list[str]) -> int | None:
    """The 0-based index of a tab-holding blank line that Bun refuses, if any.

    Bun accepts such lines between mapping entries, but not inside a block scalar (before
    its last content line, or at the end of the text); and a line starting with a tab that is
    blank or a comment is refused after a top-level entry ending in a comment, unless that
    entry is the document's first (a Bun quirk, pinned by differential tests).
    """
    block_indent: int | None = None
    first_entry_seen = False
    previous = ""
    next_content = _next_content_lines(lines)
    for index, line in enumerate(lines):
        blank = not line.strip(" \t")
        if block_indent is not None and not blank and len(line) - len(line.lstrip(" ")) <= block_indent:
            block_indent = None
        in_block = block_indent is not None and "\t" in line[: block_indent + 1]
        if blank and in_block and _block_continues(lines, next_content[index], block_indent or 0):
            return index
        tab_first = line.startswith("\t") and (blank or line.lstrip().startswith("#"))
        if tab_first and first_entry_seen and _ends_in_comment(previous):
            return index
        if blank:
            continue
        match = _BLOCK_SCALAR_START.match(line)
        if match and block_indent is None:
            block_indent = len(match.group(1) if match.group(1) is not None else match.group(2))
        if not line.lstrip().startswith("#"):
            first_entry_seen = first_entry_seen or previous != ""
            previous = line
    return None


def _ends_in_comment(line: str) -> bool:
    value = _VALUE_START.match(line)
    if value is None:
        return False
    end = line.find("\n", value.end())
    return _COMMENT_START.search(line, value.end(), end if end >= 0 else len(line)) is not None


def _next_content_lines(lines: list[str]) -> list[int | None]:
    """For each line, the index of the first later line that is not blank (None: there is none),
    found in one pass from the end: a search from each blank line would be quadratic."""
    found: list[int | None] = [None] * len(lines)
    following: int | None = None
    for index in range(len(lines) - 1, -1, -1):
        found[index] = following
        if lines[index].strip(" \t"):
            following = index
    return found


def _block_continues(lines: list[str], content: int | None, block_indent: int) -> bool:
    """Whether a block scalar still has content at line `content`, the next one not blank (or the
    text ends there)."""
    if content is None:
        return True
    line = lines[content]
    return len(line) - len(line.lstrip(" ")) > block_indent


def _problem(error: yaml.YAMLError) -> YamlProblem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    message = f"{context}: {problem}" if context else str(problem)
    if mark is None:
        return YamlProblem(message, 1, 1)
    return YamlProblem(message, mark.line + 1, mark.column + 1)


def _check_flow_indentation(node: Node | None, lines: list[str], block_indent: int = -1) -> None:
    """Bun: continuation lines of flow nodes must sit deeper than the enclosing block."""
    if node is None:
        return
    spans_lines = node.end_mark.line > node.start_mark.line
    if isinstance(node, ScalarNode):
        if node.style in ('"', "'") and spans_lines:
            _check_continuations(lines, node, block_indent)
        return
    if getattr(node, "flow_style", False):
        if spans_lines:
            _check_continuations(lines, node, block_indent)
        return
    inner = node.start_mark.column
    children = node.value if isinstance(node, SequenceNode) else [n for pair in node.value for n in pair]
    for child in children:
        _check_flow_indentation(child, lines, inner)


def _check_continuations(lines: list[str], node: Node, block_indent: int) -> None:
    for index in range(node.start_mark.line + 1, min(node.end_mark.line, len(lines) - 1) + 1):
        line = lines[index]
        if not line.strip(" \t\r"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent <= block_indent:
            raise _FlowIndentError(index + 1, indent + 1)


def _key_positions(node: Node | None) -> tuple[dict[str, tuple[int, int]], list[tuple[str, int]]]:
    """1-based (line, column) of each top-level key, and the keys written more than once."""
    if not isinstance(node, MappingNode):
        return {}, []
    positions: dict[str, tuple[int, int]] = {}
    duplicates: list[tuple[str, int]] = []
    for key_node, _ in node.value:
        if isinstance(key_node, ScalarNode):
            key = js_string(key_node.value)
            if key in positions:
                duplicates.append((key, key_node.start_mark.line + 1))
            positions[key] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    return positions, duplicates
