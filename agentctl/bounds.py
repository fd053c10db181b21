"""Every size and effort limit agentctl puts on outside input, in one place.

Text from pull requests, from models and from users reaches agentctl's parsers. Each reader checks
the size before it reads (fsutil.read_bounded), each parser has a budget, and a value over a limit
is a clear error or a finding, never a hang. README.md ("Limits") and DESIGN.md list these figures;
change them there too.
"""

from __future__ import annotations

KIB = 1024
MIB = 1024 * KIB

# Files read from a team or a repository.
AGENT_FILE_BYTES = MIB  # Claude Code skips larger agent files; agentctl reads at most this (+1 byte)
MEMORY_NOTE_BYTES = 256 * KIB  # a note is 5-15 lines; anything near this is not a note
# Claude Code's own agent memory (`memory:` scopes): MEMORY.md and each topic file beside it. Claude
# Code injects at most 25,000 bytes of MEMORY.md, so a larger index is already mostly unread.
NATIVE_MEMORY_BYTES = MIB
PROTOCOL_BYTES = 4 * MIB  # agents-shared/team-protocol.md and the CLAUDE.md files a First Step names
# The files those CLAUDE.md files import (`@path`, as Claude Code expands them) and the rules of
# .claude/rules/: all of them together in one team block, and how many a block looks at (each a stat,
# a read or a folder entry; a real project has a few).
PROJECT_IMPORT_CHARS = 256 * KIB
PROJECT_IMPORT_FILES = 100
TEMPLATE_BYTES = MIB  # a prompt template under templates/
CONFIG_BYTES = MIB  # agentctl.toml, pyproject.toml
RUN_FILE_BYTES = 256 * MIB  # events.jsonl of one run (a run of thousands of calls stays far below)
RULES_DOC_BYTES = 512 * KIB  # agentctl/data/rules.md, shipped in the wheel (`agentctl rules RULE`)
MCP_CATALOG_BYTES = 256 * KIB  # agentctl/data/mcp_servers.json, shipped in the wheel (TL009, `agentctl init`)

# Text handed to commands, and text from models.
TASK_BYTES = 512 * KIB  # a task or its --context (about 128k tokens: more than one call can take)
INPUT_BYTES = 8 * MIB  # `handoffs parse FILE|-`, `prompt --continuation/--result/--handoff`, `import` files
# Agents one `import` writes: each is a file checked by reading it back (about 1.3 ms); 8 MiB of JSON
# holds 200,000 tiny ones, minutes of work. A team has tens.
IMPORT_AGENTS = 1000
SCRIPT_BYTES = 8 * MIB  # a scripted provider's replies
ANSWER_CHARS = 2 * MIB  # one model answer that agentctl parses (longer answers fail the call)
# One line of a Claude Code session's stream is one event; a tool result echoes what the tool read,
# so a line can be large. A longer line is skipped whole (and said), never held.
SESSION_LINE_BYTES = 32 * MIB
TOOL_SUMMARY_CHARS = 120  # a tool use's summary (its path, command, query) in the record and the live view

# What one dispatch may spend unless the user raises it (--max-calls / --max-cost, [dispatch]).
# One task of the shipped team takes a first answer, a handful of handoffs and a continuation or
# two: 3 to 15 calls, under a dollar with the prompt cache (its 12k-token prompts cost $0.05-0.15 a
# call on an opus-class model). The cost cap holds up to ~$0.40 for each such call while it runs (its whole
# prompt at the cache-write price and a full 8,192-token answer), so $2 lets a task of 10-20 calls
# finish, and stops a team whose answers keep handing off (9,424 calls, about $445, before there
# were defaults) within a couple of dollars. 40 calls is depth 3 x 2 continuation rounds with a few handoffs each.
DISPATCH_MAX_CALLS = 40
DISPATCH_MAX_COST = 2.0  # USD
# Continuation calls per agent and task (--max-rounds): what the team protocol tells agents and the
# Orchestrator ("at most 2 continuation rounds per specialist per task"); tests/test_protocol_limits.py
# holds the two together.
DISPATCH_MAX_ROUNDS = 2

# Parsing budgets.
YAML_NODES = 10_000  # nodes a YAML document may expand to through aliases (*a)
YAML_DEPTH = 100  # levels of nesting a YAML document may have (agent frontmatter uses 3 or 4)
TOML_DEPTH = 100  # the same for agentctl.toml (tomllib itself recurses)
QUERY_TERMS = 512  # distinct words of a task or query that search and ranking look at


def describe(size: int) -> str:
    """`size` bytes for a person: 512 KiB, 8 MiB."""
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size} bytes"


def bounded_text(text: str, what: str, limit: int = TASK_BYTES) -> str:
    """`text` (a task, a context, a query) if it is within `limit` bytes; UsageError (exit 2) otherwise.

    Every parser and prompt downstream is linear, but a 50 MB task still costs memory and time for
    nothing a model could take."""
    from agentctl.errors import UsageError

    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise UsageError(
            f"{what} is {size:,} bytes; the limit is {describe(limit)}",
            hint=f"shorten {what}, or put the material in files the agent reads",
        )
    # A command line's bytes that are not UTF-8 reach Python as lone surrogates, which no record,
    # prompt or API can encode: they become U+FFFD, as in a file read with errors="replace".
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if not encodable(text) else text


def encodable(text: str) -> bool:
    """Whether `text` is valid Unicode (no lone surrogate), so that it encodes as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
