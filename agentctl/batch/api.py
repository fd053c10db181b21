"""What the batch runner needs of the Message Batches endpoints (create, retrieve, results,
cancel), and the API's limits. The SDK's client is providers.anthropic.AnthropicBatchApi, where
the anthropic package is imported, as for every other call; tests may pass their own.

The API takes up to 100,000 requests or 256 MB a batch; agentctl splits a round below both.
"""

from __future__ import annotations

from collections.abc import Iterator
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
