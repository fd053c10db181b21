"""Every hostile case (tests/hostile/cases*.py) under pytest: each runs agentctl as a subprocess
under a watchdog, in its own sandbox; see harness.py for what every case is checked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.cases import CASES
from tests.hostile.harness import Case, run_case


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_case(case: Case, tmp_path: Path) -> None:
    ran = run_case(case, tmp_path)
    problems = ran.problems(case)
    assert not problems, (
        f"{case.name}: {'; '.join(problems)}\nstdout: {ran.outcome.stdout[:2000]}\nstderr: {ran.outcome.stderr[:2000]}"
    )
    if case.check is not None:
        case.check(ran.sandbox, ran.outcome)
