"""Run a batch, resume one, and read, summarise and cancel batches.

`run_batch` starts one engine per task (the dispatch engine, its limits per task, its run record per
task) against rounds.BatchProvider, and drives the rounds: when every task waits, the queued calls
go to the API as one batch (split below the API's limits), and the answers come back to their
engines. Before a round is sent its cost is estimated at batch prices; a round that would take the
batch past its cap is not sent, and its calls fail with a limit (exit 5). A result that errored for
a passing reason, or expired, is sent once more in the next round; any other failure is a failed
call of its task alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.batch import record as batch_record
from agentctl.batch.api import BatchApi
from agentctl.batch.body import BatchBody, RequestEncoder, split, total_size
from agentctl.batch.rounds import (
    BatchProvider,
    CountingExecutor,
    PendingCall,
    RoundCollector,
    custom_id,
    error_of,
    response_of,
    transient,
)
from agentctl.batch.tasks import BatchTask, read_tasks
from agentctl.errors import ExitCode, Terminated
from agentctl.providers.base import ProviderError
from agentctl.records import field, record

if TYPE_CHECKING:
    from agentctl.config import Settings
    from agentctl.engine import Engine, Limits, RunResult
    from agentctl.providers.base import CallRequest
    from agentctl.providers.pricing import PriceTable
    from agentctl.runs import RunRecorder
    from agentctl.spec import AgentFile
    from agentctl.team import Team

DEFAULT_BATCH_MAX_COST = 10.0  # USD for a whole batch, unless [batch] max_cost or --max-cost says otherwise
EXPECTED_ANSWER_TOKENS = 2000  # the estimate's guess at one answer's length, as dispatch's dry run
STATUS_OF_RUN = {"ok": "succeeded", "failed": "failed", "budget": "stopped", "interrupted": "stopped"}


@record
class BatchOptions:
    tasks_file: Path | None = None  # None with `resume`
    resume: str | None = None  # a batch id: go on with it, sending nothing twice
    max_cost: float | None = None  # the whole batch's cap (USD); None: [batch] max_cost, else the default
    model: str | None = None
    limits: Limits | None = None  # each task's, as dispatch's
    memory: bool = True
    poll_interval: float = 2.0  # the first wait between status checks; it doubles up to poll_max
    poll_max: float = 60.0


@record
class BatchProgress:
    """One change a terminal or a log shows: a round sent, a batch's counts, a round collected."""

    round: int
    phase: str  # "submitted", "processing", "collected", "stopped"
    requests: int
    succeeded: int
    processing: int
    failed: int
    elapsed: float
    spent_usd: float
    note: str | None = None


@record
class Estimate:
    requests: int
    bytes: int
    cost_usd: float | None  # with answers of EXPECTED_ANSWER_TOKENS
    cost_ceiling_usd: float | None  # with answers of max_tokens
    unpriced: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "bytes": self.bytes,
            "cost_usd": self.cost_usd,
            "cost_ceiling_usd": self.cost_ceiling_usd,
            "unpriced_models": self.unpriced,
        }


@record
class BatchOutcome:
    summary: dict[str, Any]
    exit_code: int


Progress = Callable[[BatchProgress], None]


@record
class _RoundTally:
    """What a round's results came to, counted as they are read."""

    kinds: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("succeeded", "errored", "expired", "canceled"), 0)
    )
    failed: int = 0
    retried: int = 0
    cost: float = 0.0


# --- planning --------------------------------------------------------------------------------------


@record
class _Planned:
    task: BatchTask
    agent: AgentFile | None
    error: str | None = None  # why the task cannot run (no such agent, nobody matches it)


def _plan(team: Team, tasks: list[BatchTask]) -> list[_Planned]:
    """Each task with its agent: the one it names, else the offline router's first choice."""
    from agentctl.errors import UnknownAgentError
    from agentctl.route import route_team

    planned = []
    for task in tasks:
        if task.agent is not None:
            try:
                planned.append(_Planned(task, team.resolve(task.agent)))
            except UnknownAgentError as error:
                planned.append(_Planned(task, None, error.message))
            continue
        ranking = route_team(team, task.task, 1)
        if ranking and ranking[0].score > 0:
            planned.append(_Planned(task, team.resolve(ranking[0].agent)))
        else:
            planned.append(_Planned(task, None, "no agent of the team matches the task (give it an agent)"))
    return planned


