"""Issue #10's figures: every hostile case (tests/hostile/cases*.py), run as a user would run it.

    python bench/hostile.py [--only SUBSTRING] [--verbose]

Each case builds its fixture in a fresh sandbox and runs `python -m agentctl` as a subprocess under
a watchdog. Prints one line per case (exit code, seconds, peak memory, bytes written outside the
team, what went wrong), then the totals the issue asks for: cases, hangs over 5 s, exits 3, bytes
written outside the team, peak memory. Exit 1 when any case fails its checks.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.hostile.cases import CASES
from tests.hostile.harness import SLOW_SECONDS, run_case


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the cases whose name holds this text")
    parser.add_argument("--verbose", action="store_true", help="print stderr of failing cases")
    args = parser.parse_args()
    cases = [case for case in CASES if args.only in case.name]
    failures = slow = exits_3 = outside = 0
    peak = 0.0
    print(f"{'case':<48} {'exit':>4} {'seconds':>8} {'peak MB':>8} {'outside B':>9}  problems")
    for case in cases:
        with tempfile.TemporaryDirectory(prefix="agentctl-hostile-") as base:
            ran = run_case(case, Path(base))
            problems = ran.problems(case)
            if case.check is not None and not problems:
                try:
                    case.check(ran.sandbox, ran.outcome)
                except AssertionError as error:
                    problems.append(f"check: {str(error).splitlines()[0] if str(error) else 'failed'}")
        outcome = ran.outcome
        slow += outcome.hung or outcome.seconds > SLOW_SECONDS
        exits_3 += outcome.exit_code == 3
        outside += outcome.outside_bytes
        peak = max(peak, outcome.peak_rss_mb)
        failures += bool(problems)
        code = "hang" if outcome.hung else str(outcome.exit_code)
        print(
            f"{case.name:<48} {code:>4} {outcome.seconds:>8.2f} {outcome.peak_rss_mb:>8.1f} "
            f"{outcome.outside_bytes:>9}  {'; '.join(problems)}"
        )
        if problems and args.verbose:
            print("    stderr: " + outcome.stderr.strip().replace("\n", "\n            ")[:2000])
    print()
    print(f"cases: {len(cases)}, failing: {failures}")
    print(f"hangs over {SLOW_SECONDS:.0f} s: {slow}")
    print(f"exits 3: {exits_3}")
    print(f"bytes written outside the team: {outside}")
    print(f"peak memory of one run: {peak:.1f} MB")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
