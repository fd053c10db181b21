"""The team as the JSON object `claude --agents` takes, and agent files from such an object.

What `--agents` takes (Claude Code 2.1.332, read from its bundle and checked against the binary in
tests/test_export.py):

- `claude --agents '<json>'`, or, with `--print` (`-p`) only, `claude -p --agents FILE`: a value that
  is not a JSON object is read as the path of a file holding one (a regular file with one hard link,
  at most 256 MiB; `@FILE` is not a form it knows). A team goes in a file: Linux refuses one argument
  over 128 KiB (MAX_ARG_STRLEN), and the shipped team's JSON is about 360 KB.
- The object maps agent names to entries and is validated whole: one bad value refuses every agent
  (`Error: Invalid --agents configuration: NAME.FIELD: ...`), where the file loader warns and drops
  the value. An entry holds `description` (a non-empty string) and `prompt` (a string, used as it
  is, where a file's body is trimmed), and may hold ENTRY_KEYS' others: `tools`, `disallowedTools`,
  `skills` (lists of strings), `model`, `effort` (a level or an integer), `permissionMode`,
  `mcpServers` (names or `{name: config}`), `hooks` (known events only), `maxTurns` (a positive
  integer), `autoCompactWindow` (an integer of at least 100,000), `initialPrompt`, `memory`,
  `background`, `omitClaudeMd`, `isolation`, `observer`, `observerMessage`, `observeSubagents`,
  `observeToolResults`. Other keys (`name`, `color`) are dropped without a word. An agent from
  `--agents` takes the place of a project agent of the same name.

So export writes, for every agent Claude Code loads from the team's files, what Claude Code made of
each value (claude_code.py's verdict for name, description and tools; its reading of the frontmatter
for the rest), leaves out what the file loader would ignore (`--agents` would refuse it), and reports
what `--agents` cannot carry. Import writes one file per entry in the form `agentctl fmt` writes, and
only when reading the file back gives the same entry: export -> import -> export is byte-identical.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl import bounds, claude_code, reference
from agentctl.claude_code import js_trim, js_whitespace
from agentctl.errors import AgentctlError, ExitCode, UsageError
from agentctl.lazyre import LazyPattern
from agentctl.records import field, record

if TYPE_CHECKING:
    from agentctl.spec import AgentFile
    from agentctl.team import Team

# The keys of one entry, in the order export writes them (the long prompt last, for readers).
ENTRY_KEYS = (
    "description",
    "tools",
    "disallowedTools",
    "model",
    "effort",
    "permissionMode",
    "maxTurns",
    "autoCompactWindow",
    "skills",
    "mcpServers",
    "hooks",
    "memory",
    "background",
    "omitClaudeMd",
    "isolation",
    "initialPrompt",
    "observer",
    "observerMessage",
    "observeSubagents",
    "observeToolResults",
    "prompt",
)
# Frontmatter keys that `--agents` has no place for.
NOT_CARRIED = {
    "color": "`--agents` has no colour: Claude Code shows the agent in its default colour",
    "experimental": "`--agents` has no `experimental` settings (cacheTtl)",
}


@record
class Skipped:
    """An agent file export leaves out, and why."""

    path: Path
    reason: str


@record
class LeftOut:
    """A value of an exported agent that its entry does not carry, and why."""

    agent: str
    key: str
    reason: str


@record
class Export:
    agents: dict[str, dict[str, Any]]  # the `--agents` object, by agent name, sorted
    skipped: list[Skipped] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)


@record
class Imported:
    written: list[Path]
    ignored: list[str] = field(default_factory=list)  # `name.key` of keys `--agents` ignores too


# --- export --------------------------------------------------------------------------------------


def agents_json(team: Team) -> dict[str, dict[str, Any]]:
    """The `claude --agents` object of the agents Claude Code loads from the team's files."""
    return export_team(team).agents


def export_team(team: Team) -> Export:
    """The `--agents` object, the files it leaves out and the values its entries cannot carry."""
    result = Export(agents={})
    kept = _loaded_agents(team.agents, result.skipped)
    for name in sorted(kept):
        entry, left_out = agent_entry(kept[name])
        result.agents[name] = entry
        result.left_out += left_out
    return result


