"""The figures of `--provider claude-code` (each agent call one headless `claude -p` session):

1. agentctl's overhead per call: the time from the start to the first request reaching the
   loopback Messages API, and from the last response to the result, beside a bare
   `claude -p --agents FILE --agent NAME` with the same agent and prompt, interleaved in one run.
   Budget: at most 1.1x. Four ways of running the same call:
     a   bare: `claude -p --output-format stream-json --verbose --agents FILE --agent db-architect`,
         the JSON file agentctl writes (agentctl.export), agentctl's prompt on stdin;
     a'  the same binary with agentctl's own command line (captured: --append-system-prompt with
         the team block and memory notes, --permission-mode plan, --max-turns, --max-budget-usd):
         what Claude Code itself does with agentctl's flags;
     b   `python -m agentctl dispatch db-architect T --provider claude-code --format json`, the
         whole process (interpreter, imports, team, record, the call, the record's last writes);
     c   the provider inside a run (run_dispatch in this process): call_started -> first request,
         last response -> call_finished. What agentctl adds to each call. Split further at the
         provider's spawn and at the moment it has seen the process exit (the bench wraps
         asyncio.create_subprocess_exec and the provider's _stop): agentctl's own work per call.
   Clocks: time.monotonic() everywhere (the server runs in this process and stamps each request's
   arrival and the end of its response with it). The answer is instant: every millisecond is
   Claude Code's and agentctl's. Paired differences (c - a within one repetition) and the split
   of c say more than the ratio of medians on a shared VM, where the start-up of one `claude -p`
   swings by 100-200 ms from run to run.
2. parallel handoffs through Claude Code: bench/dispatch.py's run (the orchestrator asks for four
   handoffs, every reply takes 1 s at the server, --parallel 4) with each call a Claude Code session,
   against its critical path: the three sessions in a row (the orchestrator's first call, one
   delegate, the orchestrator's continuation, which resumes its session), each run bare with the
   same 1 s reply. Budget: at most 1.2x. Also the four delegates' sessions started at once with no
   agentctl (the slowest): what the machine itself does to a wave of Claude Code start-ups.
3. a session of the shipped team (the orchestrator reads the team protocol, asks DB Architect and
   Backend Architect, DB Architect greps its notes, the continuation answers), run through
   `agentctl dispatch --provider claude-code` and, with the same scripted replies and the same
   token estimates at the server, through `--provider anthropic`: calls, requests, tokens, cost.
   `--record FILE` writes it as markdown (docs/claude-code-session.md).

    python bench/claude_code.py [--runs 15] [--parallel-runs 5] [--delay 1.0]
    python bench/claude_code.py --only session --record docs/claude-code-session.md

Needs the claude binary (`pip install ".[claude-code]"`, $CLAUDE_BIN or `claude` on PATH). HOME is a
temporary folder; no traffic leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agentctl import export  # noqa: E402
from agentctl.config import load_settings  # noqa: E402
from agentctl.dispatch import DispatchOptions, run_dispatch  # noqa: E402
from agentctl.engine import Limits  # noqa: E402
from agentctl.events import CallFinished, CallStarted, Event  # noqa: E402
from agentctl.providers import claude_code as provider_module  # noqa: E402
from agentctl.providers.base import Usage  # noqa: E402
from agentctl.providers.pricing import PriceTable  # noqa: E402
from agentctl.team import load_team  # noqa: E402
from tests.claude_binary import find_claude  # noqa: E402
from tests.messages_server import MessagesServer, RecordedRequest, Reply, ToolUse, system_text, user_text  # noqa: E402

TEAM_FOLDERS = ("agents", "agents-shared", "agents-memory", "templates")
OVERHEAD_AGENT = "db-architect"
OVERHEAD_TASK = "Review the index on transcription_words"
PARALLEL_TASK = "Review the render pipeline plan"  # bench/dispatch.py's run
HANDOFF_TARGETS = ["DB Architect", "Backend Architect", "Security Auditor", "Performance Engineer"]
CONTINUATION = "Continue your work on:"  # templates/continuation.md.j2 starts so
# A phrase of each agent's body: Claude Code's requests carry it in the system prompt (--agent), as
# the API provider's do (the agent block).
ORCHESTRATOR = "You are the **Engineering Lead**"
DB_ARCHITECT = "You are a **Senior Database Engineer**"
BACKEND_ARCHITECT = "You are a Senior Python Engineer"
A_PRIME = "a'"  # the bare binary with agentctl's command line
BUDGET_OVERHEAD = 1.1
BUDGET_PARALLEL = 1.2


# --- the set-up ---------------------------------------------------------------------------------------


@dataclass
class Lab:
    """A copy of the shipped team, a HOME, the claude binary and the loopback server's environment."""

    folder: Path
    claude: str
    root: Path = field(init=False)
    home: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root = self.folder / "team"
        for name in TEAM_FOLDERS:
            shutil.copytree(REPO / name, self.root / name)
        self.home = self.folder / "home"
        self.home.mkdir()

    def environ(self, server: MessagesServer, binary: str | None = None) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "sk-ant-loopback-0000",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "AGENTCTL_CLAUDE_BIN": binary or self.claude,
        }

    def agents_file(self) -> Path:
        """The team as `claude --agents` JSON, as agentctl writes it (agentctl.export)."""
        path = self.folder / "agents.json"
        if not path.is_file():
            path.write_text(export.dumps(export.agents_json(load_team(load_settings(cwd=self.root, environ={})))))
        return path

    def bare_argv(self, agent: str, *extra: str) -> list[str]:
        head = [self.claude, "-p", "--output-format", "stream-json", "--verbose"]
        return [*head, "--agents", str(self.agents_file()), "--agent", agent, *extra]


@dataclass
class Session:
    """One `claude -p` process: when it started, printed its result and exited, and its CPU time."""

    started: float
    result_at: float
    exited: float
    cpu: float
    result: dict[str, Any]

    @property
    def wall(self) -> float:
        return self.exited - self.started