def dry_run(settings: Settings, options: BatchOptions, environ: Mapping[str, str]) -> dict[str, Any]:
    """The first round as it would be sent, and its cost at batch prices: nothing is sent or written."""
    from agentctl.dispatch import answer_tokens, model_map, price_table, team_prompts
    from agentctl.providers.base import CallRequest
    from agentctl.team import load_team

    assert options.tasks_file is not None
    team = load_team(settings)
    planned = _plan(team, read_tasks(options.tasks_file))
    builder = team_prompts(team, options.memory, environ)
    models, prices = model_map(settings), price_table(settings).batch_prices()
    max_tokens, today = answer_tokens(settings), _today()
    requests = []
    for index, item in enumerate(planned):
        if item.agent is None:
            continue
        prompt = builder.fresh(item.agent, item.task.task, today)
        model = options.model or models.resolve(item.agent.spec.model, None)
        request = CallRequest("", item.agent.team_name, "fresh", model, prompt.system, prompt.user, max_tokens)
        requests.append((custom_id(index, ""), request))  # a first call's id is as long as this one
    estimate = _estimate(requests, prices, RequestEncoder(max_tokens))
    return {
        "dry_run": True,
        "tasks": len(planned),
        "first_round": estimate.to_json(),
        "max_cost_usd": _cap(settings, options),
        "unroutable": [
            {"id": item.task.id, "line": item.task.line, "error": item.error} for item in planned if item.error
        ],
        "agents": _tally(item.agent.team_name for item in planned if item.agent is not None),
    }


