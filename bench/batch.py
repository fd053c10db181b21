"""Issue #13's figures for `agentctl batch run`:

1. agentctl's own work per request and its peak memory: TASKS tasks x 3 rounds (the DB Architect
   hands off to the Backend Architect, who answers; the DB Architect concludes) against a loopback
   Message Batches API that ends every batch at once. `agentctl batch run` runs as a child process,
   so that its peak RSS (ru_maxrss) and CPU time are its own, not the server's. Budget: well under
   10 ms a request; under 200 MB for 10,000 tasks.
2. cost: the same tasks at the same tokens (every request 1,000 tokens in, 200 out) through `batch
   run` and through one `dispatch` each (the loopback Messages API). Budget: 0.5x.

    python bench/batch.py [--tasks 1000] [--dispatch-tasks 50]

The shipped team and real sockets: `batch run` speaks the Batches API with the standard library's
HTTP client (providers/anthropic_batches.py), `dispatch` the Messages API through the real anthropic
SDK (tests/batches_server.py, tests/messages_server.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
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
from tests.batches_server import BatchesServer, Outcome, prompt_text  # noqa: E402
from tests.messages_server import MessagesServer, Reply, system_text, user_text  # noqa: E402

INPUT_TOKENS, OUTPUT_TOKENS = 1000, 200
HANDOFF = (
    "My analysis.\n\n## Handoff Requests\n\n### -> Backend Architect\n**Task:** Check the API for the index\n"
    "**I need back:** findings\n\n## Continuation Plan\n1. merge\n"
)


def answer(system: str, user: str) -> str:
    if "needs your expertise while working on" in user.split("\n", 1)[0]:  # a handoff's brief
        return "The API is fine."
    return "Final: index added." if user.startswith("Continue your work on:") else HANDOFF


def copy_team(into: Path) -> Path:
    for folder in ("agents", "agents-shared", "agents-memory"):
        shutil.copytree(REPO / folder, into / folder)
    return into


def write_tasks(root: Path, count: int) -> Path:
    path = root / "tasks.jsonl"
    lines = (
        json.dumps({"task": f"Add an index for query {n}", "agent": "db-architect", "id": f"q{n}"})
        for n in range(count)
    )
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def batch_figures(root: Path, count: int) -> dict[str, Any]:
    def reply(params: dict[str, Any]) -> Outcome:
        text = answer(prompt_text(params), _user_of(params))
        return Outcome("succeeded", text, output_tokens=OUTPUT_TOKENS, input_tokens=INPUT_TOKENS)

    tasks = write_tasks(root, count)
    with BatchesServer(reply=reply) as server:
        environ = dict(
            os.environ, ANTHROPIC_API_KEY="bench-key-0000", ANTHROPIC_BASE_URL=server.url, PYTHONPATH=str(REPO)
        )
        command = [sys.executable, "-m", "agentctl", "batch", "run", str(tasks), "--max-cost", str(max(1000, count))]
        command += ["--poll-interval", "0.01", "--no-memory", "--format", "json"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, cwd=root, env=environ, capture_output=True, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    requests = sum(row["requests"] for row in summary["rounds"])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "tasks": count,
        "rounds": len(summary["rounds"]),
        "requests": requests,
        "submitted_twice": sum(1 for times in server.submissions.values() if times > 1),
        "wall_s": round(wall, 2),
        "wall_ms_per_request": round(1000 * wall / requests, 3),
        "cpu_ms_per_request": round(1000 * cpu / requests, 3),
        "peak_rss_mb": round(after.ru_maxrss / 1024, 1),  # the largest child so far: run this bench alone
        "cost_usd": summary["cost_usd"],
        "cost_per_task_usd": round(summary["cost_usd"] / count, 6),
    }


def _user_of(params: dict[str, Any]) -> str:
    content = params["messages"][0]["content"]
    return content if isinstance(content, str) else json.dumps(content)


def dispatch_figures(root: Path, count: int) -> dict[str, Any]:
    def reply(body: dict[str, Any], headers: dict[str, str]) -> Reply:
        return Reply(answer(system_text(body), user_text(body)), input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS)

    total = 0.0
    calls = 0
    with MessagesServer(reply=reply) as server:
        environ = {"ANTHROPIC_API_KEY": "bench-key-0000", "ANTHROPIC_BASE_URL": server.url}
        settings = load_settings(cwd=root, environ={})
        for n in range(count):
            options = DispatchOptions("db-architect", f"Add an index for query {n}", limits=Limits(), memory=False)
            record = run_dispatch(settings, options, environ).record
            total += record["total"]["cost_usd"]
            calls += len(record["calls"])
    return {"tasks": count, "calls": calls, "cost_usd": round(total, 6), "cost_per_task_usd": round(total / count, 6)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--dispatch-tasks", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        batch = batch_figures(copy_team(Path(scratch) / "batch"), args.tasks)
        dispatch = dispatch_figures(copy_team(Path(scratch) / "dispatch"), args.dispatch_tasks)
    print(json.dumps({"batch": batch, "dispatch": dispatch}, indent=2))
    ratio = batch["cost_per_task_usd"] / dispatch["cost_per_task_usd"]
    print(
        f"batch run: {batch['tasks']} tasks x {batch['rounds']} rounds = {batch['requests']} requests; "
        f"agentctl's own time {batch['wall_ms_per_request']} ms/request wall, {batch['cpu_ms_per_request']} ms CPU "
        f"(budget: well under 10 ms); peak RSS {batch['peak_rss_mb']} MB; sent twice: {batch['submitted_twice']}"
    )
    print(
        f"cost per task at the same tokens: batch ${batch['cost_per_task_usd']:.6f} vs dispatch "
        f"${dispatch['cost_per_task_usd']:.6f}: {ratio:.3f}x (budget: 0.5x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
