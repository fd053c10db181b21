"""What Claude Code does with one agent file.

A model of Claude Code 2.1.332's agent loader, step by step:

1. read the file as UTF-8 (bad bytes become U+FFFD); files over 1 MiB are skipped;
2. drop a byte-order mark, then cut the frontmatter with the regular expression
   ``^---\\s*\\n([\\s\\S]*?)---\\s*\\n?``: the block ends at the first ``---`` anywhere, even
   inside a value, and there is no frontmatter unless another ``---`` follows the opening;
3. parse it with Bun's YAML parser; when that fails, retry once after a lenient rewrite
   (values holding ``: `` or YAML indicators get double quotes, leading tabs become spaces);
   when that fails too, the frontmatter is empty and the file is skipped without a word;
4. keep the agent only if ``name`` and ``description`` are non-empty strings, the name does
   not start with ``-``, has at most 256 UTF-16 units and no ``:`` after NFKC normalisation,
   and no PreToolUse/PermissionRequest hook is malformed or misplaced;
5. turn each literal ``\\n`` in the description into a line break, split ``tools`` and
   ``disallowedTools`` on commas and spaces outside parentheses (``*`` means every tool); an agent
   with a ``memory`` scope and a ``tools`` field (a list, even an empty one) also gets ``Write``,
   ``Edit`` and ``Read``, so that it can keep its memory files.

Each step was read from Claude Code's own bundle and checked against the real binary
(tests/fixtures/claude_code/ pins one fixture per rule).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any, Literal

from agentctl import ccyaml
from agentctl.lazyre import LazyPattern
from agentctl.records import field, record

CLAUDE_CODE_VERSION = "2.1.332"  # agentctl/data/claude_code.json says the same
MAX_FILE_BYTES = 1_048_576
MAX_NAME_LENGTH = 256
EFFORT_ALIASES = {"med": "medium"}  # the other spellings of an effort level Claude Code takes

# JavaScript's \s, which differs from Python's (it includes U+FEFF, excludes U+001C-U+001F).
JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
# The opening's spaces end at their last line break whatever follows (atomic: a closing `---` cannot
# lie among spaces, so retrying an earlier break would only rescan the text, quadratically).
_FRONTMATTER = re.compile(rf"---(?>[{JS_SPACE}]*\n)(.*?)---[{JS_SPACE}]*+\n?", re.S)

YamlStatus = Literal["absent", "valid", "lenient", "recovered", "invalid"]


def decode(data: bytes) -> str:
    """Bytes as Claude Code's runtime decodes them: invalid UTF-8 becomes U+FFFD."""
    return data.decode("utf-8", errors="replace")


def utf16_length(text: str) -> int:
    """JavaScript's String.length: characters beyond U+FFFF count twice."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


@record
class FrontmatterBlock:
    """The frontmatter as Claude Code cuts it out of the text."""

    text: str
    first_line: int  # 1-based line of the file where `text` starts
    body: str
    body_line: int  # 1-based line of the file where `body` starts
    bom: bool
    rest: str  # everything from the start of `text` to the end of the file


def cut_frontmatter(text: str) -> FrontmatterBlock | None:
    """Claude Code's frontmatter split, or None when it finds no frontmatter."""
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    if text.find("---", 3) < 0:
        return None
    match = _FRONTMATTER.match(text)
    if match is None:
        return None
    return FrontmatterBlock(
        text=match.group(1),
        first_line=1 + text.count("\n", 0, match.start(1)),
        body=text[match.end() :],
        body_line=1 + text.count("\n", 0, match.end()),
        bom=bom,
        rest=text[match.start(1) :],
    )


_FALLBACK_LINE = LazyPattern(r"^([a-zA-Z_-]++):[" + JS_SPACE + r"]++([^" + JS_SPACE + r"][^\n\r\u2028\u2029]*+)\Z")
_YAML_INDICATORS = LazyPattern(r"[{}\[\]*&#!|>%@`]|: ")
_LEADING_TABS = LazyPattern(r"(^|[\n\r\u2028\u2029])(\t+)")


def lenient_rewrite(text: str) -> str:
    """Claude Code's second attempt at frontmatter that is not YAML.

    Each unindented `key: value` line whose value holds ': ' or a YAML indicator gets its
    value wrapped in double quotes; then leading tabs become two spaces each. Lines ending in
    a carriage return never match (JavaScript's `.` stops at `\\r`), so CRLF files get no help.
    """
    lines = []
    for line in text.split("\n"):
        match = _FALLBACK_LINE.match(line)
        if match is None or _already_quoted(match.group(2)) or not _YAML_INDICATORS.search(match.group(2)):
            lines.append(line)
            continue
        value = match.group(2).replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'{match.group(1)}: "{value}"')
    joined = "\n".join(lines)
    return str(_LEADING_TABS.sub(lambda m: m.group(1) + "  " * len(m.group(2)), joined))


