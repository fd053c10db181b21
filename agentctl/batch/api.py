"""The Message Batches endpoints, through the anthropic SDK (imported only by a real batch).

The API takes up to 100,000 requests or 256 MB a batch; agentctl splits a round below both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

MAX_REQUESTS = 100_000
MAX_BYTES = 256 * 1024 * 1024
# agentctl sends a round in batches of at most this many bytes, far below the API's 256 MB: the body
# is built in memory (the SDK holds several copies of it while it sends), and a round of 10,000
# requests of 50 KB (a team block each) would be 500 MB.
# Smaller batches also start processing sooner; the round still ends when its last batch does.
SPLIT_BYTES = 8 * 1024 * 1024


class BatchApi(Protocol):
    """What agentctl needs of the API. Every method blocks (the runner calls them in a thread)."""

    def create(self, requests: list[dict[str, Any]]) -> dict[str, Any]: ...

    def retrieve(self, batch_id: str) -> dict[str, Any]: ...

    def results(self, batch_id: str) -> Iterator[dict[str, Any]]: ...

    def cancel(self, batch_id: str) -> dict[str, Any]: ...


class AnthropicBatchApi:
    def __init__(self, api_key: str, base_url: str | None, timeout: float) -> None:
        from anthropic import Anthropic  # paid only by a real batch

        self._client = Anthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=3)

    def create(self, requests: list[dict[str, Any]]) -> dict[str, Any]:
        with _as_provider_errors():
            return self._client.messages.batches.create(requests=requests).model_dump(mode="json")  # type: ignore[arg-type]

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        with _as_provider_errors():
            return self._client.messages.batches.retrieve(batch_id).model_dump(mode="json")

    def results(self, batch_id: str) -> Iterator[dict[str, Any]]:
        with _as_provider_errors():
            for item in self._client.messages.batches.results(batch_id):
                yield item.model_dump(mode="json")

    def cancel(self, batch_id: str) -> dict[str, Any]:
        with _as_provider_errors():
            return self._client.messages.batches.cancel(batch_id).model_dump(mode="json")


@contextlib.contextmanager
def _as_provider_errors() -> Iterator[None]:
    """The SDK's errors (after its own retries) as agentctl's ProviderError: exit 4, one clear line,
    never the key (the SDK's exception holds the request, and the request the key)."""
    from anthropic import APIError

    from agentctl.providers.anthropic import describe_error
    from agentctl.providers.base import ProviderError

    failure: tuple[str, str] | None = None
    try:
        yield
    except APIError as error:
        failure = describe_error(error)
    if failure is not None:
        kind, line = failure
        raise ProviderError(line.replace("anthropic:", "anthropic batches:", 1), kind=kind)  # type: ignore[arg-type]


def api_from(settings_anthropic: Mapping[str, Any], environ: Mapping[str, str]) -> AnthropicBatchApi:
    """The API as [anthropic] settings and the environment name it; ProviderError without a key."""
    from agentctl.providers.anthropic import MISSING_KEY_HINT, AnthropicConfig
    from agentctl.providers.base import ProviderError

    config = AnthropicConfig.from_settings(settings_anthropic, environ)
    if not config.api_key:
        raise ProviderError("no Anthropic API key", kind="auth", hint=MISSING_KEY_HINT)
    return AnthropicBatchApi(config.api_key, config.base_url, config.timeout)
