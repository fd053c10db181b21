"""AnthropicProvider with the real SDK over a real socket (tests/messages_server.py), no network.

What the SDK (2.12, httpx2) raises, and what the provider makes of it, is pinned here:
- before the answer's first byte (HTTP errors, refused connections, a reply slower than the
  timeout) the SDK raises its own classes (it runs with max_retries=0: the retries are the
  provider's, with bounded, reported waits);
- once the stream is open nothing is retried by the SDK and nothing is wrapped: a dropped
  connection is a bare `httpx2.RemoteProtocolError` (incomplete chunked read), silence past the
  timeout a bare `httpx2.ReadTimeout`, an `event: error` an `APIStatusError` with status 200, and a
  malformed event a bare `json.JSONDecodeError`; a body that ends cleanly before message_stop raises
  nothing at all (the provider checks for message_stop). The provider retries the transient ones
  itself (network, timeout, overloaded...) and maps a malformed event to bad_response, not retried.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from agentctl.bounds import ANSWER_CHARS
from agentctl.errors import ExitCode
from agentctl.providers.anthropic import (
    MISSING_KEY_HINT,
    AnthropicConfig,
    AnthropicProvider,
    build_provider,
    retry_after,
)
from agentctl.providers.base import CallRequest, CallResponse, ProviderError, SystemBlock, Wait
from tests.messages_server import Fault, MessagesServer, Reply, route

KEY = "sk-ant-SENTINEL-0123456789abcdefghijklmnopqrstuvwxyz"
MODEL = "claude-sonnet-4-6"


def request(
    user: str = "Design the index.",
    system: list[SystemBlock] | None = None,
    max_tokens: int = 1024,
    on_wait: Callable[[Wait], None] | None = None,
) -> CallRequest:
    blocks = system if system is not None else [SystemBlock("agent", "You are DB Architect.")]
    return CallRequest("c1", "db-architect", "fresh", MODEL, blocks, user, max_tokens, on_wait)


def config(server: MessagesServer, **overrides: Any) -> AnthropicConfig:
    values: dict[str, Any] = {
        "api_key": KEY,
        "base_url": server.url,
        "timeout": 5.0,
        "max_retries": 1,
        "retry_delay": 0.0,
    }
    return AnthropicConfig(**{**values, **overrides})


def call(server: MessagesServer, call_request: CallRequest | None = None, **overrides: Any) -> CallResponse:
    async def go() -> CallResponse:
        provider = build_provider(config(server, **overrides))
        try:
            return await provider.complete(call_request or request())
        finally:
            await provider.aclose()

    return asyncio.run(go())


def failure(server: MessagesServer, call_request: CallRequest | None = None, **overrides: Any) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        call(server, call_request, **overrides)
    error = caught.value
    assert KEY not in f"{error} {error.hint} {error!r}"
    assert error.__cause__ is None and error.__context__ is None  # no SDK exception (and its request) rides along
    return error


def test_a_streamed_reply_gives_text_usage_with_cache_counts_and_request_id(messages_server: MessagesServer) -> None:
    text = "The index: CREATE INDEX words_t ON transcription_words (transcription_id, start_ms);\n" * 5
    messages_server.set_reply(
        Reply(text, input_tokens=120, output_tokens=45, cache_read_input_tokens=900, cache_creation_input_tokens=300)
    )
    response = call(messages_server)
    assert response.text == text
    assert response.usage.to_json() == {
        "input_tokens": 120,
        "output_tokens": 45,
        "cache_read_input_tokens": 900,
        "cache_creation_input_tokens": 300,
    }
    assert (response.model, response.stop_reason, response.warnings) == (MODEL, "end_turn", [])
    (recorded,) = messages_server.requests
    assert response.request_id == recorded.request_id
    assert recorded.outcome == "ok"


def test_usage_repeated_in_message_delta_is_read_the_same(messages_server: MessagesServer) -> None:
    messages_server.set_reply(Reply("ok", 10, 2, 30, 40, full_delta_usage=True))
    assert call(messages_server).usage.to_json() == {
        "input_tokens": 10,
        "output_tokens": 2,
        "cache_read_input_tokens": 30,
        "cache_creation_input_tokens": 40,
    }


def test_the_request_carries_system_blocks_cache_control_one_user_turn_and_the_key(
    messages_server: MessagesServer,
) -> None:
    system = [
        SystemBlock("agent", "You are DB Architect."),
        SystemBlock("team", "The team protocol.", cache=True),
        SystemBlock("memory", "Insight: index first."),
    ]
    call(messages_server, request("Design the index.", system, max_tokens=2048))
    (recorded,) = messages_server.requests
    assert (recorded.method, recorded.path) == ("POST", "/v1/messages")
    assert recorded.body == {
        "model": MODEL,
        "max_tokens": 2048,
        "system": [
            {"type": "text", "text": "You are DB Architect."},
            {"type": "text", "text": "The team protocol.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Insight: index first."},
        ],
        "messages": [{"role": "user", "content": "Design the index."}],
        "stream": True,
    }
    # SDK 2.12 sends api_key= as a bearer token, not as x-api-key (older SDKs did); once, nowhere else.
    assert recorded.headers["authorization"] == f"Bearer {KEY}" and recorded.api_key == KEY
    assert "x-api-key" not in recorded.headers
    assert [name for name, value in recorded.headers.items() if KEY in value] == ["authorization"]
    assert KEY.encode() not in recorded.raw
    assert recorded.headers["anthropic-version"]


def test_a_request_without_max_tokens_gets_the_configured_default(messages_server: MessagesServer) -> None:
    call(messages_server, request(max_tokens=0), max_tokens=777)
    assert messages_server.requests[0].body["max_tokens"] == 777


def test_an_answer_cut_at_max_tokens_says_so(messages_server: MessagesServer) -> None:
    messages_server.set_reply(Reply("half an ans", stop_reason="max_tokens"))
    response = call(messages_server, request(max_tokens=64))
    assert response.stop_reason == "max_tokens"
    assert response.warnings == ["the answer was cut at max_tokens=64"]


def test_a_429_with_retry_after_is_retried_and_the_wait_reported_first(messages_server: MessagesServer) -> None:
    messages_server.inject(Fault.rate_limit(retry_after=0.01), nth=1)
    messages_server.set_reply("after the wait")
    waits: list[Wait] = []
    assert call(messages_server, request(on_wait=waits.append)).text == "after the wait"
    first, second = messages_server.wait_for(2)
    assert (first.outcome, second.outcome) == ("429 rate_limit_error", "ok")
    assert second.headers["x-stainless-retry-count"] == "1", "the API is told it is a retry, as the SDK would"
    assert waits == [Wait(0.01, 2, "429 rate_limit_error, retry-after 0.01 s")]


@pytest.mark.timeout(60)
def test_a_retry_after_longer_than_the_cap_fails_at_once_and_says_how_long(messages_server: MessagesServer) -> None:
    messages_server.set_reply(Fault.rate_limit(retry_after=3600))
    waits: list[Wait] = []
    error = failure(messages_server, request(on_wait=waits.append), max_retries=3, max_retry_wait=60.0)
    assert (error.kind, error.status) == ("rate_limit", 429)
    assert "(the API asked to wait 3600 s before a retry, longer than [anthropic] max_retry_wait (60 s))" in str(error)
    assert "max_retry_wait" in (error.hint or "") and waits == []
    assert len(messages_server.wait_for(1, finished=True)) == 1


def test_retry_after_ms_and_dates_are_read_and_nonsense_is_no_wait() -> None:
    now = 1_000_000.0
    assert retry_after({"retry-after-ms": "1500", "retry-after": "99"}) == 1.5
    assert retry_after({"retry-after": "30"}) == 30.0
    assert retry_after({"retry-after": "Mon, 12 Jan 1970 13:47:10 GMT"}, now=lambda: now) == 30.0
    assert retry_after({"retry-after": "inf"}) == float("inf"), "more than any cap: refused, not slept"
    for nonsense in ("0", "-4", "nan", "soon", ""):
        assert retry_after({"retry-after": nonsense}) is None
    assert retry_after({}) is None


def test_without_retry_after_the_provider_backs_off_exponentially(messages_server: MessagesServer) -> None:
    messages_server.set_reply(Fault.overloaded(retry_after=None))
    waits: list[Wait] = []
    error = failure(messages_server, request(on_wait=waits.append), max_retries=3, retry_delay=0.01)
    assert [(wait.seconds, wait.attempt) for wait in waits] == [(0.01, 2), (0.02, 3), (0.04, 4)]
    assert waits[0].reason == "529 overloaded_error, backoff 0.01 s"
    assert error.kind == "overloaded" and "(after 3 retries)" in str(error)


def test_the_api_saying_do_not_retry_is_obeyed(messages_server: MessagesServer) -> None:
    fault = Fault.overloaded()
    fault.headers["x-should-retry"] = "false"
    messages_server.set_reply(fault)
    assert failure(messages_server, max_retries=3).kind == "overloaded"
    assert len(messages_server.wait_for(1, finished=True)) == 1


@pytest.mark.timeout(60)
def test_the_call_deadline_includes_every_try(messages_server: MessagesServer) -> None:
    messages_server.set_reply(Reply("late", event_delay=0.2, chunk_size=1))  # bytes keep coming: no read timeout
    error = failure(messages_server, timeout=5.0, call_timeout=0.5)
    assert error.kind == "timeout"
    assert "did not end within [anthropic] call_timeout (0.5 s, tries and waits included)" in str(error)
    assert "call_timeout" in (error.hint or "")


def test_an_answer_over_the_limit_stops_being_read(messages_server: MessagesServer) -> None:
    messages_server.set_reply(Reply("z" * (ANSWER_CHARS + 1), chunk_size=512 * 1024))
    error = failure(messages_server, max_retries=2)
    assert error.kind == "bad_response"
    assert f"the answer is longer than {ANSWER_CHARS:,} characters; it was not read further" in str(error)
    assert len(messages_server.wait_for(1, finished=True)) == 1, "not retried"


@pytest.mark.parametrize("count", [-1, 2.5, "lots"], ids=["negative", "fraction", "text"])
def test_a_usage_that_is_not_a_count_is_bad_response(messages_server: MessagesServer, count: Any) -> None:
    messages_server.set_reply(Reply("ok", output_tokens=count))
    error = failure(messages_server, max_retries=2)
    assert error.kind == "bad_response" and "output_tokens is" in str(error)
    assert len(messages_server.wait_for(1, finished=True)) == 1


def test_the_sdk_never_retries_on_its_own(messages_server: MessagesServer) -> None:
    provider = build_provider(config(messages_server, max_retries=4))
    assert provider._client.max_retries == 0
    asyncio.run(provider.aclose())


@pytest.mark.parametrize(
    ("fault", "kind", "status", "attempts"),
    [
        (Fault.overloaded(), "overloaded", 529, 2),
        (Fault.server_error(), "server", 500, 2),
        (Fault.rate_limit(), "rate_limit", 429, 2),
        (Fault.auth(), "auth", 401, 1),
        (Fault.permission(), "permission", 403, 1),
        (Fault.http(402), "permission", 402, 1),
        (Fault.bad_request("max_tokens: must be at most 64000"), "bad_request", 400, 1),
        (Fault.http(404), "bad_request", 404, 1),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_http_errors_map_to_kinds_after_the_retries(
    messages_server: MessagesServer, fault: Fault, kind: str, status: int, attempts: int
) -> None:
    messages_server.set_reply(fault)
    error = failure(messages_server, max_retries=1)
    assert (error.kind, error.status, error.exit_code) == (kind, status, ExitCode.PROVIDER)
    assert error.stops_the_run == (kind in ("auth", "permission"))
    recorded = messages_server.wait_for(attempts, finished=True)
    assert len(recorded) == attempts
    assert f"HTTP {status}: {fault.error_type}: {fault.message}" in str(error)
    assert f"(request {recorded[-1].request_id})" in str(error)
    assert "\n" not in str(error) and error.hint


def test_a_refused_key_stops_the_run_and_points_at_the_variable() -> None:
    with MessagesServer(api_key="sk-ant-the-right-one") as server:
        error = failure(server)
        assert server.requests[0].api_key == KEY  # it was sent, and refused
    assert error.kind == "auth" and error.stops_the_run
    assert "ANTHROPIC_API_KEY" in (error.hint or "")


def test_a_missing_key_fails_before_any_request(messages_server: MessagesServer) -> None:
    for key in (None, ""):
        with pytest.raises(ProviderError) as caught:
            AnthropicProvider(config(messages_server, api_key=key))
        assert (caught.value.kind, caught.value.hint, caught.value.stops_the_run) == ("auth", MISSING_KEY_HINT, True)
    assert AnthropicConfig.from_env({"ANTHROPIC_BASE_URL": messages_server.url}).api_key is None
    assert messages_server.requests == []


def test_the_config_from_the_environment_and_its_repr_without_the_key() -> None:
    configured = AnthropicConfig.from_env({"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": "http://x"}, timeout=3.0)
    assert (configured.api_key, configured.base_url, configured.timeout) == (KEY, "http://x", 3.0)
    assert KEY not in repr(configured)


def test_a_dropped_stream_is_retried_by_the_provider(messages_server: MessagesServer) -> None:
    messages_server.inject(Fault.drop(), nth=1)
    messages_server.set_reply("whole")
    response = call(messages_server)
    assert response.text == "whole"
    assert [r.outcome for r in messages_server.wait_for(2, finished=True)] == ["drop", "ok"]
    (warning,) = response.warnings
    assert warning.startswith("a broken stream was retried: anthropic: the connection failed (RemoteProtocolError")


def test_a_stream_that_keeps_dropping_is_a_network_error(messages_server: MessagesServer) -> None:
    messages_server.set_reply(Fault.drop())
    error = failure(messages_server, max_retries=1)
    assert error.kind == "network" and not error.stops_the_run
    assert "incomplete chunked read" in str(error) and "(the stream broke 2 times)" in str(error)
    assert len(messages_server.wait_for(2, finished=True)) == 2


def test_a_stream_that_ends_cleanly_before_message_stop_is_a_network_error(messages_server: MessagesServer) -> None:
    messages_server.set_reply(Fault.truncate())
    error = failure(messages_server, max_retries=1)
    assert error.kind == "network"
    assert "the stream ended before message_stop" in str(error)
    assert len(messages_server.wait_for(2, finished=True)) == 2


def test_an_error_event_midstream_is_retried_then_reported_by_its_type(messages_server: MessagesServer) -> None:
    messages_server.set_reply(Fault.stream_error("overloaded_error"))
    error = failure(messages_server, max_retries=1)
    assert (error.kind, error.status) == ("overloaded", None)
    assert str(error).startswith("anthropic: error event in the stream: overloaded_error: Overloaded")
    assert len(messages_server.wait_for(2, finished=True)) == 2


def test_a_malformed_event_is_bad_response_and_not_retried(messages_server: MessagesServer) -> None:
    # The SDK's SSE decoder lets json.JSONDecodeError out of the stream as it is.
    messages_server.set_reply(Fault.malformed())
    error = failure(messages_server, max_retries=2)
    assert error.kind == "bad_response"
    assert "JSONDecodeError" in str(error)
    assert len(messages_server.wait_for(1, finished=True)) == 1


def test_a_reply_slower_than_the_timeout_is_a_timeout(messages_server: MessagesServer) -> None:
    messages_server.set_reply(Reply("late", delay=2.0))
    error = failure(messages_server, timeout=0.3, max_retries=0)
    assert error.kind == "timeout"
    assert "0.3 s" in (error.hint or "")


def test_a_stream_that_stalls_past_the_timeout_is_a_timeout(messages_server: MessagesServer) -> None:
    messages_server.set_reply(Fault.stall(2.0))
    error = failure(messages_server, timeout=0.3, max_retries=0)
    assert error.kind == "timeout"
    assert "ReadTimeout" in str(error)


def test_a_bad_request_hint_names_the_model_and_max_tokens(messages_server: MessagesServer) -> None:
    messages_server.set_reply(Fault.http(404, message="model: claude-nope"))
    error = failure(messages_server)
    assert error.hint == f"the API refused the request: check the model id ({MODEL}) and max_tokens (1024)"


def test_an_exception_that_is_neither_the_sdks_nor_the_transports_is_a_bug(messages_server: MessagesServer) -> None:
    async def go() -> None:
        provider = build_provider(config(messages_server))
        try:
            provider._client.messages.stream = lambda **params: 1 / 0  # type: ignore[method-assign,assignment]
            await provider.complete(request())
        finally:
            await provider.aclose()

    with pytest.raises(ZeroDivisionError):
        asyncio.run(go())


def test_a_refused_connection_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ProviderError) as caught:
        asyncio.run(_complete(AnthropicConfig(api_key=KEY, base_url=f"http://127.0.0.1:{port}", max_retries=0)))
    assert caught.value.kind == "network"
    assert "ConnectError" in str(caught.value)


async def _complete(configured: AnthropicConfig) -> CallResponse:
    provider = build_provider(configured)
    try:
        return await provider.complete(request())
    finally:
        await provider.aclose()


@pytest.mark.parametrize(
    "fault",
    [
        Fault.http(401, message=f"invalid x-api-key: {KEY}"),
        Fault.http(529, message=f"Overloaded for {KEY}"),
        Fault.stream_error("api_error"),
        Fault.drop(),
        Fault.malformed(),
    ],
    ids=["401-echoing-the-key", "529-echoing-the-key", "error-event", "drop", "malformed"],
)
def test_the_key_never_appears_in_an_error(messages_server: MessagesServer, fault: Fault) -> None:
    messages_server.set_reply(fault)
    error = failure(messages_server, max_retries=0)  # failure() checks str, hint, repr, cause, context
    if KEY in fault.message:
        assert "[redacted]" in str(error)


def test_the_key_never_appears_in_a_response(messages_server: MessagesServer) -> None:
    messages_server.set_reply(Reply(f"your key is {KEY}"))
    assert call(messages_server).text == "your key is [redacted]"


def test_parallel_calls_get_their_own_replies_by_system_prompt(messages_server: MessagesServer) -> None:
    messages_server.set_reply(
        route({"DB Architect": Reply("schema", delay=0.05), "Reviewer": ["first review", "second review"]}, "other")
    )

    async def go() -> list[str]:
        provider = build_provider(config(messages_server))
        agents = ["DB Architect", "Reviewer", "Reviewer", "Tester", "DB Architect"]
        calls = [provider.complete(request(system=[SystemBlock("agent", f"You are {name}.")])) for name in agents]
        try:
            return [response.text for response in await asyncio.gather(*calls)]
        finally:
            await provider.aclose()

    texts = asyncio.run(go())
    assert texts[0] == texts[4] == "schema" and texts[3] == "other"
    assert sorted(texts[1:3]) == ["first review", "second review"]
    assert len(messages_server.requests) == 5 and messages_server.errors == []
    assert len({r.client for r in messages_server.requests}) > 1  # concurrent, on several connections


def test_importing_the_provider_module_does_not_import_the_sdk() -> None:
    code = "import sys, agentctl.providers.anthropic; print('anthropic' in sys.modules, 'httpx2' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


# -- the loopback server itself ----------------------------------------------------------------


def test_the_server_answers_json_and_keeps_the_connection_alive(messages_server: MessagesServer) -> None:
    import http.client
    import json

    messages_server.set_reply(["first", Reply("second", input_tokens=5, output_tokens=2, cache_read_input_tokens=9)])
    host, port = messages_server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    bodies = []
    for _ in range(2):
        payload = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
        connection.request("POST", "/v1/messages", json.dumps(payload), {"content-type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("request-id", "").startswith("req_")
        bodies.append(json.loads(response.read()))
    connection.close()
    assert [body["content"][0]["text"] for body in bodies] == ["first", "second"]
    assert bodies[1]["usage"]["cache_read_input_tokens"] == 9 and bodies[1]["stop_reason"] == "end_turn"
    first, second = messages_server.wait_for(2, finished=True)
    assert first.client == second.client  # one socket served both
    assert (first.outcome, second.outcome) == ("ok", "ok")


def test_the_sdk_reads_the_servers_non_streaming_reply(messages_server: MessagesServer) -> None:
    import anthropic

    messages_server.set_reply(Reply("plain", input_tokens=3, output_tokens=1, cache_creation_input_tokens=4))

    async def go() -> Any:
        async with anthropic.AsyncAnthropic(api_key=KEY, base_url=messages_server.url, max_retries=0) as client:
            return await client.messages.create(
                model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
            )

    message = asyncio.run(go())
    assert (message.content[0].text, message.usage.cache_creation_input_tokens) == ("plain", 4)
    assert not messages_server.requests[0].stream


def test_injections_by_predicate_and_an_exhausted_script(messages_server: MessagesServer) -> None:
    messages_server.set_reply(["one"])
    messages_server.inject(Fault.bad_request("no reviewers"), when=lambda r: "Reviewer" in r.system, times=1)
    assert failure(messages_server, call_request=request(system=[SystemBlock("agent", "You are Reviewer.")])).kind == (
        "bad_request"
    )
    assert call(messages_server).text == "one"
    error = failure(messages_server)
    assert "the script ran out of replies" in str(error) and len(messages_server.errors) == 1


def test_closing_the_server_interrupts_a_slow_reply() -> None:
    server = MessagesServer(reply=Reply(delay=30)).start()
    connection = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
    connection.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
    server.wait_for(1)
    started = time.monotonic()
    server.close()
    connection.close()
    assert time.monotonic() - started < 3  # not the 30 s the reply would have slept
    assert server.requests[0].outcome == "client gone"