def _already_quoted(value: str) -> bool:
    if len(value) >= 1 and (
        (value.startswith('"') and value.endswith('"')) or (value.startswith("'") and value.endswith("'"))
    ):
        return True
    if value.startswith("[") and value.endswith("]"):
        try:
            return isinstance(ccyaml.load_value(value), list)
        except Exception:  # Claude Code swallows any parse failure here too
            return False
    return False


@record
class FrontmatterReading:
    """How Claude Code parsed one file's frontmatter."""

    block: FrontmatterBlock | None
    status: YamlStatus
    parsed: ccyaml.YamlResult | None = None  # Bun's reading of the text as written
    data: dict[str, Any] = field(default_factory=dict)  # what Claude Code ends up with
    # Why some top-level keys were left out of `data` (and of the author's reading): their values
    # nest too deep or expand through aliases past agentctl's parse budgets (ccyaml.YamlResult).
    over_budget: str | None = None
    over_budget_line: int | None = None  # 1-based line within the frontmatter text


def read_frontmatter(text: str) -> FrontmatterReading:
    """Claude Code's frontmatter of `text` (the decoded file)."""
    block = cut_frontmatter(text)
    if block is None:
        return FrontmatterReading(block=None, status="absent")
    parsed = ccyaml.parse(block.text)
    if parsed.ok:
        status: YamlStatus = "valid" if parsed.standard_error is None else "lenient"
        reading = FrontmatterReading(block, status, parsed, data=_as_mapping(parsed.value))
        return _with_budget(reading, parsed)
    second = ccyaml.parse(lenient_rewrite(block.text))
    if second.ok:
        return _with_budget(FrontmatterReading(block, "recovered", parsed, _as_mapping(second.value)), second)
    return _with_budget(FrontmatterReading(block, "invalid", parsed), parsed)


def _with_budget(reading: FrontmatterReading, result: ccyaml.YamlResult) -> FrontmatterReading:
    reading.over_budget = result.over_budget
    reading.over_budget_line = result.left_out[0][1] if result.left_out else None
    return reading


def _as_mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@record
class ClaudeCodeVerdict:
    """What Claude Code does with one agent file, as `validate --format json` reports it."""

    loads: bool
    reason: str | None = None
    name: str | None = None
    description: str | None = None
    # None: the agent inherits every tool. []: none at all, although Claude Code's listing says
    # "All tools" (checked at run time: a subagent with `tools: []` is sent no tools).
    tools: list[str] | None = None
    disallowed_tools: list[str] | None = None

    @property
    def tools_display(self) -> str:
        """How Claude Code lists the agent's tools to the model: `(Tools: ...)`."""
        allowed = self.tools or []
        denied = self.disallowed_tools or []
        if allowed and denied:
            kept = [tool for tool in allowed if tool not in set(denied)]
            return ", ".join(kept) if kept else "None"
        if allowed:
            return ", ".join(allowed)
        if denied:
            return f"All tools except {', '.join(denied)}"
        return "All tools"

    def to_json(self) -> dict[str, Any]:
        return {
            "loads": self.loads,
            "reason": self.reason,
            "name": self.name,
            "description": self.description,
            "tools": self.tools,
            "disallowed_tools": self.disallowed_tools,
        }


def skipped(reason: str) -> ClaudeCodeVerdict:
    return ClaudeCodeVerdict(loads=False, reason=reason)


def judge(data: dict[str, Any]) -> ClaudeCodeVerdict:
    """Claude Code's decision on a parsed frontmatter mapping."""
    refusal = name_or_description_problem(data) or hooks_problem(data)
    if refusal is not None:
        return skipped(refusal)
    tools = with_memory_tools(tool_list(data.get("tools"), "tools" in data), data.get("memory"))
    denied = tool_list(data.get("disallowedTools"), False) if "disallowedTools" in data else None
    return ClaudeCodeVerdict(
        loads=True,
        name=data["name"],
        description=data["description"].replace("\\n", "\n"),
        tools=tools,
        disallowed_tools=denied,
    )


MEMORY_TOOLS = ("Write", "Edit", "Read")


