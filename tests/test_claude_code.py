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


BASE = {"name": "a", "description": "d"}


@pytest.mark.parametrize(
    ("extra", "tools"),
    [
        ({"memory": "project", "tools": "Bash, Grep"}, ["Bash", "Grep", "Write", "Edit", "Read"]),
        ({"memory": "local", "tools": "Read"}, ["Read", "Write", "Edit"]),
        ({"memory": "user", "tools": []}, ["Write", "Edit", "Read"]),  # even an empty list
        ({"memory": "user", "tools": None}, ["Write", "Edit", "Read"]),
        ({"memory": "project", "tools": "read"}, ["read", "Write", "Edit", "Read"]),  # names match exactly
        ({"memory": "Project", "tools": "Bash"}, ["Bash"]),  # a scope it does not know adds nothing
        ({"memory": ["project"], "tools": "Bash"}, ["Bash"]),
        ({"memory": "project"}, None),  # every tool already
        ({"memory": "project", "tools": "*"}, None),
    ],
)
def test_memory_adds_the_tools_that_keep_it(extra: dict[str, object], tools: list[str] | None) -> None:
    """Checked against 2.1.330 and 2.1.332, in the listing and in the tools a subagent is sent."""
    assert cc.judge(BASE | extra).tools == tools


def test_memory_tools_come_before_disallowed_tools_are_taken() -> None:
    verdict = cc.judge(BASE | {"memory": "local", "tools": "Bash, Write", "disallowedTools": "Edit"})
    assert verdict.tools_display == "Bash, Write, Read"


@pytest.mark.parametrize("tools", [[], None, "", False, 5])
def test_a_present_but_empty_tools_grants_none_though_the_listing_says_all(tools: object) -> None:
    """At run time such a subagent is sent no tools at all (both releases); only the listing Claude
    Code shows the model reads "All tools"."""
    verdict = cc.judge(BASE | {"tools": tools})
    assert verdict.tools == [] and verdict.tools_display == "All tools"


def test_the_json_verdict_carries_disallowed_tools() -> None:
    verdict = cc.judge(BASE | {"disallowedTools": "Write, Edit"})
    assert verdict.to_json()["disallowed_tools"] == ["Write", "Edit"]
    assert verdict.tools_display == "All tools except Write, Edit"


def test_the_version_modelled_is_the_data_files() -> None:
    from agentctl import reference

    assert reference.claude_code().version == cc.CLAUDE_CODE_VERSION
