"""A loopback Anthropic Message Batches API: a real socket, spoken to as the real one is.

It answers the four endpoints `agentctl batch` uses, as the API documents them:

    POST /v1/messages/batches                   create: {"requests": [{"custom_id", "params"}]}
    GET  /v1/messages/batches/{id}              retrieve: processing_status, request_counts, results_url
    GET  /v1/messages/batches/{id}/results      the results, one JSON object per line
    POST /v1/messages/batches/{id}/cancel       cancel: the requests not yet done end `canceled`

A batch ends after `polls` retrievals (0: at once) or `delay` seconds. `create_failures` scripts the
next create calls: an HTTP status (the API refuses the batch: nothing is made), or "drop" (the body
is read, its requests counted as sent, and the connection closed without an answer, as when a
connection breaks after the API took a batch). What each request gets comes
from `reply(params) -> str | Outcome`: a string is a succeeded message with that text; an Outcome can
be `errored` (with an error type) or `expired`. `route()` picks a reply by a substring of the system
prompt or the user turn. The server counts every custom_id it was sent (`submissions`), so a test can
prove that nothing was submitted twice.

    with BatchesServer(reply=route({"DB Architect": "schema ok"}, default="done")) as server:
        environ = {"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": server.url}
"""

from __future__ import annotations

import collections
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Outcome:
    kind: str  # "succeeded", "errored", "expired", or "raw": `raw` as the result, whatever it is
    text: str = ""
    error_type: str = "api_error"
    output_tokens: int | None = None
    input_tokens: int | None = None
    raw: Any = None


Reply = Callable[[dict[str, Any]], "str | Outcome"]


def prompt_text(params: Mapping[str, Any]) -> str:
    system = " ".join(block.get("text", "") for block in params.get("system", []) if isinstance(block, dict))
    user = params["messages"][0]["content"] if params.get("messages") else ""
    return f"{system}\n{user if isinstance(user, str) else json.dumps(user)}"


def route(replies: Mapping[str, str | Outcome], default: str | Outcome = "Done.") -> Reply:
    """A reply by the first key found in the request's system prompt or user turn."""

    def pick(params: dict[str, Any]) -> str | Outcome:
        text = prompt_text(params)
        return next((reply for key, reply in replies.items() if key in text), default)

    return pick


@dataclass
class _Batch:
    id: str
    requests: list[dict[str, Any]]
    created: float
    polls_left: int
    ends_at: float
    number: int = 0
    canceled: bool = False
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    ended: bool = False