def dumps(agents: dict[str, dict[str, Any]]) -> str:
    """The object as export writes it: names sorted, two-space indents, UTF-8 text, a final newline
    (the same bytes for the same agents, so that a round trip can be compared byte for byte)."""
    ordered = {name: agents[name] for name in sorted(agents)}
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"


def _loaded_agents(agents: list[AgentFile], skipped: list[Skipped]) -> dict[str, AgentFile]:
    """The agent files Claude Code loads, by name. Of files that share a name, Claude Code keeps the
    last in path order (validate's NM003 says the same)."""
    kept: dict[str, AgentFile] = {}
    for agent in sorted(agents, key=lambda each: str(each.path)):
        name = agent.verdict.name
        if not agent.verdict.loads or not name:
            skipped.append(Skipped(agent.path, agent.verdict.reason or "Claude Code does not load it"))
            continue
        if name in kept:
            reason = f"{agent.path.name} also defines {name!r}, and Claude Code keeps that one"
            skipped.append(Skipped(kept[name].path, reason))
        kept[name] = agent
    return kept


def agent_entry(agent: AgentFile) -> tuple[dict[str, Any], list[LeftOut]]:
    """One loading agent file as Claude Code reads it, in `--agents` terms, and what it leaves out."""
    verdict, reading = agent.verdict, agent.reading
    data = reading.data if reading is not None else {}
    name = verdict.name or ""
    values: dict[str, Any] = {key: read(data[key]) for key, read in FILE_VALUES.items() if key in data}
    values |= {"description": verdict.description, "tools": verdict.tools, "disallowedTools": verdict.disallowed_tools}
    body = reading.block.body if reading is not None and reading.block is not None else ""
    values["prompt"] = js_trim(body)
    left_out = [LeftOut(name, key, why) for key, why in NOT_CARRIED.items() if key in data]
    values["mcpServers"], dropped = _mcp_servers(data.get("mcpServers"))
    left_out += [LeftOut(name, "mcpServers", why) for why in dropped]
    values["hooks"], problem = _hooks(data.get("hooks"))
    if problem is not None:
        left_out.append(LeftOut(name, "hooks", f"{problem}; `--agents` would refuse every agent for it"))
    return ordered_entry(values), left_out


def ordered_entry(values: dict[str, Any]) -> dict[str, Any]:
    """The entry's keys in ENTRY_KEYS order, without those that say nothing (None)."""
    return {key: values[key] for key in ENTRY_KEYS if values.get(key) is not None}


def write_export(path: Path, text: str) -> None:
    """The exported JSON at `path`, replaced in one step. The new file has one hard link: Claude Code
    refuses an `--agents` file with more (its other names could change it behind its back)."""
    from agentctl.fsutil import atomic_write_text

    if path.is_dir():
        raise UsageError(f"{path} is a folder", hint="pass -o the name of a file, e.g. -o team.json")
    try:
        atomic_write_text(path, text)
    except OSError as error:
        hint = "pass -o a file in a folder that exists and you can write"
        raise UsageError(f"cannot write {path}: {error.strerror or error}", hint=hint) from None


# --- what Claude Code makes of each frontmatter value (its agent loader, 2.1.332) ------------------

# Anchored at the start: a search tries one place, so a long run of digits is read once.
_JS_NUMBER = LazyPattern(r"\A[+-]?+(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)[eE][+-]?+[0-9]++\Z")
_JS_THOUSANDS = LazyPattern(r"\A[+-]?+[0-9]{1,3}+([_,\u00a0\u202f ])[0-9]{3}+(?:\1[0-9]{3}+)*+\Z")
_JS_LEADING_INT = LazyPattern(r"\A[+-]?+[0-9]++")
_JS_SAFE_INTEGER = 2**53 - 1
_TRUTHY_WORDS = frozenset({"1", "true", "yes", "on"})
MIN_AUTO_COMPACT_WINDOW = 100_000


