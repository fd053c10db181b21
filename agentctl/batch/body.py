"""A round's requests as the bodies of the create calls that send them, written as they are sent.

A round of ten thousand tasks is hundreds of MB of JSON (every request repeats its agent's system
blocks, about 50 KB), but only a few distinct system blocks: each agent's, shared by all its tasks.
RequestEncoder writes each distinct system block once; a BatchBody knows its exact length before it
is sent (the HTTP client sends it with a Content-Length) and yields its requests one by one, so a
body is never in memory whole, and neither is a copy of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from agentctl.batch.api import MAX_REQUESTS, SPLIT_BYTES

if TYPE_CHECKING:
    from agentctl.providers.base import CallRequest

_OPEN, _COMMA, _CLOSE = b'{"requests":[', b",", b"]}"


class RequestEncoder:
    """One request of a create body (`{"custom_id": …, "params": …}`) as bytes: the Messages body
    providers.anthropic.build_params makes, its system blocks encoded once per distinct block list.

    Keep an encoder no longer than the requests it encoded: it knows a system block list by the
    identity of its texts, which it holds on to meanwhile."""

    def __init__(self, default_max_tokens: int) -> None:
        self.default_max_tokens = default_max_tokens
        self._systems: dict[tuple[tuple[int, bool], ...], tuple[tuple[str, ...], bytes]] = {}

    def encode(self, custom_id: str, request: CallRequest) -> tuple[bytes, bytes, bytes]:
        """The request in three pieces whose concatenation is its JSON: the pieces around the shared
        system blocks, and those blocks (the same bytes object for every request that shares them)."""
        from agentctl.providers.anthropic import build_params

        params = dict(build_params(request, self.default_max_tokens))
        system = self._system(request, params.pop("system"))
        # ensure_ascii: pure ASCII (its length is its size), and a lone surrogate is an escape, not an error.
        head = json.dumps({"custom_id": custom_id, "params": params}, separators=(",", ":"))
        return head[:-2].encode("ascii") + b',"system":', system, b"}}"

    def size(self, custom_id: str, request: CallRequest) -> int:
        return sum(len(piece) for piece in self.encode(custom_id, request))

    def _system(self, request: CallRequest, blocks: object) -> bytes:
        key = tuple((id(block.text), block.cache) for block in request.system)
        known = self._systems.get(key)
        if known is None:
            texts = tuple(block.text for block in request.system)  # held: their ids stay theirs
            known = self._systems[key] = (texts, json.dumps(blocks, separators=(",", ":")).encode("ascii"))
        return known[1]


class BatchBody:
    """The body of one create call: `{"requests": [...]}` of the given requests, `length` bytes long.
    Iterating it writes it again from the start (an HTTP client that sends it twice gets it twice)."""

    def __init__(self, encoder: RequestEncoder, requests: Sequence[tuple[str, CallRequest]], length: int) -> None:
        self.encoder, self.requests, self.length = encoder, requests, length

    @property
    def custom_ids(self) -> list[str]:
        return [custom_id for custom_id, _ in self.requests]

    def __iter__(self) -> Iterator[bytes]:
        yield _OPEN
        for number, (custom_id, request) in enumerate(self.requests):
            if number:
                yield _COMMA
            yield from self.encoder.encode(custom_id, request)
        yield _CLOSE


def split(encoder: RequestEncoder, requests: Sequence[tuple[str, CallRequest]]) -> list[BatchBody]:
    """The requests in bodies the API takes: at most MAX_REQUESTS requests and SPLIT_BYTES bytes each
    (a request larger than that alone goes in a body of its own: the API's own limit is far above)."""
    limit = SPLIT_BYTES
    bodies: list[BatchBody] = []
    start, length = 0, len(_OPEN) + len(_CLOSE)
    for index, (custom_id, request) in enumerate(requests):
        size = encoder.size(custom_id, request)
        count = index - start
        if count and (count >= MAX_REQUESTS or length + len(_COMMA) + size > limit):
            bodies.append(BatchBody(encoder, requests[start:index], length))
            start, length, count = index, len(_OPEN) + len(_CLOSE), 0
        length += size + (len(_COMMA) if count else 0)
    if start < len(requests):
        bodies.append(BatchBody(encoder, requests[start:], length))
    return bodies


def total_size(encoder: RequestEncoder, requests: Sequence[tuple[str, CallRequest]]) -> int:
    """The bytes the requests take in create bodies (the dry run's and the estimate's figure)."""
    return sum(encoder.size(custom_id, request) for custom_id, request in requests)
