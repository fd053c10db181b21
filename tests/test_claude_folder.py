"""`agentctl validate` on a `.claude/` folder shaped like a real project's: each file's kind by its
place, no agent rule on what is not an agent, and the SK rules on commands, skills and output styles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli, agent_text, make_team

FILES = {
    ".claude/agents/reviewer.md": (
        "---\nname: reviewer\ndescription: Reviews code.\ntools: Read, Grep\nmemory: project\n---\nYou review.\n"
    ),
    ".claude/agents/tester.md": "---\nname: tester\ndescription: Runs the tests.\nmemory: local\n---\nYou test.\n",
    ".claude/agents/README.md": "# Our agents\n",
    ".claude/commands/commit.md": (
        "---\ndescription: Create a git commit\nallowed-tools: Bash(git add:*), Bash(git commit:*), mcp__github\n"
        "argument-hint: [message]\nmodel: sonnet\neffort: med\ndisable-model-invocation: yes\n---\nCommit with $ARGUMENTS\n"
    ),
    ".claude/commands/explain.md": "Explain $ARGUMENTS simply.\n",
    ".claude/commands/git/push.md": "---\ndescription: Push the branch\nmodel: haiku\n---\nPush.\n",
    ".claude/skills/pdf/SKILL.md": (
        "---\nname: pdf\ndescription: Extract text from PDFs. Use for PDFs.\nallowed-tools:\n  - Read\n  - Bash(pdftotext:*)\n"
        "user-invocable: false\neffort: 3\n---\n# PDF\n"
    ),
    ".claude/skills/pdf/reference.md": "# Reference\n",
    ".claude/skills/pdf/scripts/notes.md": "# Notes\n",
    ".claude/rules/style.md": "# Style\nUse 4 spaces.\n",
    ".claude/rules/api.md": '---\npaths:\n  - "src/api/**/*.ts"\n---\nAPI rules.\n',
    ".claude/output-styles/teacher.md": (
        "---\nname: Teacher\ndescription: Explains as it goes\nkeep-coding-instructions: true\n---\nTeach.\n"
    ),
    ".claude/agent-memory/reviewer/MEMORY.md": "# Reviewer memory\n- [topic](topic.md)\n",
    ".claude/agent-memory/reviewer/topic.md": "---\nname: topic\ndescription: x\ntype: feedback\n---\nNotes\n",
    ".claude/agent-memory-local/tester/MEMORY.md": "# Local memory\n",
    ".claude/CLAUDE.md": "# Project notes\n",
    "CLAUDE.md": "# Project\n",
    "docs/guide.md": "# A guide, not an agent\n",
}
KINDS = {
    ".claude/agents/reviewer.md": "agent",
    ".claude/agents/README.md": "other",
    ".claude/commands/commit.md": "command",
    ".claude/commands/explain.md": "command",
    ".claude/commands/git/push.md": "command",
    ".claude/skills/pdf/SKILL.md": "skill",
    ".claude/skills/pdf/reference.md": "skill-file",
    ".claude/skills/pdf/scripts/notes.md": "skill-file",
    ".claude/rules/style.md": "rule",
    ".claude/rules/api.md": "rule",
    ".claude/output-styles/teacher.md": "output-style",
    ".claude/agent-memory/reviewer/MEMORY.md": "agent-memory",
    ".claude/agent-memory/reviewer/topic.md": "agent-memory",
    ".claude/agent-memory-local/tester/MEMORY.md": "agent-memory",
    ".claude/CLAUDE.md": "claude-md",
}
# True findings, one per rule, added to the clean project.
BROKEN = {
    ".claude/commands/deploy.md": ('---\ndescription: "Deploy the app\nallowed-tools: Bash\n---\nDeploy.\n', "SK001"),
    ".claude/commands/tag.md": ("---\ndescription: Tag: a release\n---\nTag.\n", "SK002"),
    ".claude/skills/lint/SKILL.md": ("---\ndescription: Lint the code.\ntools: Read\n---\nLint.\n", "SK003"),
    ".claude/skills/docs/SKILL.md": ("---\nname: docs\n---\nWrite docs.\n", "SK004"),
    ".claude/skills/loose.md": ("---\nname: loose\ndescription: A skill in the wrong place.\n---\nx\n", "SK005"),
    ".claude/skills/fmt/skill.md": ("---\nname: fmt\ndescription: Format code.\n---\nx\n", "SK005"),
    ".claude/skills/db/SKILL.md": ("---\nname: database\ndescription: Query the database.\n---\nx\n", "SK006"),
    ".claude/commands/find.md": ("---\ndescription: Find\nallowed-tools: Grpe\n---\nFind $ARGUMENTS.\n", "SK007"),
    ".claude/skills/think/SKILL.md": ("---\nname: think\ndescription: Think.\neffort: hard\n---\nx\n", "SK008"),
    ".claude/commands/fast.md": ("---\ndescription: Fast\nmodel: claude-sonet-4-6\n---\nBe quick.\n", "SK009"),
    ".claude/commands/hidden.md": ("---\ndescription: Hidden\nuser-invocable:\n---\nx\n", "SK010"),
}


def project(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, "utf-8")
    return root


@pytest.mark.parametrize("where", [[".claude"], ["."], [".claude", "--strict"]])
def test_a_real_projects_claude_folder_has_no_false_findings(cli: RunCli, tmp_path: Path, where: list[str]) -> None:
    root = project(tmp_path / "proj", FILES)
    result = cli("validate", *where, "--format", "json", cwd=root)
    assert result.exit_code == 0, result.stdout
    files = {file["path"]: file for file in result.json()["files"]}
    assert {path: files[path]["kind"] for path in KINDS} == KINDS
    assert all(not file["diagnostics"] for file in files.values()), files
    if "." in where:
        assert files["CLAUDE.md"]["kind"] == "claude-md" and files["docs/guide.md"]["kind"] == "other"


def test_the_text_report_names_kinds(cli: RunCli, tmp_path: Path) -> None:
    root = project(tmp_path / "proj", {**FILES, ".claude/commands/tag.md": BROKEN[".claude/commands/tag.md"][0]})
    result = cli("validate", ".claude", cwd=root)
    assert result.exit_code == 0
    assert ".claude/commands/tag.md (command)\n" in result.stdout
    assert "(2 agents, 0 that Claude Code skips; 4 commands, 1 skills, 2 skill files, 2 rules files" in result.stdout
    assert cli("validate", ".claude", "--strict", cwd=root).exit_code == 1


def test_each_kinds_rules_find_the_true_problems(cli: RunCli, tmp_path: Path) -> None:
    root = project(tmp_path / "proj", {**FILES, **{path: text for path, (text, _) in BROKEN.items()}})
    result = cli("validate", ".claude", "--format", "json", cwd=root)
    assert result.exit_code == 1
    files = {file["path"]: file for file in result.json()["files"]}
    for path, (_, rule) in BROKEN.items():
        assert [d["rule"] for d in files[path]["diagnostics"]] == [rule], (path, files[path])
    assert all(not files[path]["diagnostics"] for path in KINDS)


def test_fmt_leaves_commands_and_skills_alone(cli: RunCli, tmp_path: Path) -> None:
    root = project(tmp_path / "proj", {**FILES, ".claude/commands/tag.md": BROKEN[".claude/commands/tag.md"][0]})
    before = (root / ".claude/commands/tag.md").read_bytes()
    cli("fmt", ".claude", cwd=root)
    assert (root / ".claude/commands/tag.md").read_bytes() == before


def _findings(document: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    return sorted((f["path"], d["rule"], d["line"], d["column"]) for f in document["files"] for d in f["diagnostics"])


def test_plain_validate_checks_the_claude_folders_as_validate_claude_does(cli: RunCli, tmp_path: Path) -> None:
    root = project(tmp_path / "proj", {**FILES, **{path: text for path, (text, _) in BROKEN.items()}})
    plain = cli("validate", "--format", "json", cwd=root)
    dotted = cli("validate", ".claude", "--format", "json", cwd=root)
    assert plain.exit_code == dotted.exit_code == 1
    assert _findings(plain.json()) == _findings(dotted.json())
    paths = [file["path"] for file in plain.json()["files"]]
    assert len(paths) == len(set(paths))  # each file once
    assert {rule for _, rule, *_ in _findings(plain.json())} == {rule for _, rule in BROKEN.values()}
    kinds = {file["kind"] for file in plain.json()["files"]}
    assert {"command", "skill", "skill-file", "rule", "output-style", "agent-memory"} <= kinds
    assert "CLAUDE.md" not in paths and "docs/guide.md" not in paths  # the project's own files stay out


def test_plain_validate_of_a_top_level_team_checks_the_projects_claude_folder(cli: RunCli, tmp_path: Path) -> None:
    root = make_team(tmp_path / "proj", {"reviewer.md": agent_text("reviewer", extra="memory: project\n")})
    project(
        root,
        {
            ".claude/commands/find.md": BROKEN[".claude/commands/find.md"][0],
            ".claude/agent-memory/reviewer/MEMORY.md": "# Reviewer\n",  # the team's agent reads it: no MM005
            ".claude/agent-memory/gone/MEMORY.md": "# An agent that was removed\n",
        },
    )
    found = _findings(cli("validate", "--format", "json", cwd=root).json())
    assert [(path, rule) for path, rule, *_ in found] == [
        (".claude/agent-memory/gone/MEMORY.md", "MM005"),
        (".claude/commands/find.md", "SK007"),
    ]


# `disable-model-invocation` values and whether Claude Code 2.1.332 reads them as true (js_flag).
FLAGS = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    '"True "': True,
    "false": False,
    "no": False,
    "maybe": None,
    "2": None,
    "": None,
}


def test_flags_read_as_claude_code_reads_them(tmp_path: Path) -> None:
    from agentctl.claude_code import js_flag
    from agentctl.spec import load_agent_file

    for number, (written, read) in enumerate(FLAGS.items()):
        path = tmp_path / f"skill-{number}.md"
        path.write_text(f"---\ndescription: d\ndisable-model-invocation: {written}\n---\nx\n")
        reading = load_agent_file(path).reading
        assert reading is not None and js_flag(reading.data["disable-model-invocation"]) is read, written


@pytest.mark.claude_code
def test_the_binary_offers_the_model_only_skills_whose_flag_is_not_true(tmp_path: Path) -> None:
    """A skill with `disable-model-invocation` read as true is left out of the skills the model is
    offered; `maybe`, `2` and an empty value are read as false (SK010), so those skills are offered."""
    from tests.claude_binary import find_claude, recorded_requests

    claude = find_claude()
    if claude is None:
        pytest.skip("no claude binary")
    for number, written in enumerate(FLAGS):
        skill = tmp_path / ".claude" / "skills" / f"flag-{number}" / "SKILL.md"
        skill.parent.mkdir(parents=True)
        skill.write_text(f"---\ndescription: FLAG-{number}-SKILL\ndisable-model-invocation: {written}\n---\nx\n")
    sent = "".join(body.decode("utf-8", "replace") for body in recorded_requests(None, claude, project=tmp_path))
    offered = {written for number, written in enumerate(FLAGS) if f"FLAG-{number}-SKILL" in sent}
    assert offered == {written for written, read in FLAGS.items() if read is not True}
