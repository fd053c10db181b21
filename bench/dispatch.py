"""Issue #5's figures for `agentctl dispatch`:

1. parallel handoffs: one agent asks for four handoffs, every reply takes 1 s at the loopback
   Messages API; the whole run (first call, four handoffs, continuation) against its critical path
   (three calls in a row, about 3 s). Budget: at most 1.2x.
2. prompt caching: two dispatches to the same agent send byte-identical system blocks up to the
   last cache breakpoint (the server records the requests).
3. agentctl's own work per call, the SDK excluded: runs with the scripted provider (no network,
   no SDK), wall time divided by calls. Budget: under 20 ms.

    python bench/dispatch.py [--runs 5] [--delay 1.0]

Runs in-process with the real anthropic SDK over a real socket (tests/messages_server.py).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agentctl.config import load_settings  # noqa: E402
from agentctl.dispatch import DispatchOptions, run_dispatch  # noqa: E402
from agentctl.engine import Limits  # noqa: E402
from tests.messages_server import MessagesServer, Reply, user_text  # noqa: E402

HANDOFF_TARGETS = ["DB Architect", "Backend Architect", "Security Auditor", "Performance Engineer"]


def copy_team(into: Path) -> Path:
    for folder in ("agents", "agents-shared", "agents-memory"):
        shutil.copytree(REPO / folder, into / folder)
    return into


def handoff_answer() -> str:
    blocks = "\n".join(
        f"### -> {target}\n**Task:** Review part {index} of the plan\n**I need back:** findings\n"
        for index, target in enumerate(HANDOFF_TARGETS, start=1)
    )
    return f"My analysis.\n\n## Handoff Requests\n\n{blocks}\n## Continuation Plan\n1. merge the findings\n"


def parallel_run(root: Path, delay: float) -> tuple[float, int]:
    """Wall time of one dispatch whose every reply takes `delay` seconds; and its request count."""

    def reply(body: dict[str, Any], headers: dict[str, str]) -> Reply:
        user = user_text(body)
        if user.startswith("You are Orchestrator"):
            return Reply(handoff_answer(), delay=delay)
        return Reply("Final answer." if user.startswith("Continue your work on:") else "Findings.", delay=delay)

    with MessagesServer(reply=reply) as server:
        environ = {"ANTHROPIC_API_KEY": "bench-key-0000", "ANTHROPIC_BASE_URL": server.url}
        settings = load_settings(cwd=root, environ={})
        options = DispatchOptions("orchestrator", "Review the render pipeline plan", limits=Limits(), memory=False)
        start = time.perf_counter()
        dispatched = run_dispatch(settings, options, environ)
        elapsed = time.perf_counter() - start
        assert dispatched.result.status == "ok", dispatched.record
        return elapsed, len(server.requests)


def cache_identity(root: Path) -> bool:
    with MessagesServer(reply="Done.") as server:
        environ = {"ANTHROPIC_API_KEY": "bench-key-0000", "ANTHROPIC_BASE_URL": server.url}
        settings = load_settings(cwd=root, environ={})
        for task in ("Add an index on the words table", "Review the connection pool size"):
            run_dispatch(settings, DispatchOptions("db-architect", task), environ)
        one, two = (request.body["system"] for request in server.wait_for(2, finished=True))
    last = max(index for index, block in enumerate(one) if "cache_control" in block)
    return json.dumps(one[: last + 1]).encode() == json.dumps(two[: last + 1]).encode()


def overhead_per_call(root: Path) -> tuple[float, int]:
    """Scripted replies: every millisecond is agentctl's (prompts, parsing, records, memory)."""
    script = {"orchestrator": [handoff_answer(), "Final answer."], "*": ["Findings."] * 4}
    path = root / "script.json"
    path.write_text(json.dumps(script))
    settings = load_settings(cwd=root, environ={})
    options = DispatchOptions("orchestrator", "Review the render pipeline plan", provider="scripted", script=path)
    start = time.perf_counter()
    dispatched = run_dispatch(settings, options, {})
    elapsed = time.perf_counter() - start
    calls = len(dispatched.record["calls"])
    return elapsed / calls, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--delay", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = copy_team(Path(folder))
        parallel_run(root, 0.0)  # warm up: the SDK's import and first connection are not the loop's
        runs = [parallel_run(root, args.delay) for _ in range(args.runs)]
        walls = [wall for wall, _ in runs]
        critical = 3 * args.delay
        median = statistics.median(walls)
        print(f"parallel handoffs: {runs[0][1]} requests per run, each reply {args.delay:.1f} s")
        print(
            f"  whole run median {median:.3f} s (min {min(walls):.3f}, max {max(walls):.3f}, n={len(walls)}); "
            f"critical path {critical:.1f} s; ratio {median / critical:.3f} (budget 1.2); "
            f"sum of the calls {6 * args.delay:.1f} s"
        )
        print(f"prompt caching: system blocks byte-identical up to the breakpoint: {cache_identity(root)}")
        overhead_per_call(root)  # warm up: jinja2 and yaml imports
        overheads = [overhead_per_call(root) for _ in range(args.runs)]
        per_call = statistics.median(value for value, _ in overheads) * 1000
        print(
            f"agentctl's own work per call (scripted provider, {overheads[0][1]} calls a run): "
            f"median {per_call:.2f} ms (budget 20 ms)"
        )


if __name__ == "__main__":
    main()