def run_claude(argv: Sequence[str], prompt: str, cwd: Path, environ: Mapping[str, str]) -> Session:
    started = time.monotonic()
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=cwd, env=dict(environ)
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(prompt.encode())
    process.stdin.close()
    result: dict[str, Any] = {}
    result_at = 0.0
    for line in process.stdout:
        if line.strip():
            event = json.loads(line)
            if event.get("type") == "result":
                result, result_at = event, time.monotonic()
    _, status, usage = os.wait4(process.pid, 0)
    exited = time.monotonic()
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    if result.get("subtype") != "success":
        raise SystemExit(f"claude -p failed (exit {process.returncode}): {result or 'no result'}")
    return Session(started, result_at, exited, usage.ru_utime + usage.ru_stime, result)


def spans(requests: Sequence[RecordedRequest], started: float, ended: float) -> tuple[float, float]:
    """(start -> first request arrived, last response finished -> end), in seconds."""
    first = min(request.arrived for request in requests)
    last = max(request.finished or 0.0 for request in requests)
    return first - started, ended - last


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


# --- 1. overhead per call -----------------------------------------------------------------------------


def capture_agentctl_call(lab: Lab, server: MessagesServer) -> tuple[list[str], str]:
    """agentctl's command line and stdin for the overhead call, through a wrapper that records them."""
    capture = lab.folder / "capture"
    capture.mkdir(exist_ok=True)
    wrapper = capture / "claude"
    argv, stdin = capture / "argv", capture / "stdin"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\0' \"$@\" > {shlex.quote(str(argv))}\n"
        f"cat > {shlex.quote(str(stdin))}\n"
        f'exec {shlex.quote(lab.claude)} "$@" < {shlex.quote(str(stdin))}\n'
    )
    wrapper.chmod(0o755)
    settings = load_settings(cwd=lab.root, environ={})
    options = DispatchOptions(OVERHEAD_AGENT, OVERHEAD_TASK, provider="claude-code")
    done = run_dispatch(settings, options, lab.environ(server, str(wrapper)))
    assert done.result.status == "ok", done.record
    arguments = argv.read_bytes().split(b"\0")[:-1]
    return [lab.claude, *(argument.decode() for argument in arguments)], stdin.read_text()


@dataclass
class Overheads:
    head: dict[str, list[float]] = field(default_factory=dict)
    tail: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    extra: dict[str, list[float]] = field(default_factory=dict)  # plain wall times and in-process stages

    def add(self, label: str, head: float, tail: float, cpu: float | None = None) -> None:
        self.head.setdefault(label, []).append(head)
        self.tail.setdefault(label, []).append(tail)
        if cpu is not None:
            self.cpu.setdefault(label, []).append(cpu)

    def note(self, label: str, value: float) -> None:
        self.extra.setdefault(label, []).append(value)