def _estimate(requests: list[tuple[str, CallRequest]], prices: PriceTable, encoder: RequestEncoder) -> Estimate:
    """The requests' size as sent (custom id, request) and their cost at batch prices."""
    from agentctl.providers.base import UsageBound

    expected: float | None = 0.0
    ceiling: float | None = 0.0
    unpriced: set[str] = set()
    for _, request in requests:
        bound = request.bound()
        guess = UsageBound(bound.input_tokens, min(EXPECTED_ANSWER_TOKENS, bound.output_tokens))
        price = prices.price_of(request.model)
        if price is None:
            unpriced.add(request.model)
            continue
        expected = (expected or 0.0) + price.ceiling(guess)
        ceiling = (ceiling or 0.0) + price.ceiling(bound)
    size = total_size(encoder, requests)
    return Estimate(len(requests), size, _money(expected), _money(ceiling), sorted(unpriced))


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _tally(names: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def _cap(settings: Settings, options: BatchOptions) -> float:
    """The whole batch's cap: --max-cost, else DEFAULT_BATCH_MAX_COST (a batch never runs uncapped)."""
    from agentctl.dispatch import check_limit

    if options.max_cost is None:
        return DEFAULT_BATCH_MAX_COST
    check_limit("max_cost", options.max_cost, "--max-cost")
    return options.max_cost


def _today() -> str:
    return dt.date.today().isoformat()


# --- running ---------------------------------------------------------------------------------------


def run_batch(
    settings: Settings,
    options: BatchOptions,
    environ: Mapping[str, str],
    api: BatchApi | None = None,
    on_progress: Progress | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> BatchOutcome:
    """Run (or resume) a batch to its end; the record is complete whatever happens."""
    from agentctl.dispatch import limits_from
    from agentctl.runs import RunLock
    from agentctl.team import load_team

    clock = clock or (lambda: dt.datetime.now(dt.UTC).astimezone())
    team = load_team(settings)
    cap = _cap(settings, options)
    # Bad input is exit 2 before a missing key is exit 4.
    tasks = read_tasks(options.tasks_file) if options.tasks_file is not None else []
    resumed = batch_record.find_batch(settings.root, options.resume) if options.resume is not None else None
    if api is None:
        from agentctl.providers.anthropic_batches import batch_api_from

        api = batch_api_from(settings.anthropic, environ)
    root = batch_record.batches_dir(settings.root)
    if resumed is not None:
        batch_id = resumed
        directory = root / batch_id
        meta = batch_record.read_state(directory).meta
        tasks = [BatchTask(**task) for task in meta["tasks"]]
        limits = _limits_of(meta)
        cap = options.max_cost if options.max_cost is not None else float(meta["max_cost"])
    else:
        assert options.tasks_file is not None
        limits = options.limits or limits_from(settings)
        batch_id = f"{clock():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        directory = root / batch_id
        meta = {
            "batch_id": batch_id,
            "created_at": clock().isoformat(),
            "tasks_file": str(options.tasks_file),
            "tasks": [{"id": t.id, "task": t.task, "agent": t.agent, "line": t.line} for t in tasks],
            "limits": limits.to_json(),
            "max_cost": cap,
            "model": options.model,
            "memory": options.memory,
        }
        batch_record.create(directory, meta)
    with RunLock.acquire(directory):
        state = batch_record.read_state(directory)
        log = batch_record.BatchLog(directory)
        try:
            driver = _Driver(settings, team, options, environ, api, log, state, limits, cap, on_progress, clock)
            exit_code = asyncio.run(driver.run(_plan(team, tasks)))
        finally:
            log.close()
    return BatchOutcome(batch_summary(settings, batch_id), exit_code)


def _limits_of(meta: dict[str, Any]) -> Limits:
    from agentctl.engine import Limits

    return Limits(**meta["limits"])


class _Driver:
    def __init__(
        self,
        settings: Settings,
        team: Team,
        options: BatchOptions,
        environ: Mapping[str, str],
        api: BatchApi,
        log: batch_record.BatchLog,
        state: batch_record.BatchState,
        limits: Limits,
        cap: float,
        on_progress: Progress | None,
        clock: Callable[[], dt.datetime],
    ) -> None:
        from agentctl.dispatch import answer_tokens, model_map, price_table

        self.settings, self.team, self.options, self.environ = settings, team, options, environ
        self.api, self.log, self.state, self.limits, self.cap = api, log, state, limits, cap
        self.on_progress, self.clock = on_progress, clock
        self.models, self.prices = model_map(settings), price_table(settings).batch_prices()
        self.max_tokens = answer_tokens(settings)
        self.collector = RoundCollector(self.max_tokens)
        # One prompt builder and one memory store for every task: the builder renders each agent's
        # stable blocks once, so ten thousand tasks share one copy of the team block.
        from agentctl.dispatch import memory_store, team_prompts

        self.builder = team_prompts(team, options.memory, environ)
        self.store = memory_store(team, environ) if options.memory else None
        self.batch_id = str(state.meta["batch_id"])
        self.spent = sum(float(r.get("cost_usd") or 0.0) for r in state.rounds)
        self.round = len(state.rounds)
        self.started = time.monotonic()
        self.stopped: str | None = None
        # One thread: the API's calls go one after another, and each thread would keep an allocator arena.
        self.api_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentctl-batch-api")

    async def run(self, planned: list[_Planned]) -> int:
        executor = CountingExecutor()
        asyncio.get_running_loop().set_default_executor(executor)
        engines: list[asyncio.Task[RunResult]] = []
        failed_upfront = 0
        try:
            for index, item in enumerate(planned):
                if item.agent is None:
                    failed_upfront += 1
                    continue
                started = self._engine(index, item)
                if started is not None:
                    engines.append(asyncio.create_task(_run_task(*started, item.agent, item.task.task)))
            with _sigterm_cancels(asyncio.current_task()) as received:
                try:
                    await self._rounds(engines, executor)
                    results = await asyncio.gather(*engines)
                except asyncio.CancelledError:
                    await self._interrupted(engines, "terminated (SIGTERM)" if received else "interrupted (Ctrl-C)")
                    if received:
                        raise Terminated() from None
                    raise
        finally:
            self.api_pool.shutdown(wait=False)
        code = _exit_code([result.exit_code for result in results], failed_upfront, self.stopped)
        self.log.append("finished", exit_code=code, cost_usd=round(self.spent, 6), stopped=self.stopped)
        return code

    async def _interrupted(self, engines: list[asyncio.Task[RunResult]], reason: str) -> None:
        """Ctrl-C or SIGTERM: every task records its calls in flight as interrupted, and the batch
        says how to go on. The API's batches go on processing; a resume collects them."""
        for task in engines:
            task.cancel()
        await asyncio.gather(*engines, return_exceptions=True)
        self.stopped = f"{reason}; `agentctl batch run --resume {self.batch_id}` goes on without sending anything twice"
        self.log.append("stopped", round=self.round, reason=self.stopped)

    def _engine(self, index: int, item: _Planned) -> tuple[Engine, RunRecorder] | None:
        """The engine of one task, with its own run record; None when an earlier run of the batch
        finished the task (a resume)."""
        from agentctl.engine import Engine
        from agentctl.runs import RunRecorder, load_run

        assert item.agent is not None
        replay: dict[str, Any] = {}
        earlier = self.state.task_runs.get(item.task.id, [])
        if earlier:
            previous = load_run(self.settings.runs_dir, earlier[-1])
            if previous.status != "incomplete":
                return None
            replay = previous.completed_calls()
        run_id = f"{self.batch_id}-{item.task.id}" + (f"-r{len(earlier)}" if earlier else "")
        meta = {
            "agent": item.agent.name,
            "task": item.task.task,
            "provider": "anthropic-batch",
            "batch": self.batch_id,
            "task_id": item.task.id,
            "model_override": self.options.model,
            "limits": self.limits.to_json(),
            "memory": self.options.memory,
            "resumed_from": earlier[-1] if earlier else None,
        }
        recorder = RunRecorder.create(self.settings.runs_dir, run_id, meta, self.clock, lock=False, keep_open=False)
        self.log.append("task_run", task=item.task.id, run=run_id)
        team = self.team
        engine = Engine(
            team,
            BatchProvider(self.collector, index),
            self.builder,
            recorder,
            self.models,
            self.prices,
            self.limits,
            store=self.store,
            model_override=self.options.model,
            max_tokens=self.max_tokens,
            today=self.clock().date().isoformat(),
            replay=replay,
            cwd=self.settings.root,
        )
        engine.start(meta)
        return engine, recorder

    async def _rounds(self, engines: list[asyncio.Task[RunResult]], executor: CountingExecutor) -> None:
        while True:
            await self.collector.settled(engines, executor)
            calls = self.collector.take()
            if not calls:
                return
            self.round += 1
            if self.stopped is not None or self._over_cap(calls):
                self._refuse(calls)
                continue
            await self._send_round(calls)

    def _over_cap(self, calls: list[PendingCall]) -> bool:
        estimate = _estimate(
            [(call.custom_id, call.request) for call in calls], self.prices, RequestEncoder(self.max_tokens)
        )
        expected = estimate.cost_usd or 0.0
        if self.spent + expected <= self.cap:
            return False
        self.stopped = (
            f"the batch's --max-cost ${self.cap:g} would be passed: ${self.spent:.4f} spent, round {self.round} "
            f"of {len(calls)} requests estimated at ${expected:.4f}"
        )
        self.log.append("stopped", round=self.round, reason=self.stopped)
        return True

    def _refuse(self, calls: list[PendingCall]) -> None:
        error = ProviderError(
            self.stopped or "stopped", kind="limit", hint="raise --max-cost, then `batch run --resume`"
        )
        for call in calls:
            if not call.future.done():
                call.future.set_exception(error)
        self._progress("stopped", len(calls), 0, 0, len(calls), self.stopped)

    async def _send_round(self, calls: list[PendingCall]) -> None:
        # A call an earlier run of this batch submitted (a resume) is collected from its batch, not sent again.
        fresh: list[PendingCall] = []
        earlier: set[str] = set()
        for call in calls:
            sent_in = None if call.retried else self.state.submitted.get(call.custom_id)
            if sent_in is None:
                fresh.append(call)
            else:
                earlier.add(sent_in)
        encoder = RequestEncoder(self.max_tokens)  # for this round only: it holds the texts it encoded
        bodies = split(encoder, [(call.custom_id, call.request) for call in fresh])
        batches = [*sorted(earlier), *[await self._submit(body) for body in bodies]]
        self._progress("submitted", len(calls), 0, len(calls), 0)
        waiting = {call.custom_id: call for call in calls}
        tally = _RoundTally()
        for batch in batches:
            await self._until_ended(batch, len(calls))
            # A batch's calls are answered as soon as its results are in: one batch's results are
            # held at a time, and its tasks go on while the next batch is read.
            for request_id, result in await self._in_pool(lambda batch=batch: self._results(batch)):  # type: ignore[misc]
                if request_id in waiting:  # a resumed batch may hold another round's calls
                    self._settle(waiting.pop(request_id), result, tally)
        for unanswered in waiting.values():
            self._settle(unanswered, None, tally)  # its batch ended without a result for it
        self.spent += tally.cost
        self.log.append(
            "round",
            round=self.round,
            requests=len(calls),
            **tally.kinds,
            failed=tally.failed,
            retried=tally.retried,
            batch_ids=sorted(batches),
            cost_usd=round(tally.cost, 6),
        )
        note = f"{tally.retried} to retry" if tally.retried else None
        self._progress("collected", len(calls), tally.kinds["succeeded"], 0, tally.failed + tally.retried, note)

    def _results(self, batch: str) -> list[tuple[str, dict[str, Any] | None]]:
        """(custom_id, result) of a batch; a result that is not an object is no result."""
        return [
            (str(item["custom_id"]), item.get("result") if isinstance(item.get("result"), dict) else None)
            for item in self.api.results(batch)
        ]

    async def _submit(self, body: BatchBody) -> str:
        view = await self._in_pool(lambda: self.api.create(body))
        batch = str(view["id"])
        custom_ids = body.custom_ids
        self.log.append("submitted", batch=batch, round=self.round, requests=custom_ids)
        self.state.submitted.update(dict.fromkeys(custom_ids, batch))
        return batch

    async def _until_ended(self, batch: str, requests: int) -> dict[str, Any]:
        wait = self.options.poll_interval
        shown: dict[str, Any] | None = None
        while True:
            view: dict[str, Any] = await self._in_pool(lambda: self.api.retrieve(batch))
            counts = view.get("request_counts")
            counts = counts if isinstance(counts, dict) else {}
            if view.get("processing_status") == "ended":
                self.log.append("ended", batch=batch, view={"request_counts": counts, "ended_at": view.get("ended_at")})
                return view
            if counts != shown:  # a line per change, not per poll
                shown = counts
                failed = sum(_count(counts, key) for key in ("errored", "expired", "canceled"))
                succeeded, processing = _count(counts, "succeeded"), _count(counts, "processing")
                self._progress("processing", requests, succeeded, processing, failed)
            await asyncio.sleep(wait)
            wait = min(wait * 2, self.options.poll_max)

    def _settle(self, call: PendingCall, result: dict[str, Any] | None, tally: _RoundTally) -> None:
        """Answer a call from its result: the answer, or the failure (sent once more in the next round
        when the failure may pass)."""
        kind = str((result or {}).get("type"))
        kind = kind if kind in tally.kinds else "errored"  # the API's four kinds; anything else fails the call
        tally.kinds[kind] += 1
        if kind == "succeeded" and result is not None:
            try:
                response = response_of(result, call.max_tokens)
            except ProviderError as unreadable:
                tally.failed += 1
                call.future.set_exception(unreadable)
                return
            tally.cost += self.prices.cost(response.model or call.request.model, response.usage) or 0.0
            call.future.set_result(response)
        elif transient(result) and not call.retried:
            tally.retried += 1
            self.collector.requeue(call)
        else:
            tally.failed += 1
            call.future.set_exception(error_of(result))

    async def _in_pool(self, work: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.api_pool, work)

    def _progress(
        self, phase: str, requests: int, succeeded: int, processing: int, failed: int, note: str | None = None
    ) -> None:
        if self.on_progress is not None:
            elapsed = time.monotonic() - self.started
            self.on_progress(
                BatchProgress(
                    self.round, phase, requests, succeeded, processing, failed, elapsed, round(self.spent, 6), note
                )
            )


async def _run_task(engine: Engine, recorder: RunRecorder, agent: AgentFile, task: str) -> RunResult:
    """One task to its end; its run record is closed as soon as it ends (a descriptor per task at most)."""
    try:
        return await engine.run(agent, task)
    finally:
        recorder.close()


@contextlib.contextmanager
def _sigterm_cancels(task: asyncio.Task[Any] | None) -> Iterator[list[bool]]:
    """While the rounds run, SIGTERM cancels them as Ctrl-C does (the loop's handler, not the CLI's,
    which would raise inside whichever task happens to run); the list says whether it came."""
    received: list[bool] = []
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)

    def stop() -> None:
        received.append(True)
        if task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, stop)
        installed = True
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread: the caller's handler stays
        installed = False
    try:
        yield received
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGTERM)
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def _count(counts: dict[str, Any], key: str) -> int:
    """One of a batch's request_counts (0 for anything but a whole number: the view is the API's)."""
    value = counts.get(key)
    return value if isinstance(value, int) and value >= 0 else 0


