"""The Anthropic Messages API as a Provider: one streamed call per request, errors as ProviderError.

Importing this module is cheap: the SDK (about 2 s to import) is imported by `build_provider` /
`AnthropicProvider(...)`, and only once a key is known to be there. Calls stream (`messages.stream`),
so a long answer never meets the SDK's ten-minute ceiling for non-streaming requests.

Retries: the SDK retries what fails before the first byte of the answer (429, 5xx, 529, timeouts,
refused connections) `max_retries` times, honouring `retry-after`. A stream that breaks midway
(a dropped connection, an `event: error` such as overloaded_error, silence past the timeout) is
not the SDK's business; this provider retries it, up to `max_retries` times as well, and says so
in the response's warnings. What reaches the engine has failed for good.

The API key never appears in a ProviderError's message or hint, nor in any string a response
carries: everything the SDK says is passed through the secret filter (agentctl.redact) first, and
errors are raised outside the `except` block so that no SDK exception (whose request holds the key)
rides along as context.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from agentctl.providers.base import CallRequest, CallResponse, ErrorKind, ProviderError, Usage
from agentctl.redact import SecretFilter

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import Message, MessageParam, TextBlockParam

MISSING_KEY_HINT = "set ANTHROPIC_API_KEY, or run with --dry-run"
# Kinds worth another try when they break a stream that had started (the SDK retried the rest).
MIDSTREAM_RETRY = frozenset({"network", "timeout", "overloaded", "server", "rate_limit"})
_KIND_BY_TYPE: dict[str, ErrorKind] = {
    "authentication_error": "auth",
    "permission_error": "permission",
    "billing_error": "permission",
    "rate_limit_error": "rate_limit",
    "overloaded_error": "overloaded",
    "api_error": "server",
    "timeout_error": "timeout",
    "invalid_request_error": "bad_request",
    "not_found_error": "bad_request",
    "request_too_large": "bad_request",
}
_KIND_BY_STATUS: dict[int, ErrorKind] = {
    401: "auth",
    402: "permission",  # billing: every later call fails too
    403: "permission",
    408: "timeout",
    409: "server",  # the SDK retries it as a transient conflict
    429: "rate_limit",
    529: "overloaded",
}
_HINTS: dict[ErrorKind, str] = {  # timeout and bad_request: see AnthropicProvider._hint
    "auth": "check ANTHROPIC_API_KEY: the API refused this key",
    "permission": "the key may not use this model or workspace (or the account's credit is used up)",
    "rate_limit": "the rate limit held through every retry: wait a minute, or run fewer agents at once",
    "overloaded": "the API is overloaded: try again in a few minutes",
    "server": "an error on the API's side: try again later",
    "network": "check the network, and ANTHROPIC_BASE_URL if it is set",
    "bad_response": "the API's answer could not be read: try again, and report it if it persists",
}
# What a stream that breaks while being read raises, besides the SDK's own errors: the accumulator
# and the SSE decoder use plain exceptions for payloads they cannot read.
_PAYLOAD_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError, RuntimeError)


@dataclass(slots=True)
class AnthropicConfig:
    """How to reach the API. `repr` never shows the key."""

    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None  # None: ANTHROPIC_BASE_URL, else the SDK's default
    max_tokens: int = 8192  # for a request that gives none (max_tokens <= 0)
    timeout: float = 600.0  # seconds, per read (a stream may run longer, as long as bytes come)
    max_retries: int = 2  # the SDK's retries, and separately the retries of a broken stream
    retry_delay: float = 0.5  # seconds before retrying a broken stream, doubled each time

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> AnthropicConfig:
        """ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL from an (injected) environment."""
        values: dict[str, Any] = {
            "api_key": environ.get("ANTHROPIC_API_KEY") or None,
            "base_url": environ.get("ANTHROPIC_BASE_URL") or None,
        }
        return cls(**{**values, **overrides})


def build_provider(config: AnthropicConfig) -> AnthropicProvider:
    """The provider for real calls; raises ProviderError(kind="auth") when there is no key."""
    return AnthropicProvider(config)


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, config: AnthropicConfig) -> None:
        if not config.api_key:
            raise ProviderError("no Anthropic API key", kind="auth", hint=MISSING_KEY_HINT)
        from anthropic import AsyncAnthropic  # the SDK import, paid only by real calls

        self.config = config
        self._filter = SecretFilter([config.api_key])
        self._client: AsyncAnthropic = AsyncAnthropic(
            api_key=config.api_key, base_url=config.base_url, timeout=config.timeout, max_retries=config.max_retries
        )

    async def complete(self, request: CallRequest) -> CallResponse:
        params = build_params(request, self.config.max_tokens)
        broken: list[str] = []  # why each earlier attempt's stream broke
        for attempt in range(self.config.max_retries + 1):
            try:
                message, request_id = await self._stream(params)
            except _StreamBroke as broke:
                kind, line = describe_error(broke.error)
                failure = _Failure(kind, line, _status_of(broke.error), midstream=True)
            except Exception as exc:  # raised before the stream opened: the SDK has retried it
                if not _is_transport_error(exc):
                    raise  # a bug (ours or the SDK's), not a failed call: exit 3, with a traceback
                kind, line = describe_error(exc)
                failure = _Failure(kind, line, _status_of(exc), midstream=False)
            else:
                response = parse_message(message, request_id, params["max_tokens"])
                response.warnings[:0] = [f"a broken stream was retried: {why}" for why in broken]
                return self._redacted(response)
            if not failure.retryable or attempt == self.config.max_retries:
                break
            broken.append(failure.line)
            await asyncio.sleep(self.config.retry_delay * 2**attempt)
        # Raised here, outside the except blocks, so that the SDK's exception (its request holds
        # the key in a header) is neither the cause nor the context of what the engine sees.
        raise self._error(failure, retries=len(broken), params=params)

    async def aclose(self) -> None:
        await self._client.close()

    async def _stream(self, params: _Params) -> tuple[Message, str | None]:
        """One streamed call. What breaks after the stream opened comes out as _StreamBroke."""
        async with self._client.messages.stream(**params) as stream:
            try:
                stopped = False
                async for event in stream:
                    stopped = stopped or event.type == "message_stop"
                if not stopped:
                    raise _Truncated("the stream ended before message_stop")
                message = await stream.get_final_message()
            except Exception as exc:
                raise _StreamBroke(exc) from exc
            return message, stream.request_id

    def _error(self, failure: _Failure, retries: int, params: _Params) -> ProviderError:
        line = failure.line
        if failure.kind in MIDSTREAM_RETRY and not failure.midstream and self.config.max_retries:
            line += f" (after {self.config.max_retries} retries)"
        if retries:
            line += (
                f" (the stream broke {retries + 1} times)"
                if failure.midstream
                else f" ({retries} broken streams before)"
            )
        hint = self._hint(failure.kind, params)
        redact = self._filter.redact
        return ProviderError(redact(line), failure.kind, redact(hint) if hint else hint, failure.status)

    def _hint(self, kind: ErrorKind, params: _Params) -> str:
        if kind == "timeout":
            return f"no answer within {self.config.timeout:g} s: raise the timeout, or ask for less (max_tokens)"
        if kind == "bad_request":
            asked = f"the model id ({params['model']}) and max_tokens ({params['max_tokens']})"
            return f"the API refused the request: check {asked}"
        return _HINTS[kind]

    def _redacted(self, response: CallResponse) -> CallResponse:
        response.text = self._filter.redact(response.text)
        response.warnings = [self._filter.redact(warning) for warning in response.warnings]
        return response


@dataclass(slots=True)
class _Failure:
    kind: ErrorKind
    line: str
    status: int | None
    midstream: bool  # the stream had opened: the SDK did not retry it, this provider may

    @property
    def retryable(self) -> bool:
        return self.midstream and self.kind in MIDSTREAM_RETRY


class _StreamBroke(Exception):
    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class _Truncated(Exception):
    """The body ended cleanly but without message_stop: a cut the transport did not see."""


def _is_transport_error(exc: BaseException) -> bool:
    """The SDK's errors and httpx2's: what a failed call raises before its stream opens."""
    import anthropic
    import httpx2

    return isinstance(exc, anthropic.AnthropicError | httpx2.HTTPError)


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) and status >= 400 else None


if TYPE_CHECKING:

    class _Params(TypedDict):
        model: str
        max_tokens: int
        system: list[TextBlockParam]
        messages: list[MessageParam]


def build_params(request: CallRequest, default_max_tokens: int = 8192) -> _Params:
    """The Messages API body: system as text blocks (cache_control where asked), one user turn."""
    system: list[TextBlockParam] = []
    for block in request.system:
        if block.cache:
            system.append({"type": "text", "text": block.text, "cache_control": {"type": "ephemeral"}})
        else:
            system.append({"type": "text", "text": block.text})
    return {
        "model": request.model,
        "max_tokens": request.max_tokens if request.max_tokens > 0 else default_max_tokens,
        "system": system,
        "messages": [{"role": "user", "content": request.user}],
    }


def parse_message(message: Message, request_id: str | None, max_tokens: int) -> CallResponse:
    """Text (every text block, joined), usage with the cache counts, and warnings for cut answers."""
    text = "".join(block.text for block in message.content if block.type == "text")
    usage = message.usage
    warnings: list[str] = []
    if message.stop_reason == "max_tokens":
        warnings.append(f"the answer was cut at max_tokens={max_tokens}")
    elif message.stop_reason == "model_context_window_exceeded":
        warnings.append("the answer was cut: the model's context window is full")
    elif message.stop_reason == "refusal":
        warnings.append("the model refused to answer")
    return CallResponse(
        text=text,
        usage=Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_input_tokens=usage.cache_read_input_tokens or 0,
            cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
        ),
        model=message.model,
        stop_reason=message.stop_reason,
        request_id=request_id,
        warnings=warnings,
    )


def describe_error(exc: BaseException) -> tuple[ErrorKind, str]:
    """The kind of a failed call and one line that says what happened (not yet redacted)."""
    import anthropic
    import httpx2

    if isinstance(exc, _StreamBroke):
        return describe_error(exc.error)
    if isinstance(exc, anthropic.APIStatusError):
        return _status_kind(exc), _status_line(exc)
    if isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
        return "timeout", f"anthropic: the request timed out ({_cause_line(exc)})"
    if isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError | _Truncated):
        return "network", f"anthropic: the connection failed ({_cause_line(exc)})"
    if isinstance(exc, (anthropic.APIResponseValidationError, *_PAYLOAD_ERRORS)):
        return "bad_response", f"anthropic: unreadable answer ({type(exc).__name__}: {_one_line(str(exc))})"
    return "bad_response", f"anthropic: the call failed ({type(exc).__name__}: {_one_line(str(exc))})"


def _status_kind(exc: Any) -> ErrorKind:
    """By HTTP status; an `event: error` inside a 200 stream goes by its error type."""
    status: int = exc.status_code
    if status in _KIND_BY_STATUS:
        return _KIND_BY_STATUS[status]
    if status >= 500:
        return "server"
    if status >= 400:
        return "bad_request"
    return _KIND_BY_TYPE.get(str(exc.type or ""), "bad_response")


def _status_line(exc: Any) -> str:
    what = exc.api_message or exc.message
    where = f"HTTP {exc.status_code}" if exc.status_code != 200 else "error event in the stream"
    parts = [f"anthropic: {where}", str(exc.type or "error")]
    if exc.error_code:
        parts.append(str(exc.error_code))
    line = ": ".join(parts) + f": {_one_line(str(what))}"
    return line + (f" (request {exc.request_id})" if exc.request_id else "")


def _cause_line(exc: BaseException) -> str:
    """The transport's own words (the SDK's wrapper says only "Connection error.")."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    text = _one_line(str(cause)) or "no detail"
    return f"{type(cause).__name__}: {text}"


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
