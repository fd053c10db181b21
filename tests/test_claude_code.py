"""The pieces of Claude Code's loader that agentctl models (agentctl.claude_code)."""

from __future__ import annotations

import pytest

from agentctl import claude_code as cc


def test_frontmatter_ends_at_the_first_dashes_anywhere() -> None:
    block = cc.cut_frontmatter("---\nname: a\ndescription: x --- y\n---\nbody\n")
    assert block is not None
    assert block.text == "name: a\ndescription: x "
    assert block.body.startswith("y\n---\nbody")


@pytest.mark.parametrize(
    "text",
    ["", "no frontmatter", "  ---\nname: a\n---\n", "----\nname: a\n----\n", "\n---\nname: a\n---\n", "---\nname: a\n"],
)
def test_texts_without_frontmatter(text: str) -> None:
    assert cc.cut_frontmatter(text) is None


def test_bom_crlf_and_blank_lines_after_the_opening() -> None:
    block = cc.cut_frontmatter("\ufeff---  \r\n\r\nname: a\r\n---\r\nbody")
    assert block is not None and block.bom
    assert block.text == "name: a\r\n" and block.first_line == 3 and block.body == "body"


def test_lenient_rewrite_quotes_values_with_indicators_only() -> None:
    text = 'name: x\ndescription: Use when: a #b\ntools: [Read, Grep]\nmodel: "sonnet"\n\tcolor: red'
    assert cc.lenient_rewrite(text) == (
        'name: x\ndescription: "Use when: a #b"\ntools: [Read, Grep]\nmodel: "sonnet"\n  color: red'
    )


def test_lenient_rewrite_escapes_quotes_and_backslashes() -> None:
    assert cc.lenient_rewrite('d: say "hi": \\o/') == 'd: "say \\"hi\\": \\\\o/"'


def test_lenient_rewrite_ignores_crlf_lines() -> None:
    """JavaScript's `.` stops at \\r, so Claude Code's rewrite skips every CRLF line."""
    assert cc.lenient_rewrite("d: a: b\r\nn: x") == "d: a: b\r\nn: x"


@pytest.mark.parametrize(
    ("value", "present", "tools"),
    [
        ("Read, Grep", True, ["Read", "Grep"]),
        ("Read Grep  Glob", True, ["Read", "Grep", "Glob"]),
        ("Bash(git log:*), Read", True, ["Bash(git log:*)", "Read"]),
        (["Read", "Bash(npm run test)", 3], True, ["Read", "Bash(npm run test)"]),
        ("*", True, None),
        ("Read, *", True, None),
        ("", True, []),
        (None, True, []),  # `tools:` with no value
        (None, False, None),  # no `tools` key: every tool
        (7, True, []),
    ],
)
def test_tool_lists(value: object, present: bool, tools: list[str] | None) -> None:
    assert cc.tool_list(value, present) == tools


def test_judge_turns_literal_backslash_n_into_line_breaks() -> None:
    verdict = cc.judge({"name": "a", "description": "one\\ntwo"})
    assert verdict.loads and verdict.description == "one\ntwo"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"description": "x"}, "no `name`"),
        ({"name": "-a", "description": "x"}, "starts with '-'"),
        ({"name": "a" * 257, "description": "x"}, "longer than 256"),
        ({"name": "\U0001f600" * 129, "description": "x"}, "longer than 256"),  # UTF-16 units
        ({"name": "a\uff1ab", "description": "x"}, "contains ':'"),
        ({"name": "a", "description": ""}, "no `description`"),
        ({"name": "a", "description": "x", "hooks": []}, "`hooks` must map"),
        ({"name": "a", "description": "x", "hooks": {"PreToolUse": "x"}}, "hooks.PreToolUse must be a list"),
        (
            {"name": "a", "description": "x", "hooks": {"PreToolUse": [{"hooks": [{"type": "shell"}]}]}},
            "unknown hook type",
        ),
    ],
)
def test_refusals(data: dict[str, object], reason: str) -> None:
    verdict = cc.judge(data)
    assert not verdict.loads and reason in str(verdict.reason)


def test_broken_hooks_of_other_events_are_only_ignored() -> None:
    data = {"name": "a", "description": "x", "hooks": {"PostToolUse": [{"hooks": [{"type": "shell"}]}], "Nope": []}}
    assert cc.judge(data).loads


@pytest.mark.parametrize(
    ("tools", "denied", "shown"),
    [
        (None, None, "All tools"),
        (["Read", "Bash"], None, "Read, Bash"),
        (None, ["Write"], "All tools except Write"),
        (["Read", "Bash"], ["Bash"], "Read"),
        (["Bash"], ["Bash"], "None"),
    ],
)
def test_tools_display(tools: list[str] | None, denied: list[str] | None, shown: str) -> None:
    assert (
        cc.ClaudeCodeVerdict(True, name="a", description="x", tools=tools, disallowed_tools=denied).tools_display
        == shown
    )
