"""Issue #2's budget: `agentctl validate` over the 651 files of ../shared/corpus in under 1 s.

    python bench/validate_corpus.py [--runs 5]

Times the whole process (interpreter start-up included), median of the runs, in text and json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import describe, time_commands

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
BUDGET_SECONDS = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        return 2
    count = sum(1 for _ in CORPUS.rglob("*.md"))
    agentctl = [sys.executable, "-m", "agentctl"]
    times = time_commands(
        {
            f"agentctl validate corpus ({count} .md, text)": [*agentctl, "validate", str(CORPUS)],
            f"agentctl validate corpus ({count} .md, json)": [*agentctl, "validate", str(CORPUS), "--format", "json"],
        },
        runs=args.runs,
        cwd=str(REPO),
    )
    print("\n".join(describe(times)))
    worst = max(statistics.median(values) for values in times.values())
    verdict = "within" if worst < BUDGET_SECONDS else "OVER"
    print(f"budget {BUDGET_SECONDS:.1f} s: {verdict} (slowest median {worst * 1000:.0f} ms)")
    return 0 if worst < BUDGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
