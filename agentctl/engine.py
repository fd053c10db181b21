"""The dispatch loop: one agent's answer, its handoffs (in parallel), its continuation, until done.

    fresh call ─► handoff requests? ─no─► done
                      │yes
                      ▼
        admit each request (roster, self, cycle, depth, budget) ─► refused ones become results
                      │
        delegates run in parallel (each a smaller copy of this loop, one level deeper)
                      ▼
        continuation call with every result ─► handoff requests? ...   (at most max_rounds times)

Every call is recorded as it starts and ends (agentctl.events, written by runs.RunRecorder). A call
that fails for good is a failed result for its requester; authentication errors stop the run. Resume
replays the calls a previous run completed, matched by their place in the tree (`key`), so they are
not paid for twice.

Spending has a ceiling (Budget): the caps have safe defaults, and a call starts only when what the
run spent, what the calls in flight hold, and the call's own worst case (the tokens its prompt and
max_tokens allow, at its model's price) stay within them. A usage report beyond that worst case is
counted at it, with a warning. `--timeout` ends the whole run: the calls in flight are cancelled.
Answers are parsed in a worker thread, so that one long answer does not stall the other calls.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from agentctl import bounds
from agentctl.bounds import ANSWER_CHARS
from agentctl.errors import ExitCode
from agentctl.events import (
    CallFinished,
    CallStarted,
    Handoff,
    MemoryRefused,
    MemorySaved,
    RunFinished,
    RunStarted,
    RunWarning,
    ToolUse,
    Waiting,
)
from agentctl.providers.base import (
    DEFAULT_MAX_TOKENS,
    Activity,
    CallMode,
    CallRequest,
    CallResponse,
    Permissions,
    ProviderError,
    Usage,
    UsageBound,
    Wait,
    in_range,
    plausible_usage,
    usage_problem,
)
from agentctl.records import field, record, replace

if TYPE_CHECKING:
    from pathlib import Path

    from agentctl.events import Event
    from agentctl.handoff import AgentOutput, HandoffRequest
    from agentctl.memory import MemoryStore
    from agentctl.prompts import HandoffResult, Prompt, PromptBuilder
    from agentctl.providers.base import Provider
    from agentctl.providers.models import ModelMap
    from agentctl.providers.pricing import PriceTable
    from agentctl.runs import CallRecord, RunRecorder
    from agentctl.spec import AgentFile
    from agentctl.team import Team

RunStatus = Literal["ok", "failed", "budget", "interrupted"]
__all__ = ["DEFAULT_MAX_TOKENS", "Budget", "Engine", "Limits", "RunResult"]  # DEFAULT_MAX_TOKENS: from base

# Safe defaults of a dispatch, raised on purpose: see bounds.DISPATCH_MAX_CALLS for why these values.
DEFAULT_MAX_CALLS = bounds.DISPATCH_MAX_CALLS
DEFAULT_MAX_COST = bounds.DISPATCH_MAX_COST  # USD


@record
class Limits:
    max_depth: int = 3  # how deep delegates may hand off further (the first agent is depth 0)
    max_rounds: int = bounds.DISPATCH_MAX_ROUNDS  # continuation calls per agent and task (the protocol's limit)
    max_calls: int | None = DEFAULT_MAX_CALLS  # None (library callers only): no cap
    max_tokens: int | None = None  # every token billed in the run, cached or not
    max_cost: float | None = DEFAULT_MAX_COST  # USD; None (library callers only): no cap
    parallel: int = 4  # calls in flight at once
    timeout: float | None = None  # seconds for the whole run; the calls in flight are cancelled

    def to_json(self) -> dict[str, Any]:
        return {
            "max_depth": self.max_depth,
            "max_rounds": self.max_rounds,
            "max_calls": self.max_calls,
            "max_tokens": self.max_tokens,
            "max_cost": self.max_cost,
            "parallel": self.parallel,
            "timeout": self.timeout,
        }


@record
class Claim:
    """What one admitted call holds against the caps until it ends."""

    tokens: int
    cost: float


@record
class Budget:
    """What the run spent, and what the calls in flight hold, against its caps.

    A call is admitted only when the spent amount, the held amount and its own worst case stay
    within every cap, so that parallel calls cannot overshoot. A call that does not fit while
    others run waits for them to end (they usually cost far less than they hold); one that does
    not fit when none runs ends the run: `reason` is set, and no call starts after that."""

    limits: Limits
    calls: int = 0
    tokens: int = 0
    cost: float = 0.0
    held_tokens: int = 0
    held_cost: float = 0.0
    holders: int = 0
    reason: str | None = None
    # Set when a call ends, for the calls waiting for room; made only when one waits (a batch runs
    # ten thousand runs at once, and most never wait).
    _released: asyncio.Event | None = None

    async def admit(self, tokens: int, cost: float | None) -> Claim | None:
        """Hold `tokens` and `cost` (None: no price) for one call, or None when the run may start no more."""
        return await self._admit(lambda: (tokens, cost, self._over(tokens, cost)))

    async def admit_session(self) -> tuple[Claim, float | None] | None:
        """Hold a session's spending limit (providers whose calls run many turns), or None when the run
        may start no more. The limit is an equal share of --max-cost across the parallel slots, and at
        most what is neither spent nor held; its tokens are unknown until it ends, so --max-tokens is
        checked against what was used. None as the limit: no --max-cost (library callers only)."""

        def wanted() -> tuple[int, float | None, str | None]:
            share = self._session_share()
            return 0, share, self._over(0, 0.0) or (self._too_little(share) if share is not None else None)

        claim = await self._admit(wanted)
        return (claim, claim.cost if self.limits.max_cost is not None else None) if claim is not None else None

    async def _admit(self, wanted: Callable[[], tuple[int, float | None, str | None]]) -> Claim | None:
        """Hold what `wanted` says a call needs (tokens, cost, and why it does not fit, if it does not),
        asked again each time calls in flight release theirs."""
        while self.reason is None:
            if self.limits.max_calls is not None and self.calls >= self.limits.max_calls:
                self.reason = f"--max-calls {self.limits.max_calls} reached{_RAISE.format('max-calls', 'max_calls')}"
                break
            tokens, cost, over = wanted()
            if over is None:
                return self._hold(tokens, cost or 0.0)
            if not self.holders:
                self.reason = over
                break
            if self._released is None:
                self._released = asyncio.Event()
            await self._released.wait()
        return None

    def _session_share(self) -> float | None:
        max_cost = self.limits.max_cost
        if max_cost is None:
            return None
        left = max_cost - self.cost - self.held_cost
        return max(0.0, min(left, max_cost / max(1, self.limits.parallel)))

    def _too_little(self, share: float) -> str | None:
        if share >= MIN_SESSION_BUDGET:
            return None
        assert self.limits.max_cost is not None
        return (
            f"--max-cost {self.limits.max_cost:g} reached: ${self.cost:.4f} spent, and less than "
            f"${MIN_SESSION_BUDGET:g} is left for another session{_RAISE.format('max-cost', 'max_cost')}"
        )

    def spend(self, tokens: int, cost: float | None) -> None:
        self.tokens += tokens
        self.cost += cost or 0.0

    def release(self, claim: Claim) -> None:
        self.holders -= 1
        self.held_tokens -= claim.tokens
        self.held_cost = self.held_cost - claim.cost if self.holders else 0.0  # no float dust left over
        if self._released is not None:
            self._released.set()  # wakes every waiting call; each checks again
            self._released = None

    def _hold(self, tokens: int, cost: float) -> Claim:
        self.calls += 1
        self.holders += 1
        self.held_tokens += tokens
        self.held_cost += cost
        return Claim(tokens, cost)

    def _over(self, tokens: int, cost: float | None) -> str | None:
        max_tokens, max_cost = self.limits.max_tokens, self.limits.max_cost
        if max_tokens is not None and self.tokens + self.held_tokens + tokens > max_tokens:
            return (
                f"--max-tokens {max_tokens} reached: {self.tokens:,} tokens used, and the next call may use "
                f"up to {tokens:,}{_RAISE.format('max-tokens', 'max_tokens')}"
            )
        if max_cost is not None and cost is not None and self.cost + self.held_cost + cost > max_cost:
            return (
                f"--max-cost {max_cost:g} reached: ${self.cost:.4f} spent, and the next call may cost up to "
                f"${cost:.4f}{_RAISE.format('max-cost', 'max_cost')}"
            )
        if max_cost is not None and self.cost > max_cost:  # a provider's own cost passed it: no call without a price
            return f"--max-cost {max_cost:g} reached: ${self.cost:.4f} spent{_RAISE.format('max-cost', 'max_cost')}"
        return None


_RAISE = " (raise it with --{0} or [dispatch] {1})"
# Below this a session cannot do one turn of useful work (a first turn reads the agent's prompt).
MIN_SESSION_BUDGET = 0.01  # USD


@record
class Outcome:
    """What one agent's work on one task gave its requester."""

    status: str  # ok, failed, budget, interrupted
    text: str | None  # the final answer (its handoff and memory sections removed)
    call_id: str | None  # the first call of this work
    error: ProviderError | None = None


