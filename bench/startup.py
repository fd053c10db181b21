"""Issue #10's start-up budget: every read-only command within 1.5x `python -c "import typer"`.

    python bench/startup.py [--runs 20]

Each command runs as a whole process, side by side with `python -c "import typer"` (interleaved,
the same interpreter, bytecode cached as pip leaves it), on the shipped 16-agent team. Prints the
median wall time of each, its ratio to import typer, and the same ratio in CPU time (user + system,
steadier on a shared VM), and exits 1 when a read-only command's wall ratio is over budget.
`route` is timed warm (its index cached in .agentctl/cache/) and cold (the first run after an agent
file changed), which issue #6 budgets at 2x.

    python bench/startup.py --instructions

counts the instructions of one run of each command under `valgrind --tool=callgrind` instead: the
same ratios without the noise of a shared machine (a run of the set takes a minute or two).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import describe, time_commands

REPO = Path(__file__).resolve().parents[1]
BUDGET = 1.5
COLD_ROUTE_BUDGET = 2.0
TASK = "add an index to the users table"
TYPER = "python -c 'import typer'"
# `agentctl route` the first time after an agent file changed: the route index cache is gone.
COLD_ROUTE = (
    "import shutil, sys; shutil.rmtree('.agentctl/cache', ignore_errors=True); "
    "from agentctl.cli import main; sys.exit(main(sys.argv[1:]))"
)


def read_only_commands(agentctl: list[str]) -> dict[str, list[str]]:
    return {
        "agentctl --version": [*agentctl, "--version"],
        "agentctl --help": [*agentctl, "--help"],
        "agentctl list": [*agentctl, "list"],
        "agentctl list --format json": [*agentctl, "list", "--format", "json"],
        "agentctl show db-architect": [*agentctl, "show", "db-architect"],
        "agentctl validate agents/db-architect.md": [*agentctl, "validate", "agents/db-architect.md"],
        "agentctl validate (the team)": [*agentctl, "validate"],
        "agentctl prompt db-architect --task T": [*agentctl, "prompt", "db-architect", "--task", TASK],
        "agentctl route T": [*agentctl, "route", TASK],
        "agentctl memory list": [*agentctl, "memory", "list"],
        "agentctl rules": [*agentctl, "rules"],
        "agentctl rules CC003": [*agentctl, "rules", "CC003"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--instructions", action="store_true", help="count instructions with valgrind instead")
    args = parser.parse_args()
    script = Path(sys.executable).with_name("agentctl")
    agentctl = [str(script)] if script.exists() else [sys.executable, "-m", "agentctl"]
    budgeted = read_only_commands(agentctl)
    commands = {
        TYPER: [sys.executable, "-c", "import typer"],
        **budgeted,
        "agentctl route T, cold (no index cache)": [sys.executable, "-c", COLD_ROUTE, "route", TASK],
        "python -c 'pass'": [sys.executable, "-c", "pass"],
    }
    if args.instructions:
        return report_instructions(commands, budgeted)
    cpu: dict[str, list[float]] = {}
    times = time_commands(commands, runs=args.runs, cwd=str(REPO), cpu=cpu)
    print("\n".join(describe(times)))
    typer, typer_cpu = statistics.median(times[TYPER]), statistics.median(cpu[TYPER])
    print(f"\nratio to {TYPER} (median wall {typer * 1000:.1f} ms, CPU {typer_cpu * 1000:.1f} ms), budget {BUDGET}x:")
    print(f"  {'command':<44} {'wall':>6} {'CPU':>6}")
    over = []
    for label in [*budgeted, "agentctl route T, cold (no index cache)"]:
        budget = COLD_ROUTE_BUDGET if "cold" in label else BUDGET
        ratio = statistics.median(times[label]) / typer
        cpu_ratio = statistics.median(cpu[label]) / typer_cpu
        verdict = "within" if ratio <= budget else "OVER"
        note = f" (budget {budget}x)" if budget != BUDGET else ""
        print(f"  {label:<44} {ratio:5.2f}x {cpu_ratio:5.2f}x  {verdict}{note}")
        if ratio > budget:
            over.append(label)
    return 1 if over else 0


def instructions(command: list[str]) -> int:
    """The instructions one run of `command` executes, counted by callgrind (hash seed fixed)."""
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        raise SystemExit(f"valgrind gave no count for {command}: {result.stderr[-500:]}")
    return int(found.group(1))


def report_instructions(commands: dict[str, list[str]], budgeted: dict[str, list[str]]) -> int:
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    for command in commands.values():  # bytecode compiled and the route cache warm, as the timed runs have them
        subprocess.run(command, cwd=REPO, capture_output=True, check=False)
    counts = {label: instructions(command) for label, command in commands.items()}
    typer = counts[TYPER]
    print(f"instructions of one run, ratio to {TYPER} ({typer:,}), budget {BUDGET}x:")
    over = []
    for label in [*budgeted, "agentctl route T, cold (no index cache)"]:
        budget = COLD_ROUTE_BUDGET if "cold" in label else BUDGET
        ratio = counts[label] / typer
        print(f"  {label:<44} {counts[label]:>13,}  {ratio:5.2f}x  {'within' if ratio <= budget else 'OVER'}")
        if ratio > budget:
            over.append(label)
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
