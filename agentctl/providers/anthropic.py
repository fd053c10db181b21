"""The Anthropic Messages API as a Provider: one streamed call per request, errors as ProviderError.

Importing this module is cheap: the SDK (about 2 s to import) is imported by `build_provider` /
`AnthropicProvider(...)`, and only once a key is known to be there. Calls stream (`messages.stream`),
so a long answer never meets the SDK's ten-minute ceiling for non-streaming requests.

Retries are this provider's, not the SDK's (its client runs with `max_retries=0`): the SDK would
sleep through whatever `retry-after` the API sends, up to 49 days, without a word. Here a transient
failure (429, 5xx, 529, a refused or dropped connection, a stream that breaks midway, silence past
the read timeout) is tried again up to `max_retries` times; before each wait the provider reports it
through the request's `on_wait` (the engine records a `waiting` event), waits what `retry-after`
asks or backs off exponentially, and fails the call at once when the API asks for longer than
`max_retry_wait`. `call_timeout` bounds the whole call, retries and waits included.

The answer is read up to `bounds.ANSWER_CHARS` characters: a longer one fails the call
(bad_response) instead of filling memory.

The API key never appears in a ProviderError's message or hint, nor in any string a response
carries: everything the SDK says is passed through the secret filter (agentctl.redact) first, and
errors are raised outside the `except` block so that no SDK exception (whose request holds the key)
rides along as context.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from agentctl.bounds import ANSWER_CHARS
from agentctl.errors import UsageError
from agentctl.providers.base import (
    DEFAULT_MAX_TOKENS,
    BadUsage,
    CallRequest,
    CallResponse,
    ErrorKind,
    ProviderError,
    Usage,
    Wait,
    in_range,
)
from agentctl.records import field, fields_of, record
from agentctl.redact import SecretFilter

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import Message, MessageParam, TextBlockParam

    from agentctl.config import Settings
    from agentctl.providers import ProviderOptions

MISSING_KEY_HINT = "set ANTHROPIC_API_KEY, or run with --dry-run"
# Kinds worth another try, before the stream opened or after (409 is "server", 408 "timeout").
RETRYABLE = frozenset({"network", "timeout", "overloaded", "server", "rate_limit"})
MAX_BACKOFF = 8.0  # seconds: the longest wait between tries when the API names none (the SDK's own cap)
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


@record
class AnthropicConfig:
    """How to reach the API. `repr` never shows the key."""

    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None  # None: ANTHROPIC_BASE_URL, else the SDK's default
    max_tokens: int = DEFAULT_MAX_TOKENS  # for a request that gives none (max_tokens <= 0)
    timeout: float = 600.0  # seconds, per read (a stream may run longer, as long as bytes come)
    max_retries: int = 2  # further tries of a call after a transient failure
    retry_delay: float = 0.5  # seconds before the first retry when the API names no wait, doubled each time
    # A 429 may ask for an hour; an unattended run should fail that call and say so, not sleep.
    max_retry_wait: float = 60.0  # seconds: the longest retry-after honoured
    call_timeout: float = 900.0  # seconds for the whole call: every try and every wait

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> AnthropicConfig:
        """ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL from an (injected) environment."""
        values: dict[str, Any] = {
            "api_key": environ.get("ANTHROPIC_API_KEY") or None,
            "base_url": environ.get("ANTHROPIC_BASE_URL") or None,
        }
        return cls(**{**values, **overrides})

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], environ: Mapping[str, str]) -> AnthropicConfig:
        """The [anthropic] settings, each range-checked (UsageError naming it), and the environment's key."""
        checked = {name: _setting(settings, name, *rule) for name, rule in SETTING_RULES.items() if name in settings}
        return cls.from_env(environ, **{name: value for name, value in checked.items() if value is not None})


DAY = 86_400.0
# [anthropic] key -> (integer?, lowest, highest, unit): what each setting may be.
SETTING_RULES: dict[str, tuple[bool, float, float, str]] = {
    "max_tokens": (True, 1, 1_000_000, "tokens"),
    "timeout": (False, 0, DAY, "seconds"),
    "max_retries": (True, 0, 20, "retries"),
    "max_retry_wait": (False, 0, DAY, "seconds"),
    "call_timeout": (False, 0, DAY, "seconds"),
}
_ABOVE_ZERO = frozenset({"timeout", "call_timeout"})  # 0 s would fail every call


def _setting(settings: Mapping[str, Any], name: str, whole: bool, low: float, high: float, unit: str) -> Any:
    value = settings[name]
    above = name in _ABOVE_ZERO
    if value is None or in_range(value, whole, low, high, above):
        return value
    kind = "a whole number" if whole else "a number"
    lowest = f"above {low:g}" if above else f"from {low:g}"
    raise UsageError(
        f"[anthropic] {name} must be {kind} of {unit} {lowest} to {high:g}, not {value!r}",
        hint="fix it in agentctl.toml (or [tool.agentctl.anthropic] in pyproject.toml)",
    )


def build_provider(config: AnthropicConfig) -> AnthropicProvider:
    """The provider for real calls; raises ProviderError(kind="auth") when there is no key."""
    return AnthropicProvider(config)