def with_memory_tools(tools: list[str] | None, memory: Any) -> list[str] | None:
    """The tools an agent with memory gets: Claude Code adds what it needs to keep its memory files
    to a `tools` list (an empty one too), but only for a scope it knows, spelt exactly."""
    if tools is None or not isinstance(memory, str):
        return tools
    from agentctl import reference  # only agents with a `memory:` pay for the data file

    if memory not in reference.claude_code().memory_scopes:
        return tools
    return tools + [tool for tool in MEMORY_TOOLS if tool not in tools]


def name_or_description_problem(data: dict[str, Any]) -> str | None:
    """Why Claude Code refuses the name or description, in its own order of checks."""
    name, description = data.get("name"), data.get("description")
    if not isinstance(name, str) or not name:
        return "no `name`: the frontmatter has no non-empty string `name`"
    if name.startswith("-"):
        return "the name starts with '-'"
    if utf16_length(name) > MAX_NAME_LENGTH:
        return f"the name is longer than {MAX_NAME_LENGTH} characters"
    if ":" in unicodedata.normalize("NFKC", name):
        return "the name contains ':' (reserved for plugin namespaces)"
    if not isinstance(description, str) or not description:
        return "no `description`: the frontmatter has no non-empty string `description`"
    return None


def split_tools(entries: list[str]) -> list[str]:
    """Claude Code's tool-list splitter: commas and spaces separate, except inside (...)."""
    tools: list[str] = []
    for entry in entries:
        if "(" not in entry and ")" not in entry:  # the common case, without the slow scan
            tools.extend(piece.strip() for piece in _SEPARATORS.split(entry) if piece.strip())
            continue
        current, in_parens = "", False
        for char in entry:
            if char in "()":
                in_parens = char == "("
                current += char
            elif char in ", " and not in_parens:
                if current.strip():
                    tools.append(current.strip())
                current = ""
            elif current or char.strip():
                current += char
        if current.strip():
            tools.append(current.strip())
    return tools


_SEPARATORS = LazyPattern("[, ]")


def tool_list(value: Any, present: bool) -> list[str] | None:
    """The tools a `tools:` value grants: None for every tool, [] for none named."""
    if value is None:
        return [] if present else None
    if not js_truthy(value):
        return []
    entries = (
        [value]
        if isinstance(value, str)
        else [v for v in value if isinstance(v, str)]
        if isinstance(value, list)
        else []
    )
    tools = split_tools(entries)
    return None if "*" in tools else tools


def js_truthy(value: Any) -> bool:
    if isinstance(value, float) and value != value:  # NaN
        return False
    if isinstance(value, (list, dict)):
        return True
    return bool(value)


@cache
def js_whitespace() -> str:
    """The characters JavaScript's trim() removes: JS_SPACE with its range spelt out."""
    spaces, chars = [], JS_SPACE
    index = 0
    while index < len(chars):
        if index + 2 < len(chars) and chars[index + 1] == "-":
            spaces += [chr(code) for code in range(ord(chars[index]), ord(chars[index + 2]) + 1)]
            index += 3
        else:
            spaces.append(chars[index])
            index += 1
    return "".join(spaces)


def js_trim(text: str) -> str:
    """JavaScript's String.prototype.trim (Python's strip() takes other characters)."""
    return text.strip(js_whitespace())


