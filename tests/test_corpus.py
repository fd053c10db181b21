"""The 651 public agent files of ../shared/corpus: Claude Code's verdict on each, and no crash.

claude_code_verdicts.jsonl was recorded with Claude Code 2.1.330; 2.1.332 lists every file the same
way (`python tests/claude_binary.py --compare` checks the live binary: load 651/651, description and
tools 650/650). ../shared/ sits beside a developer's and CI's checkout, not in a user's clone: these tests skip
cleanly without it; the project's own fixtures (tests/fixtures/) cover every rule.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentctl.spec import load_agent_file
from agentctl.validate import validate
from agentctl.validate.rules import RULES
from tests.conftest import CORPUS, needs_corpus

pytestmark = needs_corpus()


def corpus_verdicts() -> list[dict[str, object]]:
    lines = (CORPUS / "claude_code_verdicts.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_all_651_verdicts_agree_with_claude_code() -> None:
    disagreements = []
    rows = corpus_verdicts()
    for row in rows:
        verdict = load_agent_file(CORPUS / str(row["path"])).verdict
        ours = {"loads": verdict.loads}
        theirs = {"loads": row["loads"]}
        if row["loads"]:
            ours |= {"name": verdict.name, "description": verdict.description, "tools": verdict.tools_display}
            theirs |= {"name": row["name"], "description": row["description"], "tools": row["tools"]}
        if ours != theirs:
            disagreements.append((row["path"], ours, theirs))
    assert len(rows) == 651
    assert disagreements == []


def test_validating_the_whole_corpus_reports_only_catalogued_rules(tmp_path: Path) -> None:
    report = validate([CORPUS], None, tmp_path)
    agents = [file for file in report.files if file.kind == "agent"]
    assert len(agents) == 651
    assert {d.rule for file in report.files for d in file.diagnostics} <= set(RULES)
    skipped = [file.display_path for file in agents if file.agent and not file.agent.verdict.loads]
    assert [Path(path).name for path in skipped] == ["sqs-expert.md"]  # the one file Claude Code skips
    sqs = next(file for file in agents if file.path.name == "sqs-expert.md")
    assert [d.rule for d in sqs.diagnostics if d.severity == "error"] == ["CC001"]


CATALOGUES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []


@pytest.mark.parametrize("catalogue", CATALOGUES)
def test_every_diagnostic_points_into_its_file(catalogue: str, tmp_path: Path) -> None:
    for file in validate([CORPUS / catalogue], None, tmp_path).files:
        lines = file.path.read_text("utf-8", errors="replace").split("\n")
        for diagnostic in file.diagnostics:
            assert 1 <= diagnostic.line <= len(lines), (file.display_path, diagnostic)
            assert diagnostic.message and diagnostic.hint, diagnostic
