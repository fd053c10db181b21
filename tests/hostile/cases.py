"""Every hostile case, collected from the area files (one per part of agentctl)."""

from __future__ import annotations

from tests.hostile.cases_cli import CASES as CLI_CASES
from tests.hostile.harness import Case

CASES: list[Case] = [*CLI_CASES]
