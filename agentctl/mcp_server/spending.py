"""What dispatches through one MCP server may spend, together, over the server's life.

The calling model picks each dispatch's limits; the user picks the server's caps (`agentctl mcp
--max-cost/--max-calls`, else agentctl.toml [dispatch], else the defaults of one dispatch). A cap
per dispatch would let a model that loops spend it again and again, so the caps are the server's:
each dispatch is granted at most what is neither spent nor held by the dispatches still running,
whatever it asked for (a larger ask is lowered, and the result says so), and once the caps are
spent a dispatch is refused (exit 5's error). Money is the user's: there is no way to lift them
from a tool call.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from agentctl.bounds import DISPATCH_MAX_CALLS, DISPATCH_MAX_COST
from agentctl.engine import MIN_SESSION_BUDGET
from agentctl.errors import AgentctlError, ExitCode
from agentctl.records import field, record

if TYPE_CHECKING:
    from agentctl.config import Settings


@record
class Grant:
    """What one dispatch may spend: its `max_cost` and `max_calls`, and why they are lower than asked."""

    cost: float
    calls: int
    lowered: list[str] = field(default_factory=list)


class Allowance:
    """The server's caps and what its dispatches spent and hold against them. Thread-safe: the MCP
    server runs each dispatch in a worker thread, several at once."""

    def __init__(self, max_cost: float, max_calls: int) -> None:
        self.max_cost = max_cost
        self.max_calls = max_calls
        self.spent_cost = 0.0
        self.spent_calls = 0
        self._held_cost = 0.0
        self._held_calls = 0
        self._lock = threading.Lock()

    def reserve(self, cost: float, calls: int) -> Grant:
        """Hold a dispatch's limits, lowered to what is left; AgentctlError (exit 5) when nothing is."""
        with self._lock:
            left_cost, left_calls = self._left()
            if left_calls < 1 or left_cost < MIN_SESSION_BUDGET:
                raise AgentctlError(
                    f"the MCP server's dispatch caps are spent: {self._spent_text()}",
                    hint="start the server again with a higher --max-cost or --max-calls (the user's decision: "
                    "a tool call cannot raise them)",
                    exit_code=ExitCode.BUDGET,
                )
            grant = Grant(min(cost, left_cost), min(calls, left_calls))
            if grant.cost < cost:
                grant.lowered.append(f"max_cost {cost:g} lowered to {grant.cost:.4g}: {self._left_text()}")
            if grant.calls < calls:
                grant.lowered.append(f"max_calls {calls} lowered to {grant.calls}: {self._left_text()}")
            self._held_cost += grant.cost
            self._held_calls += grant.calls
            return grant

    def settle(self, grant: Grant, cost: float, calls: int) -> None:
        """The dispatch holding `grant` ended having spent `cost` and made `calls`."""
        with self._lock:
            self._held_cost = max(0.0, self._held_cost - grant.cost)
            self._held_calls = max(0, self._held_calls - grant.calls)
            self.spent_cost += cost
            self.spent_calls += calls

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            left_cost, left_calls = self._left()
            return {
                "max_cost": self.max_cost,
                "max_calls": self.max_calls,
                "spent_cost": round(self.spent_cost, 6),
                "spent_calls": self.spent_calls,
                "cost_left": round(left_cost, 6),
                "calls_left": left_calls,
            }

    def _left(self) -> tuple[float, int]:
        return (
            max(0.0, self.max_cost - self.spent_cost - self._held_cost),
            max(0, self.max_calls - self.spent_calls - self._held_calls),
        )

    def _spent_text(self) -> str:
        return (
            f"${self.spent_cost:.4f} of ${self.max_cost:g} and {self.spent_calls} of {self.max_calls} calls spent"
            + (", the rest held by dispatches still running" if self._held_calls else "")
        )

    def _left_text(self) -> str:
        left_cost, left_calls = self._left()
        return (
            f"what is left of the server's caps (${left_cost:.4f} of --max-cost {self.max_cost:g}, "
            f"{left_calls} of --max-calls {self.max_calls})"
        )


def server_allowance(settings: Settings, max_cost: float | None = None, max_calls: int | None = None) -> Allowance:
    """The server's caps: `agentctl mcp --max-cost/--max-calls`, else agentctl.toml [dispatch], else the
    defaults of one dispatch (bounds.DISPATCH_MAX_COST/CALLS); each checked as dispatch checks its own."""
    from agentctl.dispatch import check_limit

    configured = settings.dispatch
    chosen: dict[str, float | int] = {"max_cost": DISPATCH_MAX_COST, "max_calls": DISPATCH_MAX_CALLS}
    for key, given in (("max_cost", max_cost), ("max_calls", max_calls)):
        if configured.get(key) is not None:
            check_limit(key, configured[key], f"[dispatch] {key}")
            chosen[key] = configured[key]
        if given is not None:
            check_limit(key, given, f"--{key.replace('_', '-')}")
            chosen[key] = given
    return Allowance(float(chosen["max_cost"]), int(chosen["max_calls"]))
