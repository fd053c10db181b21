"""The catalogue of rules. Ids are stable: add new ones, never renumber or reuse."""

from __future__ import annotations

from agentctl.errors import UsageError
from agentctl.textlines import shorten
from agentctl.validate.model import Diagnostic, Rule, Severity

_CATALOGUE: tuple[tuple[str, str, Severity, str, str], ...] = (
    # Claude Code loading: what Claude Code does with the file.
    ("CC001", "no-frontmatter", "error", "Claude Code finds no frontmatter and skips the file", "loading"),
    (
        "CC002",
        "unparseable-frontmatter",
        "error",
        "frontmatter is not YAML even for Claude Code's fallback; skipped",
        "loading",
    ),
    (
        "CC003",
        "fallback-changes-meaning",
        "error",
        "Claude Code's fallback truncates the description or swallows lines as keys",
        "loading",
    ),
    (
        "CC004",
        "fallback-recovers",
        "warning",
        "frontmatter is not valid YAML; Claude Code's fallback recovers it",
        "loading",
    ),
    (
        "CC005",
        "nonstandard-yaml",
        "warning",
        "Claude Code reads the frontmatter, standard YAML parsers reject it",
        "loading",
    ),
    ("CC006", "missing-name", "error", "no string `name`: Claude Code skips the file", "loading"),
    ("CC007", "missing-description", "error", "no string `description`: Claude Code skips the file", "loading"),
    (
        "CC008",
        "frontmatter-cut-short",
        "error",
        "a `---` inside a value ends Claude Code's frontmatter early",
        "loading",
    ),
    (
        "CC009",
        "hooks-refused",
        "error",
        "malformed or misplaced permission hooks: Claude Code skips the agent",
        "loading",
    ),
    ("CC010", "unreadable-file", "error", "the file cannot be read, is binary, or is over 1 MiB", "loading"),
    ("CC011", "invalid-utf8", "warning", "bytes that are not UTF-8 reach the model as U+FFFD", "loading"),
    ("CC012", "frontmatter-not-mapping", "error", "the frontmatter is a list or a single value; skipped", "loading"),
    ("CC013", "duplicate-key", "warning", "a key appears twice; the last one wins", "loading"),
    ("CC014", "comment-cuts-value", "warning", "` #` starts a YAML comment and drops the rest of the value", "loading"),
    (
        "CC015",
        "over-parse-budget",
        "error",
        "a frontmatter value nests too deep or multiplies through YAML aliases; agentctl leaves it unread",
        "loading",
    ),
    # Names.
    ("NM001", "name-refused", "error", "Claude Code refuses the name (`:`, leading `-`, over 256 characters)", "names"),
    ("NM002", "name-style", "warning", "names should be lowercase letters, digits and hyphens", "names"),
    ("NM003", "duplicate-name", "error", "two files define the same agent name", "names"),
    ("NM004", "name-differs-from-file", "info", "the name differs from the file name", "names"),
    ("NM005", "hides-user-agent", "info", "a project agent hides a user agent of the same name", "names"),
    (
        "NM006",
        "hidden-by-higher-agent",
        "warning",
        "a managed or `--agents` agent of the same name hides a project agent",
        "names",
    ),
    ("NM007", "replaces-built-in-agent", "info", "a project agent takes the name of a built-in agent", "names"),
    # Plugins' agents, which Claude Code reads with its lenient plugin loader.
    ("PL001", "plugin-agent-defaults", "warning", "a plugin agent without `name` or `description`", "plugins"),
    (
        "PL002",
        "plugin-ignored-key",
        "warning",
        "`permissionMode`, `hooks`, `mcpServers` or `initialPrompt` in a plugin agent; Claude Code ignores it",
        "plugins",
    ),
    # Field values.
    ("FM001", "unknown-key", "warning", "a frontmatter key Claude Code does not read", "fields"),
    ("FM002", "unknown-model", "warning", "model is not an alias, `inherit`, or a known model id", "fields"),
    (
        "FM003",
        "invalid-permission-mode",
        "error",
        "permissionMode is not a mode Claude Code knows; it is ignored",
        "fields",
    ),
    ("FM004", "invalid-effort", "error", "effort is not a level Claude Code knows; it is ignored", "fields"),
    ("FM005", "invalid-isolation", "error", "isolation is not `worktree` or `remote`; it is ignored", "fields"),
    ("FM006", "invalid-color", "warning", "color is not one Claude Code can show; it is ignored", "fields"),
    ("FM007", "invalid-memory", "error", "memory is not `user`, `project` or `local`; it is ignored", "fields"),
    ("FM008", "invalid-background", "error", "background is not true or false; it is ignored", "fields"),
    ("FM009", "invalid-max-turns", "error", "maxTurns is not a positive integer; it is ignored", "fields"),
    ("FM010", "empty-hooks-list", "error", "`hooks: []` makes Claude Code skip the agent", "fields"),
    ("FM011", "invalid-field-type", "warning", "a field holds a value of the wrong type", "fields"),
    # Tools.
    ("TL001", "unknown-tool", "error", "a tool name Claude Code does not know; the agent will not get it", "tools"),
    ("TL002", "renamed-tool", "warning", "a tool that Claude Code renamed; the old name still works for now", "tools"),
    ("TL003", "removed-tool", "warning", "a tool that Claude Code removed; the agent will not get it", "tools"),
    ("TL004", "malformed-mcp-tool", "error", "an MCP tool name not of the form mcp__server__tool", "tools"),
    ("TL005", "duplicate-tool", "warning", "a tool listed twice", "tools"),
    ("TL006", "allowed-and-disallowed", "warning", "a tool both allowed and disallowed", "tools"),
    ("TL007", "tools-yaml-list", "warning", "tools written as a YAML list (reported Claude Code bugs)", "tools"),
    ("TL008", "empty-tools", "warning", "an empty tools field: Claude Code lists 'All tools'", "tools"),
    (
        "TL009",
        "unknown-mcp-tool",
        "warning",
        "an MCP tool its server does not have (for the servers agentctl knows the tools of)",
        "tools",
    ),
    # Team wiring: the roster, escalations, First Step paths and memory agree.
    ("TM001", "agent-not-in-roster", "error", "an agent file the team protocol's roster does not list", "team"),
    ("TM002", "roster-without-file", "error", "a roster row with no agent file", "team"),
    ("TM003", "unknown-team-member", "error", "an escalation or handoff names someone not on the roster", "team"),
    ("TM004", "first-step-path-missing", "warning", "First Step names a team path that does not exist", "team"),
    ("TM005", "memory-of-unknown-agent", "error", "a memory folder that belongs to no agent", "team"),
    ("TM006", "memory-file-name", "warning", "a memory file not named YYYY-MM-DD-topic.md", "team"),
    ("TM007", "memory-without-applies-when", "warning", "a memory note without an 'Applies when' line", "team"),
    ("TM008", "no-roster", "warning", "the team protocol has no roster table", "team"),
    (
        "TM009",
        "memory-note-shape",
        "warning",
        "a memory note that is empty, binary, not UTF-8, or not 5-15 lines",
        "team",
    ),
    (
        "TM010",
        "team-path-not-found",
        "warning",
        "an agent names a team path that is not there from the project root, where Claude Code runs it",
        "team",
    ),
    # Commands, skills and output styles: the other files of `.claude/` that Claude Code reads.
    (
        "SK001",
        "skill-frontmatter-ignored",
        "error",
        "a command's, skill's or output style's frontmatter Claude Code cannot read; all of it is ignored",
        "skills",
    ),
    (
        "SK002",
        "skill-frontmatter-recovered",
        "warning",
        "a command's or skill's frontmatter is not valid YAML; Claude Code's fallback reads it",
        "skills",
    ),
    ("SK003", "skill-unknown-key", "info", "a command, skill or output style key Claude Code does not read", "skills"),
    ("SK004", "skill-without-description", "warning", "a skill without `description`; the body stands in", "skills"),
    ("SK005", "skill-not-loaded", "warning", "a skill file Claude Code misses: not skills/<name>/SKILL.md", "skills"),
    ("SK006", "skill-name-differs-from-folder", "info", "a skill's `name` differs from its folder's name", "skills"),
    # Commands' and skills' frontmatter values that Claude Code misreads or ignores.
    (
        "SK007",
        "skill-unknown-tool",
        "warning",
        "an `allowed-tools` entry names no Claude Code tool; it allows nothing",
        "skills",
    ),
    (
        "SK008",
        "skill-invalid-effort",
        "error",
        "a command's or skill's `effort` is not a level; it is ignored",
        "skills",
    ),
    (
        "SK009",
        "skill-unknown-model",
        "warning",
        "a command's or skill's `model` is not an alias, `inherit`, or a known model id",
        "skills",
    ),
    (
        "SK010",
        "skill-invalid-flag",
        "error",
        "`disable-model-invocation` or `user-invocable` is not true or false; Claude Code reads false",
        "skills",
    ),
    # Claude Code's own agent memory (`memory:` folders: MEMORY.md and its topic files).
    (
        "MM001",
        "memory-index-over-window",
        "warning",
        "MEMORY.md is past the 200 lines or 25,000 bytes Claude Code injects; the rest is cut off",
        "memory",
    ),
    ("MM002", "memory-link-broken", "warning", "MEMORY.md links to a topic file that does not exist", "memory"),
    ("MM003", "memory-topic-unlinked", "warning", "a topic file MEMORY.md does not link to", "memory"),
    ("MM004", "memory-secret", "error", "a memory file holds what looks like an API key or a private key", "memory"),
    (
        "MM005",
        "memory-folder-unclaimed",
        "warning",
        "a project memory folder of no agent that declares `memory:` with its scope; Claude Code never reads it",
        "memory",
    ),
    ("MM006", "memory-file-unreadable", "warning", "a memory file that cannot be read, or a symbolic link", "memory"),
    (
        "MM007",
        "memory-invalid-utf8",
        "warning",
        "bytes of a memory file that are not UTF-8 reach the agent as U+FFFD",
        "memory",
    ),
    # Cost and clarity.
    ("CQ001", "long-description", "info", "a description over 1,024 characters is sent in every session", "clarity"),
    (
        "CQ002",
        "examples-in-description",
        "info",
        "`<example>` blocks in the description are sent in every session",
        "clarity",
    ),
    ("CQ003", "empty-body", "warning", "the agent has no system prompt", "clarity"),
    ("CQ004", "todo-marker", "warning", "a TODO/FIXME/XXX marker is left in the agent", "clarity"),
)