def overhead(lab: Lab, runs: int) -> dict[str, Any]:
    with MessagesServer(Reply("Findings: the index is fine.")) as server:
        environ = lab.environ(server)
        agentctl_argv, prompt = capture_agentctl_call(lab, server)
        agents_file = lab.agents_file()
        written = next((lab.root / ".agentctl" / "claude-code").glob("agents-*.json"))
        assert written.read_bytes() == agents_file.read_bytes(), "agentctl's --agents file differs from export's"
        bare = lab.bare_argv(OVERHEAD_AGENT)
        cli = [sys.executable, "-m", "agentctl", "dispatch", OVERHEAD_AGENT, OVERHEAD_TASK]
        cli += ["--provider", "claude-code", "--format", "json"]
        measured = Overheads()

        def one_bare(label: str, argv: list[str]) -> None:
            server.clear()
            session = run_claude(argv, prompt, lab.root, environ)
            head, tail = spans(server.wait_for(1, finished=True), session.started, session.exited)
            measured.add(label, head, tail, session.cpu)
            measured.note(f"{label}: result line -> exit", session.exited - session.result_at)

        def one_process() -> None:
            server.clear()
            started = time.monotonic()
            process = subprocess.Popen(
                cli, cwd=lab.root, env=environ, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
            assert process.stdout is not None
            out = process.stdout.read()
            _, status, usage = os.wait4(process.pid, 0)
            exited = time.monotonic()
            process.returncode = os.waitstatus_to_exitcode(status)
            process.stdout.close()
            assert json.loads(out)["status"] == "ok", out[:500]
            head, tail = spans(server.wait_for(1, finished=True), started, exited)
            measured.add("b", head, tail, usage.ru_utime + usage.ru_stime)

        def one_in_process() -> None:
            server.clear()
            stamps: dict[str, float] = {}

            def on_event(event: Event) -> None:
                if isinstance(event, CallStarted | CallFinished):
                    stamps[event.kind] = time.monotonic()

            # Where agentctl hands over to the process and gets it back: the provider's spawn, and its
            # _stop, which runs once it has read the stream to its end and seen the process exit.
            spawn, stop = asyncio.create_subprocess_exec, provider_module._stop

            async def spawn_stamped(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
                stamps["spawn"] = time.monotonic()
                return await spawn(*args, **kwargs)

            async def stop_stamped(process: asyncio.subprocess.Process) -> None:
                stamps.setdefault("exited", time.monotonic())
                await stop(process)

            before_self = resource.getrusage(resource.RUSAGE_SELF)
            before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
            asyncio.create_subprocess_exec = spawn_stamped
            provider_module._stop = stop_stamped
            try:
                started = time.monotonic()
                settings = load_settings(cwd=lab.root, environ={})
                options = DispatchOptions(OVERHEAD_AGENT, OVERHEAD_TASK, provider="claude-code")
                done = run_dispatch(settings, options, environ, on_event)
                returned = time.monotonic()
            finally:
                asyncio.create_subprocess_exec = spawn
                provider_module._stop = stop
            after_self = resource.getrusage(resource.RUSAGE_SELF)
            after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
            assert done.result.status == "ok", done.record
            requests = server.wait_for(1, finished=True)
            head, tail = spans(requests, stamps["call_started"], stamps["call_finished"])
            cpu = sum(
                getattr(after, name) - getattr(before, name)
                for before, after in ((before_self, after_self), (before_children, after_children))
                for name in ("ru_utime", "ru_stime")
            )
            measured.add("c", head, tail, cpu)
            measured.note("c: run_dispatch -> call_started", stamps["call_started"] - started)
            measured.note("c: call_finished -> run_dispatch returned", returned - stamps["call_finished"])
            measured.note("c: requests per call", len(requests))
            measured.note("c: call_started -> spawn", stamps["spawn"] - stamps["call_started"])
            measured.note("c: spawn -> first request", requests[0].arrived - stamps["spawn"])
            measured.note("c: last response -> exit seen", stamps["exited"] - (requests[-1].finished or 0.0))
            measured.note("c: exit seen -> call_finished", stamps["call_finished"] - stamps["exited"])

        def wall(label: str, argv: list[str]) -> None:
            started = time.monotonic()
            subprocess.run(argv, cwd=lab.root, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            measured.note(label, time.monotonic() - started)

        plain = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -m agentctl --version": [sys.executable, "-m", "agentctl", "--version"],
            "python -m agentctl dispatch --dry-run": [*cli[:6], "--dry-run", "--provider", "claude-code"],
        }
        # Warm up: the first session in a fresh HOME, bytecode, the in-process imports.
        one_bare("a", bare)
        one_bare(A_PRIME, agentctl_argv)
        one_process()
        one_in_process()
        measured = Overheads()
        for _ in range(runs):
            one_bare("a", bare)
            one_bare(A_PRIME, agentctl_argv)
            one_process()
            one_in_process()
            for label, argv in plain.items():
                wall(label, argv)
    return {"measured": measured, "agentctl_argv": agentctl_argv, "prompt": prompt, "bare_argv": bare}


def print_overhead(found: dict[str, Any], runs: int) -> dict[str, float]:
    measured: Overheads = found["measured"]
    head = {label: median(values) for label, values in measured.head.items()}
    tail = {label: median(values) for label, values in measured.tail.items()}
    cpu = {label: median(values) for label, values in measured.cpu.items()}
    extra = {label: median(values) for label, values in measured.extra.items()}
    names = {
        "a": "a  claude -p, bare (--agents FILE --agent NAME)",
        "a'": "a' claude -p, agentctl's command line",
        "b": "b  agentctl dispatch, the whole process",
        "c": "c  agentctl, per call (call_started/finished)",
    }

    def ratios(values: dict[str, float], label: str) -> str:
        if label == "a":
            return f"{'':>14}"
        return f"{values[label] / values['a']:5.2f}x {values[label] / values[A_PRIME]:5.2f}x"

    print(f"1. overhead per call: {OVERHEAD_AGENT}, one request, instant reply; medians of {runs} interleaved runs")
    print(f"   {'':<47} {'start -> 1st request':^31}   {'last response -> result':^31}   {'CPU':>7}")
    columns = f"{'median':>10} {'/a':>6} {'/' + A_PRIME:>6}"
    print(f"   {'':<47} {columns}    {columns}")
    for label, name in names.items():
        print(
            f"   {name:<47} {ms(head[label])}  {ratios(head, label)}    {ms(tail[label])}  {ratios(tail, label)}   "
            f"{cpu[label] * 1000:5.0f} ms"
        )
    total = {label: head[label] + tail[label] for label in names}
    together = ", ".join(
        f"{label} {total[label] / total['a']:.2f}x (/{A_PRIME} {total[label] / total[A_PRIME]:.2f}x)"
        for label in ("b", "c")
    )
    print(f"   both spans together, ratio to a: {together}; budget {BUDGET_OVERHEAD}x")
    spread = {label: (min(values), max(values)) for label, values in measured.head.items()}
    print(
        "   start -> 1st request, min..max: "
        + ", ".join(f"{label} {low * 1000:.0f}..{high * 1000:.0f} ms" for label, (low, high) in spread.items())
    )

    def paired(values: dict[str, list[float]], label: str, against: str) -> float:
        return median([one - other for one, other in zip(values[label], values[against], strict=True)])

    print(
        "   paired differences (the same repetition, median): start "
        + ", ".join(
            f"{label}-{against} {paired(measured.head, label, against) * 1000:+.1f} ms"
            for label, against in (("c", "a"), ("c", A_PRIME), ("b", "a"))
        )
        + "; end "
        + ", ".join(
            f"{label}-{against} {paired(measured.tail, label, against) * 1000:+.1f} ms"
            for label, against in (("c", "a"), ("c", A_PRIME), ("b", "a"))
        )
    )
    own = extra["c: call_started -> spawn"] + extra["c: exit seen -> call_finished"]
    print(
        f"   c, split at the spawn and at agentctl seeing the exit: call_started -> spawn "
        f"{ms(extra['c: call_started -> spawn'])}, spawn -> 1st request {ms(extra['c: spawn -> first request'])}; "
        f"last response -> exit seen {ms(extra['c: last response -> exit seen'])}, exit seen -> call_finished "
        f"{ms(extra['c: exit seen -> call_finished'])}: agentctl's own work {ms(own)} a call"
    )
    before = extra["c: run_dispatch -> call_started"]
    after = extra["c: call_finished -> run_dispatch returned"]
    print(
        f"   b's extra start, {ms(head['b'] - head['c'])} (b - c): python -c pass {ms(extra['python -c pass'])}; "
        f"python -m agentctl --version {ms(extra['python -m agentctl --version'])}; "
        f"agentctl dispatch --dry-run {ms(extra['python -m agentctl dispatch --dry-run'])}; "
        f"in a warm process run_dispatch -> call_started {ms(before)}"
    )
    print(
        f"   b's extra end, {ms(tail['b'] - tail['c'])} (b - c): in a warm process call_finished -> run_dispatch "
        f"returned {ms(after)}; the rest is the JSON document and the interpreter's exit"
    )
    print(
        f"   claude -p writes its result {ms(extra['a: result line -> exit'])} before it exits (a); "
        f"requests per call: {extra['c: requests per call']:.0f}"
    )
    return {
        **{f"head_{label}": value for label, value in head.items()},
        **{f"tail_{label}": value for label, value in tail.items()},
    }


# --- 2. parallel handoffs -----------------------------------------------------------------------------


def handoff_answer() -> str:
    blocks = "\n".join(
        f"### -> {target}\n**Task:** Review part {index} of the plan\n**I need back:** findings\n"
        for index, target in enumerate(HANDOFF_TARGETS, start=1)
    )
    return f"My analysis.\n\n## Handoff Requests\n\n{blocks}\n## Continuation Plan\n1. merge the findings\n"


def parallel_script(delay: float) -> Callable[[dict[str, Any], dict[str, str]], Reply]:
    """bench/dispatch.py's replies, every one `delay` seconds, told apart by the agent's body."""

    def reply(body: dict[str, Any], headers: dict[str, str]) -> Reply:
        if ORCHESTRATOR in system_text(body):
            final = CONTINUATION in user_text(body)
            return Reply("Final answer." if final else handoff_answer(), delay=delay)
        return Reply("Findings.", delay=delay)

    return reply


def parallel(lab: Lab, runs: int, delay: float) -> dict[str, Any]:
    whole: list[float] = []
    critical: list[float] = []
    bare: dict[str, list[float]] = {}  # the three bare sessions of the critical path
    inside: dict[str, list[float]] = {}  # the run's calls, call_started -> call_finished
    cpu: list[float] = []
    wave: list[float] = []  # four bare delegate sessions started at once: the slowest one
    requests = 0
    with MessagesServer(reply=parallel_script(delay)) as server:
        environ = lab.environ(server)

        def whole_run() -> tuple[float, dict[str, float], int]:
            server.clear()
            started_at: dict[str, float] = {}
            latency: dict[str, float] = {}
            modes: dict[str, str] = {}

            def on_event(event: Event) -> None:
                if isinstance(event, CallStarted):
                    started_at[event.call_id] = time.monotonic()
                    modes[event.call_id] = event.mode
                elif isinstance(event, CallFinished):
                    latency[event.call_id] = time.monotonic() - started_at[event.call_id]

            settings = load_settings(cwd=lab.root, environ={})
            options = DispatchOptions(
                "orchestrator", PARALLEL_TASK, provider="claude-code", limits=Limits(parallel=4), memory=False
            )
            start = time.monotonic()
            done = run_dispatch(settings, options, environ, on_event)
            elapsed = time.monotonic() - start
            assert done.result.status == "ok", done.record
            delegates = [latency[call] for call, mode in modes.items() if mode == "handoff"]
            calls = {
                "first call": next(latency[call] for call, mode in modes.items() if mode == "fresh"),
                "slowest delegate": max(delegates),
                "fastest delegate": min(delegates),
                "continuation": next(latency[call] for call, mode in modes.items() if mode == "continuation"),
            }
            return elapsed, calls, len(server.requests)

        def bare_path() -> float:
            first = run_claude(lab.bare_argv("orchestrator"), PARALLEL_TASK, lab.root, environ)
            delegate = run_claude(lab.bare_argv("db-architect"), "Review part 1 of the plan", lab.root, environ)
            session_id = str(first.result["session_id"])
            follow_up = f"{CONTINUATION} {PARALLEL_TASK}\n\nHandoff results:\n\nFindings.\n"
            resumed = run_claude(lab.bare_argv("orchestrator", "--resume", session_id), follow_up, lab.root, environ)
            for label, session in (("first call", first), ("delegate", delegate), ("continuation", resumed)):
                bare.setdefault(label, []).append(session.wall)
            cpu.append(delegate.cpu)
            return first.wall + delegate.wall + resumed.wall

        def bare_wave() -> float:
            """The four delegates' sessions started at once, bare: the slowest one's wall time."""
            agents = ["db-architect", "backend-architect", "security-auditor", "performance-engineer"]
            with ThreadPoolExecutor(len(agents)) as pool:
                done = list(
                    pool.map(
                        lambda pair: run_claude(
                            lab.bare_argv(pair[1]), f"Review part {pair[0]} of the plan", lab.root, environ
                        ),
                        enumerate(agents, start=1),
                    )
                )
            return max(one.exited for one in done) - min(one.started for one in done)

        whole_run()  # warm up
        bare_path()
        bare.clear()
        cpu.clear()
        for _ in range(runs):
            elapsed, calls, requests = whole_run()
            whole.append(elapsed)
            for label, value in calls.items():
                inside.setdefault(label, []).append(value)
            critical.append(bare_path())
            wave.append(bare_wave())
    return {
        "whole": whole,
        "critical": critical,
        "bare": bare,
        "inside": inside,
        "cpu": cpu,
        "wave": wave,
        "requests": requests,
    }


def print_parallel(found: dict[str, Any], runs: int, delay: float) -> dict[str, float]:
    whole, critical = median(found["whole"]), median(found["critical"])
    bare = {label: median(values) for label, values in found["bare"].items()}
    inside = {label: median(values) for label, values in found["inside"].items()}
    print(
        f"2. parallel handoffs through Claude Code: the orchestrator asks for 4, every reply {delay:.1f} s, "
        f"--parallel 4, {found['requests']} requests a run; medians of {runs} interleaved runs"
    )
    print(
        f"   whole run {whole:.3f} s (min {min(found['whole']):.3f}, max {max(found['whole']):.3f}); critical path "
        f"{critical:.3f} s (min {min(found['critical']):.3f}, max {max(found['critical']):.3f}): ratio "
        f"{whole / critical:.3f} (budget {BUDGET_PARALLEL})"
    )
    print(
        f"   critical path = three bare sessions in a row: first call {bare['first call']:.3f} + delegate "
        f"{bare['delegate']:.3f} + continuation (--resume) {bare['continuation']:.3f} s"
    )
    print(
        f"   the same calls inside the run: first call {inside['first call']:.3f}, delegates "
        f"{inside['fastest delegate']:.3f}..{inside['slowest delegate']:.3f}, continuation "
        f"{inside['continuation']:.3f} s (call_started -> call_finished)"
    )
    wave = median(found["wave"])
    loaded = bare["first call"] + wave + bare["continuation"]
    print(
        f"   four bare delegate sessions started at once (no agentctl): the slowest {wave:.3f} s, against "
        f"{bare['delegate']:.3f} s alone; a bare session's CPU time {median(found['cpu']) * 1000:.0f} ms, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"   the critical path with that wave in the middle {loaded:.3f} s: whole run / it {whole / loaded:.3f}; "
        f"model time alone {3 * delay:.1f} s (whole run / model time {whole / (3 * delay):.2f})"
    )
    return {"whole": whole, "critical": critical, "ratio": whole / critical}


# --- 3. a session of the shipped team, and what it costs ----------------------------------------------

SESSION_TASK = "Let editors search a transcript for a word and jump to it"
READING = "I'll read the team protocol first: its roster decides who owns which part."
PLAN = """The task has a database part (finding words in `transcription_words`) and an API part (an
endpoint the editor calls). The roster's owners are DB Architect and Backend Architect; neither needs
the other's output, so both go out in the first wave.

## Handoff Requests

### -> DB Architect
**Task:** Propose the query and index for finding a word in one transcription (case-insensitive prefix match), and the migration if one is needed.
**Context from my analysis:** the editor searches as the user types; a 62-minute webinar has ~9,300 words.
**I need back:** the query, the index it uses, the expected plan, and the migration's risks.

### -> Backend Architect
**Task:** Design the search endpoint for one transcription's words: parameters, response, pagination.
**Context from my analysis:** the editor jumps to the first match's `start_ms`.
**I need back:** the route, the service and repository functions, and the response schema.

## Continuation Plan
1. Check that the repository function runs DB Architect's query.
2. Merge both answers into one plan with owners and an order of work.
"""
CHECKING = "Checking my notes on transcription_words before proposing anything."
GREP = "grep -rn transcription_words agents-memory/db-architect"
DB_ANSWER = """No new index. Search always stays inside one transcription, and the partial index
`ix_transcription_words_tid_start (transcription_id, start_ms) WHERE is_deleted = false` (my note of
2026-01-19) already narrows it to that transcription's rows:

    SELECT id, word, start_ms, end_ms FROM transcription_words
    WHERE transcription_id = :tid AND is_deleted = false AND lower(word) LIKE :prefix
    ORDER BY start_ms LIMIT 50;

Expected plan: Index Scan using ix_transcription_words_tid_start, filter on lower(word), at most
~9,300 rows read: under 5 ms. Escape `%` and `_` in the user's text before appending `%`.
Migration: none. A pg_trgm GIN index pays off only for search across transcriptions."""
BACKEND_ANSWER = """`GET /api/v1/transcription/{transcription_id}/words/search?q=<text>&limit=50` (q: 1-64
characters, stripped; limit at most 200). The router checks ownership as the words endpoint does and
calls `TranscriptionService.search_words(transcription_id, q, limit)`, which calls
`WordRepository.search(...)`. Response: `{"items": [{"id", "word", "start_ms", "end_ms"}],
"truncated": bool}`, ordered by `start_ms`. No keyset pagination: 50 matches are one screen, and
`truncated` tells the editor to ask for a longer query. Regenerate the frontend's API types after."""
FINAL = """## Plan: search a transcript for a word

1. **Database (DB Architect):** no migration. `WordRepository.search` runs a prefix match on
   `lower(word)` within one transcription, served by `ix_transcription_words_tid_start`: under 5 ms
   at 9,300 words. Escape `%` and `_` in the query text.
2. **API (Backend Architect):** `GET /api/v1/transcription/{transcription_id}/words/search?q=&limit=50`
   returns `{items, truncated}` ordered by `start_ms`; ownership checked as for the words endpoint.
3. **Frontend (next):** regenerate the API types; the editor jumps to `items[0].start_ms`.

Open question: search across all of a user's transcriptions needs a pg_trgm GIN index; out of scope."""


def after_tool(body: dict[str, Any]) -> bool:
    """The request answers a tool use: its last user message carries a tool_result. (Claude Code
    2.1.332 ends its messages with a `system` one, its reminders.)"""
    users = [message for message in body.get("messages") or [] if message.get("role") == "user"]
    content = users[-1].get("content") if users else None
    return isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in content
    )


def session_script(root: Path) -> Callable[[dict[str, Any], dict[str, str]], Reply]:
    """The same model replies for either provider; the tool turns exist where tools do (Claude Code)."""
    protocol = str(root / "agents-shared" / "team-protocol.md")

    def reply(body: dict[str, Any], headers: dict[str, str]) -> Reply:
        system, user = system_text(body), user_text(body)
        tools = bool(body.get("tools"))
        if ORCHESTRATOR in system:
            if CONTINUATION in user:
                return Reply(FINAL)
            if tools and not after_tool(body):
                return Reply(READING, tool_uses=[ToolUse("Read", {"file_path": protocol})])
            return Reply(PLAN)
        if DB_ARCHITECT in system:
            if tools and not after_tool(body):
                return Reply(CHECKING, tool_uses=[ToolUse("Bash", {"command": GREP, "description": "Search my notes"})])
            return Reply(DB_ANSWER)
        if BACKEND_ARCHITECT in system:
            return Reply(BACKEND_ANSWER)
        raise LookupError("a request outside the script")

    return reply


@dataclass
class Recorded:
    provider: str
    command: list[str]
    exit_code: int
    stdout: str
    stderr: str
    run: dict[str, Any]
    requests: list[RecordedRequest]
    wall: float


def record_session(lab: Lab, provider: str) -> Recorded:
    with MessagesServer(reply=session_script(lab.root)) as server:
        command = ["agentctl", "dispatch", "orchestrator", SESSION_TASK, "--provider", provider]
        started = time.monotonic()
        process = subprocess.run(
            [sys.executable, "-m", "agentctl", *command[1:]],
            cwd=lab.root,
            env=lab.environ(server),
            capture_output=True,
            text=True,
        )
        wall = time.monotonic() - started
        if server.errors:
            raise SystemExit(f"{provider}: the script did not cover a request: {server.errors}")
        found = re.search(r"^run (\S+):", process.stderr, re.M)
        if found is None:
            raise SystemExit(f"{provider}: no run id on stderr:\n{process.stderr}")
        shown = subprocess.run(
            [sys.executable, "-m", "agentctl", "runs", "show", found.group(1), "--format", "json"],
            cwd=lab.root,
            env=lab.environ(server),
            capture_output=True,
            text=True,
            check=True,
        )
        requests = list(server.requests)
    return Recorded(
        provider, command, process.returncode, process.stdout, process.stderr, json.loads(shown.stdout), requests, wall
    )


@dataclass
class Costs:
    calls: int
    requests: int
    input_tokens: int
    output_tokens: int
    ledger: float  # the run's total as agentctl recorded it
    priced: float  # the same tokens at agentctl's price table, call by call
    server_input: int  # input tokens the server reported, summed over its requests (the cross-check)
    models: list[str]
    first_requests: dict[str, dict[str, int]]  # each agent's first request (fresh or handoff call)


AGENT_MARKERS = {"orchestrator": ORCHESTRATOR, "db-architect": DB_ARCHITECT, "backend-architect": BACKEND_ARCHITECT}


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content or [] if isinstance(block, dict))