@record
class RunResult:
    run_id: str
    status: RunStatus
    exit_code: int
    result: str | None
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    hint: str | None = None  # how to fix what failed the run


@record
class Work:
    """One agent working on one task: where it sits in the tree of calls."""

    agent: AgentFile
    name: str
    task: str
    depth: int
    key: str  # structural: the same place in the same run always has the same key
    chain: tuple[tuple[str, str], ...]  # (agent, task words) from the first agent down to this one
    parent_call: str | None
    inherited_model: str | None


class StopRun(Exception):
    """An error that ends the whole run at once (authentication)."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(error.message)
        self.error = error


class Engine:
    def __init__(
        self,
        team: Team,
        provider: Provider,
        builder: PromptBuilder,
        recorder: RunRecorder,
        models: ModelMap,
        prices: PriceTable,
        limits: Limits,
        *,
        store: MemoryStore | None = None,
        model_override: str | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        today: str,
        replay: dict[str, CallRecord] | None = None,
        on_event: Callable[[Event], None] | None = None,
        cwd: Path | None = None,
        permissions: Permissions | None = None,
    ) -> None:
        self.team, self.provider, self.builder, self.recorder = team, provider, builder, recorder
        self.models, self.prices, self.limits, self.store = models, prices, limits, store
        self.model_override, self.today = model_override, today
        self.cwd = cwd  # the project the calls work in (CallRequest.cwd)
        self.permissions = permissions or Permissions()  # what calls that run tools may do
        # A provider whose calls are sessions of many turns (claude-code): budgeted per session, and
        # its usage is not bounded by one prompt's size.
        self.sessions = bool(getattr(provider, "multi_turn", False))
        # As a provider reads a request without one: the default. Every call's worst case is sized by it.
        self.max_tokens = max_tokens if max_tokens > 0 else DEFAULT_MAX_TOKENS
        self.replay = replay or {}
        self.on_event = on_event
        self.budget = Budget(limits)
        self.slots = asyncio.Semaphore(max(1, limits.parallel))
        self.next_call = 0
        self.failed_calls = 0
        self.warned_prices: set[str] = set()
        self._replayed: set[str] = set()  # call ids answered from a previous run's record
        self._sessions: dict[str, str] = {}  # call id -> the provider's session it ran in, when it said
        self._session_costs: dict[str, float] = {}  # a provider session -> what its calls cost so far
        self.warnings: list[str] = []
        # What a cancellation of the run means; run_dispatch sets them when SIGTERM cancels it.
        self.stop_reason = "interrupted (Ctrl-C)"
        self.stop_exit_code: int = ExitCode.INTERRUPTED
        self.latest_answer: str | None = None  # the first agent's, for a run that its deadline ends

    # --- the run -----------------------------------------------------------------------------------------

    def start(self, meta: dict[str, Any]) -> None:
        """Record the run's start (agent, task, provider, limits) before its first call."""
        self._emit(RunStarted(self.recorder.directory.name, meta))

    async def run(self, agent: AgentFile, task: str, context: str | None = None) -> RunResult:
        name = agent.team_name
        work = Work(agent, name, task, 0, "r", ((name, _words(task)),), None, None)
        deadline = asyncio.timeout(self.limits.timeout)
        try:
            async with deadline:
                outcome = await self._work(work, self.builder.fresh(agent, task, self.today, context), "fresh")
        except StopRun as stop:
            return self._finish("failed", None, ExitCode.PROVIDER, stop.error.message, stop.error.hint)
        except TimeoutError:
            if not deadline.expired():
                raise
            return self._timed_out()
        except asyncio.CancelledError:
            # dispatch.run_dispatch sets these when SIGTERM, not Ctrl-C, cancelled the run.
            self._finish("interrupted", None, self.stop_exit_code, self.stop_reason)
            raise
        return self._conclude(outcome)

    def _timed_out(self) -> RunResult:
        """--timeout passed: the calls in flight were cancelled (recorded interrupted); keep the last answer."""
        assert self.limits.timeout is not None
        self.budget.reason = f"--timeout {self.limits.timeout:g} s reached"
        return self._finish("budget", self.latest_answer, ExitCode.BUDGET, self.budget.reason)

    def _conclude(self, outcome: Outcome) -> RunResult:
        if outcome.status == "failed" and outcome.error is not None and outcome.error.kind == "limit":
            # The first agent's session used its turns or its share of --max-cost: a limit stopped the run.
            return self._finish("budget", None, ExitCode.BUDGET, outcome.error.message, outcome.error.hint)
        if outcome.status == "failed":
            provider_error = outcome.error is not None and outcome.error.kind != "script"
            code = ExitCode.PROVIDER if provider_error else ExitCode.PROBLEMS
            error = outcome.error
            return self._finish("failed", None, code, error.message if error else None, error.hint if error else None)
        if self.budget.reason is not None:
            return self._finish("budget", outcome.text, ExitCode.BUDGET, self.budget.reason)
        if self.failed_calls:
            return self._finish("failed", outcome.text, ExitCode.PROBLEMS, f"{self.failed_calls} call(s) failed")
        return self._finish("ok", outcome.text, ExitCode.OK, None)

    def _finish(
        self, status: RunStatus, result: str | None, code: int, reason: str | None, hint: str | None = None
    ) -> RunResult:
        if result is not None:
            self.recorder.write_result(result)
        self._emit(RunFinished(status, result, code, reason))
        return RunResult(self.recorder.directory.name, status, code, result, reason, self.warnings, hint)

    def _emit(self, event: Event) -> None:
        # on_event gets the event as recorded, secrets redacted: the live view and the progress
        # lines (a CI log) show no more than the record does.
        recorded = self.recorder.append(event)
        if self.on_event is not None:
            self.on_event(recorded)

    # --- one agent on one task ------------------------------------------------------------------------

    async def _work(self, work: Work, prompt: Prompt, mode: CallMode) -> Outcome:
        call_id, text, error = await self._call(work, prompt, mode, work.parent_call, work.key)
        del prompt  # sent: not held while the handoffs run (a batch keeps ten thousand runs waiting)
        first_call = call_id
        if text is None:
            return Outcome("budget" if error is None else "failed", None, first_call, error)
        parsed = await self._read_answer(work, text, call_id)
        for round_number in range(1, self.limits.max_rounds + 1):
            if not parsed.handoffs or self.budget.reason is not None:
                break
            results = await self._handoffs(work, parsed.handoffs, call_id, f"{work.key}/{round_number}")
            key, session = f"{work.key}/c{round_number}", self._sessions.get(call_id or "")
            # A resumed session holds the agent's earlier answer: the next turn brings only the results.
            prompt = self.builder.continuation(
                work.agent, work.task, parsed.answer, results, self.today, resumed=session is not None
            )
            next_id, next_text, error = await self._call(work, prompt, "continuation", call_id, key, session)
            if next_text is None:  # the continuation failed or was not allowed: keep the last answer
                break
            call_id, parsed = next_id, await self._read_answer(work, next_text, next_id)
        return Outcome("ok", parsed.answer, first_call)

    async def _read_answer(self, work: Work, text: str, call_id: str | None) -> AgentOutput:
        from agentctl.handoff import parse_output, resolve_targets

        # In a worker thread: the calls in flight keep streaming while a long answer is parsed.
        parsed = await asyncio.to_thread(parse_output, text)
        resolve_targets(parsed, self.team)  # on the loop: the team is not shared with threads
        if work.depth == 0:
            self.latest_answer = parsed.answer
        if call_id is not None and call_id not in self._replayed:
            self._save_notes(work, parsed, call_id)
        return parsed

    # --- calls ------------------------------------------------------------------------------------------

    async def _call(
        self, work: Work, prompt: Prompt, mode: CallMode, parent: str | None, key: str, session: str | None = None
    ) -> tuple[str | None, str | None, ProviderError | None]:
        """(call id, answer text, error): text None means failed (error set) or not started. `session`:
        the provider's session of the previous call of the same work, which a continuation resumes."""
        model = self.model_override or self.models.resolve(work.agent.spec.model, work.inherited_model)
        if key in self.replay:
            return self._replay(work, prompt, mode, parent, key, model)
        request = CallRequest(
            "",
            work.name,
            mode,
            model,
            prompt.system,
            prompt.user,
            self.max_tokens,
            agent_file=work.agent,
            cwd=self.cwd,
            resume_session=session,
            resumed_cost_usd=self._session_costs.get(session, 0.0) if session else 0.0,
            permissions=self.permissions,
            key=key,
        )
        bound = request.bound()
        if self.sessions:
            admitted = await self.budget.admit_session()
            claim, request.max_budget_usd = admitted if admitted is not None else (None, None)
        else:
            claim = await self.budget.admit(bound.total_tokens, self._ceiling(model, bound))
        if claim is None:
            return None, None, None
        try:
            call_id = self._start(work, prompt, mode, parent, key, model)
            return await self._send(call_id, request, bound)
        finally:
            self.budget.release(claim)

    async def _send(
        self, call_id: str, request: CallRequest, bound: UsageBound
    ) -> tuple[str | None, str | None, ProviderError | None]:
        request.call_id = call_id
        # partial, not a closure: the smaller object, and a batch holds one per waiting call.
        request.on_wait = functools.partial(self._waiting, call_id)
        request.on_activity = functools.partial(self._activity, call_id, request.model)
        started = time.perf_counter()
        try:
            async with self.slots:
                response = await self.provider.complete(request)
        except ProviderError as error:
            return call_id, None, self._failed(error, self._billed_failure(call_id, request.model, error, started))
        except asyncio.CancelledError:
            self._emit(_finished(call_id, "interrupted", Usage(), None, started, None, {"kind": "interrupted"}))
            raise
        return self._answered(call_id, request, bound, response, started)

    def _answered(
        self, call_id: str, request: CallRequest, bound: UsageBound, response: CallResponse, started: float
    ) -> tuple[str | None, str | None, ProviderError | None]:
        """Count an answer's usage (checked, and at most `bound`) and cost, record it, and hand back its text."""
        unreadable = _unreadable_report(self.provider.name, response)
        if unreadable is not None:
            return call_id, None, self._failed(unreadable, _failure(call_id, unreadable, started))
        usage = self._counted(call_id, request, bound, response.usage)
        # The provider's own cost when it reports one (one call of it may be many model calls), else the price table's.
        cost = self._cost(request.model, usage) if response.cost_usd is None else float(response.cost_usd)
        self.budget.spend(usage.total_tokens, cost)
        finished = _answer(call_id, usage, cost, started, response)
        if len(response.text) > ANSWER_CHARS:
            too_long = _too_long(self.provider.name, len(response.text))
            failed = replace(finished, status="failed", output=None, error=_details(too_long), warnings=[])
            return call_id, None, self._failed(too_long, failed)
        if response.session_id is not None:
            self._in_session(call_id, response.session_id, cost)
        self._emit(finished)
        return call_id, response.text, None

    def _billed_failure(self, call_id: str, model: str, error: ProviderError, started: float) -> CallFinished:
        """The call_finished of a call that got no usable answer, counting what it had used: a session
        that ran out of turns or budget was billed for them (ProviderError.usage and cost_usd)."""
        usage = error.usage if error.usage is not None and usage_problem(error.usage) is None else Usage()
        cost = error.cost_usd if in_range(error.cost_usd, False, 0) else None
        if cost is None and usage.total_tokens:
            cost = self._cost(model, usage)
        self.budget.spend(usage.total_tokens, cost)
        finished = _finished(call_id, "failed", usage, cost, started, None, _details(error), error.warnings)
        finished.session_id, finished.turns, finished.tool_uses = error.session_id, error.turns, error.tool_uses
        return finished  # a failed call's session is never resumed: a work ends at its first failure

    def _in_session(self, call_id: str, session: str, cost: float | None) -> None:
        self._sessions[call_id] = session
        self._session_costs[session] = self._session_costs.get(session, 0.0) + (cost or 0.0)

    def _activity(self, call_id: str, model: str, activity: Activity) -> None:
        """A session's tool use, for the record and the live view (what it is doing now)."""
        if activity.tool is None:
            return
        cost = self.prices.cost(model, activity.usage)
        self._emit(ToolUse(call_id, activity.tool, activity.summary, activity.turns, activity.usage, cost))

    def _counted(self, call_id: str, request: CallRequest, bound: UsageBound, reported: Usage) -> Usage:
        """The usage to count: as reported, or cut down to what the request could use (with a warning).
        A session's usage is many requests': no one prompt bounds it, and its own budget capped it."""
        if self.sessions:
            return reported
        plausible = plausible_usage(reported, bound)
        if plausible is None:
            return reported
        sent = reported.input_tokens + reported.cache_read_input_tokens + reported.cache_creation_input_tokens
        self._warn(
            f"call {call_id}: the usage report is implausible ({sent:,} input and {reported.output_tokens:,} "
            f"output tokens, for a prompt that allows at most {bound.input_tokens:,} and max_tokens "
            f"{request.max_tokens:,}): counted at that bound",
            call_id,
        )
        return plausible

    def _waiting(self, call_id: str, wait: Wait) -> None:
        self._emit(Waiting(call_id, wait.seconds, wait.attempt, wait.reason))

    def _start(self, work: Work, prompt: Prompt, mode: CallMode, parent: str | None, key: str, model: str) -> str:
        self.next_call += 1
        call_id = f"c{self.next_call}"
        digest, memories = prompt.digest(), prompt.memories
        self._emit(CallStarted(call_id, key, parent, work.name, mode, model, work.depth, digest, work.task, memories))
        return call_id

    def _failed(self, error: ProviderError, finished: CallFinished) -> ProviderError:
        """Record a call that failed for good (`finished`: its call_finished event, status failed)."""
        self._emit(finished)
        if error.stops_the_run:
            raise StopRun(error)
        self.failed_calls += 1
        return error

    def _replay(
        self, work: Work, prompt: Prompt, mode: CallMode, parent: str | None, key: str, model: str
    ) -> tuple[str | None, str | None, ProviderError | None]:
        record = self.replay[key]
        call_id = self._start(work, prompt, mode, parent, key, record.model or model)
        self._replayed.add(call_id)
        event = _finished(call_id, "replayed", record.usage, record.cost_usd, time.perf_counter(), record.output, None)
        event.latency_ms, event.replayed_from = record.latency_ms, record.id
        event.session_id, event.turns, event.tool_uses = record.session_id, record.turns, record.tool_uses
        if record.session_id is not None:  # a continuation after the replay resumes the session it ran in
            self._in_session(call_id, record.session_id, record.cost_usd)
        self._emit(event)
        return call_id, record.output or "", None

    def _cost(self, model: str, usage: Usage) -> float | None:
        """Priced at the model asked for, as its reservation was: an answer naming another cannot pass the cap."""
        cost = self.prices.cost(model, usage)
        if cost is None:
            self._unpriced(model)
        return cost

    def _ceiling(self, model: str, bound: UsageBound) -> float | None:
        ceiling = self.prices.ceiling(model, bound)
        if ceiling is None:
            self._unpriced(model)
        return ceiling

    def _unpriced(self, model: str) -> None:
        if model in self.warned_prices:
            return
        self.warned_prices.add(model)
        message = f"no price for model {model}: its cost is unknown (null); add it under [prices] in agentctl.toml"
        if self.limits.max_cost is not None:
            calls = self.limits.max_calls
            bounded = f"only --max-calls {calls} does" if calls is not None else "nothing does"
            message += f". Until then --max-cost cannot bound its calls; {bounded}"
        self._warn(message)

    def _warn(self, message: str, call_id: str | None = None) -> None:
        self.warnings.append(message)
        self._emit(RunWarning(message, call_id))

    # --- handoffs ---------------------------------------------------------------------------------------

    async def _handoffs(
        self, work: Work, requests: list[HandoffRequest], from_call: str | None, key: str
    ) -> list[HandoffResult]:

        results: list[HandoffResult | None] = []
        delegates: list[tuple[int, Work, HandoffRequest]] = []
        for index, request in enumerate(requests, start=1):
            refusal, delegate = self._admit(work, request, from_call, f"{key}.{index}")
            if refusal is not None:
                results.append(refusal)
            else:
                assert delegate is not None
                results.append(None)
                delegates.append((index - 1, delegate, request))
        if len(delegates) == 1:  # no group to cancel: the common case, without a task and a group per run
            slot, delegate, request = delegates[0]
            results[slot] = await self._delegate(work, delegate, request, from_call)
            return [result for result in results if result is not None]
        try:
            async with asyncio.TaskGroup() as group:  # an error that stops the run cancels the siblings
                running = [(slot, group.create_task(self._delegate(work, d, r, from_call))) for slot, d, r in delegates]
        except* StopRun as stopped:
            raise stopped.exceptions[0] from None
        for slot, task in running:
            results[slot] = task.result()
        return [result for result in results if result is not None]

    def _admit(
        self, work: Work, request: HandoffRequest, from_call: str | None, key: str
    ) -> tuple[HandoffResult | None, Work | None]:
        """(refusal, None) when the request may not run, else (None, the delegate's work)."""
        if request.agent is None:
            problem = next((p for p in request.problems if p.startswith("not on the roster")), "not on the roster")
            roster = ", ".join(entry.display_name for entry in self.team.roster) or "(no roster)"
            why = f"{request.target!r} is {problem}; the team is: {roster}"
            return self._refuse(work, request, from_call, request.target, "unknown", why), None
        target = self.team.resolve(request.agent)
        name = target.team_name
        refusal = self._refusal_reason(work, name, request)
        if refusal is not None:
            return self._refuse(work, request, from_call, name, *refusal), None
        chain = (*work.chain, (name, _words(request.task)))
        inherited = self.model_override or self.models.resolve(work.agent.spec.model, work.inherited_model)
        return None, Work(target, name, request.task, work.depth + 1, f"{key}.{name}", chain, from_call, inherited)

    def _refusal_reason(self, work: Work, target: str, request: HandoffRequest) -> tuple[str, str] | None:
        if target == work.name:
            return "refused", "an agent cannot hand work to itself; do this part yourself"
        words = _words(request.task)
        for agent, task_words in work.chain:
            if agent == target and _same_task(words, task_words):
                path = " -> ".join(name for name, _ in work.chain)
                return "refused", f"{target} is already working on this task higher up the chain ({path}): a cycle"
        if not request.task.strip():
            return "refused", "the request has no **Task:** line, so there is nothing to hand over"
        if work.depth + 1 > self.limits.max_depth:
            return "depth", f"the handoff depth limit ({self.limits.max_depth}) is reached; do this part yourself"
        if self.budget.reason is not None:
            return "budget", f"not run: {self.budget.reason}"
        return None

    def _refuse(
        self, work: Work, request: HandoffRequest, from_call: str | None, target: str, status: str, reason: str
    ) -> HandoffResult:
        from agentctl.prompts import HandoffResult

        self._handoff_event(work, request, from_call, target if status != "unknown" else None, status, reason, None)
        display = self.team.display_name(target) or target
        return HandoffResult(target, display, request.task, status, f"Not run: {reason}.")

    async def _delegate(
        self, work: Work, delegate: Work, request: HandoffRequest, from_call: str | None
    ) -> HandoffResult:
        from agentctl.prompts import HandoffResult

        prompt = self.builder.handoff(delegate.agent, work.name, work.task, request, self.today)
        self._handoff_event(work, request, from_call, delegate.name, "dispatched", None, None)
        outcome = await self._work(delegate, prompt, "handoff")
        status = outcome.status
        why = _why(outcome, self.budget.reason)
        self._handoff_event(work, request, from_call, delegate.name, status, why, outcome.call_id)
        output = outcome.text if outcome.text is not None else f"Not answered: {why}."
        display = self.team.display_name(delegate.name) or delegate.name
        return HandoffResult(delegate.name, display, request.task, status, output)

    def _handoff_event(
        self,
        work: Work,
        request: HandoffRequest,
        from_call: str | None,
        to: str | None,
        status: str,
        reason: str | None,
        call_id: str | None,
    ) -> None:
        self._emit(Handoff(from_call, work.name, request.target, to, request.task, status, reason, call_id))

    # --- memory -----------------------------------------------------------------------------------------

    def _save_notes(self, work: Work, parsed: AgentOutput, call_id: str) -> None:
        if self.store is None:
            return
        from agentctl.errors import AgentctlError
        from agentctl.memory import note_fields

        redact = self.recorder.filter.redact  # the run record's filter: a key in an answer stays out of memory too
        for note in parsed.memory_notes:
            fields = {name: redact(value) for name, value in note_fields(note.topic, note.text).items()}
            try:
                entry = self.store.write(
                    work.name,
                    fields["topic"],
                    fields["applies_when"],
                    fields["body"],
                    domain=fields["domain"],
                    source=fields["source"],
                    slug=redact(note.slug) if note.slug else None,
                )
            except AgentctlError as error:
                self._emit(MemoryRefused(work.name, note.topic, error.message, call_id))
                continue
            self._emit(MemorySaved(work.name, self.builder.relative(entry.path), call_id))