RULES: dict[str, Rule] = {
    rule_id: Rule(rule_id, slug, severity, summary, group) for rule_id, slug, severity, summary, group in _CATALOGUE
}


def rule_named(wanted: str, unknown: str = "no rule called") -> Rule:
    """The rule `wanted` names: its id in any case, or its name (`CC003`, `cc003`,
    `fallback-changes-meaning`); a UsageError with a did-you-mean otherwise. `agentctl rules RULE`
    and rule_ids read rule names through this one lookup."""
    names = {rule.id.lower(): rule for rule in RULES.values()} | {rule.slug: rule for rule in RULES.values()}
    key = wanted.strip().lower()
    if key in names:
        return names[key]
    raise UsageError(f"{unknown} {shorten(wanted, 60)!r}", hint=_suggestion(key, names))


def rule_ids(wanted: str, unknown: str = "no rule called") -> set[str]:
    """The ids of the rules `wanted` names: one rule (rule_named), or a family by the start of its
    ids (`TM`, `FM00`), as ruff's `--select E4`. `--select`, `--ignore` and the config's keys read
    rule names through this."""
    key = wanted.strip().upper()
    family = {rule_id for rule_id in RULES if rule_id.startswith(key)} if len(key) >= 2 and key.isalnum() else set()
    return family or {rule_named(wanted, unknown).id}


