"""The Message Batches endpoints (`agentctl batch`) over the standard library's HTTP client.

One call goes through the anthropic SDK (providers.anthropic); a batch does not, for three reasons:
- memory: importing the SDK costs about 70 MB, a third of what a batch of 10,000 tasks may use in
  all; and the SDK builds a create body in memory several times over, where batch.body writes it
  piece by piece as it is sent, with its exact length;
- nothing sent twice: the SDK sends a create again after a timeout or a dropped connection, when
  the API may well have made the batch already (its requests would run, and be paid, twice). Here a
  create is sent again only when the API answered that it did not take it (429, 5xx) or the
  connection never opened;
- results are read one line at a time, each line bounded, never the whole file at once.

Keys, the base URL, the timeout and the retries come from the same [anthropic] settings and
environment as one call's (AnthropicConfig); failures are ProviderError of the same kinds, with the
key never in a message.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from agentctl.bounds import ANSWER_CHARS, MIB
from agentctl.providers.anthropic import (
    _HINTS,
    _KIND_BY_STATUS,
    _KIND_BY_TYPE,
    MAX_BACKOFF,
    MISSING_KEY_HINT,
    RETRYABLE,
    AnthropicConfig,
    _one_line,
    retry_after,
)
from agentctl.providers.base import ErrorKind, ProviderError

if TYPE_CHECKING:
    from agentctl.batch.body import BatchBody

API_VERSION = "2023-06-01"
DEFAULT_BASE_URL = "https://api.anthropic.com"
VIEW_BYTES = MIB  # a batch's view or an error's body: a few hundred bytes
# One line of results: an answer of ANSWER_CHARS characters, each escaped at worst (\uXXXX), and its envelope.
RESULT_LINE_BYTES = 6 * ANSWER_CHARS + MIB
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
T = TypeVar("T")


class HttpBatchApi:
    """create, retrieve, results and cancel (batch.api.BatchApi). Each blocks: the runner calls them
    in a thread."""

    def __init__(
        self, config: AnthropicConfig, environ: Mapping[str, str], sleep: Callable[[float], None] = time.sleep
    ):
        assert config.api_key
        self._key = config.api_key
        self._config = config
        self._base = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._sleep = sleep
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler(_proxies(environ)))

    def create(self, body: BatchBody) -> dict[str, Any]:
        view = self._json("POST", "/v1/messages/batches", body, body.length, resend=False)
        if not isinstance(view.get("id"), str) or not _BATCH_ID.fullmatch(view["id"]):
            raise ProviderError("anthropic batches: the API made a batch whose id cannot be read", kind="bad_response")
        return view

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/messages/batches/{_plain(batch_id)}")

    def cancel(self, batch_id: str) -> dict[str, Any]:
        return self._json("POST", f"/v1/messages/batches/{_plain(batch_id)}/cancel", b"", 0)

    def results(self, batch_id: str) -> Iterator[dict[str, Any]]:
        """The batch's results (one batch's: the runner splits a round at SPLIT_BYTES), read whole so
        that a broken download is tried again from the start. Always from the API's own address: a
        results_url elsewhere would take the key with it."""
        path = f"/v1/messages/batches/{_plain(batch_id)}/results"
        return iter(self._request("GET", path, None, None, True, self._result_lines))

    def _result_lines(self, response: http.client.HTTPResponse) -> list[dict[str, Any]]:
        """Every line of a results file, read one at a time, each bounded."""
        items = []
        number = 0
        while line := response.readline(RESULT_LINE_BYTES + 1):
            number += 1
            if len(line) > RESULT_LINE_BYTES:
                raise self._unreadable(f"result line {number} is longer than {RESULT_LINE_BYTES:,} bytes")
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                raise self._unreadable(f"result line {number} is not JSON") from None
            if not isinstance(item, dict) or not isinstance(item.get("custom_id"), str):
                raise self._unreadable(f"result line {number} has no custom_id")
            items.append(item)
        return items

    # --- HTTP --------------------------------------------------------------------------------------------

    def _json(
        self, method: str, path: str, body: Any = None, length: int | None = None, resend: bool = True
    ) -> dict[str, Any]:
        data = self._request(method, path, body, length, resend, lambda response: response.read(VIEW_BYTES + 1))
        try:
            view = json.loads(data) if len(data) <= VIEW_BYTES else None
        except ValueError:
            view = None
        if not isinstance(view, dict):
            raise self._unreadable(f"{method} {path} answered with something other than a JSON object")
        return view

    def _request(
        self,
        method: str,
        path: str,
        body: Any,
        length: int | None,
        resend: bool,
        read: Callable[[http.client.HTTPResponse], T],
    ) -> T:
        """What `read` makes of the response, after the retries [anthropic] allows. `resend` False: a
        request the API may have received whole is not sent again (a create)."""
        headers = {"x-api-key": self._key, "anthropic-version": API_VERSION, "accept": "application/json"}
        if length is not None:
            headers |= {"content-type": "application/json", "content-length": str(length)}
        tries = 1 + max(0, self._config.max_retries)
        for attempt in range(tries):
            request = urllib.request.Request(self._base + path, data=body, headers=headers, method=method)
            try:
                with self._opener.open(request, timeout=self._config.timeout) as response:
                    return read(response)
            except urllib.error.HTTPError as error:
                kind, line, wait = self._status_failure(error, attempt)
                again = True  # the API answered: it did not take the request
            except (OSError, http.client.HTTPException) as error:  # HTTPException: a malformed answer
                kind, line, wait = self._transport_failure(error, attempt)
                # urllib wraps (URLError) only what fails before the body is sent whole; after
                # that, the API may have acted on the request.
                again = resend or isinstance(error, urllib.error.URLError)
            if kind not in RETRYABLE or attempt == tries - 1 or not again or wait > self._config.max_retry_wait:
                if not again:
                    line += "; the batch may have been made all the same: see the Console's batches before a resume"
                raise ProviderError(self._redacted(line), kind=kind, hint=_HINTS.get(kind))
            self._sleep(wait)
        raise AssertionError("unreachable")

    def _status_failure(self, error: urllib.error.HTTPError, attempt: int) -> tuple[ErrorKind, str, float]:
        try:
            data = error.read(VIEW_BYTES + 1)
        except OSError:
            data = b""
        finally:
            error.close()
        error_type, message = _error_body(data)
        kind = _KIND_BY_STATUS.get(error.code) or ("server" if error.code >= 500 else None)
        kind = kind or _KIND_BY_TYPE.get(error_type, "bad_request")
        request_id = error.headers.get("request-id") if error.headers else None
        line = f"anthropic batches: HTTP {error.code}: {error_type or 'error'}: {_one_line(message)}".rstrip(": ")
        line += f" (request {_one_line(request_id, 80)})" if request_id else ""
        headers = {key.lower(): value for key, value in (error.headers.items() if error.headers else [])}
        return kind, line, retry_after(headers) or self._backoff(attempt)

    def _transport_failure(
        self, error: OSError | http.client.HTTPException, attempt: int
    ) -> tuple[ErrorKind, str, float]:
        cause = error.reason if isinstance(error, urllib.error.URLError) else error
        timed_out = isinstance(cause, TimeoutError)
        what = "timed out" if timed_out else "failed"
        detail = f"{type(cause).__name__}: {_one_line(str(cause)) or 'no detail'}"
        return (
            ("timeout" if timed_out else "network"),
            f"anthropic batches: the connection {what} ({detail})",
            self._backoff(attempt),
        )

    def _backoff(self, attempt: int) -> float:
        return min(MAX_BACKOFF, float(self._config.retry_delay) * 2.0**attempt)

    def _unreadable(self, what: str) -> ProviderError:
        return ProviderError(f"anthropic batches: {what}", kind="bad_response")

    def _redacted(self, line: str) -> str:
        return line.replace(self._key, "[redacted]")


def batch_api_from(settings: Mapping[str, Any], environ: Mapping[str, str]) -> HttpBatchApi:
    """The batch API as [anthropic] settings and the environment name it; ProviderError without a key."""
    config = AnthropicConfig.from_settings(settings, environ)
    if not config.api_key:
        raise ProviderError("no Anthropic API key", kind="auth", hint=MISSING_KEY_HINT)
    return HttpBatchApi(config, environ)


def _plain(batch_id: str) -> str:
    """A batch id as a path segment: ids come from the record, which a user may have edited."""
    if not _BATCH_ID.fullmatch(batch_id):
        raise ProviderError(f"anthropic batches: {batch_id[:80]!r} is not a batch id", kind="bad_request")
    return batch_id


def _error_body(data: bytes) -> tuple[str, str]:
    """The API's error type and message from `{"type": "error", "error": {"type", "message"}}`."""
    try:
        payload = json.loads(data) if len(data) <= VIEW_BYTES else None
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return "", data[:300].decode("utf-8", "replace")
    return str(error.get("type") or ""), str(error.get("message") or "")


def _proxies(environ: Mapping[str, str]) -> dict[str, str]:
    """The proxies the environment names, as the SDK would honour them (HTTPS_PROXY, HTTP_PROXY)."""
    found = {}
    for scheme in ("http", "https"):
        value = environ.get(f"{scheme}_proxy") or environ.get(f"{scheme.upper()}_PROXY")
        if value:
            found[scheme] = value
    return found
