"""Each rule fires on the file that breaks it, at the right place, and not on a clean file."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentctl.validate import validate
from agentctl.validate.rules import RULES

BODY = "\nYou review code.\n"

# rule -> (file name, file text, expected (line, column) of the finding)
CASES: dict[str, tuple[str, str | bytes, tuple[int, int]]] = {
    "CC001": ("no-frontmatter.md", "# Reviewer\n\nname: x\n", (1, 1)),
    "CC002": (
        "broken.md",
        "---\nname: broken\ndescription: Use when: x\n<example>\nuser: hi\n</example>\n---\n" + BODY,
        (3, 22),
    ),
    "CC003": (
        "swallowed.md",
        "---\nname: swallowed\ndescription: Reviews: schemas\nContext: a migration\nuser: check it\n---\n" + BODY,
        (3, 21),
    ),
    "CC004": ("recovered.md", "---\nname: recovered\ndescription: Use when: builds fail\n---\n" + BODY, (3, 22)),
    "CC005": (
        "lenient.md",
        "---\nname: lenient\ndescription: Tabs on blank lines.\n\t\nmodel: sonnet\n---\n" + BODY,
        (4, 1),
    ),
    "CC006": ("unnamed.md", "---\ndescription: No name.\n---\n" + BODY, (2, 1)),
    "CC007": ("undescribed.md", "---\nname: undescribed\ntools: Read\n---\n" + BODY, (2, 1)),
    "CC008": ("cut.md", "---\nname: cut\ndescription: Before --- after\n---\n" + BODY, (3, 21)),
    "CC009": (
        "guard.md",
        "---\nname: guard\ndescription: Hooks at the top.\nPreToolUse:\n  - matcher: Bash\n    hooks:\n      - type: command\n        command: x\n---\n"
        + BODY,
        (4, 1),
    ),
    "CC010": ("binary.md", b"---\nname: bin\x00ary\n---\n", (1, 1)),
    "CC011": ("latin1.md", b"---\nname: latin1\ndescription: Caf\xe9 reviews.\n---\n\nYou review.\n", (3, 1)),
    "CC012": ("listed.md", "---\n- name: listed\n- description: a list\n---\n" + BODY, (2, 1)),
    "CC013": ("twice.md", "---\nname: twice\ndescription: One.\ndescription: Two.\n---\n" + BODY, (4, 1)),
    "CC014": ("hash.md", "---\nname: hash\ndescription: Reviews code #fast and more\n---\n" + BODY, (3, 27)),
    "CC015": ("deep.md", "---\nname: deep\ndescription: Deep.\nx: " + "[" * 200 + "]" * 200 + "\n---\n" + BODY, (4, 1)),
    "NM001": ("colon.md", '---\nname: "team:colon"\ndescription: A colon.\n---\n' + BODY, (2, 7)),
    "NM002": ("style.md", "---\nname: Code Reviewer\ndescription: Spaces and capitals.\n---\n" + BODY, (2, 7)),
    "NM004": ("file-name.md", "---\nname: other-name\ndescription: Another name.\n---\n" + BODY, (2, 7)),
    "FM001": ("keys.md", "---\nname: keys\ndescription: An unknown key.\ncategory: review\n---\n" + BODY, (4, 1)),
    "FM002": (
        "model.md",
        "---\nname: model\ndescription: A model typo.\nmodel: claude-sonet-4-6\n---\n" + BODY,
        (4, 8),
    ),
    "FM003": ("mode.md", "---\nname: mode\ndescription: Bad mode.\npermissionMode: yolo\n---\n" + BODY, (4, 17)),
    "FM004": ("effort.md", "---\nname: effort\ndescription: Bad effort.\neffort: extreme\n---\n" + BODY, (4, 9)),
    "FM005": (
        "isolation.md",
        "---\nname: isolation\ndescription: Bad isolation.\nisolation: docker\n---\n" + BODY,
        (4, 12),
    ),
    "FM006": ("color.md", "---\nname: color\ndescription: Bad color.\ncolor: teal\n---\n" + BODY, (4, 8)),
    "FM007": ("memory.md", "---\nname: memory\ndescription: Bad memory.\nmemory: global\n---\n" + BODY, (4, 9)),
    "FM008": ("background.md", "---\nname: background\ndescription: Bad flag.\nbackground: yes\n---\n" + BODY, (4, 13)),
    "FM009": ("turns.md", "---\nname: turns\ndescription: Bad turns.\nmaxTurns: 0\n---\n" + BODY, (4, 11)),
    "FM010": ("hooks.md", "---\nname: hooks\ndescription: Empty hooks.\nhooks: []\n---\n" + BODY, (4, 1)),
    "FM011": (
        "prompt.md",
        "---\nname: prompt\ndescription: A list prompt.\ninitialPrompt: [a, b]\n---\n" + BODY,
        (4, 16),
    ),
    "TL001": ("tool.md", "---\nname: tool\ndescription: A typo.\ntools: Read, Grpe\n---\n" + BODY, (4, 14)),
    "TL002": ("renamed.md", "---\nname: renamed\ndescription: Old name.\ntools: Read, Task\n---\n" + BODY, (4, 14)),
    "TL003": (
        "removed.md",
        "---\nname: removed\ndescription: Removed tool.\ntools: Read, MultiEdit\n---\n" + BODY,
        (4, 14),
    ),
    "TL004": ("mcp.md", "---\nname: mcp\ndescription: Bad MCP name.\ntools: mcp_context7_docs\n---\n" + BODY, (4, 8)),
    "TL005": ("dup.md", "---\nname: dup\ndescription: Twice.\ntools: Read, Grep, Read\n---\n" + BODY, (4, 20)),
    "TL006": (
        "both.md",
        "---\nname: both\ndescription: Both.\ntools: Read, Bash\ndisallowedTools: Bash\n---\n" + BODY,
        (5, 18),
    ),
    "TL007": ("list.md", "---\nname: list\ndescription: YAML list.\ntools:\n  - Read\n  - Grep\n---\n" + BODY, (4, 1)),
    "TL008": ("empty.md", "---\nname: empty\ndescription: Empty tools.\ntools:\n---\n" + BODY, (4, 1)),
    "TL009": (
        "mcp-typo.md",
        "---\nname: mcp-typo\ndescription: A misspelt MCP tool.\ntools: Read, mcp__redis__hgetal\n---\n" + BODY,
        (4, 14),
    ),
    "CQ001": ("long.md", "---\nname: long\ndescription: " + "Reviews code carefully. " * 50 + "\n---\n" + BODY, (3, 1)),
    "CQ002": (
        "examples.md",
        '---\nname: examples\ndescription: "Use for reviews.\\n<example>\\nuser: review this\\nassistant: I will\\n</example>"\n---\n'
        + BODY,
        (3, 1),
    ),
    "CQ003": ("nobody.md", "---\nname: nobody\ndescription: No body.\n---\n", (5, 1)),
    "CQ004": ("todo.md", "---\nname: todo\ndescription: Has a marker.\n---\n\nTODO: write this agent.\n", (6, 1)),
}
CROSS_FILE = {
    "NM003",
    "NM005",
    "NM006",
    "NM007",
}  # tested below with two files; NM005-NM007 in tests/test_agent_sources.py
TEAM_RULES = {f"TM0{n:02}" for n in range(1, 11)}  # tests/test_team_rules.py, on broken fixture teams and copies
SKILL_RULES = {f"SK00{n}" for n in range(1, 7)}  # tests/test_claude_folder.py, in a `.claude/` folder
SKILL_VALUE_RULES = {"SK007", "SK008", "SK009", "SK010"}  # tests/test_claude_folder.py too
NATIVE_MEMORY_RULES = {f"MM00{n}" for n in range(1, 8)}  # tests/test_memory_native.py, in `.claude/agent-memory*/`
PLUGIN_RULES = {"PL001", "PL002"}  # tests/test_agent_sources.py, in a plugin's folder


def diagnose(tmp_path: Path, file_name: str, content: str | bytes) -> list[tuple[str, int, int]]:
    path = tmp_path / file_name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, "utf-8")
    report = validate([path], None, tmp_path)
    return [(d.rule, d.line, d.column) for file in report.files for d in file.diagnostics]


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires_where_the_problem_is(rule: str, tmp_path: Path) -> None:
    file_name, content, (line, column) = CASES[rule]
    found = diagnose(tmp_path, file_name, content)
    assert (rule, line, column) in found, found


def test_every_rule_has_a_case() -> None:
    assert (
        set(RULES)
        == set(CASES) | CROSS_FILE | TEAM_RULES | SKILL_RULES | SKILL_VALUE_RULES | NATIVE_MEMORY_RULES | PLUGIN_RULES
    )


def test_a_clean_agent_has_no_findings(tmp_path: Path) -> None:
    text = (
        "---\nname: clean\ndescription: Reviews pull requests for correctness.\ntools: Read, Grep, Glob\nmodel: sonnet\n---\n"
        + BODY
    )
    assert diagnose(tmp_path, "clean.md", text) == []


def test_duplicate_names_across_files_name_the_other_file(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "reviewer.md").write_text("---\nname: reviewer\ndescription: Reviews.\n---\n" + BODY)
    report = validate([tmp_path], None, tmp_path)
    messages = {file.display_path: [d for d in file.diagnostics if d.rule == "NM003"] for file in report.files}
    assert len(messages["a/reviewer.md"]) == 1 and "b/reviewer.md" in messages["a/reviewer.md"][0].message
    assert "keeps b/reviewer.md" in messages["b/reviewer.md"][0].message  # the last in path order


def test_fallback_truncation_says_what_claude_code_keeps(tmp_path: Path) -> None:
    file_name, content, _ = CASES["CC003"]
    (tmp_path / file_name).write_text(str(content))
    [diagnostic] = [
        d for f in validate([tmp_path / file_name], None, tmp_path).files for d in f.diagnostics if d.rule == "CC003"
    ]
    assert "keeps only 'Reviews: schemas'" in diagnostic.message
    assert "lines 4-5 as the keys Context, user" in diagnostic.message


def test_renamed_and_unknown_tools_carry_hints(tmp_path: Path) -> None:
    text = "---\nname: hints\ndescription: Hints.\ntools: Task, grep, KillShell, code-reviewer\n---\n" + BODY
    (tmp_path / "hints.md").write_text(text)
    hints = {
        d.message.split("`")[1]: d.hint
        for f in validate([tmp_path / "hints.md"], None, tmp_path).files
        for d in f.diagnostics
    }
    assert hints["Task"] == "write `Agent`"
    assert hints["KillShell"] == "write `TaskStop`"
    assert hints["grep"] == "tool names are case-sensitive: write `Grep`"
    assert "looks like an agent's name" in str(hints["code-reviewer"])


def test_mcp_tool_shapes(tmp_path: Path) -> None:
    good = "mcp__context7__resolve-library-id, mcp__postgres, mcp__claude-in-chrome__*"
    text = f"---\nname: mcp-shapes\ndescription: MCP tools.\ntools: {good}, mcp__, mcp__x__\n---\n" + BODY
    (tmp_path / "mcp-shapes.md").write_text(text)
    bad = [
        d.message
        for f in validate([tmp_path / "mcp-shapes.md"], None, tmp_path).files
        for d in f.diagnostics
        if d.rule == "TL004"
    ]
    assert len(bad) == 2 and "`mcp__`" in bad[0] and "`mcp__x__`" in bad[1]


def test_models_known_to_the_installed_sdk_pass(tmp_path: Path) -> None:
    pytest.importorskip("anthropic")
    for model in ("sonnet", "opus[1m]", "inherit", "INHERIT", "claude-sonnet-4-5"):
        text = f"---\nname: m\ndescription: Models.\nmodel: {model}\n---\n" + BODY
        assert [rule for rule, *_ in diagnose(tmp_path, "m.md", text) if rule == "FM002"] == [], model
