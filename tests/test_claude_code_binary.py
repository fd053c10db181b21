"""Opt-in: agentctl's verdicts against the real `claude` binary (`pytest -m claude_code`).

Runs Claude Code 2.1.x offline (pip install claude-agent-sdk bundles it) on the fixtures and on
../shared/corpus, and checks that the agent listing it sends to the model is exactly the one
agentctl predicts: which files load, with which name, description and tools.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agentctl.spec import load_agent_file
from tests.claude_binary import agent_listing, entry, find_claude, unexplained
from tests.conftest import CLAUDE_CODE_FIXTURES, CORPUS, FIXTURES, REPO

CLAUDE = find_claude()
pytestmark = [
    pytest.mark.claude_code,
    pytest.mark.skipif(CLAUDE is None, reason="no claude binary: pip install claude-agent-sdk, or set CLAUDE_BIN"),
]


def predicted_entries(folder: Path) -> list[str]:
    """The listing lines agentctl predicts for a folder used as .claude/agents/."""
    kept: dict[str, str] = {}
    for path in sorted(folder.rglob("*.md"), key=lambda p: p.relative_to(folder).as_posix()):
        verdict = load_agent_file(path).verdict
        if verdict.loads and verdict.name and verdict.description is not None:
            kept[verdict.name] = entry(verdict.name, verdict.description, verdict.tools_display)  # last one wins
    return list(kept.values())


def assert_listing_predicted(folder: Path) -> None:
    assert CLAUDE is not None
    missing, rest = unexplained(agent_listing(folder, CLAUDE), predicted_entries(folder))
    assert missing == [], "agentctl predicts agents that Claude Code did not list"
    assert rest == "", "Claude Code listed agents that agentctl predicts it skips"


@pytest.mark.parametrize("folder", ["claude_code", "claude_code_duplicates"])
def test_fixtures(folder: str) -> None:
    assert_listing_predicted(FIXTURES / folder)


def test_the_shipped_team() -> None:
    if not (REPO / "agents").is_dir():
        pytest.skip("no team in this checkout")
    assert_listing_predicted(REPO / "agents")


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")
def test_corpus(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder, ignore=shutil.ignore_patterns("*.jsonl", "LICENSE"))
    assert_listing_predicted(folder)


def test_fixture_folder_is_not_empty() -> None:
    assert len(list(CLAUDE_CODE_FIXTURES.glob("*.md"))) > 50
