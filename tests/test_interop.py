"""What other tools make of agent files: python-frontmatter stands in for "every other tool".

CC004 says Claude Code's fallback recovers a file that other tools cannot read; fmt's output must
be readable by them, with the values Claude Code reads.
"""

from __future__ import annotations

from pathlib import Path

import frontmatter
import pytest
import yaml

from agentctl.fmt import format_text
from agentctl.spec import parse_agent_text
from tests.conftest import CLAUDE_CODE_FIXTURES

RECOVERED = [
    "unquoted-colon-recovered.md",
    "fallback-swallows-keys.md",
    "literal-backslash-n.md",
    "quoted-then-text.md",
]


@pytest.mark.parametrize("name", RECOVERED)
def test_other_tools_cannot_read_what_only_claude_codes_fallback_recovers(name: str) -> None:
    text = (CLAUDE_CODE_FIXTURES / name).read_text("utf-8")
    assert parse_agent_text(Path(name), text).verdict.loads
    with pytest.raises(yaml.YAMLError):
        frontmatter.loads(text)


@pytest.mark.parametrize("name", [*RECOVERED, "unquoted-colon-examples-skipped.md", "dashes-in-description.md"])
def test_after_fmt_other_tools_read_what_claude_code_reads(name: str) -> None:
    formatted = format_text(Path(name), (CLAUDE_CODE_FIXTURES / name).read_text("utf-8")).formatted
    verdict = parse_agent_text(Path(name), formatted).verdict
    post = frontmatter.loads(formatted)
    assert post["name"] == verdict.name
    assert str(post["description"]).replace("\\n", "\n") == verdict.description
