"""Issue #10's start-up budget: every read-only command within 1.5x `python -c "import typer"`.

    python bench/startup.py [--runs 20]

Each command runs as a whole process, side by side with `python -c "import typer"` (interleaved,
the same interpreter, bytecode cached as pip leaves it), on the shipped 16-agent team. Prints the
median of each and its ratio to import typer, and exits 1 when a read-only command is over budget.
`route` is timed warm (its index cached in .agentctl/cache/) and cold (the first run after an agent
file changed), which issue #6 budgets at 2x.
"""

from __future__ import annotations

import argparse
import statistics
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
    times = time_commands(commands, runs=args.runs, cwd=str(REPO))
    print("\n".join(describe(times)))
    typer = statistics.median(times[TYPER])
    print(f"\nratio to {TYPER} (median {typer * 1000:.1f} ms), budget {BUDGET}x:")
    over = []
    for label in [*budgeted, "agentctl route T, cold (no index cache)"]:
        budget = COLD_ROUTE_BUDGET if "cold" in label else BUDGET
        ratio = statistics.median(times[label]) / typer
        verdict = "within" if ratio <= budget else "OVER"
        print(f"  {label:<44} {ratio:5.2f}x  {verdict}" + (f" (budget {budget}x)" if budget != BUDGET else ""))
        if ratio > budget:
            over.append(label)
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