class BatchesServer:
    def __init__(self, reply: Reply | None = None, polls: int = 0, delay: float = 0.0) -> None:
        self.reply: Reply = reply or (lambda params: "Done.")
        self.polls, self.delay = polls, delay
        self.batches: dict[str, _Batch] = {}
        self.submissions: collections.Counter[str] = collections.Counter()  # custom_id -> times submitted
        self.creates = 0
        self.cancels = 0
        self.hold_after: int | None = None  # batches created after this many stay in progress until it is None
        self.create_failures: list[int | str] = []  # what the next create calls get instead of a batch
        self.create_attempts = 0
        self.bodies: list[bytes] = []  # every create body as received
        self.results_url_base: str | None = None  # where results_url points, if not here
        self.garbled_retrievals = 0  # the next retrievals answer with bytes that are not HTTP
        self.retrievals = 0
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> BatchesServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- the API ---------------------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.creates += 1
            batch_id = f"msgbatch_{next(self._ids):06d}"
            for request in body["requests"]:
                self.submissions[request["custom_id"]] += 1
            batch = _Batch(batch_id, body["requests"], time.time(), self.polls, time.time() + self.delay, self.creates)
            self.batches[batch_id] = batch
            self._maybe_end(batch, retrieving=False)
            return self._view(batch)

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        with self.lock:
            self.retrievals += 1
            batch = self.batches[batch_id]
            self._maybe_end(batch, retrieving=True)
            return self._view(batch)

    def cancel(self, batch_id: str) -> dict[str, Any]:
        with self.lock:
            self.cancels += 1
            batch = self.batches[batch_id]
            if not batch.ended:
                batch.canceled = True
                self._end(batch)
            return self._view(batch)

    def results_jsonl(self, batch_id: str) -> bytes:
        with self.lock:
            batch = self.batches[batch_id]
            lines = [json.dumps({"custom_id": cid, "result": result}) for cid, result in batch.results.items()]
        return ("\n".join(lines) + "\n").encode()

    def _maybe_end(self, batch: _Batch, retrieving: bool) -> None:
        if batch.ended or (self.hold_after is not None and batch.number > self.hold_after):
            return
        if retrieving and batch.polls_left > 0:
            batch.polls_left -= 1
        if batch.polls_left <= 0 and time.time() >= batch.ends_at:
            self._end(batch)

    def _end(self, batch: _Batch) -> None:
        for request in batch.requests:
            params = request["params"]
            if batch.canceled:
                batch.results[request["custom_id"]] = {"type": "canceled"}
                continue
            outcome = self.reply(params)
            batch.results[request["custom_id"]] = _result(params, outcome, batch.id)
        batch.ended = True

    def _view(self, batch: _Batch) -> dict[str, Any]:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if batch.ended:
            for result in batch.results.values():
                kind = result.get("type") if isinstance(result, dict) else None
                if kind in counts:
                    counts[kind] += 1
        else:
            counts["processing"] = len(batch.requests)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(batch.created))
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if batch.ended else "in_progress",
            "request_counts": counts,
            "created_at": stamp,
            "expires_at": stamp,
            "ended_at": stamp if batch.ended else None,
            "cancel_initiated_at": stamp if batch.canceled else None,
            "archived_at": None,
            "results_url": f"{self.results_url_base or self.url}/v1/messages/batches/{batch.id}/results"
            if batch.ended
            else None,
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                parts = self.path.split("?", 1)[0].strip("/").split("/")
                with server.lock:
                    garbled, server.garbled_retrievals = server.garbled_retrievals > 0, server.garbled_retrievals - 1
                if garbled:
                    self.wfile.write(b"NOT HTTP AT ALL\r\n\r\n")
                    self.close_connection = True
                    return
                if parts[-1] == "results":
                    self._send(200, server.results_jsonl(parts[-2]), "application/binary")
                else:
                    self._json(server.retrieve(parts[-1]))

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                data = self.rfile.read(length)
                parts = self.path.split("?", 1)[0].strip("/").split("/")
                if parts[-1] == "cancel":
                    self._json(server.cancel(parts[-2]))
                    return
                with server.lock:
                    server.create_attempts += 1
                    server.bodies.append(data)
                    failure = server.create_failures.pop(0) if server.create_failures else None
                body = json.loads(data or b"{}")
                if failure == "drop":
                    with server.lock:
                        server.submissions.update(request["custom_id"] for request in body["requests"])
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif isinstance(failure, int):
                    kind = {401: "authentication_error", 429: "rate_limit_error", 529: "overloaded_error"}
                    error = {"type": kind.get(failure, "api_error"), "message": f"scripted {failure}"}
                    data = json.dumps({"type": "error", "error": error}).encode()
                    self._send(failure, data, "application/json", {"retry-after-ms": "10"})
                else:
                    self._json(server.create(body))

            def _json(self, payload: dict[str, Any]) -> None:
                self._send(200, json.dumps(payload).encode(), "application/json")

            def _send(self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _result(params: dict[str, Any], outcome: str | Outcome, batch_id: str) -> dict[str, Any]:
    if isinstance(outcome, str):
        outcome = Outcome("succeeded", outcome)
    if outcome.kind == "raw":
        return outcome.raw  # type: ignore[no-any-return]
    if outcome.kind == "expired":
        return {"type": "expired"}
    if outcome.kind == "errored":
        error = {"type": outcome.error_type, "message": f"scripted {outcome.error_type}"}
        return {"type": "errored", "error": {"type": "error", "error": error}}
    input_tokens = outcome.input_tokens if outcome.input_tokens is not None else max(1, len(prompt_text(params)) // 4)
    output_tokens = outcome.output_tokens if outcome.output_tokens is not None else max(1, len(outcome.text) // 4)
    message = {
        "id": f"msg_{batch_id}",
        "type": "message",
        "role": "assistant",
        "model": params["model"],
        "content": [{"type": "text", "text": outcome.text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }
    return {"type": "succeeded", "message": message}