def _js_string(value: Any) -> str:
    """JavaScript's String(value) for the values YAML and JSON give."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, list):
        return ",".join("" if item is None else _js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _js_parse_int(text: str) -> int | None:
    """JavaScript's parseInt(text, 10): the leading integer after spaces; None for NaN, and for a
    number past 2**53, which `--agents` refuses as an integer."""
    match = _JS_LEADING_INT.match(text.lstrip(js_whitespace()))
    return _js_integer(int(match.group())) if match and len(match.group()) <= 20 else None


def _js_number_of_text(text: str) -> int | None:
    """Claude Code's reading of a number written as text: `1e3`, `1,000`, `1_000`, or parseInt."""
    text = js_trim(text)
    if len(text) <= 32:
        if _JS_NUMBER.match(text):
            return _js_integer(float(text))
        grouped = _JS_THOUSANDS.match(text)
        if grouped:
            return _js_integer(int(text.replace(grouped.group(1), "")))
    return _js_parse_int(text)


def _js_integer(value: Any) -> int | None:
    """A JSON or YAML number as the safe integer JavaScript holds (what a schema's int() takes);
    None for anything else (booleans, fractions, numbers past 2**53)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if abs(value) <= _JS_SAFE_INTEGER else None


def _whole_number(value: Any) -> int | None:
    """A number (or text) as a whole number, as Claude Code reads maxTurns; None for anything else."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _js_integer(value)
    return _js_number_of_text(_js_string(value))


def _max_turns(value: Any) -> int | None:
    number = _whole_number(value)
    return number if number is not None and number > 0 else None


def _auto_compact_window(value: Any) -> int | None:
    number = _max_turns(value)
    return number if number is not None and MIN_AUTO_COMPACT_WINDOW <= number <= _JS_SAFE_INTEGER else None


def _model(value: Any) -> str | None:
    if not isinstance(value, str) or not js_trim(value):
        return None
    model = js_trim(value)
    return "inherit" if model.lower() == "inherit" else model


def _effort(value: Any) -> str | int | None:
    if value is None or value == "":
        return None
    if _js_integer(value) is not None:
        return _js_integer(value)
    text = _js_string(value).lower()
    level = claude_code.EFFORT_ALIASES.get(text, text)
    return level if level in reference.claude_code().effort_levels else _js_parse_int(text)


def _permission_mode(value: Any) -> str | None:
    facts = reference.claude_code()
    mode = facts.permission_mode_aliases.get(value, value) if isinstance(value, str) else None
    return mode if mode in facts.permission_modes else None


def _choice(facts_field: str) -> Callable[[Any], str | None]:
    def read(value: Any) -> str | None:
        return value if isinstance(value, str) and value in getattr(reference.claude_code(), facts_field) else None

    return read


def _true_flag(value: Any) -> bool | None:
    return True if value is True or value == "true" else None


def _false_flag(value: Any) -> bool | None:
    return False if value is False or value == "false" else None


def _tool_results(value: Any) -> bool | None:
    """observeToolResults: once the key is there, anything but a true-ish value turns it off."""
    if value is True:
        return None
    truthy = isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return None if truthy and js_trim(_js_string(value)).lower() in _TRUTHY_WORDS else False


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and js_trim(value) else None


def _trimmed(value: Any) -> str | None:
    return js_trim(value) if isinstance(value, str) and js_trim(value) else None


def _skills(value: Any) -> list[str] | None:
    """skills: split like tools (`*` kept as it is); an empty list says nothing."""
    if not claude_code.js_truthy(value):
        return None
    entries = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    skills = claude_code.split_tools([entry for entry in entries if isinstance(entry, str)])
    return (["*"] if "*" in skills else skills) or None


FILE_VALUES: dict[str, Callable[[Any], Any]] = {
    "model": _model,
    "effort": _effort,
    "permissionMode": _permission_mode,
    "maxTurns": _max_turns,
    "autoCompactWindow": _auto_compact_window,
    "skills": _skills,
    "memory": _choice("memory_scopes"),
    "background": _true_flag,
    "omitClaudeMd": _true_flag,
    "isolation": _choice("isolation_modes"),
    "initialPrompt": _text,
    "observer": _trimmed,
    "observerMessage": _text,
    "observeSubagents": _false_flag,
    "observeToolResults": _tool_results,
}


