"""The schema of agentctl.toml / [tool.agentctl], checked with pydantic.

Imported only when a team has a config file (see config._validated), so that read-only
commands on an unconfigured team never pay pydantic's start-up cost.

Every number has its range here: a config file comes from a repository, and a value such as
`timeout = -1`, `max_retries = -1` or `max_cost = nan` would otherwise reach the SDK or the budget
and fail far from its cause (or never stop a run).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from agentctl.providers import provider_names
from agentctl.textlines import shorten

# Numbers: finite (TOML has nan and inf), and within the range each setting makes sense in.
Count = Annotated[int, Field(ge=0)]  # 0 allowed: none
Positive = Annotated[int, Field(ge=1)]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeSeconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]  # USD, or USD per million tokens
Cap = Annotated[float, Field(gt=0, allow_inf_nan=False)]  # a spending cap: 0 would stop every call
DAY = 86_400.0  # seconds: the longest any [anthropic] wait or timeout may be


def _one_word(value: str) -> str:
    if not value or any(character.isspace() for character in value):
        raise ValueError("a model id is one word, not empty and without spaces")
    return value


def _folder(value: str) -> str:
    if not value.strip() or "\0" in value:
        raise ValueError("a folder is a path relative to the root: not empty, without NUL characters")
    return value


def _provider(value: object) -> object:
    # The registry's names (agentctl.providers), said as pydantic says a Literal's choices.
    if value not in provider_names():
        quoted = [repr(name) for name in provider_names()]
        choices = " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)
        raise ValueError(f"Input should be {choices}")
    return value


ModelId = Annotated[str, AfterValidator(_one_word)]
# Claude Code's permission modes (providers/claude_code.PERMISSION_MODES, compared by a test).
PermissionMode = Literal["plan", "default", "manual", "dontAsk", "acceptEdits", "auto", "bypassPermissions"]
ProviderName = Annotated[str, BeforeValidator(_provider)]
Folder = Annotated[str, AfterValidator(_folder)]


class PriceEntry(BaseModel):
    """USD per million tokens; cache prices default to 1.25x (write) and 0.1x (read) the input price."""

    model_config = ConfigDict(extra="forbid")

    input: Amount
    output: Amount
    cache_write: Amount | None = None
    cache_read: Amount | None = None


class DispatchSettings(BaseModel):
    """Defaults of `agentctl dispatch`; its flags (same names) override them."""

    model_config = ConfigDict(extra="forbid", strict=True)

    provider: ProviderName | None = None
    parallel: Positive | None = None
    max_depth: Count | None = None
    max_rounds: Positive | None = None
    # The same ranges as dispatch.LIMIT_RULES, which checks flags (tests/test_config.py compares them).
    max_calls: Positive | None = None
    max_tokens: Positive | None = None  # every token of the run
    max_cost: Cap | None = None  # USD
    memory_budget: Count | None = None  # tokens of memory notes in one system prompt
    timeout: Seconds | None = None  # the whole run
    route_model: ModelId | None = None  # alias or id that routes `dispatch "TASK"`; else the cheapest configured


class AnthropicSettings(BaseModel):
    """How the anthropic provider calls the API."""

    model_config = ConfigDict(extra="forbid", strict=True)

    # The same ranges as providers/anthropic.SETTING_RULES, which checks them again for library callers
    # (tests/test_config.py compares the two).
    max_tokens: Annotated[int, Field(ge=1, le=1_000_000)] | None = None  # the length limit of one answer
    timeout: Annotated[float, Field(gt=0, le=DAY, allow_inf_nan=False)] | None = None  # seconds per request
    # retries of 429, 5xx, 529, broken streams and dropped connections
    max_retries: Annotated[int, Field(ge=0, le=20)] | None = None
    # the longest wait a retry-after may ask for
    max_retry_wait: Annotated[float, Field(ge=0, le=DAY, allow_inf_nan=False)] | None = None
    # seconds for one whole call: every try and every wait
    call_timeout: Annotated[float, Field(gt=0, le=DAY, allow_inf_nan=False)] | None = None


class ClaudeCodeSettings(BaseModel):
    """How the claude-code provider runs Claude Code (each call is one `claude -p` session)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    binary: Folder | None = None  # the claude executable (else $AGENTCTL_CLAUDE_BIN, PATH, the SDK's)
    permission_mode: PermissionMode | None = None  # the default of --permission-mode (else plan)
    allowed_tools: list[str] | None = None  # --allowed-tools
    disallowed_tools: list[str] | None = None  # --disallowed-tools
    max_turns: Positive | None = None  # model turns in one session
    call_timeout: Seconds | None = None  # seconds for one session: the process group is killed after it


class ConfigFile(BaseModel):
    """Every key agentctl reads from its configuration file; others are typos."""

    model_config = ConfigDict(extra="forbid", strict=True)

    layout: Literal["top-level", "claude"] | None = None
    agents: Folder | None = None
    shared: Folder | None = None
    memory: Folder | None = None
    templates: Folder | None = None
    runs: Folder | None = None
    ignore: list[str] | None = None
    select: list[str] | None = None
    models: dict[ModelId, ModelId] | None = None  # alias -> model id, and `default`
    prices: dict[ModelId, PriceEntry] | None = None  # model id -> prices
    dispatch: DispatchSettings | None = None
    anthropic: AnthropicSettings | None = None
    claude_code: ClaudeCodeSettings | None = None


def validate_config(values: dict[str, Any]) -> list[str]:
    """`field: message (got value)` for each problem in `values` (empty when valid)."""
    try:
        ConfigFile.model_validate(values)
    except ValidationError as error:
        return [_describe(problem) for problem in error.errors()]
    return []


def _describe(problem: Any) -> str:
    location = ".".join(_key(part) for part in problem["loc"] if part != "[key]") or "(root)"
    if problem["type"] == "extra_forbidden":
        return f"{location}: unknown key"
    message = str(problem["msg"]).removeprefix("Value error, ")
    if problem["type"] == "missing":
        return f"{location}: {message}"
    return f"{location}: {message} (got {_shown(problem['input'])})"


def _key(part: object) -> str:
    """A part of a dotted key as TOML writes it: bare when it can be, quoted otherwise."""
    text = str(part)
    return text if text and all(c.isascii() and (c.isalnum() or c in "-_") for c in text) else json.dumps(text)


def _shown(value: Any) -> str:
    """A value as short as a message line allows, as TOML writes it where that is easy."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "a table" if isinstance(value, dict) else "an array"
    return shorten(repr(value), 60)
