"""Every hostile case, collected from the area files (one per part of agentctl)."""

from __future__ import annotations

from tests.hostile import cases_cli, cases_dispatch, cases_files, cases_fmt, cases_memory, cases_parsing
from tests.hostile.harness import Case

AREAS = (cases_cli, cases_memory, cases_fmt, cases_parsing, cases_files, cases_dispatch)
CASES: list[Case] = [case for area in AREAS for case in area.CASES]