def from_settings(settings: Settings | None, environ: Mapping[str, str], options: ProviderOptions) -> AnthropicProvider:
    """The registry's builder (agentctl.providers): [anthropic] settings, range-checked, and the key of
    the (injected) environment."""
    return build_provider(AnthropicConfig.from_settings(settings.anthropic if settings else {}, environ))


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, config: AnthropicConfig) -> None:
        if not config.api_key:
            raise ProviderError("no Anthropic API key", kind="auth", hint=MISSING_KEY_HINT)
        from anthropic import AsyncAnthropic  # the SDK import, paid only by real calls

        self.config = config
        self._filter = SecretFilter([config.api_key])
        # max_retries=0: the retries are ours (see the module docstring), so every wait is bounded and reported.
        self._client: AsyncAnthropic = AsyncAnthropic(
            api_key=config.api_key, base_url=config.base_url, timeout=config.timeout, max_retries=0
        )

    async def complete(self, request: CallRequest) -> CallResponse:
        params = build_params(request, self.config.max_tokens)
        deadline = asyncio.timeout(self.config.call_timeout)
        try:
            async with deadline:
                outcome = await self._tries(params, request.on_wait)
        except TimeoutError:
            if not deadline.expired():
                raise
            outcome = _Failure("timeout", self._deadline_line(), None, midstream=False)
            outcome.hint = "raise [anthropic] call_timeout, or ask for less (max_tokens)"
        if isinstance(outcome, CallResponse):
            return self._redacted(outcome)
        # Raised here, outside the except blocks, so that the SDK's exception (its request holds
        # the key in a header) is neither the cause nor the context of what the engine sees.
        raise self._error(outcome, params)

    async def aclose(self) -> None:
        await self._client.close()

    async def _tries(self, params: _Params, on_wait: Callable[[Wait], None] | None) -> CallResponse | _Failure:
        """The first try and the retries: an answer, or the failure that ended them."""
        loop = asyncio.get_running_loop()
        ends = loop.time() + self.config.call_timeout
        earlier: list[_Failure] = []
        while True:
            outcome = await self._try(params, len(earlier))
            if isinstance(outcome, CallResponse):
                broken = [failure.line for failure in earlier if failure.midstream]
                outcome.warnings[:0] = [f"a broken stream was retried: {why}" for why in broken]
                return outcome
            outcome.earlier = earlier
            if not outcome.retryable or len(earlier) >= self.config.max_retries:
                return outcome
            wait = self._wait_before_retry(outcome, len(earlier))
            if self._refuse_wait(outcome, wait, ends - loop.time()):
                return outcome
            earlier.append(outcome)
            if on_wait is not None:
                on_wait(Wait(wait, len(earlier) + 1, outcome.wait_reason(wait)))
            await asyncio.sleep(wait)

    async def _try(self, params: _Params, retries: int) -> CallResponse | _Failure:
        try:
            message, request_id = await self._stream(params, retries)
        except _StreamBroke as broke:
            return _Failure.of(broke.error, midstream=True)
        except Exception as exc:  # raised before the stream opened
            if not _is_transport_error(exc):
                raise  # a bug (ours or the SDK's), not a failed call: exit 3, with a traceback
            return _Failure.of(exc, midstream=False)
        try:
            return parse_message(message, request_id, params["max_tokens"])
        except (BadUsage, *_PAYLOAD_ERRORS) as exc:  # an answer the API should not have sent
            return _Failure.of(exc, midstream=True)

    def _wait_before_retry(self, failure: _Failure, retries: int) -> float:
        if failure.retry_after is not None:
            return failure.retry_after
        backoff: float = self.config.retry_delay * 2.0**retries
        return min(backoff, MAX_BACKOFF, self.config.max_retry_wait)

    def _refuse_wait(self, failure: _Failure, wait: float, left: float) -> bool:
        """Whether the call fails now rather than wait (too long a retry-after, or past the deadline)."""
        if wait > self.config.max_retry_wait:
            failure.note = (
                f"the API asked to wait {_seconds(wait)} s before a retry, longer than "
                f"[anthropic] max_retry_wait ({_seconds(self.config.max_retry_wait)} s)"
            )
            failure.hint = "try again later (agentctl runs resume continues a run), or raise [anthropic] max_retry_wait"
        elif wait >= left:
            failure.note = (
                f"a retry after {_seconds(wait)} s would end past [anthropic] call_timeout "
                f"({_seconds(self.config.call_timeout)} s)"
            )
        return failure.note is not None

    async def _stream(self, params: _Params, retries: int) -> tuple[Message, str | None]:
        """One streamed call. What breaks after the stream opened comes out as _StreamBroke."""
        # The retry count header, as the SDK sends it on its own retries: the API may use it.
        headers = {"x-stainless-retry-count": str(retries)}
        async with self._client.messages.stream(**params, extra_headers=headers) as stream:
            try:
                stopped = False
                length = 0
                async for event in stream:
                    stopped = stopped or event.type == "message_stop"
                    length += _text_length(event)
                    if length > ANSWER_CHARS:
                        raise _TooLong(f"the answer is longer than {ANSWER_CHARS:,} characters")
                if not stopped:
                    raise _Truncated("the stream ended before message_stop")
                message = await stream.get_final_message()
            except Exception as exc:
                raise _StreamBroke(exc) from exc
            return message, stream.request_id

    def _deadline_line(self) -> str:
        return (
            f"anthropic: the call did not end within [anthropic] call_timeout "
            f"({_seconds(self.config.call_timeout)} s, tries and waits included)"
        )

    def _error(self, failure: _Failure, params: _Params) -> ProviderError:
        line = failure.line
        if failure.note:
            line += f" ({failure.note})"
        retries = len(failure.earlier)
        if retries:
            broke = sum(earlier.midstream for earlier in failure.earlier) + failure.midstream
            line += f" (the stream broke {broke} times)" if broke == retries + 1 else f" (after {retries} retries)"
        hint = failure.hint or self._hint(failure.kind, params)
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


