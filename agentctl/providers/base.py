"""The interface between the dispatch engine and whatever answers an agent call.

A provider turns one `CallRequest` (system blocks, one user turn) into one `CallResponse`
(text and usage) or raises `ProviderError`. Retries of transient faults are the provider's
business (the SDK's own retry loop); what reaches the engine has failed for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from agentctl.errors import AgentctlError, ExitCode

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
]


@dataclass(slots=True)
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
    def from_json(cls, data: object) -> Usage:
        values = data if isinstance(data, dict) else {}
        return cls(*(int(values.get(key) or 0) for key in cls.__slots__))


@dataclass(slots=True)
class SystemBlock:
    """One block of the system prompt; `cache` puts a cache_control breakpoint after it."""

    name: str  # "agent", "team", "memory": for plans and records, never sent
    text: str
    cache: bool = False


@dataclass(slots=True)
class CallRequest:
    call_id: str
    agent: str
    mode: CallMode
    model: str  # a concrete model id (aliases are resolved before a request is built)
    system: list[SystemBlock]
    user: str
    max_tokens: int


@dataclass(slots=True)
class CallResponse:
    text: str
    usage: Usage
    model: str
    stop_reason: str | None = None
    request_id: str | None = None
    warnings: list[str] = field(default_factory=list)


class ProviderError(AgentctlError):
    """A call that failed for good (after the SDK's retries). Its message never holds a key."""

    exit_code = ExitCode.PROVIDER

    def __init__(self, message: str, kind: ErrorKind, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind: ErrorKind = kind
        self.status = status

    @property
    def stops_the_run(self) -> bool:
        """Authentication and permission errors fail every later call too: stop at once."""
        return self.kind in ("auth", "permission")


class Provider(Protocol):
    name: str

    async def complete(self, request: CallRequest) -> CallResponse: ...

    async def aclose(self) -> None: ...
