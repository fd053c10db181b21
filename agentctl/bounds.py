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
PROTOCOL_BYTES = 4 * MIB  # agents-shared/team-protocol.md and the CLAUDE.md files a First Step names
TEMPLATE_BYTES = MIB  # a prompt template under templates/
CONFIG_BYTES = MIB  # agentctl.toml, pyproject.toml
RUN_FILE_BYTES = 256 * MIB  # events.jsonl of one run (a run of thousands of calls stays far below)

# Text handed to commands, and text from models.
TASK_BYTES = 512 * KIB  # a task or its --context (about 128k tokens: more than one call can take)
INPUT_BYTES = 8 * MIB  # `handoffs parse FILE|-`, `prompt --continuation/--result/--handoff` files
SCRIPT_BYTES = 8 * MIB  # a scripted provider's replies
ANSWER_CHARS = 2 * MIB  # one model answer that agentctl parses (longer answers fail the call)

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