# MCP server configurations: the main shape of each kind Claude Code's schema knows (its schema
# checks more fields than these; a kind it does not know refuses the whole `--agents` object).
_URL_SERVER_TYPES = frozenset({"sse", "http", "streamable-http", "ws", "sse-ide", "ws-ide", "claudeai-proxy"})


def mcp_server_problem(item: Any) -> str | None:
    """Why `--agents` refuses one `mcpServers` item (a server name, or `{name: config}`), or None."""
    if isinstance(item, str):
        return None
    if not isinstance(item, dict):
        return "an MCP server is a name or a mapping of names to configurations"
    for name, config in item.items():
        problem = _server_config_problem(config)
        if problem is not None:
            return f"{name}: {problem}"
    return None


def _server_config_problem(config: Any) -> str | None:
    if not isinstance(config, dict):
        return "a server's configuration is a mapping"
    kind = config.get("type", "stdio")
    if kind == "stdio":
        command, args, env = config.get("command"), config.get("args", []), config.get("env", {})
        if isinstance(command, str) and command and _strings(args) and _string_map(env):
            return None
        return "a stdio server needs a `command` (and `args` a list of strings, `env` strings)"
    if kind in _URL_SERVER_TYPES:
        ok = isinstance(config.get("url"), str) and _string_map(config.get("headers", {}))
        return None if ok else f"a {kind} server needs a `url` (and `headers` strings)"
    if kind == "sdk":
        return None if isinstance(config.get("name"), str) else "an sdk server needs a `name`"
    return f"{kind!r} is not a kind of MCP server Claude Code knows"


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _string_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(item, str) for item in value.values())


def _mcp_servers(value: Any) -> tuple[list[Any] | None, list[str]]:
    """The servers Claude Code keeps (a list's well-formed items), and why it drops the others."""
    if not isinstance(value, list):
        return None, []
    kept, dropped = [], []
    for index, item in enumerate(value):
        problem = mcp_server_problem(item)
        if problem is None:
            kept.append(item)
        else:
            dropped.append(f"item {index + 1} ({problem}): Claude Code ignores it")
    return kept or None, dropped


def hooks_problem(hooks: Any) -> str | None:
    """Why `--agents` refuses a `hooks` value (events it knows, each a list of matchers), or None."""
    if not isinstance(hooks, dict):
        return "hooks must map events to lists of matchers"
    for event, matchers in hooks.items():
        if event not in claude_code.HOOK_EVENTS:
            return f"{event!r} is not a hook event"
        if not isinstance(matchers, list):
            return f"hooks.{event} must be a list of matchers"
        for index, matcher in enumerate(matchers):
            problem = claude_code.matcher_problem(matcher)
            if problem is not None:
                return f"hooks.{event}[{index}]: {problem}"
    return None


def _hooks(value: Any) -> tuple[Any, str | None]:
    if not claude_code.js_truthy(value):
        return None, None
    problem = hooks_problem(value)
    return (value, None) if problem is None else (None, problem)


# --- import --------------------------------------------------------------------------------------


def loads(text: str, source: str) -> Any:
    """The JSON value of `text` (from `source`); UsageError for anything JavaScript would refuse."""

    def refuse_constant(word: str) -> Any:
        raise ValueError(f"{word} is not JSON")

    try:
        return json.loads(text, parse_constant=refuse_constant)
    except RecursionError:
        raise UsageError(f"{source} nests too deep to read", hint=_SHAPE_HINT) from None
    except ValueError as error:  # json.JSONDecodeError, and numbers too long to convert
        raise UsageError(f"{source} is not valid JSON: {error}", hint=_SHAPE_HINT) from None


_SHAPE_HINT = 'an object of agents: {"NAME": {"description": "...", "prompt": "...", "tools": ["Read"]}}'


