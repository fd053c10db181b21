"""Hostile cases: parsing."""

from __future__ import annotations

from tests.hostile.harness import Case

CASES: list[Case] = []
