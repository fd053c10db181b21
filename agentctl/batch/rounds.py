"""A round's calls, gathered from every task's engine, and the provider the engines talk to.

Each task runs in the dispatch engine, one coroutine per task, against BatchProvider: a call is
queued here and its coroutine waits. When every task is waiting (or done) the round is complete:
the runner sends the queued calls as one batch and answers each from its result. "Every task is
waiting" is read off the event loop: no new call arrives while the loop runs everything runnable,
and no answer is being parsed in a worker thread (CountingExecutor).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from agentctl.bounds import ANSWER_CHARS
from agentctl.providers.anthropic import _one_line
from agentctl.providers.base import BadUsage, CallRequest, CallResponse, ProviderError, Usage
from agentctl.records import field, fields_of, record

# Errors the API names for a request that may well succeed if sent again.
TRANSIENT = frozenset({"api_error", "overloaded_error", "rate_limit_error", "timeout_error"})


def custom_id(task_index: int, key: str) -> str:
    """The request's id in a batch: its task and its place in that task's tree, within the API's
    64 characters of letters, digits, `_` and `-`; the same call of a resumed task gets the same id."""
    return f"t{task_index}-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


@record
class PendingCall:
    custom_id: str
    task_index: int
    key: str
    request: CallRequest
    max_tokens: int  # as sent: the request's, else the default
    future: asyncio.Future[CallResponse] = field(repr=False)
    retried: bool = False


class CountingExecutor(ThreadPoolExecutor):
    """The loop's default executor, counting the jobs in flight: an engine parsing an answer in a
    worker thread is not waiting for the round yet."""

    def __init__(self) -> None:
        # One worker: what runs here is Python under the GIL (parsing answers), so more would not be
        # faster, and each would keep an allocator arena of its own.
        super().__init__(max_workers=1, thread_name_prefix="agentctl-batch")
        self.busy = 0
        self._count = threading.Lock()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._count:
            self.busy += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _: Future[Any]) -> None:
        with self._count:
            self.busy -= 1


class RoundCollector:
    def __init__(self, default_max_tokens: int) -> None:
        self.default_max_tokens = default_max_tokens
        self.pending: list[PendingCall] = []
        self.arrivals = 0

    def queue(self, task_index: int, request: CallRequest) -> asyncio.Future[CallResponse]:
        """Queue a call for the next round; its answer comes through the future."""
        max_tokens = request.max_tokens if request.max_tokens > 0 else self.default_max_tokens
        future: asyncio.Future[CallResponse] = asyncio.get_running_loop().create_future()
        self.pending.append(
            PendingCall(custom_id(task_index, request.key), task_index, request.key, request, max_tokens, future)
        )
        self.arrivals += 1
        return future

    def take(self) -> list[PendingCall]:
        calls, self.pending = self.pending, []
        return calls

    def requeue(self, call: PendingCall) -> None:
        """Send a call again in the next round (a transient failure, once)."""
        call.retried = True
        self.pending.append(call)

    async def settled(self, engines: list[asyncio.Task[Any]], executor: CountingExecutor) -> None:
        """Return when every engine is done or waiting for its queued calls."""
        while True:
            before = self.arrivals
            for _ in range(8):  # everything runnable runs, answers handed back by threads included
                await asyncio.sleep(0)
            if executor.busy:
                await asyncio.sleep(0.001)
                continue
            if all(task.done() for task in engines) or (self.pending and self.arrivals == before):
                return
            await asyncio.sleep(0.001 if not self.pending else 0)


class BatchProvider:
    """The provider interface (agentctl.providers.base) for one task of a batch."""

    name = "anthropic-batch"

    def __init__(self, collector: RoundCollector, task_index: int) -> None:
        self.collector = collector
        self.task_index = task_index

    async def complete(self, request: CallRequest) -> CallResponse:
        return await self.collector.queue(self.task_index, request)

    async def aclose(self) -> None:
        return None


def response_of(result: dict[str, Any], max_tokens: int) -> CallResponse:
    """A `succeeded` result's message as the engine takes an answer; ProviderError (bad_response) for
    one that cannot be read, which fails its call alone."""
    message = result.get("message")
    if not isinstance(message, dict):
        raise _unreadable("it has no message")
    content = message.get("content")
    blocks = content if isinstance(content, list) else []
    text = "".join(
        block["text"]
        for block in blocks
        if isinstance(block, dict) and isinstance(block.get("text"), str) and block.get("type") == "text"
    )
    if len(text) > ANSWER_CHARS:
        raise _unreadable(f"its answer is longer than {ANSWER_CHARS:,} characters (bounds.ANSWER_CHARS)")
    counts = message.get("usage")
    try:
        usage = Usage.from_counts({key: _of(counts, key) for key in fields_of(Usage)})
    except BadUsage as error:
        raise _unreadable(f"its usage cannot be read ({error})") from None
    stop_reason = _text(message.get("stop_reason"))
    warnings = [f"the answer was cut at max_tokens={max_tokens}"] if stop_reason == "max_tokens" else []
    return CallResponse(text, usage, _text(message.get("model")) or "", stop_reason, _text(message.get("id")), warnings)


def error_of(result: dict[str, Any] | None) -> ProviderError:
    """A result that is not an answer as the failed call the engine records."""
    if result is None:
        return ProviderError("anthropic batch: the batch ended without a result for this request", kind="bad_response")
    kind = result.get("type")
    if kind == "errored":
        error_type, text = _api_error(result)
        message = f"anthropic batch: errored: {error_type}: {_one_line(text)}".rstrip(": ")
        return ProviderError(message, kind=_KINDS.get(error_type, "server"))
    if kind == "expired":
        return ProviderError("anthropic batch: the request expired before it was processed", kind="timeout")
    if kind == "canceled":
        return ProviderError(
            "anthropic batch: the request was canceled", kind="limit", hint="`agentctl batch cancel` ended it"
        )
    return _unreadable(f"its type is {_one_line(str(kind), 40)!r}")


def transient(result: dict[str, Any] | None) -> bool:
    """Whether a failed result is worth one more try: it expired, or the API had a passing trouble."""
    if result is None or result.get("type") == "expired":
        return True
    return result.get("type") == "errored" and _api_error(result)[0] in TRANSIENT


def _api_error(result: dict[str, Any]) -> tuple[str, str]:
    """An errored result's error type and message (`{"error": {"error": {"type", "message"}}}`)."""
    outer = result.get("error")
    inner = outer.get("error") if isinstance(outer, dict) else None
    error = inner if isinstance(inner, dict) else {}
    return _text(error.get("type")) or "api_error", _text(error.get("message")) or ""


def _unreadable(why: str) -> ProviderError:
    return ProviderError(f"anthropic batch: the result cannot be read: {why}", kind="bad_response")


def _of(counts: object, key: str) -> object:
    return counts.get(key) if isinstance(counts, dict) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


_KINDS: dict[str, Any] = {
    "invalid_request_error": "bad_request",
    "authentication_error": "auth",
    "permission_error": "permission",
    "rate_limit_error": "rate_limit",
    "overloaded_error": "overloaded",
    "timeout_error": "timeout",
}
