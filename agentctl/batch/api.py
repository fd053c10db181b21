"""The Message Batches endpoints, through the anthropic SDK (imported only by a real batch).

The API takes up to 100,000 requests or 256 MB a batch; agentctl splits a round below both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

MAX_REQUESTS = 100_000
MAX_BYTES = 256 * 1024 * 1024
# A safety margin under the API's size limit: its count of a body's bytes is its own.
SPLIT_BYTES = MAX_BYTES - 8 * 1024 * 1024


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
        return self._client.messages.batches.create(requests=requests).model_dump(mode="json")  # type: ignore[arg-type]

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        return self._client.messages.batches.retrieve(batch_id).model_dump(mode="json")

    def results(self, batch_id: str) -> Iterator[dict[str, Any]]:
        for item in self._client.messages.batches.results(batch_id):
            yield item.model_dump(mode="json")

    def cancel(self, batch_id: str) -> dict[str, Any]:
        return self._client.messages.batches.cancel(batch_id).model_dump(mode="json")


def api_from(settings_anthropic: Mapping[str, Any], environ: Mapping[str, str]) -> AnthropicBatchApi:
    """The API as [anthropic] settings and the environment name it; ProviderError without a key."""
    from agentctl.providers.anthropic import MISSING_KEY_HINT, AnthropicConfig
    from agentctl.providers.base import ProviderError

    config = AnthropicConfig.from_settings(settings_anthropic, environ)
    if not config.api_key:
        raise ProviderError("no Anthropic API key", kind="auth", hint=MISSING_KEY_HINT)
    return AnthropicBatchApi(config.api_key, config.base_url, config.timeout)