def _finished(
    call_id: str,
    status: str,
    usage: Usage,
    cost: float | None,
    started: float,
    output: str | None,
    error: dict[str, Any] | None,
    warnings: list[str] | None = None,
) -> CallFinished:
    return CallFinished(call_id, status, usage, cost, _latency(started), output, error, warnings or [])


def _answer(call_id: str, usage: Usage, cost: float | None, started: float, response: CallResponse) -> CallFinished:
    """The call_finished of an answer, with what the provider said of its own work, and what it claimed
    to use when that was more than the call could (`usage` is what was counted)."""
    return CallFinished(
        call_id,
        "ok",
        usage,
        cost,
        _latency(started),
        response.text,
        None,
        response.warnings,
        session_id=response.session_id,
        turns=response.turns,
        tool_uses=response.tool_uses,
        reported_usage=None if usage is response.usage else response.usage,
    )


def _failure(call_id: str, error: ProviderError, started: float) -> CallFinished:
    """The call_finished of a call that got no usable answer: nothing counted."""
    return _finished(call_id, "failed", Usage(), None, started, None, _details(error))


def _details(error: ProviderError) -> dict[str, Any]:
    return {"kind": error.kind, "message": error.message}


def _latency(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _unreadable_report(provider: str, response: CallResponse) -> ProviderError | None:
    """A response whose usage or cost is not a count or an amount: the provider's error, never a crash."""
    problem = usage_problem(response.usage)
    if problem is not None:
        hint = "the provider reported token counts that are not whole numbers >= 0; report it if it persists"
        return ProviderError(f"{provider}: unreadable usage report: {problem}", "bad_response", hint)
    cost = response.cost_usd
    if cost is not None and not in_range(cost, False, 0):
        hint = "the provider reported a cost that is not a finite number >= 0; report it if it persists"
        return ProviderError(f"{provider}: unreadable cost report: cost_usd is {cost!r}", "bad_response", hint)
    return None


def _too_long(provider: str, length: int) -> ProviderError:
    return ProviderError(
        f"{provider}: the answer has {length:,} characters, more than the {ANSWER_CHARS:,} agentctl reads; "
        "it was not parsed",
        "bad_response",
        hint="ask for a shorter answer (a lower max_tokens), or split the task",
    )


def _why(outcome: Outcome, budget_reason: str | None) -> str | None:
    if outcome.error is not None:
        return outcome.error.message
    if outcome.status == "budget":
        return f"not run: {budget_reason or 'a limit of the run was reached before it started'}"
    return None


_WORD = re.compile(r"[a-z0-9]+")


def _words(task: str) -> str:
    return " ".join(sorted(set(_WORD.findall(task.lower()))))


def _same_task(first: str, second: str) -> bool:
    """The same words, give or take a fifth: "Check the index" and "check the index again"."""
    a, b = set(first.split()), set(second.split())
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= 0.8
