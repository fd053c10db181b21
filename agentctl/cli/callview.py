"""How one call's work reads: its tokens, cost, turns, tool uses and warnings, in the same words in
the live view, the progress lines (dispatch_cmd) and `agentctl runs show` (runs_cmd).

Tool summaries and warnings come from what a model wrote (a command it ran, a path it read): they
are shown on one line, with control characters (a terminal's escape sequences) made spaces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentctl.bounds import TOOL_SUMMARY_CHARS
from agentctl.textlines import shorten

if TYPE_CHECKING:
    from agentctl.providers.base import Usage

TOOLS_SHOWN = 10  # tool uses `runs show` lists under a call; the rest are counted
# C0 and C1 controls (ESC among them) and the Unicode line and paragraph separators.
_CONTROLS = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029], " ")


def printable(text: str) -> str:
    """`text` as one line that a terminal shows as it is: every control character becomes a space."""
    return text.translate(_CONTROLS)


def compact(tokens: int) -> str:
    """A token count read at a glance: 830, 14.2k, 2.5M."""
    if tokens < 1000:
        return str(tokens)
    # 999,950 and up round to 1000.0k: they read as 1.0M.
    return f"{tokens / 1000:.1f}k" if tokens < 999_950 else f"{tokens / 1_000_000:.1f}M"


def tokens_text(usage: Usage) -> str:
    """`14.2k→830 tokens`: what the call sent (cache reads and writes included) and what came back."""
    sent = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    return f"{compact(sent)}\u2192{compact(usage.output_tokens)} tokens"


def dollars(cost: float) -> str:
    return f"${cost:.4f}"


def plural(count: int, noun: str) -> str:
    """`1 turn`, `3 turns`, `1,204 tool uses`."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def work_text(turns: int | None, tool_uses: int | None) -> str | None:
    """`3 turns, 5 tool uses`: what a session did, when its provider said (None when it said nothing)."""
    parts = [plural(count, noun) for count, noun in ((turns, "turn"), (tool_uses, "tool use")) if count is not None]
    return ", ".join(parts) or None


def tool_text(summary: str, tool: str = "tool") -> str:
    """A tool use as one short line: its summary (`Read agents-shared/team-protocol.md`), else its name."""
    return shorten(printable(summary or tool), TOOL_SUMMARY_CHARS)


def tool_lines(tools: list[str], shown: int = TOOLS_SHOWN) -> list[str]:
    """A call's tool uses, the first `shown` of them, then how many more there were."""
    more = len(tools) - shown
    return [tool_text(summary) for summary in tools[:shown]] + ([f"\u2026 and {more} more"] if more > 0 else [])