def _exit_code(codes: list[int], failed_upfront: int, stopped: str | None) -> int:
    if stopped is not None or ExitCode.BUDGET in codes:
        return ExitCode.BUDGET
    if failed_upfront or any(code != ExitCode.OK for code in codes):
        return ExitCode.PROBLEMS
    return ExitCode.OK


# --- reading ---------------------------------------------------------------------------------------


def batch_summary(settings: Settings, batch_id: str) -> dict[str, Any]:
    """The batch as one document: its rounds, its cost, and every task's status, calls and cost."""
    from agentctl.runs import load_run

    directory = batch_record.batch_directory(settings.root, batch_id)
    state = batch_record.read_state(directory)
    tasks = []
    total = 0.0
    by_agent: dict[str, dict[str, Any]] = {}
    for task in state.meta.get("tasks", []):
        runs = state.task_runs.get(task["id"], [])
        row = {"id": task["id"], "task": task["task"], "agent": task.get("agent"), "status": "pending", "calls": 0}
        row |= {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0, "run_id": runs[-1] if runs else None}
        row["error"] = None
        for run_id in runs:
            run = load_run(settings.runs_dir, run_id)
            _add_run(row, run)
            _add_agents(by_agent, run)
        total += row["cost_usd"] or 0.0
        tasks.append(row)
    finished = state.finished or {}
    return {
        "batch_id": batch_id,
        "created_at": state.meta.get("created_at"),
        "status": "finished" if state.finished else ("stopped" if state.stopped else "running"),
        "exit_code": finished.get("exit_code"),
        "stopped": state.stopped,
        "cost_usd": round(total, 6),
        "max_cost_usd": state.meta.get("max_cost"),
        "limits": state.meta.get("limits"),
        "rounds": state.rounds,
        "by_agent": sorted(by_agent.values(), key=lambda item: -float(item["cost_usd"])),
        "api_batches": state.api_batches,
        "tasks": tasks,
        "problems": state.problems,
    }


