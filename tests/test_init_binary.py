"""`agentctl init`, then the real `claude` binary in the project: it lists every installed agent from
`.claude/agents/` with the description and tools agentctl predicts (offline: a loopback Messages API
records what Claude Code sends, tests/claude_binary.py). Skipped without the binary
(`pip install ".[claude-code]"`); the catalogue case needs ../shared/corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentctl.spec import load_agent_file
from tests.claude_binary import agent_listing, entry, find_claude, unexplained
from tests.conftest import CORPUS, RunCli, needs_corpus
from tests.test_init import CATALOGUE_AGENTS, SHIPPED

CLAUDE = find_claude()
pytestmark = pytest.mark.skipif(CLAUDE is None, reason='no claude binary: pip install ".[claude-code]"')


def predicted(project: Path) -> list[str]:
    """The listing line agentctl predicts for each agent file of the project's `.claude/agents/`."""
    lines = []
    for path in sorted((project / ".claude" / "agents").glob("*.md")):
        verdict = load_agent_file(path).verdict
        assert verdict.loads and verdict.name and verdict.description is not None, path
        lines.append(entry(verdict.name, verdict.description, verdict.tools_display))
    return lines


def assert_claude_lists_what_agentctl_predicts(project: Path, count: int) -> None:
    assert CLAUDE is not None
    listing = agent_listing(None, CLAUDE, project=project)
    expected = predicted(project)
    assert len(expected) == count
    missing, rest = unexplained(listing, expected)
    assert missing == [], "agentctl predicts agents (or descriptions, or tools) that Claude Code did not list"
    assert rest == "", "Claude Code listed agents agentctl does not predict"


@pytest.mark.parametrize("memory", ["dated", "native"])
def test_claude_lists_the_sixteen_installed_agents(cli: RunCli, project: Path, memory: str) -> None:
    assert cli("init", "--memory", memory, cwd=project).exit_code == 0
    assert_claude_lists_what_agentctl_predicts(project, len(SHIPPED))
    if memory == "native":  # what Claude Code adds for memory is in what it lists
        assert (
            "Write, Edit" in load_agent_file(project / ".claude" / "agents" / "db-architect.md").verdict.tools_display
        )


@needs_corpus()
def test_claude_lists_the_agents_installed_from_a_catalogue(cli: RunCli, project: Path) -> None:
    result = cli("init", "--from-catalogue", str(CORPUS), "--agents", ",".join(CATALOGUE_AGENTS), cwd=project)
    assert result.exit_code == 0, result.stderr
    assert_claude_lists_what_agentctl_predicts(project, len(CATALOGUE_AGENTS))
