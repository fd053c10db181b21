"""The schema of agentctl.toml / [tool.agentctl], checked with pydantic.

Imported only when a team has a config file (see config._validated), so that read-only
commands on an unconfigured team never pay pydantic's start-up cost.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError


class PriceEntry(BaseModel):
    """USD per million tokens; cache prices default to 1.25x (write) and 0.1x (read) the input price."""

    model_config = ConfigDict(extra="forbid")

    input: float
    output: float
    cache_write: float | None = None
    cache_read: float | None = None


class DispatchSettings(BaseModel):
    """Defaults of `agentctl dispatch`; its flags (same names) override them."""

    model_config = ConfigDict(extra="forbid", strict=True)

    provider: Literal["anthropic", "scripted"] | None = None
    parallel: int | None = None
    max_depth: int | None = None
    max_rounds: int | None = None
    max_calls: int | None = None
    max_tokens: int | None = None  # every token of the run
    max_cost: float | None = None  # USD
    memory_budget: int | None = None  # tokens of memory notes in one system prompt


class AnthropicSettings(BaseModel):
    """How the anthropic provider calls the API."""

    model_config = ConfigDict(extra="forbid", strict=True)

    max_tokens: int | None = None  # the length limit of one answer
    timeout: float | None = None  # seconds per request
    max_retries: int | None = None  # the SDK's retries of 429, 5xx and dropped connections


class ConfigFile(BaseModel):
    """Every key agentctl reads from its configuration file; others are typos."""

    model_config = ConfigDict(extra="forbid", strict=True)

    layout: Literal["top-level", "claude"] | None = None
    agents: str | None = None
    shared: str | None = None
    memory: str | None = None
    templates: str | None = None
    runs: str | None = None
    ignore: list[str] | None = None
    models: dict[str, str] | None = None  # alias -> model id, and `default`
    prices: dict[str, PriceEntry] | None = None  # model id -> prices
    dispatch: DispatchSettings | None = None
    anthropic: AnthropicSettings | None = None


def validate_config(values: dict[str, Any]) -> list[str]:
    """`field: message` for each problem in `values` (empty when valid)."""
    try:
        ConfigFile.model_validate(values)
    except ValidationError as error:
        return [_describe(problem) for problem in error.errors()]
    return []


def _describe(problem: Any) -> str:
    location = ".".join(str(part) for part in problem["loc"]) or "(root)"
    if problem["type"] == "extra_forbidden":
        return f"{location}: unknown key"
    return f"{location}: {problem['msg']}"
