"""Every quirk fixture gets the verdict the real Claude Code 2.1.332 gave it (2.1.330 gave the same).

tests/fixtures/claude_code/expected.json was written by `python tests/claude_binary.py`, which
runs the real binary on each fixture alone and records the line Claude Code lists it with (or
that it skipped the file). These tests need no binary: they pin the rules for everyone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentctl.spec import load_agent_file
from tests.claude_binary import entry
from tests.conftest import CLAUDE_CODE_FIXTURES

EXPECTED: dict[str, dict[str, object]] = json.loads((CLAUDE_CODE_FIXTURES / "expected.json").read_text("utf-8"))


def claude_code_entry(path: Path) -> str | None:
    """What agentctl predicts Claude Code lists for this file alone (None: skipped)."""
    if path.suffix != ".md":  # Claude Code globs *.md, case-sensitively
        return None
    verdict = load_agent_file(path).verdict
    if not verdict.loads:
        return None
    assert verdict.name is not None and verdict.description is not None
    return entry(verdict.name, verdict.description, verdict.tools_display)


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_verdict_matches_claude_code(relative: str) -> None:
    expected = EXPECTED[relative]
    assert claude_code_entry(CLAUDE_CODE_FIXTURES / relative) == expected["listing"]


def test_every_fixture_has_a_recorded_verdict() -> None:
    files = {p.relative_to(CLAUDE_CODE_FIXTURES).as_posix() for p in CLAUDE_CODE_FIXTURES.rglob("*") if p.is_file()}
    assert files - {"expected.json"} == set(EXPECTED)


def test_the_fixtures_cover_both_outcomes_of_the_fallback() -> None:
    """The lenient fallback recovers some files, truncates others, and fails on the rest."""
    recovered = load_agent_file(CLAUDE_CODE_FIXTURES / "unquoted-colon-recovered.md")
    truncated = load_agent_file(CLAUDE_CODE_FIXTURES / "fallback-swallows-keys.md")
    failed = load_agent_file(CLAUDE_CODE_FIXTURES / "unquoted-colon-examples-skipped.md")
    assert recovered.reading and recovered.reading.status == "recovered" and recovered.verdict.loads
    assert (
        truncated.verdict.loads
        and truncated.verdict.description == "Use this agent for database work, for example: schema reviews"
    )
    assert failed.reading and failed.reading.status == "invalid" and not failed.verdict.loads
