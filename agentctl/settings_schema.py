"""The schema of agentctl.toml / [tool.agentctl], checked with pydantic.

Imported only when a team has a config file (see config._validated), so that read-only
commands on an unconfigured team never pay pydantic's start-up cost.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError


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
