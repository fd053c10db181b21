"""Where agent calls go: the Anthropic API, a script, or nowhere (dry run).

`base` holds the small interface the engine talks to. This module is the one registry of providers
by name (`--provider`, `[dispatch] provider`, `runs resume --provider`): each entry names the module
that builds it, imported only when a provider is built for a run, so that read-only commands never
pay for a provider's imports (the anthropic SDK takes about 2 s). A new provider is its module,
with a builder `(settings, environ, options) -> Provider`, and its entry in PROVIDERS.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

from agentctl.errors import UsageError
from agentctl.records import record

if TYPE_CHECKING:
    from agentctl.config import Settings
    from agentctl.providers.base import Provider


@record
class ProviderOptions:
    """What a run gives a provider besides the settings and the environment."""

    script: Path | None = None  # the scripted provider's replies (--script)
    cwd: Path | None = None  # the project the agents work in (--cwd); None: the team's root
    model: str | None = None  # --model: the run's override of every agent's model
    max_turns: int | None = None  # claude-code: --max-turns, over [claude_code] max_turns


# settings: None when there is no team around (`route --llm --agents-dir`): every setting at its default.
ProviderBuilder = Callable[["Settings | None", Mapping[str, str], ProviderOptions], "Provider"]


@record
class ProviderSpec:
    """One entry of the registry: how to build the provider, without importing it until then."""

    module: str  # imported when the provider is built, never before
    builder: str  # the name of its ProviderBuilder in that module
    description: str  # one line, for --help

    def build(self, settings: Settings | None, environ: Mapping[str, str], options: ProviderOptions) -> Provider:
        builder = cast(ProviderBuilder, getattr(importlib.import_module(self.module), self.builder))
        return builder(settings, environ, options)


PROVIDERS: dict[str, ProviderSpec] = {
    "anthropic": ProviderSpec(
        "agentctl.providers.anthropic", "from_settings", "the Anthropic Messages API (ANTHROPIC_API_KEY)"
    ),
    "scripted": ProviderSpec("agentctl.providers.scripted", "from_settings", "replies from a --script file"),
    "claude-code": ProviderSpec(
        "agentctl.providers.claude_code",
        "from_settings",
        "each call a headless Claude Code session with the agent's tools (the claude CLI)",
    ),
}


def provider_names() -> tuple[str, ...]:
    return tuple(PROVIDERS)


def provider_spec(name: str) -> ProviderSpec:
    """The registry's entry for `name`; UsageError (exit 2) naming the providers there are."""
    spec = PROVIDERS.get(name)
    if spec is None:
        raise UsageError(f"unknown provider {name!r}", hint=f"providers: {', '.join(PROVIDERS)} (or --dry-run)")
    return spec


def build_provider(
    name: str, settings: Settings | None, environ: Mapping[str, str], options: ProviderOptions | None = None
) -> Provider:
    """The provider `name` from the team's settings (None: the defaults) and the (injected) environment.
    A setting out of range is a UsageError; a provider that cannot work (no key) a ProviderError."""
    return provider_spec(name).build(settings, environ, options or ProviderOptions())