def _suggestion(key: str, names: dict[str, Rule]) -> str:
    import difflib  # only a failed lookup pays for it

    # get_close_matches checks lengths first: a long argument costs no more than a short one.
    close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.6)
    rules = dict.fromkeys(f"{names[name].id} ({names[name].slug})" for name in close)
    if rules:
        return "did you mean " + " or ".join(rules) + "? `agentctl rules` lists every rule"
    return "`agentctl rules` lists every rule's id and name"


# `agentctl memory lint`'s rules: the dated notes' (TM*) and Claude Code's own agent memory's (MM*).
MEMORY_RULES = frozenset({"TM005", "TM006", "TM007", "TM009", *(rule for rule in RULES if rule.startswith("MM"))})
# Findings of one file that get a did-you-mean (unknown keys, unknown tools): difflib costs ~0.1 ms
# a name, and a file with thousands of unknown names (60,000 fit in 1 MiB) needs each reported,
# not each suggested.
SUGGESTIONS_PER_FILE = 100


def finding(rule_id: str, line: int, column: int, message: str, hint: str | None = None) -> Diagnostic:
    """A diagnostic of `rule_id`, with the rule's severity."""
    rule = RULES[rule_id]
    return Diagnostic(rule.id, rule.severity, max(line, 1), max(column, 1), message, hint)
