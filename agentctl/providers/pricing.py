"""What a call costs: usage x the price table (USD per million tokens).

Defaults are Anthropic's published prices (data/prices.json says where and when they were read);
`[prices."<model id>"]` in agentctl.toml adds or replaces entries. A model with no price has cost
None (JSON null), never a guessed number: the caller warns once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources

from agentctl.providers.base import Usage, UsageBound
from agentctl.records import record

CACHE_WRITE_FACTOR = 1.25  # 5-minute cache writes cost 1.25x the input price
CACHE_READ_FACTOR = 0.1  # the usual read price, where the table gives none
# The Message Batches API bills every token, cache reads and writes included, at half the standard price.
BATCH_FACTOR = 0.5


@record
class Price:
    input: float
    output: float
    cache_write: float
    cache_read: float

    @classmethod
    def from_table(cls, entry: Mapping[str, float]) -> Price:
        base = float(entry["input"])
        return cls(
            input=base,
            output=float(entry["output"]),
            cache_write=float(entry.get("cache_write", base * CACHE_WRITE_FACTOR)),
            cache_read=float(entry.get("cache_read", base * CACHE_READ_FACTOR)),
        )

    def cost(self, usage: Usage) -> float:
        total = (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_creation_input_tokens * self.cache_write
            + usage.cache_read_input_tokens * self.cache_read
        )
        return round(total / 1_000_000, 6)

    def scaled(self, factor: float) -> Price:
        return Price(self.input * factor, self.output * factor, self.cache_write * factor, self.cache_read * factor)

    def ceiling(self, bound: UsageBound) -> float:
        """The most a call within `bound` can cost, however its input splits into fresh, cache-read and
        cache-written tokens: every input token at the dearest of the three (cache writes, usually)."""
        dearest = max(self.input, self.cache_write, self.cache_read)
        total = bound.input_tokens * dearest + bound.output_tokens * self.output
        return round(total / 1_000_000, 6)


@cache
def default_prices() -> dict[str, dict[str, float]]:
    raw = json.loads(resources.files("agentctl.data").joinpath("prices.json").read_text("utf-8"))
    prices: dict[str, dict[str, float]] = raw["prices"]
    return prices


class PriceTable:
    def __init__(self, configured: Mapping[str, Mapping[str, float]] | None = None) -> None:
        table = {**default_prices(), **(configured or {})}
        self.prices = {model: Price.from_table(entry) for model, entry in table.items()}

    def batch_prices(self) -> PriceTable:
        """The same table at the Message Batches API's prices (BATCH_FACTOR of each rate)."""
        batch = PriceTable.__new__(PriceTable)
        batch.prices = {model: price.scaled(BATCH_FACTOR) for model, price in self.prices.items()}
        return batch

    def price_of(self, model: str) -> Price | None:
        """Exact id first, then the id without a date suffix (claude-haiku-4-5-20251001)."""
        if model in self.prices:
            return self.prices[model]
        undated = model.rsplit("-", 1)[0] if model[-8:].isdigit() else model
        return self.prices.get(undated)

    def cost(self, model: str, usage: Usage) -> float | None:
        price = self.price_of(model)
        return None if price is None else price.cost(usage)

    def ceiling(self, model: str, bound: UsageBound) -> float | None:
        """What the run's cost cap holds for a call to `model` while it runs (None: no price)."""
        price = self.price_of(model)
        return None if price is None else price.ceiling(bound)