def _add_run(row: dict[str, Any], run: Any) -> None:
    summary = run.summary()
    row["agent"] = row["agent"] or summary.agent
    row["status"] = STATUS_OF_RUN.get(run.status, "pending")
    # A call a killed run left running is answered in the run that resumed it: counted there.
    row["calls"] += sum(1 for call in run.calls if call.spent and call.status != "running")
    row["input_tokens"] += summary.input_tokens
    row["output_tokens"] += summary.output_tokens
    row["cost_usd"] = round((row["cost_usd"] or 0.0) + (summary.cost_usd or 0.0), 6)
    row["error"] = run.reason if run.status != "ok" else None
    row["result"] = run.result


def _add_agents(by_agent: dict[str, dict[str, Any]], run: Any) -> None:
    """Add a task's calls, tokens and cost per agent (every agent its handoffs reached) to the batch's."""
    for item in run.by_agent():
        total = by_agent.setdefault(
            item.agent, {"agent": item.agent, "calls": 0, "input_tokens": 0, "output_tokens": 0}
        )
        total.setdefault("cost_usd", 0.0)
        total["calls"] += item.calls
        total["input_tokens"] += item.usage.input_tokens
        total["output_tokens"] += item.usage.output_tokens
        total["cost_usd"] = round(total["cost_usd"] + (item.cost_usd or 0.0), 6)


def batch_results(settings: Settings, batch_id: str) -> list[dict[str, Any]]:
    return [
        {key: row.get(key) for key in ("id", "agent", "status", "run_id", "result", "error")}
        for row in batch_summary(settings, batch_id)["tasks"]
    ]


def cancel_batch(
    settings: Settings, batch_id: str, environ: Mapping[str, str], api: BatchApi | None = None
) -> list[str]:
    """Ask the API to cancel the batch's API batches that have not ended; their ids."""
    directory = batch_record.batch_directory(settings.root, batch_id)
    state = batch_record.read_state(directory)
    open_batches = [batch for batch in state.api_batches if batch not in state.ended]
    if api is None and open_batches:
        from agentctl.providers.anthropic_batches import batch_api_from

        api = batch_api_from(settings.anthropic, environ)
    for batch in open_batches:
        assert api is not None
        api.cancel(batch)
    return open_batches
