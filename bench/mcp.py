"""Issue 14's measure: `agentctl mcp` start to ready, and one `memory_search` round trip over stdio,
beside the same search as a CLI subprocess (`agentctl memory search ... --format json`).

    python bench/mcp.py [--runs 20] [--query "words index"]

Each run, interleaved so that machine noise hits all alike, on a copy of the shipped team: start the
server (`python -m agentctl mcp`) and time it from spawn to its answer to `initialize` (ready); time
its first `tools/call memory_search` (the search modules load then) and a second one (what every
later call of a session costs); then run the CLI search as a whole process. Prints the medians side
by side, the CLI's cost over a warm MCP call, and after how many searches a session's start-up has
paid for itself. Exits 1 when a warm MCP call is not cheaper than spawning the CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# As in _timing.py: time what users get (bytecode cached as pip leaves it).
ENVIRONMENT = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
PROTOCOL_VERSION = "2025-11-25"  # the handshake revision Claude Code 2.1.332 speaks


class Server:
    """`agentctl mcp` as a subprocess, spoken to in newline-delimited JSON-RPC (no client library
    between the clock and the pipe)."""

    def __init__(self, root: Path) -> None:
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentctl", "mcp", "--root", str(root)],
            cwd=root,
            env=ENVIRONMENT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self.ids = 0

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.ids += 1
        self._send({"jsonrpc": "2.0", "id": self.ids, "method": method, "params": params})
        assert self.process.stdout is not None
        while True:
            message = json.loads(self.process.stdout.readline())
            if message.get("id") == self.ids:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message["result"])

    def ready(self) -> float:
        """Seconds from spawn to the answer to `initialize`."""
        self.request(
            "initialize",
            {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
        )
        seconds = time.perf_counter() - self.started
        self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return seconds

    def search(self, query: str) -> float:
        """Seconds of one `memory_search` round trip."""
        start = time.perf_counter()
        result = self.request("tools/call", {"name": "memory_search", "arguments": {"query": query}})
        seconds = time.perf_counter() - start
        if result.get("isError") or not result["structuredContent"]["hits"]:
            raise RuntimeError(f"memory_search found nothing: {result}")
        return seconds

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # the client is done: the server ends
        self.process.wait(timeout=30)

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()


def cli_search(root: Path, query: str) -> float:
    start = time.perf_counter()
    command = [sys.executable, "-m", "agentctl", "memory", "search", query, "--format", "json"]
    done = subprocess.run(command, cwd=root, env=ENVIRONMENT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or not json.loads(done.stdout)["hits"]:
        raise RuntimeError(f"agentctl memory search failed: {done.stderr}")
    return seconds


def measure(root: Path, runs: int, query: str) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"ready": [], "first": [], "warm": [], "cli": []}
    for run in range(runs + 1):  # the first round warms the file cache and is left out
        server = Server(root)
        ready, first, warm = server.ready(), server.search(query), server.search(query)
        server.close()
        cli = cli_search(root, query)
        if run:
            for key, value in zip(times, (ready, first, warm, cli), strict=True):
                times[key].append(value)
    return times


def report(times: dict[str, list[float]]) -> bool:
    median = {key: statistics.median(values) for key, values in times.items()}
    labels = {
        "ready": "agentctl mcp: spawn to ready (initialize answered)",
        "first": "memory_search over stdio, the session's first",
        "warm": "memory_search over stdio, every later one",
        "cli": "agentctl memory search --format json (process)",
    }
    for key, label in labels.items():
        values = times[key]
        print(f"{label:<52} median {median[key] * 1000:7.1f} ms   min {min(values) * 1000:7.1f} ms   (n={len(values)})")
    ratio = median["cli"] / median["warm"]
    # n searches: ready + first + (n-1) warm through the server against n CLI processes.
    extra = median["ready"] + median["first"] - median["warm"]
    saved = median["cli"] - median["warm"]
    breakeven = extra / saved if saved > 0 else float("inf")
    print(
        f"a CLI search costs {ratio:.0f}x a warm MCP call; a session has paid for its start after {breakeven:.1f} searches"
    )
    return ratio > 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--query", default="words index")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "team"
        for part in ("agents", "agents-shared", "agents-memory", "templates"):
            shutil.copytree(REPO / part, root / part)
        ok = report(measure(root, args.runs, args.query))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
