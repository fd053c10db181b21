"""Issue #2's budget: `agentctl list --format json` on the 16-agent team at most 2x `import typer`.

    python bench/startup.py [--runs 15]

Both commands run side by side (interleaved) with the same interpreter; prints medians and the
ratio. `agentctl route` (one task over the team) has the same budget, warm (its index cached in
.agentctl/cache/) and cold (the first run after an agent file changed). Also reports other
read-only commands for reference.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import describe, time_commands

REPO = Path(__file__).resolve().parents[1]
RATIO_BUDGET = 2.0
ROUTE_TASK = "add an index to the users table"
# `agentctl route` the first time after an agent file changed: the route index cache is gone.
COLD_ROUTE = (
    "import shutil, sys; shutil.rmtree('.agentctl/cache', ignore_errors=True); "
    "from agentctl.cli import main; sys.exit(main(sys.argv[1:]))"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("agentctl")
    agentctl = [str(script)] if script.exists() else [sys.executable, "-m", "agentctl"]
    commands = {
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
        "agentctl list --format json": [*agentctl, "list", "--format", "json"],
        "agentctl show db-architect --format json": [*agentctl, "show", "db-architect", "--format", "json"],
        "agentctl validate (the team)": [*agentctl, "validate"],
        "agentctl route TASK --format json": [*agentctl, "route", ROUTE_TASK, "--format", "json"],
        "agentctl route, cold (no index cache)": [sys.executable, "-c", COLD_ROUTE, "route", ROUTE_TASK],
        "python -c 'pass'": [sys.executable, "-c", "pass"],
    }
    times = time_commands(commands, runs=args.runs, cwd=str(REPO))
    print("\n".join(describe(times)))
    typer = statistics.median(times["python -c 'import typer'"])
    listing = statistics.median(times["agentctl list --format json"])
    ratio = listing / typer
    print(
        f"ratio list/import typer: {ratio:.2f} (budget {RATIO_BUDGET:.1f}): {'within' if ratio <= RATIO_BUDGET else 'OVER'}"
    )
    routing = statistics.median(times["agentctl route TASK --format json"]) / typer
    print(
        f"ratio route/import typer: {routing:.2f} (budget {RATIO_BUDGET:.1f}): {'within' if routing <= RATIO_BUDGET else 'OVER'}"
    )
    cold = statistics.median(times["agentctl route, cold (no index cache)"]) / typer
    print(
        f"ratio cold route/import typer: {cold:.2f} (budget {RATIO_BUDGET:.1f}): {'within' if cold <= RATIO_BUDGET else 'OVER'}"
    )
    return 0 if max(ratio, routing, cold) <= RATIO_BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
