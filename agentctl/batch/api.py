"""What the batch runner needs of the Message Batches endpoints (create, retrieve, results,
cancel), and the API's limits. The client is providers.anthropic_batches.HttpBatchApi; tests may
pass their own.

The API takes up to 100,000 requests or 256 MB a batch; agentctl splits a round below both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agentctl.batch.body import BatchBody

MAX_REQUESTS = 100_000
MAX_BYTES = 256 * 1024 * 1024
# agentctl sends a round in batches of at most this many bytes, well below the API's 256 MB: a body
# is written as it is sent (batch.body), so its size costs no memory, but a smaller batch starts
# processing sooner and a failed create loses less; a round of 10,000 requests of 50 KB (a team
# block each) is 16 batches. The round still ends when its last batch does.
SPLIT_BYTES = 32 * 1024 * 1024


class BatchApi(Protocol):
    """What agentctl needs of the API. Every method blocks (the runner calls them in a thread)."""

    def create(self, body: BatchBody) -> dict[str, Any]: ...

    def retrieve(self, batch_id: str) -> dict[str, Any]: ...

    def results(self, batch_id: str) -> Iterator[dict[str, Any]]: ...

    def cancel(self, batch_id: str) -> dict[str, Any]: ...
