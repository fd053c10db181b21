"""A loopback Anthropic Messages API: a real socket, real SSE, scripted replies and injected faults.

The anthropic SDK sends through httpx2, which HTTP-mocking libraries do not see, so tests and
benches talk to this server over 127.0.0.1 instead. It answers `POST /v1/messages` as the API does:
JSON with Content-Length (keep-alive) when `stream` is false, and when it is true an SSE stream in
chunked transfer encoding (message_start with the cache usage fields, content_block_start, ping,
text_delta chunks, content_block_stop, message_delta, message_stop), so the SDK's own stream
accumulator builds the final message. Chunked framing matters: a stream cut short is then a
protocol error for the client, as it is against the real API, not a quietly shorter body.

    with MessagesServer(reply=route({"DB Architect": "schema ok"}, default="done")) as server:
        client = AsyncAnthropic(api_key="k", base_url=server.url)
        server.inject(Fault.overloaded(), nth=1)        # the first request gets a 529
        server.inject(Fault.drop(), when=lambda r: "Reviewer" in r.system, times=1)
        ...
        server.wait_for(2)                               # RecordedRequest list, in arrival order
        assert server.requests[0].api_key == "k"  # SDK 2.12 sends it as `authorization: Bearer k`

What answers a request, first match wins: an injection (`inject(..., nth=N)` or `when=predicate`),
then the reply script: a `Reply`, a `Fault`, a string (the text), a list of those (consumed in
order), or a callable `(request_json, headers) -> one of those`. `route()` builds a callable that
picks by a substring of the system prompt or the user turn. A script that runs out, or a callable
that raises, gets a 400 that names the problem (400 so that the SDK does not retry it) and an
entry in `server.errors`.

Retryable faults send `retry-after` (0.01 s by default). The SDK ignores a retry-after of 0 or
less and falls back to its exponential backoff (0.5 s, 1 s, ... with jitter), so a test that wants
speed must send a small positive value; pass `retry_after=None` to see the SDK's own backoff.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, TypeAlias

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
ERROR_MESSAGES = {
    "invalid_request_error": "messages: field required",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "model: not found",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit.",
    "api_error": "Internal server error",
    "timeout_error": "Request timed out",
    "overloaded_error": "Overloaded",
}
RETRY_AFTER = 0.01  # seconds; see the module docstring for why not 0

FaultKind = Literal["status", "drop", "truncate", "malformed", "stream_error", "stall"]


@dataclass
class Fault:
    """Something going wrong with one reply. Build with the class methods.

    status        an HTTP error with the API's error body (`{"type": "error", "error": {...}}`)
    drop          the connection closes after `after_events` SSE events (no terminating chunk)
    truncate      the body ends properly after `after_events` events, short of message_stop (what a
                  proxy that cuts cleanly, or an HTTP/2 stream reset, looks like)
    malformed     after `after_events` events, one whose `data:` is not JSON
    stream_error  after `after_events` events, an `event: error` (as the API sends overloaded_error
                  midway through a stream), then the stream ends properly
    stall         after `after_events` events, `seconds` of silence, then the rest (read timeouts)
    """

    kind: FaultKind
    status: int = 500
    error_type: str = "api_error"
    message: str = ""
    retry_after: float | None = None
    after_events: int = 4
    seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def http(
        cls, status: int, error_type: str | None = None, message: str | None = None, retry_after: float | None = None
    ) -> Fault:
        kind = error_type or ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return cls("status", status, kind, message or ERROR_MESSAGES.get(kind, kind), retry_after)

    @classmethod
    def rate_limit(cls, retry_after: float | None = RETRY_AFTER) -> Fault:
        return cls.http(429, retry_after=retry_after)

    @classmethod
    def overloaded(cls, retry_after: float | None = RETRY_AFTER) -> Fault:
        return cls.http(529, retry_after=retry_after)

    @classmethod
    def server_error(cls, retry_after: float | None = RETRY_AFTER) -> Fault:
        return cls.http(500, retry_after=retry_after)

    @classmethod
    def auth(cls) -> Fault:
        return cls.http(401)

    @classmethod
    def permission(cls) -> Fault:
        return cls.http(403)

    @classmethod
    def bad_request(cls, message: str = ERROR_MESSAGES["invalid_request_error"]) -> Fault:
        return cls.http(400, message=message)

    @classmethod
    def drop(cls, after_events: int = 4) -> Fault:
        return cls("drop", after_events=after_events)

    @classmethod
    def truncate(cls, after_events: int = 4) -> Fault:
        return cls("truncate", after_events=after_events)

    @classmethod
    def malformed(cls, after_events: int = 3) -> Fault:
        return cls("malformed", after_events=after_events)

    @classmethod
    def stream_error(cls, error_type: str = "overloaded_error", after_events: int = 3) -> Fault:
        return cls("stream_error", 200, error_type, ERROR_MESSAGES.get(error_type, error_type), None, after_events)

    @classmethod
    def stall(cls, seconds: float, after_events: int = 3) -> Fault:
        return cls("stall", after_events=after_events, seconds=seconds)


@dataclass
class Reply:
    """One answer. Token counts left at None are estimated (about 4 characters a token)."""

    text: str = "ok"
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    stop_reason: str = "end_turn"
    model: str | None = None  # None: the model the request named
    delay: float = 0.0  # seconds of silence before the status line (slow replies, timeouts, benches)
    event_delay: float = 0.0  # seconds between SSE events
    chunk_size: int = 24  # characters of text per text_delta
    full_delta_usage: bool = False  # message_delta repeats the input/cache counts (the API may do either)
    fault: Fault | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Tool calls after the text (`ToolUse("Read", {"file_path": ...})`); stop_reason becomes tool_use.
    tool_uses: list[ToolUse] = field(default_factory=list)


@dataclass
class ToolUse:
    """A `tool_use` content block: the client (Claude Code) runs the tool and sends a `tool_result`."""

    name: str
    input: dict[str, Any]
    id: str = ""  # "" : toolu_<n>, numbered by the server


ReplyLike: TypeAlias = Reply | Fault | str
ReplyFn: TypeAlias = Callable[[dict[str, Any], dict[str, str]], ReplyLike]
Script: TypeAlias = ReplyLike | ReplyFn | Sequence[ReplyLike] | None


def as_reply(value: ReplyLike) -> Reply:
    if isinstance(value, Reply):
        return value
    if isinstance(value, Fault):
        return Reply(fault=value)
    return Reply(text=value)


def system_text(body: Any) -> str:
    """The system prompt of a request body as one string (blocks joined by blank lines)."""
    system = body.get("system") if isinstance(body, dict) else None
    if isinstance(system, str):
        return system
    return "\n\n".join(block.get("text", "") for block in system or [] if isinstance(block, dict))


def user_text(body: Any) -> str:
    """The text of every user turn of a request body."""
    parts: list[str] = []
    for message in body.get("messages", []) if isinstance(body, dict) else []:
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(block.get("text", "") for block in content or [] if isinstance(block, dict))
    return "\n\n".join(parts)


def route(
    routes: Mapping[str, ReplyLike | Sequence[ReplyLike]],
    default: ReplyLike | None = None,
    where: Literal["system", "user", "any"] = "any",
) -> ReplyFn:
    """A reply callable: the first key found in the system prompt or user turn picks the reply.

    A list value is consumed in order, one reply per matching request. No match and no default
    (or an exhausted list) raises, which the server answers with a 400 and an entry in `errors`.
    """
    queues = {key: _Queue(value) for key, value in routes.items()}

    def pick(body: dict[str, Any], headers: dict[str, str]) -> ReplyLike:
        haystack = {"system": system_text(body), "user": user_text(body)}
        text = haystack[where] if where != "any" else haystack["system"] + "\n" + haystack["user"]
        for key, queue in queues.items():
            if key in text:
                return queue.next(f"route {key!r}")
        if default is None:
            raise LookupError("no route matched the request")
        return default

    return pick


class _Queue:
    """A reply, or a list of replies consumed in order."""

    def __init__(self, value: ReplyLike | Sequence[ReplyLike]) -> None:
        self.single = value if isinstance(value, Reply | Fault | str) else None
        self.items = list(value) if self.single is None else []  # type: ignore[arg-type]
        self.lock = threading.Lock()

    def next(self, what: str) -> ReplyLike:
        if self.single is not None:
            return self.single
        with self.lock:
            if not self.items:
                raise LookupError(f"{what}: the script ran out of replies")
            return self.items.pop(0)


@dataclass
class RecordedRequest:
    index: int  # 1-based, in arrival order
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    raw: bytes
    body: Any  # the parsed JSON, None when the body is not JSON
    arrived: float  # time.monotonic()
    finished: float | None = None
    outcome: str = ""  # "ok", "429 rate_limit_error", "drop", "malformed", "stream_error", "client gone"...
    request_id: str = ""
    client: str = ""  # "127.0.0.1:port" of the connection: the same for requests on one kept-alive socket

    @property
    def system(self) -> str:
        return system_text(self.body)

    @property
    def user(self) -> str:
        return user_text(self.body)

    @property
    def api_key(self) -> str | None:
        """The key as sent: `x-api-key`, or `authorization: Bearer` (what SDK 2.12 sends for api_key=)."""
        bearer = self.headers.get("authorization", "")
        return self.headers.get("x-api-key") or (bearer[7:] if bearer.lower().startswith("bearer ") else None)

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("stream"))


@dataclass
class _Injection:
    reply: Reply
    nth: int | None
    when: Callable[[RecordedRequest], bool] | None
    times: int | None


class MessagesServer:
    """The server; a context manager (`with MessagesServer() as server:`) or `start()`/`close()`."""

    def __init__(self, reply: Script = None, api_key: str | None = None) -> None:
        self.api_key = api_key  # when set, a request with another key (or none) gets a 401
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []
        self._script: Callable[[dict[str, Any], dict[str, str]], ReplyLike] = _script_fn(reply)
        self._injections: list[_Injection] = []
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._ids = itertools.count(1)
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> MessagesServer:
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.02,), name="messages-server", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, cut open connections (sleeping handlers wake up) and wait for the threads."""
        if self._httpd is None:
            return
        self._stop.set()
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._httpd.join_handlers(timeout=5.0)
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._httpd = None

    def __enter__(self) -> MessagesServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The base URL to give the SDK (`base_url=`)."""
        assert self._httpd is not None, "the server is not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- scripting -----------------------------------------------------------------------------

    def set_reply(self, reply: Script) -> None:
        with self._lock:
            self._script = _script_fn(reply)

    def inject(
        self,
        fault: Fault | Reply,
        nth: int | None = None,
        when: Callable[[RecordedRequest], bool] | None = None,
        times: int | None = 1,
    ) -> None:
        """Answer the `nth` request (1-based, counted since start) or up to `times` requests for
        which `when` holds (None: every one) with `fault` instead of the script."""
        if (nth is None) == (when is None):
            raise ValueError("inject needs exactly one of nth= or when=")
        reply = fault if isinstance(fault, Reply) else Reply(fault=fault)
        with self._lock:
            self._injections.append(_Injection(reply, nth, when, None if nth is not None else times))

    # -- records -------------------------------------------------------------------------------

    def wait_for(self, count: int, timeout: float = 5.0, finished: bool = False) -> list[RecordedRequest]:
        """The recorded requests once `count` have arrived (and, with `finished`, been answered)."""

        def ready() -> bool:
            done = [r for r in self.requests if r.finished is not None] if finished else self.requests
            return len(done) >= count

        with self._lock:
            if not self._lock.wait_for(ready, timeout):
                raise TimeoutError(f"{len(self.requests)} of {count} requests arrived within {timeout} s")
            return list(self.requests)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.errors.clear()

    # -- used by the handler -------------------------------------------------------------------

    def _record(self, handler: _Handler, raw: bytes) -> RecordedRequest:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in handler.headers.items()}
        with self._lock:
            record = RecordedRequest(len(self.requests) + 1, handler.command, handler.path, headers, raw, body, 0.0)
            record.request_id = f"req_{next(self._ids):024x}"
            host, port = handler.client_address[:2]
            record.client = f"{host}:{port}"
            record.arrived = time.monotonic()
            self.requests.append(record)
            self._lock.notify_all()
        return record

    def _finish(self, record: RecordedRequest, outcome: str) -> None:
        with self._lock:
            record.finished = time.monotonic()
            record.outcome = outcome
            self._lock.notify_all()

    def _choose(self, record: RecordedRequest) -> Reply:
        with self._lock:
            injected = self._injected(record)
            script = self._script
        if injected is not None:
            return injected
        if self.api_key is not None and record.api_key != self.api_key:
            return Reply(fault=Fault.auth())
        try:
            return as_reply(script(record.body if isinstance(record.body, dict) else {}, record.headers))
        except Exception as exc:
            message = f"messages_server: request {record.index}: {type(exc).__name__}: {exc}"
            with self._lock:
                self.errors.append(message)
            return Reply(fault=Fault.http(400, message=message))

    def _injected(self, record: RecordedRequest) -> Reply | None:
        for injection in self._injections:
            if injection.nth is not None:
                hit = injection.nth == record.index
            else:
                hit = injection.times != 0 and injection.when is not None and injection.when(record)
            if hit:
                if injection.times is not None:
                    injection.times -= 1
                return injection.reply
        return None

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stop.wait(seconds)


def _script_fn(reply: Script) -> Callable[[dict[str, Any], dict[str, str]], ReplyLike]:
    if reply is None:
        return lambda body, headers: Reply()
    if callable(reply):
        return reply
    queue = _Queue(reply)
    return lambda body, headers: queue.next("the reply script")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], owner: MessagesServer) -> None:
        self.owner = owner
        self.handler_threads: set[threading.Thread] = set()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._run, args=(request, client_address), daemon=True)
        self.handler_threads.add(thread)
        thread.start()

    def _run(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            self.handler_threads.discard(threading.current_thread())

    def join_handlers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in list(self.handler_threads):
            thread.join(max(0.0, deadline - time.monotonic()))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx2 expects
    disable_nagle_algorithm = True  # else each small SSE write waits ~40 ms for the client's delayed ACK
    server: _HTTPServer
    timeout = 30  # an idle keep-alive connection is dropped after this

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.owner._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows stderr on failure
        pass

    def do_GET(self) -> None:
        self._answer(with_body=False)

    def do_POST(self) -> None:
        self._answer(with_body=True)

    def _answer(self, with_body: bool) -> None:
        owner = self.server.owner
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if with_body and length else b""
        record = owner._record(self, raw)
        if self.command != "POST" or self.path.split("?")[0] != "/v1/messages":
            reply = Reply(fault=Fault.http(404, message=f"Not found: {self.command} {self.path}"))
        else:
            reply = owner._choose(record)
        try:
            outcome = _Responder(self, record, reply).send()
        except OSError:  # the client went away (it timed out, or was closed)
            outcome = "client gone"
            self.close_connection = True
        owner._finish(record, outcome)


class _Responder:
    """Writes one reply: an error, a JSON message, or an SSE stream with its fault."""

    def __init__(self, handler: _Handler, record: RecordedRequest, reply: Reply) -> None:
        self.handler = handler
        self.owner = handler.server.owner
        self.record = record
        self.reply = reply
        self.body: dict[str, Any] = record.body if isinstance(record.body, dict) else {}

    def send(self) -> str:
        self.owner._sleep(self.reply.delay)
        if self.owner._stop.is_set():
            raise ConnectionAbortedError("server closing")
        fault = self.reply.fault
        if fault is not None and fault.kind == "status":
            return self._error(fault)
        if self.record.stream:
            return self._stream(fault)
        return self._json(fault)

    def _headers(self, status: int, content_type: str, extra: Mapping[str, str]) -> None:
        handler = self.handler
        handler.send_response(status)
        handler.send_header("content-type", content_type)
        handler.send_header("request-id", self.record.request_id)
        handler.send_header("anthropic-organization-id", "00000000-0000-0000-0000-000000000000")
        for name, value in {**self.reply.headers, **extra}.items():
            handler.send_header(name, value)

    def _error(self, fault: Fault) -> str:
        payload = {
            "type": "error",
            "error": {"type": fault.error_type, "message": fault.message},
            "request_id": self.record.request_id,
        }
        data = json.dumps(payload).encode()
        extra = dict(fault.headers)
        if fault.retry_after is not None:
            extra["retry-after"] = f"{fault.retry_after:g}"
        self._headers(fault.status, "application/json", {**extra, "content-length": str(len(data))})
        self.handler.end_headers()
        self.handler.wfile.write(data)
        return f"{fault.status} {fault.error_type}"

    def _json(self, fault: Fault | None) -> str:
        data = json.dumps(self._message(final=True)).encode()
        if fault is not None and fault.kind == "malformed":
            data = data[: len(data) // 2]
        self._headers(200, "application/json", {"content-length": str(len(data))})
        self.handler.end_headers()
        if fault is not None and fault.kind == "drop":
            self.handler.wfile.write(data[: len(data) // 2])
            return self._drop()
        self.handler.wfile.write(data)
        return fault.kind if fault is not None else "ok"

    def _stream(self, fault: Fault | None) -> str:
        self._headers(
            200, "text/event-stream; charset=utf-8", {"transfer-encoding": "chunked", "cache-control": "no-cache"}
        )
        self.handler.end_headers()
        for number, (event, data) in enumerate(self._events(), start=0):
            if fault is not None and number == fault.after_events:
                if fault.kind == "drop":
                    return self._drop()
                if fault.kind == "truncate":
                    break
                if fault.kind == "malformed":
                    self._chunk(f"event: {event}\ndata: {data[: len(data) // 2]}\n\n")
                    continue
                if fault.kind == "stream_error":
                    error = {"type": "error", "error": {"type": fault.error_type, "message": fault.message}}
                    self._chunk(f"event: error\ndata: {json.dumps(error)}\n\n")
                    break
                if fault.kind == "stall":
                    self.owner._sleep(fault.seconds)
            if number:
                self.owner._sleep(self.reply.event_delay)
            self._chunk(f"event: {event}\ndata: {data}\n\n")
        self.handler.wfile.write(b"0\r\n\r\n")
        return fault.kind if fault is not None else "ok"

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _drop(self) -> str:
        """Close the socket without finishing the body: a FIN where the client expects more."""
        self.handler.close_connection = True
        with contextlib.suppress(OSError):
            self.handler.connection.shutdown(socket.SHUT_RDWR)
        return "drop"

    # -- the message -------------------------------------------------------------------------

    def _usage(self, final: bool) -> dict[str, Any]:
        reply = self.reply
        input_tokens = reply.input_tokens if reply.input_tokens is not None else max(1, len(self.record.raw) // 4)
        cache_creation = reply.cache_creation_input_tokens
        return {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": cache_creation,
            "cache_read_input_tokens": reply.cache_read_input_tokens,
            "cache_creation": {"ephemeral_5m_input_tokens": cache_creation, "ephemeral_1h_input_tokens": 0},
            "output_tokens": self._output_tokens() if final else 1,
            "service_tier": "standard",
        }

    def _output_tokens(self) -> int:
        reply = self.reply
        return reply.output_tokens if reply.output_tokens is not None else max(1, len(reply.text) // 4)

    def _message(self, final: bool) -> dict[str, Any]:
        reply = self.reply
        return {
            "id": "msg_" + self.record.request_id[4:],
            "type": "message",
            "role": "assistant",
            "model": reply.model or self.body.get("model") or "claude-sonnet-4-6",
            "content": self._content() if final else [],
            "stop_reason": self._stop_reason() if final else None,
            "stop_sequence": None,
            "usage": self._usage(final),
        }

    def _stop_reason(self) -> str:
        return "tool_use" if self.reply.tool_uses and self.reply.stop_reason == "end_turn" else self.reply.stop_reason

    def _tool_blocks(self) -> list[dict[str, Any]]:
        return [
            {
                "type": "tool_use",
                "id": use.id or f"toolu_{self.record.index:04d}{number}",
                "name": use.name,
                "input": use.input,
            }
            for number, use in enumerate(self.reply.tool_uses)
        ]

    def _content(self) -> list[dict[str, Any]]:
        text = [{"type": "text", "text": self.reply.text}] if self.reply.text or not self.reply.tool_uses else []
        return text + self._tool_blocks()

    def _events(self) -> Iterator[tuple[str, str]]:
        def event(name: str, **data: Any) -> tuple[str, str]:
            return name, json.dumps({"type": name, **data})

        reply = self.reply
        yield event("message_start", message=self._message(final=False))
        yield event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        yield event("ping")
        size = max(1, reply.chunk_size)
        for start in range(0, len(reply.text), size):
            delta = {"type": "text_delta", "text": reply.text[start : start + size]}
            yield event("content_block_delta", index=0, delta=delta)
        yield event("content_block_stop", index=0)
        for index, block in enumerate(self._tool_blocks(), start=1):
            yield event("content_block_start", index=index, content_block={**block, "input": {}})
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            yield event("content_block_delta", index=index, delta=delta)
            yield event("content_block_stop", index=index)
        usage: dict[str, Any] = {"output_tokens": self._output_tokens()}
        if reply.full_delta_usage:
            full = self._usage(final=True)
            usage = {
                key: full[key] for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
            }
            usage["output_tokens"] = self._output_tokens()
        yield event("message_delta", delta={"stop_reason": self._stop_reason(), "stop_sequence": None}, usage=usage)
        yield event("message_stop")