def first_requests(requests: Sequence[RecordedRequest]) -> dict[str, dict[str, int]]:
    """Each agent's first request of a fresh or handoff call: its tokens (bytes / 4), and the parts
    Claude Code adds: its tool definitions and its `system` messages (environment, plan mode, agents)."""
    found = {}
    for request in requests:
        body = request.body
        if any(message.get("role") == "assistant" for message in body["messages"]) or CONTINUATION in user_text(body):
            continue
        for agent, marker in AGENT_MARKERS.items():
            if marker in system_text(body):
                found[agent] = {
                    "request": max(1, len(request.raw) // 4),
                    "tools": len(json.dumps(body.get("tools") or [])) // 4,
                    "context": sum(
                        len(json.dumps(message_text(message))) // 4
                        for message in body["messages"]
                        if message.get("role") == "system"
                    ),
                }
    return found


def costs(recorded: Recorded, prices: PriceTable) -> Costs:
    calls = recorded.run["calls"]
    total = recorded.run["total"]
    priced = sum(prices.cost(call["model"], Usage.from_counts(call["usage"])) or 0.0 for call in calls)
    server_input = sum(max(1, len(request.raw) // 4) for request in recorded.requests)
    return Costs(
        len(calls),
        len(recorded.requests),
        total["input_tokens"] + total["cache_read_input_tokens"] + total["cache_creation_input_tokens"],
        total["output_tokens"],
        float(total["cost_usd"] or 0.0),
        priced,
        server_input,
        sorted({call["model"] for call in calls}),
        first_requests(recorded.requests),
    )


def minimal_request(lab: Lab) -> dict[str, int]:
    """Claude Code's floor: the one request of a bare `claude -p` for an agent with a one-line body and
    no `tools:` (so every tool of Claude Code's), in the default permission mode."""
    path = lab.folder / "minimal.json"
    path.write_text(json.dumps({"minimal": {"description": "Answers in one word.", "prompt": "Answer in one word."}}))
    with MessagesServer(Reply("Yes.")) as server:
        argv = [lab.claude, "-p", "--output-format", "stream-json", "--verbose", "--agents", str(path)]
        run_claude([*argv, "--agent", "minimal"], "Ready?", lab.root, lab.environ(server))
        (request,) = server.wait_for(1, finished=True)
    body = request.body
    context = sum(
        len(json.dumps(message_text(message))) // 4 for message in body["messages"] if message.get("role") == "system"
    )
    return {
        "request": max(1, len(request.raw) // 4),
        "tools": len(json.dumps(body.get("tools") or [])) // 4,
        "context": context,
        "tool_count": len(body.get("tools") or []),
    }


def session(lab: Lab) -> dict[str, Any]:
    claude_code = record_session(lab, "claude-code")
    api = record_session(lab, "anthropic")
    prices = PriceTable()
    return {
        "claude-code": claude_code,
        "anthropic": api,
        "costs": {"claude-code": costs(claude_code, prices), "anthropic": costs(api, prices)},
        "minimal": minimal_request(lab),
    }


def request_rows(found: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """The first request of each call, through each provider, and Claude Code's parts of it."""
    code: Costs = found["costs"]["claude-code"]
    api: Costs = found["costs"]["anthropic"]
    rows = []
    for agent in (name for name in AGENT_MARKERS if name in code.first_requests):
        parts = code.first_requests[agent]
        rows.append(
            (
                f"{agent}",
                f"{api.first_requests[agent]['request']:,}",
                f"{parts['request']:,}",
                f"{parts['tools']:,}",
                f"{parts['context']:,}",
            )
        )
    minimal = found["minimal"]
    rows.append(
        (
            f"a one-line agent without `tools:` ({minimal['tool_count']} tools), bare `claude -p`",
            "",
            f"{minimal['request']:,}",
            f"{minimal['tools']:,}",
            f"{minimal['context']:,}",
        )
    )
    return rows


def times(one: float, other: float) -> str:
    return f"{one / other:.2f}×" if other else ""


def cost_rows(found: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    code: Costs = found["costs"]["claude-code"]
    api: Costs = found["costs"]["anthropic"]
    rows = [
        ("agent calls", f"{code.calls}", f"{api.calls}", times(code.calls, api.calls)),
        ("requests to the Messages API", f"{code.requests}", f"{api.requests}", times(code.requests, api.requests)),
        ("input tokens", f"{code.input_tokens:,}", f"{api.input_tokens:,}", times(code.input_tokens, api.input_tokens)),
        (
            "input tokens per request",
            f"{code.input_tokens / code.requests:,.0f}",
            f"{api.input_tokens / api.requests:,.0f}",
            times(code.input_tokens / code.requests, api.input_tokens / api.requests),
        ),
        (
            "output tokens",
            f"{code.output_tokens:,}",
            f"{api.output_tokens:,}",
            times(code.output_tokens, api.output_tokens),
        ),
        ("cost at agentctl's price table", f"${code.priced:.4f}", f"${api.priced:.4f}", times(code.priced, api.priced)),
        (
            "cost per call",
            f"${code.priced / code.calls:.4f}",
            f"${api.priced / api.calls:.4f}",
            times(code.priced / code.calls, api.priced / api.calls),
        ),
        ("cost in the run's ledger", f"${code.ledger:.4f}", f"${api.ledger:.4f}", times(code.ledger, api.ledger)),
    ]
    return rows


def claude_code_share(found: dict[str, Any]) -> tuple[int, int]:
    """The fewest and most tokens a Claude Code request carried beyond the API provider's request for
    the same call (first requests of the orchestrator, DB Architect and Backend Architect)."""
    code: Costs = found["costs"]["claude-code"]
    api: Costs = found["costs"]["anthropic"]
    extra = [
        code.first_requests[agent]["request"] - api.first_requests[agent]["request"] for agent in code.first_requests
    ]
    return min(extra), max(extra)


def resumed_costs(run: dict[str, Any], prices: PriceTable) -> dict[str, tuple[float, list[str]]]:
    """Calls whose reported cost is their own tokens' price plus the earlier calls of the same session:
    call id -> (own price, the earlier calls)."""
    found = {}
    for index, call in enumerate(run["calls"]):
        earlier = [c for c in run["calls"][:index] if c.get("session_id") and c["session_id"] == call.get("session_id")]
        own = prices.cost(call["model"], Usage.from_counts(call["usage"])) or 0.0
        if earlier and abs((call["cost_usd"] or 0.0) - own - sum(c["cost_usd"] or 0.0 for c in earlier)) < 1e-4:
            found[call["id"]] = (own, [c["id"] for c in earlier])
    return found


def print_session(found: dict[str, Any]) -> None:
    code: Costs = found["costs"]["claude-code"]
    api: Costs = found["costs"]["anthropic"]
    print("3. the shipped team's session, the same scripted replies through both providers")
    print(f"   {'':<32} {'claude-code':>12} {'anthropic':>12} {'ratio':>7}")
    for label, one, other, ratio in cost_rows(found):
        print(f"   {label:<32} {one:>12} {other:>12} {ratio:>7}")
    low, high = claude_code_share(found)
    print(
        f"   a Claude Code request carries {low:,}..{high:,} tokens more than the API provider's for the same call; "
        f"server-side input: {code.server_input:,} / {api.server_input:,}; models: {', '.join(code.models)} / "
        f"{', '.join(api.models)}"
    )
    print(f"   {'first request of':<44} {'anthropic':>10} {'claude-code':>12} {'its tools':>10} {'its context':>12}")
    for row in request_rows(found):
        print(f"   {row[0].replace('`', ''):<44} {row[1]:>10} {row[2]:>12} {row[3]:>10} {row[4]:>12}")
    print(
        f"   whole process: claude-code {found['claude-code'].wall:.2f} s, anthropic {found['anthropic'].wall:.2f} s; "
        f"exit codes {found['claude-code'].exit_code}, {found['anthropic'].exit_code}"
    )
    for call, (own, earlier) in resumed_costs(found["claude-code"].run, PriceTable()).items():
        print(
            f"   note: {call}'s cost in the ledger is its own ${own:.4f} plus {', '.join(earlier)}'s: Claude Code's "
            f"total_cost_usd for a --resume session counts the whole session"
        )


def markdown(found: dict[str, Any], lab: Lab, claude_version: str) -> str:
    code: Recorded = found["claude-code"]
    code_costs: Costs = found["costs"]["claude-code"]
    api_costs: Costs = found["costs"]["anthropic"]
    prices = PriceTable()
    model = code_costs.models[0]
    price = prices.price_of(model)
    input_price, output_price = (price.input, price.output) if price is not None else (0.0, 0.0)
    resumed = resumed_costs(code.run, prices)

    def clean(text: str) -> str:
        return text.replace(str(lab.root), "~/coffee").rstrip()

    table = ["| | `--provider claude-code` | `--provider anthropic` | ratio |", "|---|---|---|---|"]
    table += [f"| {' | '.join(row)} |" for row in cost_rows(found)]
    calls = []
    for call in code.run["calls"]:
        own = prices.cost(call["model"], Usage.from_counts(call["usage"])) or 0.0
        mark = " *" if call["id"] in resumed else ""
        calls.append(
            f"| {call['id']} | {call['agent']} | {call['mode']} | {call.get('turns') or 1} | "
            f"{call['usage']['input_tokens']:,} | {call['usage']['output_tokens']:,} | ${call['cost_usd']:.4f}{mark} | "
            f"${own:.4f} |"
        )
    tools = sorted({tool for call in code.run["calls"] for tool in call.get("tools") or []})
    low, high = claude_code_share(found)
    requests = [
        "  | first request of | `--provider anthropic` | `--provider claude-code` | its tool definitions | "
        "its `system` message |",
        "  |---|---|---|---|---|",
    ] + [f"  | {' | '.join(row)} |" for row in request_rows(found)]
    footnote = ""
    for call_id, (own, earlier) in resumed.items():
        footnote += (
            f"\n\\* {call_id} resumed {', '.join(earlier)}'s session (`--resume`), and Claude Code {claude_version} "
            f"reports a resumed session's `total_cost_usd` from the session's start: {call_id}'s own requests cost "
            f"${own:.4f}, and the rest is {', '.join(earlier)} again. The run's ledger adds it as reported, so it "
            f"counts {', '.join(earlier)} twice; the price-table column is what the requests cost.\n"
        )
    api_summary = clean(found["anthropic"].stderr).splitlines()[-1]
    ledger_note = (
        "The ledger row is what `agentctl runs show` reports; for claude-code it is the sum of Claude Code's "
        "`total_cost_usd`, which counts the resumed session's first call again (the footnote above)."
        if resumed
        else "The ledger row is what `agentctl runs show` reports (for claude-code, Claude Code's own "
        "`total_cost_usd` of each session)."
    )
    return f"""# A session of the shipped team through Claude Code

This is a **recording from a loopback Messages API** (`tests/messages_server.py`) with **scripted
model replies**: the model's words were written by hand; everything else is what the real programs
did and printed. `agentctl dispatch --provider claude-code` ran the team this repository ships
(`agents/`, `agents-shared/`, `agents-memory/`, `templates/`, copied into a temporary project) through
the real Claude Code {claude_version}, one headless `claude -p` session per call. Claude Code ran the
tools itself, in plan mode: the orchestrator read `agents-shared/team-protocol.md`, and DB
Architect's session ran `grep` over its memory notes. The server answered every request at once and
estimated the tokens (input: request bytes / 4; output: reply characters / 4), so the times below are
Claude Code's and agentctl's own. Regenerate with
`python bench/claude_code.py --only session --record docs/claude-code-session.md`.

```sh
cd ~/coffee   # the team's root
{shlex.join(code.command)}
```

stderr (progress, as a terminal that is not a TTY gets it):

```text
{clean(code.stderr)}
```

stdout (the answer; exit code {code.exit_code}):

```text
{clean(code.stdout)}
```

The calls, from `agentctl runs show RUN --format json`:

| call | agent | mode | turns | input tokens | output tokens | cost in the ledger | at agentctl's price table |
|---|---|---|---|---|---|---|---|
{chr(10).join(calls)}
{footnote}
Tools used: {", ".join(f"`{tool}`" for tool in tools) or "none"}.

## What it costs, compared with the API provider

The same conversation through `--provider anthropic`, against the same kind of loopback server with
the same scripted texts and the same token estimates. There the agents have no tools, so the two
tool turns do not happen: four calls, one request each.

{chr(10).join(table)}

The API provider's run ended with `{api_summary}`.

Both providers ran every call on {model}: each agent of this team says `model: opus`, and agentctl's
model map and Claude Code both resolve it to that id. Prices: agentctl's table
(`agentctl/data/prices.json`), ${input_price:g} per million input tokens and ${output_price:g} per
million output tokens, the list prices Claude Code applies too. {ledger_note}

Why a call through Claude Code costs more:

- **Claude Code's own parts ride on every request.** With `--agent`, the agent's body replaces
  Claude Code's long default system prompt (its system prompt is one line plus the agent's body and
  agentctl's team block), but every request also carries its tool definitions and a `system` message
  of its own: the environment, the plan-mode instructions (`--permission-mode plan`) and, for an
  agent whose tools include Agent, the list of agents it may start. Input tokens of each call's first
  request:

{chr(10).join(requests)}

  A Claude Code request carried {low:,} to {high:,} tokens more than the API provider's for the same
  call. The shipped agents name their tools; an agent without a `tools:` line gets every tool
  Claude Code has, and pays for their definitions on every request (last row).
- **One request per turn.** Each tool use is a turn, and each turn sends the whole conversation
  again: {code_costs.requests} requests for {code_costs.calls} calls here, against {api_costs.requests}.
  An agent whose First Step reads a dozen files makes a dozen requests, each carrying what it read
  before.
- The loopback server does not model prompt caching (no cache reads or writes), so both columns are
  uncached list prices. Against the real API both providers mark their stable prefix for caching,
  which discounts the repeated parts (Claude Code's included) on later requests; the request and
  token counts stay what they are.

What it buys: the agents run as they were written. They read the files their First Step names, run
read-only commands and use their own tools and MCP servers, where the API provider can only answer
from the prompt.
"""


# --- main -----------------------------------------------------------------------------------------------


def environment(claude: str) -> tuple[str, str]:
    version = subprocess.run([claude, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    described = (
        f"python {platform.python_version()}, claude {version}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.machine()}"
    )
    return described, version.split(" ")[0] if version else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="repetitions of the overhead measurement")
    parser.add_argument("--parallel-runs", type=int, default=5, help="repetitions of the parallel handoff run")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds each reply takes in the parallel run")
    parser.add_argument("--only", choices=("overhead", "parallel", "session"), action="append")
    parser.add_argument("--record", type=Path, help="write the session's recording (markdown) to this file")
    args = parser.parse_args()
    claude = find_claude()
    if claude is None:
        raise SystemExit('no claude binary: pip install ".[claude-code]" (or set CLAUDE_BIN)')
    described, version = environment(claude)
    print(described)
    chosen = set(args.only or ("overhead", "parallel", "session"))
    if args.record is not None:
        chosen.add("session")
    with tempfile.TemporaryDirectory(prefix="agentctl-bench-") as folder:
        if "overhead" in chosen:
            with tempfile.TemporaryDirectory(dir=folder) as part:
                print_overhead(overhead(Lab(Path(part), claude), args.runs), args.runs)
        if "parallel" in chosen:
            with tempfile.TemporaryDirectory(dir=folder) as part:
                print_parallel(
                    parallel(Lab(Path(part), claude), args.parallel_runs, args.delay), args.parallel_runs, args.delay
                )
        if "session" in chosen:
            with tempfile.TemporaryDirectory(dir=folder) as part:
                lab = Lab(Path(part), claude)
                found = session(lab)
                print_session(found)
                if args.record is not None:
                    args.record.write_text(markdown(found, lab, version) + "\n", "utf-8")
                    print(f"   recording written to {args.record}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
