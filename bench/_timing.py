"""Wall-clock timing of whole processes, interleaved so that machine noise hits all alike."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Sequence

# Users' Pythons cache bytecode (pip byte-compiles what it installs); a sandbox that sets
# PYTHONDONTWRITEBYTECODE would make every run recompile agentctl from source, and only agentctl:
# typer's .pyc files were written when pip installed it. Time what users get.
ENVIRONMENT = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def time_commands(
    commands: dict[str, Sequence[str]],
    runs: int,
    cwd: str | None = None,
    warmup: int = 1,
    cpu: dict[str, list[float]] | None = None,
) -> dict[str, list[float]]:
    """Run each command `runs` times, round-robin; return the wall times in seconds.

    With `cpu`, each run's user + system CPU seconds go there too: on a shared VM whose wall times
    swing with its neighbours (CPU steal), CPU time says the same thing with less noise."""
    for command in commands.values():
        for _ in range(warmup):
            subprocess.run(
                command, cwd=cwd, env=ENVIRONMENT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
            )
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, command in commands.items():
            start = time.perf_counter()
            process = subprocess.Popen(
                command, cwd=cwd, env=ENVIRONMENT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            _, _, usage = os.wait4(process.pid, 0)
            times[label].append(time.perf_counter() - start)
            if cpu is not None:
                cpu.setdefault(label, []).append(usage.ru_utime + usage.ru_stime)
    return times


def describe(times: dict[str, list[float]]) -> list[str]:
    lines = []
    for label, values in times.items():
        lines.append(
            f"{label:<44} median {statistics.median(values) * 1000:7.1f} ms   "
            f"min {min(values) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms   (n={len(values)})"
        )
    return lines