# A yes/no flag of a command or skill (`disable-model-invocation`, `user-invocable`) as 2.1.332 reads
# it: a boolean, or a string or number whose text, trimmed and in any case, is one of these words.
FLAG_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def js_flag(value: Any) -> bool | None:
    """What Claude Code makes of a yes/no flag; None when it is neither (null, `maybe`, 2, a list),
    which it then takes as false."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, (str, int, float)):
        return None
    return FLAG_WORDS.get(js_trim(ccyaml.js_string(value).lower()))


# --- hooks: a malformed permission hook makes Claude Code refuse the whole agent ---------

HOOK_EVENTS = [
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "Notification",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "SessionStart",
    "SessionEnd",
    "Stop",
    "StopFailure",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "PreModelSwitch",
    "PostModelSwitch",
    "PermissionRequest",
    "PermissionDenied",
    "Setup",
    "TeammateIdle",
    "TaskCreated",
    "TaskCompleted",
    "Elicitation",
    "ElicitationResult",
    "ConfigChange",
    "WorktreeCreate",
    "WorktreeRemove",
    "InstructionsLoaded",
    "CwdChanged",
    "FileChanged",
    "DirectoryAdded",
    "MessageDisplay",
]
GUARD_EVENTS = frozenset({"PreToolUse", "PermissionRequest"})
HOOK_TYPES = {
    "command": ("command",),
    "prompt": ("prompt",),
    "agent": ("prompt",),
    "http": ("url",),
    "mcp_tool": ("server", "tool"),
}
_UNSCANNED_TOP_LEVEL = frozenset({"metadata", "mcpServers", "lspServers"})


def hooks_problem(data: dict[str, Any]) -> str | None:
    """Why Claude Code refuses the agent for its hooks, or None."""
    misplaced = _misplaced_guard_hooks(data)
    if misplaced is not None:
        return misplaced
    hooks = data.get("hooks")
    if not js_truthy(hooks):
        return None
    if _is_matcher(hooks) or (isinstance(hooks, list) and any(_is_matcher(item) for item in hooks)):
        return "`hooks` must map event names to lists of matchers, not hold matchers directly"
    if not isinstance(hooks, dict):
        return "`hooks` must map event names to lists of matchers"
    for event, matchers in hooks.items():
        problem = _event_problem(event, matchers)
        if problem is not None:
            return problem
    return None


def _misplaced_guard_hooks(data: dict[str, Any]) -> str | None:
    for key, value in data.items():
        if key in GUARD_EVENTS and value is not None and value != []:
            return f"`{key}` hooks are written at the top level of the frontmatter, outside `hooks`"
    for key, value in data.items():
        if key != "hooks" and key not in _UNSCANNED_TOP_LEVEL and _holds_guard_hooks(value, 3, key not in HOOK_EVENTS):
            return f"`{key}` holds PreToolUse/PermissionRequest hooks outside `hooks`"
    return None


def _has_guard_events(value: Any) -> bool:
    return isinstance(value, dict) and any(
        key in GUARD_EVENTS and item is not None and item != [] for key, item in value.items()
    )


def _is_matcher(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if "matcher" not in value and any(key in HOOK_EVENTS for key in value):
        return False
    hooks = value.get("hooks")
    if isinstance(hooks, list):
        return len(hooks) > 0
    return isinstance(hooks, dict) and ("matcher" in value or isinstance(hooks.get("type"), str))


def _holds_guard_hooks(value: Any, depth: int, matchers_count: bool, in_hooks_list: bool = False) -> bool:
    if _has_guard_events(value) or (matchers_count and _is_matcher(value)):
        return True
    if depth == 0 or not isinstance(value, (dict, list)) or not value:
        return False
    if isinstance(value, list):
        return any(_holds_guard_hooks(item, depth - 1, matchers_count, in_hooks_list) for item in value)
    if in_hooks_list and isinstance(value.get("type"), str):
        return False
    return any(
        _holds_guard_hooks(
            item, depth - 1, matchers_count and key not in HOOK_EVENTS, key == "hooks" and isinstance(item, list)
        )
        for key, item in value.items()
    )


def _event_problem(event: str, matchers: Any) -> str | None:
    if event not in HOOK_EVENTS:
        if _holds_guard_hooks(matchers, 3, not isinstance(matchers, list)):
            return f"hooks.{event} is not a hook event, but holds PreToolUse/PermissionRequest hooks"
        return None
    if not isinstance(matchers, list):
        if (event in GUARD_EVENTS and matchers is not None) or _holds_guard_hooks(matchers, 3, False):
            return f"hooks.{event} must be a list of matchers"
        return None
    for index, matcher in enumerate(matchers):
        if _holds_guard_hooks(matcher, 3, False):
            return f"hooks.{event}[{index}] holds PreToolUse/PermissionRequest hooks where a matcher was expected"
        problem = matcher_problem(matcher)
        if problem is not None and event in GUARD_EVENTS:
            return f"hooks.{event}[{index}]: {problem}"
    return None


def matcher_problem(matcher: Any) -> str | None:
    """What is wrong with one `{matcher, hooks}` entry, or None."""
    if not isinstance(matcher, dict):
        return "a matcher must be a mapping with `hooks`"
    if "matcher" in matcher and not isinstance(matcher["matcher"], str):
        return "`matcher` must be a string"
    hooks = matcher.get("hooks")
    if not isinstance(hooks, list):
        return "`hooks` must be a list of hook entries"
    for index, hook in enumerate(hooks):
        problem = hook_entry_problem(hook)
        if problem is not None:
            return f"hooks[{index}]: {problem}"
    return None


def hook_entry_problem(hook: Any) -> str | None:
    if not isinstance(hook, dict):
        return "a hook entry must be a mapping"
    kind = hook.get("type")
    if not isinstance(kind, str):
        return "a hook entry needs a string `type`"
    if kind not in HOOK_TYPES:
        return f"unknown hook type {kind!r} (known: {', '.join(HOOK_TYPES)})"
    missing = [key for key in HOOK_TYPES[kind] if not isinstance(hook.get(key), str)]
    if missing:
        return f"a {kind} hook needs a string `{missing[0]}`"
    return None