def import_agents(data: Any, into: Path) -> Imported:
    """Write `into/NAME.md` for every entry of the `--agents` object `data`; nothing when any entry
    is refused, a file of that name exists, or an agent of that name is already defined in `into`.

    UsageError (exit 2) names every problem; a write the file system refuses is exit 1."""
    agents, ignored = checked_agents(data)
    texts = _agent_files(agents, into)
    _refuse_clashes(list(texts), into)
    return Imported(_write_all(texts, into), ignored)


def checked_agents(data: Any) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The entries of `data` if Claude Code and a file can both take every one, and the keys that
    `--agents` ignores; UsageError listing every problem otherwise."""
    if not isinstance(data, dict):
        raise UsageError(f"expected a JSON object of agents, not {_json_type(data)}", hint=_SHAPE_HINT)
    if len(data) > bounds.IMPORT_AGENTS:
        raise UsageError(
            f"{len(data):,} agents are more than one import writes ({bounds.IMPORT_AGENTS:,})",
            hint="split the object into several files",
        )
    problems, ignored = [], []
    for name, entry in data.items():
        problem = name_problem(name) or _entry_problem(name, entry)
        if problem is not None:
            problems.append(problem)
        elif isinstance(entry, dict):
            ignored += [f"{name}.{key}" for key in entry if key not in ENTRY_KEYS and not _written_color(key, entry)]
    problems += _case_clashes(list(data))
    _raise_problems(problems, "the agents are not valid", _SHAPE_HINT)
    return data, ignored


def _written_color(key: str, entry: dict[str, Any]) -> bool:
    """`color`: `--agents` ignores it, but a file keeps a colour Claude Code knows."""
    return key == "color" and entry[key] in reference.claude_code().colors


def _raise_problems(problems: list[str], what: str, hint: str) -> None:
    if problems:
        shown = "; ".join(problems[:_PROBLEMS_SHOWN])
        more = f"; and {len(problems) - _PROBLEMS_SHOWN} more" if len(problems) > _PROBLEMS_SHOWN else ""
        raise UsageError(f"{what}: {shown}{more}", hint=hint)


_PROBLEMS_SHOWN = 20  # as many as Claude Code lists for an invalid --agents


# Characters a file name must not hold: separators, and what Windows refuses (files travel by git).
_FILE_NAME_UNSAFE = LazyPattern(r'[/\\<>"|?*\x00-\x1f\x7f\x85\u2028\u2029]')
_FILE_NAME_BYTES = 255 - len(".md")


def name_problem(name: str) -> str | None:
    """Why `name` cannot be an agent file's name and Claude Code's name for it, or None."""
    shown = repr(name[:60])
    if not name or name != name.strip() or name in (".", ".."):
        return f"{shown}: an agent name is a word without spaces around it"
    if _FILE_NAME_UNSAFE.search(name) or name.startswith("."):
        return f"{shown}: an agent name may not hold / \\ < > \" | ? *, control characters, or start with '.'"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return f"{shown}: the name is not valid Unicode"
    if size > _FILE_NAME_BYTES:
        return f"{shown}: the name is {size} bytes long; a file name takes at most {_FILE_NAME_BYTES}"
    refusal = claude_code.name_or_description_problem({"name": name, "description": "-"})
    return None if refusal is None else f"{shown}: {refusal}"


def _case_clashes(names: list[str]) -> list[str]:
    """Names that only differ in case: one file on macOS and Windows."""
    seen: dict[str, str] = {}
    clashes = []
    for name in names:
        other = seen.setdefault(name.casefold(), name)
        if other != name:
            clashes.append(f"{name!r} and {other!r} would be the same file where case does not count")
    return clashes


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _integer(value: Any) -> bool:
    return _js_integer(value) is not None


def _one_of(facts_field: str) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and value in getattr(reference.claude_code(), facts_field)


# What `--agents` takes for each key (Claude Code's schema), and how to say it.
SCHEMA: dict[str, tuple[Callable[[Any], bool], str]] = {
    "description": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "prompt": (lambda v: isinstance(v, str), "a string"),
    "tools": (_strings, "a list of strings"),
    "disallowedTools": (_strings, "a list of strings"),
    "skills": (_strings, "a list of strings"),
    "model": (lambda v: isinstance(v, str) and bool(js_trim(v)), "a model name"),
    "effort": (lambda v: _integer(v) or _one_of("effort_levels")(v), "an effort level or an integer"),
    "permissionMode": (lambda v: _permission_mode(v) is not None, "a permission mode"),
    "mcpServers": (lambda v: isinstance(v, list) and all(mcp_server_problem(i) is None for i in v), "MCP servers"),
    "hooks": (lambda v: hooks_problem(v) is None, "hooks of known events"),
    "maxTurns": (lambda v: _integer(v) and v > 0, "a positive integer"),
    "autoCompactWindow": (lambda v: _integer(v) and v >= MIN_AUTO_COMPACT_WINDOW, "an integer of at least 100000"),
    "initialPrompt": (lambda v: isinstance(v, str), "a string"),
    "memory": (_one_of("memory_scopes"), "user, project or local"),
    "background": (lambda v: isinstance(v, bool), "true or false"),
    "omitClaudeMd": (lambda v: isinstance(v, bool), "true or false"),
    "isolation": (_one_of("isolation_modes"), "worktree or remote"),
    "observer": (lambda v: isinstance(v, str), "a string"),
    "observerMessage": (lambda v: isinstance(v, str), "a string"),
    "observeSubagents": (lambda v: isinstance(v, bool), "true or false"),
    "observeToolResults": (lambda v: isinstance(v, bool), "true or false"),
}


def _entry_problem(name: str, entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return f"{name}: expected an object, not {_json_type(entry)}"
    for key in ("description", "prompt"):
        if key not in entry:
            return f"{name}.{key}: missing (every agent needs a description and a prompt)"
    for key, value in entry.items():
        if key in SCHEMA and not SCHEMA[key][0](value):
            detail = _detail(key, value)
            return f"{name}.{key}: expected {SCHEMA[key][1]}, not {_shown(value)}{detail}"
    return _nesting_problem(name, entry)


def _detail(key: str, value: Any) -> str:
    """What is wrong inside a hooks or mcpServers value, when its type alone does not say it."""
    if key == "hooks":
        problem = hooks_problem(value)
    elif key == "mcpServers" and isinstance(value, list):
        problem = next((found for item in value if (found := mcp_server_problem(item)) is not None), None)
    else:
        problem = None
    return f" ({problem})" if problem else ""


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, (dict, list)) else _json_type(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _nesting_problem(name: str, entry: dict[str, Any]) -> str | None:
    """Values deeper than the frontmatter's YAML budget, or holding text that is not Unicode."""
    stack: list[tuple[Any, int]] = [(entry, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > bounds.YAML_DEPTH:
            return f"{name}: nests deeper than {bounds.YAML_DEPTH} levels"
        if isinstance(value, dict):
            stack += [(item, depth + 1) for pair in value.items() for item in pair]
        elif isinstance(value, list):
            stack += [(item, depth + 1) for item in value]
        elif isinstance(value, str) and not bounds.encodable(value):
            return f"{name}: holds text that is not valid Unicode (a lone surrogate)"
    return None


def canonical_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """What Claude Code makes of a valid `--agents` entry, in export's terms (what `agent_entry`
    gives for a file that says the same): a prompt is trimmed as a file's body is, values that change
    nothing (`background: false`, empty lists) are left out."""
    values = {key: read(entry[key]) for key, read in FILE_VALUES.items() if key in entry}
    values |= {
        "description": entry["description"],
        "prompt": js_trim(entry["prompt"]),
        "tools": claude_code.tool_list(entry["tools"], True) if "tools" in entry else None,
        "disallowedTools": claude_code.tool_list(entry.get("disallowedTools"), False),
        "skills": entry.get("skills") or None,  # taken as they are: only a file's skills are split
        "mcpServers": entry.get("mcpServers") or None,
        "hooks": entry.get("hooks"),
    }
    return ordered_entry(values)


def agent_file_text(name: str, entry: dict[str, Any], color: Any = None) -> str:
    """An agent file holding `entry` (canonical): frontmatter as `agentctl fmt` writes it, then the
    prompt as the body."""
    from agentctl import fmt
    from agentctl.spec import DOCUMENTED_FIELDS, RECOGNISED_FIELDS

    values = dict(entry, name=name)
    if _written_color("color", {"color": color}):
        values["color"] = color
    lines = ["---"]
    for key in (*DOCUMENTED_FIELDS, *RECOGNISED_FIELDS):
        if key in values:
            lines += fmt.emit_entry(key, values[key])
    lines.append("---")
    prompt = entry.get("prompt", "")
    return "\n".join(lines) + "\n" + (f"\n{prompt}\n" if prompt else "")


def _agent_files(agents: dict[str, dict[str, Any]], into: Path) -> dict[str, str]:
    """Each agent's file text, if reading it back gives the same entry; UsageError otherwise."""
    texts, problems = {}, []
    for name, entry in agents.items():
        expected = canonical_entry(entry)
        text = agent_file_text(name, expected, entry.get("color"))
        problem = _read_back_problem(name, text, expected, into)
        if problem is None:
            texts[name] = text
        else:
            problems.append(problem)
    _raise_problems(problems, "some agents cannot be written as files", _READ_BACK_HINT)
    return texts


_READ_BACK_HINT = "change those values in the JSON, or keep using it with `claude --agents`"


def _read_back_problem(name: str, text: str, expected: dict[str, Any], into: Path) -> str | None:
    from agentctl.spec import parse_agent_text

    agent = parse_agent_text(into / f"{name}.md", text)
    if not agent.verdict.loads or agent.verdict.name != name:
        return f"{name}: Claude Code would not load the file ({agent.verdict.reason or 'another name'})"
    read = agent_entry(agent)[0]
    differ = [key for key in ENTRY_KEYS if read.get(key) != expected.get(key)]
    if not differ:
        return None
    why = ""
    if "description" in differ and "\\n" in expected["description"]:
        why = ": Claude Code turns `\\n` in a file's description into a line break"
    return f"{name}: a file would give Claude Code another {', '.join(differ)}{why}"


def _refuse_clashes(names: list[str], into: Path) -> None:
    """Never overwrite: a file of the same name, or an agent of the same name in `into`, refuses all."""
    defined = _defined_names(into)
    existing = [f"{name}.md" for name in names if os.path.lexists(into / f"{name}.md")]
    problems = [f"{len(existing)} of the files exist in {into}: {', '.join(existing)}"] if existing else []
    problems += [
        f"{name!r} is already defined in {defined[name]}"
        for name in names
        if name in defined and f"{name}.md" not in existing
    ]
    _raise_problems(problems, "agentctl import never overwrites an agent", _CLASH_HINT)


_CLASH_HINT = "move or delete those files, or import into another folder with --into DIR"


def _defined_names(into: Path) -> dict[str, Path]:
    """The names of the agents Claude Code would load from the files already in `into`."""
    from agentctl.spec import load_agent_file
    from agentctl.walk import markdown_files

    if not into.is_dir():
        return {}
    agents = (load_agent_file(path) for path in markdown_files(into))
    return {agent.verdict.name: agent.path for agent in agents if agent.verdict.loads and agent.verdict.name}


def _write_all(texts: dict[str, str], into: Path) -> list[Path]:
    from agentctl.fsutil import atomic_create_text

    if not texts:
        return []
    try:
        into.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create {into}: {error.strerror}", hint="pass --into a folder you can write") from None
    written: list[Path] = []
    for name, text in texts.items():
        path = into / f"{name}.md"
        try:
            atomic_create_text(path, text)
        except FileExistsError:
            raise UsageError(f"{path} appeared while importing; {_done(written)}", hint=_CLASH_HINT) from None
        except OSError as error:
            message = f"cannot write {path}: {error.strerror}; {_done(written)}"
            raise AgentctlError(message, exit_code=ExitCode.PROBLEMS) from None
        written.append(path)
    return written


def _done(written: list[Path]) -> str:
    return f"wrote {', '.join(str(path) for path in written)} before it" if written else "nothing was written"
