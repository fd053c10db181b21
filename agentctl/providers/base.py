"""The interface between the dispatch engine and whatever answers an agent call.

A provider turns one `CallRequest` (system blocks, one user turn) into one `CallResponse`
(text and usage) or raises `ProviderError`. Retries of transient faults are the provider's
business; it reports each wait before sleeping through `CallRequest.on_wait`, and what reaches
the engine has failed for good.

What a call can use is bounded by what it sends and asks for (`usage_bound`): a token stands for
at least one byte of UTF-8 text, so the input side (input plus cache read and creation tokens) is
at most the bytes sent plus the API's own framing, and the output at most `max_tokens`. The engine
reserves that bound against the run's caps before a call starts, and counts a usage report that
claims more at the bound (`plausible_usage`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from agentctl.errors import AgentctlError, ExitCode
from agentctl.records import field, fields_of, record
from agentctl.textlines import shorten

if TYPE_CHECKING:  # base.py stays light: every command that reads a run or a usage imports it
    from pathlib import Path

    from agentctl.spec import AgentFile

DEFAULT_MAX_TOKENS = 8192  # the length limit of one answer, unless [anthropic] max_tokens says otherwise
CallMode = Literal["fresh", "continuation", "handoff"]
ErrorKind = Literal[
    "auth",
    "permission",
    "rate_limit",
    "overloaded",
    "server",
    "network",
    "timeout",
    "bad_request",
    "bad_response",
    "script",
    "limit",  # a session used its turns or its budget (claude-code)
    "session",  # a session ended in an error of its own (claude-code)
]


@record
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
        )

    @property
    def total_tokens(self) -> int:
        """Every token billed, cached or not: what `--max-tokens` counts."""
        return self.input_tokens + self.output_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens

    def to_json(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
        }

    @classmethod
    def from_counts(cls, counts: Mapping[str, object]) -> Usage:
        """A usage report from outside (a provider's answer): BadUsage unless every count is a whole number >= 0."""
        problem = count_problem(counts)
        if problem is not None:
            raise BadUsage(problem)
        values = [counts.get(key) for key in fields_of(cls)]
        return cls(*(value if isinstance(value, int) else 0 for value in values))  # None: not reported


class BadUsage(ValueError):
    """A usage report whose counts are not whole numbers >= 0: the provider's error, never a crash."""


def count_problem(counts: Mapping[str, object]) -> str | None:
    """What is wrong with a usage report's counts (None: each is absent or a whole number >= 0)."""
    for key in fields_of(Usage):
        value = counts.get(key, 0)
        if value is None:
            continue
        # bool is an int to Python, and 3.0 or "3" are not counts of tokens.
        if type(value) is not int:
            return f"{key} is {shorten(repr(value), 40)}, not a whole number"
        if value < 0:
            return f"{key} is {value}, below 0"
    return None


def usage_problem(usage: Usage) -> str | None:
    """count_problem of a Usage a provider built: a provider of a library caller may fill it with anything."""
    return count_problem({key: getattr(usage, key) for key in fields_of(Usage)})


def in_range(value: object, whole: bool, lowest: float, highest: float = math.inf, above: bool = False) -> bool:
    """Whether a setting or flag is a finite number (an int where `whole`) from `lowest` (or `above` it) to
    `highest`. bool is not a number here, NaN and infinities never fit: dispatch's limits and [anthropic]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or (whole and not isinstance(value, int)):
        return False
    return math.isfinite(value) and (value > lowest if above else value >= lowest) and value <= highest


# The API wraps the text of a request in a few tokens of its own (roles, block boundaries, the system
# prompt's framing); these allow for it, and for an answer's end-of-turn marker, generously.
INPUT_FRAMING_TOKENS = 512
OUTPUT_SLACK_TOKENS = 16


@record
class UsageBound:
    """The most tokens one call can be billed for: see the module docstring."""

    input_tokens: int  # input + cache read + cache creation
    output_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def usage_bound(system: list[SystemBlock], user: str, max_tokens: int) -> UsageBound:
    """The plausible ceiling of a call that sends `system` and `user` and asks for `max_tokens`."""
    sent = sum(utf8_length(block.text) for block in system) + utf8_length(user)
    return UsageBound(sent + INPUT_FRAMING_TOKENS, max(0, max_tokens) + OUTPUT_SLACK_TOKENS)


def utf8_length(text: str) -> int:
    """The UTF-8 size of `text`. An ASCII text (str.isascii is a flag CPython keeps) is not encoded:
    a batch sizes ten thousand prompts of 50 KB, and a copy of each churned the allocator."""
    if text.isascii():
        return len(text)
    # surrogatepass: a lone surrogate from badly decoded input still has a length, not an error.
    return len(text.encode("utf-8", "surrogatepass"))


def plausible_usage(usage: Usage, bound: UsageBound) -> Usage | None:
    """`usage` cut down to `bound`; None when it is within it (the report is plausible as it is)."""
    sent = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    if sent <= bound.input_tokens and usage.output_tokens <= bound.output_tokens:
        return None

    def scaled(count: int) -> int:  # each input-side count in proportion: their sum stays within the bound
        return count if sent <= bound.input_tokens else count * bound.input_tokens // sent

    return Usage(
        input_tokens=scaled(usage.input_tokens),
        output_tokens=min(usage.output_tokens, bound.output_tokens),
        cache_read_input_tokens=scaled(usage.cache_read_input_tokens),
        cache_creation_input_tokens=scaled(usage.cache_creation_input_tokens),
    )


@record
class SystemBlock:
    """One block of the system prompt; `cache` puts a cache_control breakpoint after it."""

    name: str  # "agent", "team", "memory": for plans and records, never sent
    text: str
    cache: bool = False


@record
class Wait:
    """A pause before another attempt at a call, reported before the provider sleeps through it."""

    seconds: float
    attempt: int  # the attempt that follows the wait (2: the first retry)
    reason: str  # "429 rate_limit_error, retry-after 30 s"


@record
class Activity:
    """What a running session is doing now (claude-code): its latest tool use, or writing."""

    tool: str | None  # None: writing text
    summary: str  # "Read agents-shared/team-protocol.md", "Bash pytest -q": never file contents
    turns: int
    tool_uses: int
    usage: Usage  # so far


@record
class Permissions:
    """What a call that runs tools may do: the run's flags (None and empty: the provider's defaults)."""

    mode: str | None = None  # --permission-mode
    allowed_tools: tuple[str, ...] = ()
    disallowed_tools: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "allowed_tools": list(self.allowed_tools),
            "disallowed_tools": list(self.disallowed_tools),
        }


@record
class CallRequest:
    call_id: str
    agent: str
    mode: CallMode
    model: str  # a concrete model id (aliases are resolved before a request is built)
    system: list[SystemBlock]
    user: str
    max_tokens: int
    on_wait: Callable[[Wait], None] | None = field(default=None, repr=False, compare=False)
    # For providers that run an agent themselves (its tools, its project) rather than send a prompt:
    agent_file: AgentFile | None = field(default=None, repr=False)  # the agent whose call it is
    cwd: Path | None = None  # the project the call works in
    resume_session: str | None = None  # the provider's session to continue (that of the work's previous call)
    # What the resumed session's earlier calls cost: a provider whose cost and budget count the whole
    # session (Claude Code's total_cost_usd and --max-budget-usd do) takes it off, and adds it on.
    resumed_cost_usd: float = 0.0
    permissions: Permissions = field(default_factory=Permissions)
    # A session's spending limit, from what is left of --max-cost (providers whose calls run many turns).
    max_budget_usd: float | None = None
    on_activity: Callable[[Activity], None] | None = field(default=None, repr=False, compare=False)
    # The call's place in the run's tree (engine.Work.key): the same place in a resumed run has the
    # same key, so a provider that keeps requests outside the process (batches) can find them again.
    key: str = ""

    def bound(self) -> UsageBound:
        return usage_bound(self.system, self.user, self.max_tokens)


@record
class CallResponse:
    text: str
    usage: Usage
    model: str
    stop_reason: str | None = None
    request_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    # What a provider may know of its own work. cost_usd, when set, is what the engine counts (it must be
    # a finite number >= 0), instead of pricing `usage` at the model's price.
    cost_usd: float | None = None
    session_id: str | None = None  # recorded; a continuation of the same work gets it as resume_session
    turns: int | None = None
    tool_uses: int | None = None


class ProviderError(AgentctlError):
    """A call that failed for good (after the SDK's retries). Its message never holds a key."""

    exit_code = ExitCode.PROVIDER

    def __init__(self, message: str, kind: ErrorKind, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind: ErrorKind = kind
        self.status = status
        # What the failed call had used (a session that ran out of turns was billed): the engine counts it.
        self.usage: Usage | None = None
        self.cost_usd: float | None = None
        self.session_id: str | None = None
        self.turns: int | None = None
        self.tool_uses: int | None = None
        self.warnings: list[str] = []  # a session's denied tool uses, kept with its failure

    @property
    def stops_the_run(self) -> bool:
        """Authentication and permission errors fail every later call too: stop at once."""
        return self.kind in ("auth", "permission")


class Provider(Protocol):
    """`multi_turn` (a class attribute, False when absent): a call is a session of many model turns
    whose usage no single prompt bounds, with a spending limit of its own (CallRequest.max_budget_usd)."""

    name: str

    async def complete(self, request: CallRequest) -> CallResponse: ...

    async def aclose(self) -> None: ...