@record
class _Failure:
    """One failed try: what the error says, and what it tells about trying again."""

    kind: ErrorKind
    line: str
    status: int | None
    midstream: bool  # the stream had opened
    label: str = ""  # "429 rate_limit_error": what a waiting event names
    retry_after: float | None = None  # seconds the API asked for
    should_retry: bool | None = None  # the API's x-should-retry header, when it sent one
    earlier: list[_Failure] = field(default_factory=list)  # the tries before this one
    note: str | None = None  # why no retry follows although one was allowed
    hint: str | None = None  # replaces the kind's hint

    @classmethod
    def of(cls, exc: BaseException, midstream: bool) -> _Failure:
        """Read what is needed from `exc`, keeping no reference to it (its request holds the key)."""
        kind, line = describe_error(exc)
        status = _status_of(exc)
        headers = _headers_of(exc)
        error_type = getattr(exc, "type", None)
        label = f"{status} {error_type or kind}" if status else (f"{kind}, the stream broke" if midstream else kind)
        should = headers.get("x-should-retry")
        should_retry = {"true": True, "false": False}.get(should) if should else None
        return cls(kind, line, status, midstream, label, retry_after(headers), should_retry)

    @property
    def retryable(self) -> bool:
        if self.should_retry is not None:
            return self.should_retry
        return self.kind in RETRYABLE

    def wait_reason(self, wait: float) -> str:
        why = "retry-after" if self.retry_after is not None else "backoff"
        return f"{self.label}, {why} {_seconds(wait)} s"


def retry_after(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """The seconds the API asks to wait (retry-after-ms, retry-after in seconds or as a date); None if none.

    Infinity stays infinity (it is more than any cap); a wait of 0 or less, or one that cannot be
    read, is no request at all, as for the SDK."""
    seconds = _number(headers.get("retry-after-ms"), 1000.0)
    if seconds is None:
        seconds = _number(headers.get("retry-after"), 1.0)
    if seconds is None and headers.get("retry-after"):
        date = email.utils.parsedate_tz(headers["retry-after"])
        seconds = None if date is None else email.utils.mktime_tz(date) - now()
    return seconds if seconds is not None and seconds > 0 else None


def _number(text: str | None, per_second: float) -> float | None:
    try:
        return float(text) / per_second if text else None
    except ValueError:
        return None


def _headers_of(exc: BaseException) -> Mapping[str, str]:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return headers if isinstance(headers, Mapping) else {}


def _seconds(value: float) -> str:
    return f"{round(value, 2):g}"


def _text_length(event: Any) -> int:
    """Characters of answer text an SSE event adds (text deltas only; the SDK's own events repeat them)."""
    if event.type != "content_block_delta":
        return 0
    text = getattr(getattr(event, "delta", None), "text", None)
    return len(text) if isinstance(text, str) else 0


class _StreamBroke(Exception):
    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class _Truncated(Exception):
    """The body ended cleanly but without message_stop: a cut the transport did not see."""


class _TooLong(Exception):
    """The answer went past bounds.ANSWER_CHARS: reading stops there."""


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
    """Text (every text block, joined), usage with the cache counts, and warnings for cut answers.

    BadUsage when the usage counts are not whole numbers >= 0 (the stream accumulator takes them as sent)."""
    text = "".join(block.text for block in message.content if block.type == "text")
    usage = message.usage
    warnings: list[str] = []
    if message.stop_reason == "max_tokens":
        warnings.append(f"the answer was cut at max_tokens={max_tokens}")
    elif message.stop_reason == "model_context_window_exceeded":
        warnings.append("the answer was cut: the model's context window is full")
    elif message.stop_reason == "refusal":
        warnings.append("the model refused to answer")
    counts = {key: getattr(usage, key, None) for key in fields_of(Usage)}
    if counts["input_tokens"] is None or counts["output_tokens"] is None:
        raise BadUsage("the answer carries no input_tokens or output_tokens")
    return CallResponse(
        text=text,
        usage=Usage.from_counts(counts),
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
    if isinstance(exc, _TooLong):
        return "bad_response", f"anthropic: {exc}; it was not read further (bounds.ANSWER_CHARS)"
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
