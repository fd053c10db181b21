"""The dispatch loop: one agent's answer, its handoffs (in parallel), its continuation, until done.

    fresh call ─► handoff requests? ─no─► done
                      │yes
                      ▼
        admit each request (roster, self, cycle, depth, budget) ─► refused ones become results
                      │
        delegates run in parallel (each a smaller copy of this loop, one level deeper)
                      ▼
        continuation call with every result ─► handoff requests? ...   (at most max_rounds times)

Every call is recorded as it starts and ends (runs.RunRecorder). A call that fails for good is a
failed result for its requester; authentication errors stop the run; a reached limit lets the
calls in flight finish and starts no new one. Resume replays the calls a previous run completed,
matched by their place in the tree (`key`), so they are not paid for twice.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from agentctl.errors import ExitCode
from agentctl.providers.base import CallMode, CallRequest, ProviderError, Usage

if TYPE_CHECKING:
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
DEFAULT_MAX_TOKENS = 8192


@dataclass(slots=True)
class Limits:
    max_depth: int = 3  # how deep delegates may hand off further (the first agent is depth 0)
    max_rounds: int = 3  # continuation calls per agent and task: an agent that keeps asking stops
    max_calls: int | None = None
    max_tokens: int | None = None  # every token billed in the run, cached or not
    max_cost: float | None = None  # USD
    parallel: int = 4  # calls in flight at once

    def to_json(self) -> dict[str, Any]:
        return {
            "max_depth": self.max_depth,
            "max_rounds": self.max_rounds,
            "max_calls": self.max_calls,
            "max_tokens": self.max_tokens,
            "max_cost": self.max_cost,
            "parallel": self.parallel,
        }


@dataclass(slots=True)
class Budget:
    """What the run has spent against its limits. Checked before a call starts, never during one."""

    limits: Limits
    calls: int = 0
    tokens: int = 0
    cost: float = 0.0
    reason: str | None = None  # set once a limit is reached: no call starts after that

    def admit(self) -> bool:
        if self.reason is None and self.limits.max_calls is not None and self.calls >= self.limits.max_calls:
            self.reason = f"--max-calls {self.limits.max_calls} reached"
        if self.reason is not None:
            return False
        self.calls += 1
        return True

    def spend(self, usage: Usage, cost: float | None) -> None:
        self.tokens += usage.total_tokens
        self.cost += cost or 0.0
        if self.reason is None and self.limits.max_tokens is not None and self.tokens >= self.limits.max_tokens:
            self.reason = f"--max-tokens {self.limits.max_tokens} reached ({self.tokens} tokens)"
        if self.reason is None and self.limits.max_cost is not None and self.cost >= self.limits.max_cost:
            self.reason = f"--max-cost {self.limits.max_cost} reached (${self.cost:.4f})"


@dataclass(slots=True)
class Outcome:
    """What one agent's work on one task gave its requester."""

    status: str  # ok, failed, budget, interrupted
    text: str | None  # the final answer (its handoff and memory sections removed)
    call_id: str | None  # the first call of this work
    error: ProviderError | None = None


@dataclass(slots=True)
class RunResult:
    run_id: str
    status: RunStatus
    exit_code: int
    result: str | None
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    hint: str | None = None  # how to fix what failed the run


@dataclass(slots=True)
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
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.team, self.provider, self.builder, self.recorder = team, provider, builder, recorder
        self.models, self.prices, self.limits, self.store = models, prices, limits, store
        self.model_override, self.max_tokens, self.today = model_override, max_tokens, today
        self.replay = replay or {}
        self.on_event = on_event
        self.budget = Budget(limits)
        self.slots = asyncio.Semaphore(max(1, limits.parallel))
        self.next_call = 0
        self.failed_calls = 0
        self.warned_prices: set[str] = set()
        self._replayed: set[str] = set()  # call ids answered from a previous run's record
        self.warnings: list[str] = []

    # --- the run -----------------------------------------------------------------------------------------

    def start(self, meta: dict[str, Any]) -> None:
        """Record the run's start (agent, task, provider, limits) before its first call."""
        self._emit({"event": "run_started", "run_id": self.recorder.directory.name, **meta})

    async def run(self, agent: AgentFile, task: str, context: str | None = None) -> RunResult:
        name = agent.name or agent.path.stem
        work = Work(agent, name, task, 0, "r", ((name, _words(task)),), None, None)
        try:
            outcome = await self._work(work, self.builder.fresh(agent, task, self.today, context), "fresh")
        except StopRun as stop:
            return self._finish("failed", None, ExitCode.PROVIDER, stop.error.message, stop.error.hint)
        except asyncio.CancelledError:
            self._finish("interrupted", None, ExitCode.INTERRUPTED, "interrupted (Ctrl-C)")
            raise
        return self._conclude(outcome)

    def _conclude(self, outcome: Outcome) -> RunResult:
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
        self._emit({"event": "run_finished", "status": status, "result": result, "exit_code": code, "reason": reason})
        return RunResult(self.recorder.directory.name, status, code, result, reason, self.warnings, hint)

    def _emit(self, event: dict[str, Any]) -> None:
        self.recorder.append(event)
        if self.on_event is not None:
            self.on_event(event)

    # --- one agent on one task ------------------------------------------------------------------------

    async def _work(self, work: Work, prompt: Prompt, mode: CallMode) -> Outcome:
        call_id, text, error = await self._call(work, prompt, mode, work.parent_call, work.key)
        first_call = call_id
        if text is None:
            return Outcome("budget" if error is None else "failed", None, first_call, error)
        parsed = self._read_answer(work, text, call_id)
        for round_number in range(1, self.limits.max_rounds + 1):
            if not parsed.handoffs or self.budget.reason is not None:
                break
            results = await self._handoffs(work, parsed.handoffs, call_id, f"{work.key}/{round_number}")
            prompt = self.builder.continuation(work.agent, work.task, parsed.answer, results, self.today)
            key = f"{work.key}/c{round_number}"
            next_id, next_text, error = await self._call(work, prompt, "continuation", call_id, key)
            if next_text is None:  # the continuation failed or was not allowed: keep the last answer
                break
            call_id, parsed = next_id, self._read_answer(work, next_text, next_id)
        return Outcome("ok", parsed.answer, first_call)

    def _read_answer(self, work: Work, text: str, call_id: str | None) -> AgentOutput:
        from agentctl.handoff import parse_output, resolve_targets

        parsed = parse_output(text)
        resolve_targets(parsed, self.team)
        if call_id is not None and call_id not in self._replayed:
            self._save_notes(work, parsed, call_id)
        return parsed

    # --- calls ------------------------------------------------------------------------------------------

    async def _call(
        self, work: Work, prompt: Prompt, mode: CallMode, parent: str | None, key: str
    ) -> tuple[str | None, str | None, ProviderError | None]:
        """(call id, answer text, error): text None means failed (error set) or not started."""
        model = self.model_override or self.models.resolve(work.agent.spec.model, work.inherited_model)
        if key in self.replay:
            return self._replay(work, prompt, mode, parent, key, model)
        if not self.budget.admit():
            return None, None, None
        call_id = self._start(work, prompt, mode, parent, key, model)
        request = CallRequest(call_id, work.name, mode, model, prompt.system, prompt.user, self.max_tokens)
        started = time.perf_counter()
        try:
            async with self.slots:
                response = await self.provider.complete(request)
        except ProviderError as error:
            return call_id, None, self._failed(call_id, error, started)
        except asyncio.CancelledError:
            self._emit(_finished(call_id, "interrupted", Usage(), None, started, None, {"kind": "interrupted"}))
            raise
        cost = self._cost(response.model or model, response.usage)
        self.budget.spend(response.usage, cost)
        self._emit(_finished(call_id, "ok", response.usage, cost, started, response.text, None, response.warnings))
        return call_id, response.text, None

    def _start(self, work: Work, prompt: Prompt, mode: CallMode, parent: str | None, key: str, model: str) -> str:
        self.next_call += 1
        call_id = f"c{self.next_call}"
        self._emit(
            {
                "event": "call_started",
                "call_id": call_id,
                "key": key,
                "parent": parent,
                "agent": work.name,
                "mode": mode,
                "model": model,
                "depth": work.depth,
                "prompt_hash": prompt.digest(),
                "task": work.task,
                "memories": prompt.memories,
            }
        )
        return call_id

    def _failed(self, call_id: str, error: ProviderError, started: float) -> ProviderError:
        self._emit(
            _finished(call_id, "failed", Usage(), None, started, None, {"kind": error.kind, "message": error.message})
        )
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
        event["latency_ms"] = record.latency_ms
        event["replayed_from"] = record.id
        self._emit(event)
        return call_id, record.output or "", None

    def _cost(self, model: str, usage: Usage) -> float | None:
        cost = self.prices.cost(model, usage)
        if cost is None and model not in self.warned_prices:
            self.warned_prices.add(model)
            message = f"no price for model {model}: its cost is unknown (null); add it under [prices] in agentctl.toml"
            self.warnings.append(message)
            self._emit({"event": "warning", "message": message})
        return cost

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
        name = target.name or target.path.stem
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
        self._handoff_event(work, request, from_call, delegate.name, status, _why(outcome), outcome.call_id)
        output = outcome.text if outcome.text is not None else f"Not answered: {_why(outcome)}."
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
        self._emit(
            {
                "event": "handoff",
                "from_call": from_call,
                "from": work.name,
                "target": request.target,
                "to": to,
                "task": request.task,
                "status": status,
                "reason": reason,
                "call_id": call_id,
            }
        )

    # --- memory -----------------------------------------------------------------------------------------

    def _save_notes(self, work: Work, parsed: AgentOutput, call_id: str) -> None:
        if self.store is None:
            return
        from agentctl.errors import AgentctlError
        from agentctl.memory import note_fields

        for note in parsed.memory_notes:
            fields = note_fields(note.topic, note.text)
            try:
                entry = self.store.write(
                    work.name,
                    fields["topic"],
                    fields["applies_when"],
                    fields["body"],
                    domain=fields["domain"],
                    source=fields["source"],
                    slug=note.slug or None,
                )
            except AgentctlError as error:
                self._emit(
                    {
                        "event": "memory_refused",
                        "agent": work.name,
                        "topic": note.topic,
                        "reason": error.message,
                        "call_id": call_id,
                    }
                )
                continue
            path = self.builder.relative(entry.path)
            self._emit({"event": "memory_saved", "agent": work.name, "path": path, "call_id": call_id})


def _finished(
    call_id: str,
    status: str,
    usage: Usage,
    cost: float | None,
    started: float,
    output: str | None,
    error: dict[str, str] | None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "event": "call_finished",
        "call_id": call_id,
        "status": status,
        "usage": usage.to_json(),
        "cost_usd": cost,
        "latency_ms": round((time.perf_counter() - started) * 1000),
        "output": output,
        "error": error,
        "warnings": warnings or [],
    }


def _why(outcome: Outcome) -> str | None:
    if outcome.error is not None:
        return outcome.error.message
    if outcome.status == "budget":
        return "a limit of the run was reached before it started"
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
