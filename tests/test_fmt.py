"""`agentctl fmt`: valid YAML that Claude Code reads as the author meant; body untouched; idempotent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentctl import ccyaml
from agentctl.fmt import format_text
from agentctl.spec import parse_agent_text
from tests.conftest import CLAUDE_CODE_FIXTURES, RunCli, agent_text, make_team

FIXTURES = sorted(p for p in CLAUDE_CODE_FIXTURES.rglob("*.md"))


def body_after_closing_line(text: str) -> str:
    lines = text.split("\n")
    closing = next(i for i, line in enumerate(lines[1:], start=1) if line.rstrip(" \t\r") == "---")
    return "\n".join(lines[closing + 1 :])


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_formatting_any_fixture_keeps_meaning_and_body(path: Path) -> None:
    original = path.read_bytes().decode("utf-8", errors="strict") if b"\xe9" not in path.read_bytes() else None
    if original is None:
        pytest.skip("not UTF-8: fmt refuses to rewrite it")
    result = format_text(path, original)
    if not result.changed:
        return
    after = parse_agent_text(path, result.formatted)
    intended = parse_agent_text(path, original).spec
    assert after.reading is not None and after.reading.status == "valid"
    assert after.reading.parsed is not None and after.reading.parsed.standard_error is None
    if intended.name and intended.description:
        assert after.verdict.loads
        assert after.verdict.name == intended.name
        assert after.verdict.description == intended.description.replace("\\n", "\n")
        assert after.verdict.tools == intended.tools
    assert body_after_closing_line(result.formatted) == body_after_closing_line(original)
    assert format_text(path, result.formatted).formatted == result.formatted  # idempotent


def fmt(text: str) -> str:
    return format_text(Path("agent.md"), text).formatted


def test_fallback_truncation_is_repaired_with_the_whole_description() -> None:
    text = (CLAUDE_CODE_FIXTURES / "fallback-swallows-keys.md").read_text()
    formatted = fmt(text)
    assert formatted.startswith(
        "---\nname: fallback-swallows-keys\ndescription: |-\n"
        "  Use this agent for database work, for example: schema reviews\n"
        "  Context: the user changed a migration\n"
        "  user: please check my migration\n"
        "  assistant: I will ask the database agent\n"
        "tools: Read, Grep\n---\n"
    )


def test_a_file_claude_code_skips_becomes_loadable() -> None:
    text = (CLAUDE_CODE_FIXTURES / "unquoted-colon-examples-skipped.md").read_text()
    assert not parse_agent_text(Path("a.md"), text).verdict.loads
    after = parse_agent_text(Path("a.md"), fmt(text))
    assert after.verdict.loads and "<example>" in str(after.verdict.description)


def test_dashes_in_a_value_are_escaped_not_changed() -> None:
    formatted = fmt("---\nname: d\ndescription: Checks layouts --- then reports.\n---\nbody\n")
    assert "---" not in formatted.split("\n")[2]
    assert parse_agent_text(Path("d.md"), formatted).verdict.description == "Checks layouts --- then reports."


def test_valid_frontmatter_keeps_its_comments_and_only_fixes_what_needs_it() -> None:
    text = "---\n# owner: data team\nname: lists\ndescription: Tools as a list.  # trailing note\ntools:\n  - Read\n  - Grep\nmodel: opus\n---\nBody.\n"
    assert (
        fmt(text)
        == "---\n# owner: data team\nname: lists\ndescription: Tools as a list.  # trailing note\ntools: Read, Grep\nmodel: opus\n---\nBody.\n"
    )


def test_line_endings_and_byte_order_mark_are_kept() -> None:
    text = "\ufeff---\r\nname: crlf\r\ndescription: Use when: x\r\n---\r\n\r\nBody.\r\n"
    formatted = fmt(text)
    assert formatted == '\ufeff---\r\nname: crlf\r\ndescription: "Use when: x"\r\n---\r\n\r\nBody.\r\n'


def test_shadowed_duplicate_keys_are_removed() -> None:
    text = "---\nname: old\ndescription: Dup.\nname: dup\n---\nBody.\n"
    assert fmt(text) == "---\ndescription: Dup.\nname: dup\n---\nBody.\n"


def test_every_shadowed_copy_goes_in_one_run() -> None:
    text = "---\nname: a\ndescription: Dup.\nname: b\nmodel: opus\nname: c\n---\nBody.\n"
    assert fmt(text) == "---\ndescription: Dup.\nmodel: opus\nname: c\n---\nBody.\n"
    assert fmt(fmt(text)) == fmt(text)


def test_an_already_clean_file_is_left_alone() -> None:
    text = agent_text("clean", extra="tools: Read, Grep\n")
    result = format_text(Path("clean.md"), text)
    assert not result.changed and result.formatted == text


def test_strings_are_emitted_in_the_simplest_safe_style() -> None:
    for value, expected in [
        ("Reviews code.", "Reviews code."),
        ("yes", '"yes"'),  # a boolean to YAML 1.1 readers
        ("Use when: x", '"Use when: x"'),
        ("C# code #tag", '"C# code #tag"'),
        ("{{PLACEHOLDER}}", '"{{PLACEHOLDER}}"'),
    ]:
        formatted = fmt(f"---\nname: s\ndescription: {value}\nx: [\n---\n")
        line = formatted.split("\n")[2]
        assert line == f"description: {expected}", value if value != "Use when: x" else line
        assert ccyaml.parse(formatted.split("---\n")[1]).ok


def test_fmt_check_and_write(tmp_path: Path, cli: RunCli) -> None:
    broken = "---\nname: broken\ndescription: Use when: x\n---\nBody.\n"
    root = make_team(tmp_path, {"broken.md": broken, "clean.md": agent_text("clean")})
    path = root / "agents" / "broken.md"
    os.chmod(path, 0o640)
    check = cli("fmt", "--check", cwd=root)
    assert check.exit_code == 1 and "would reformat agents/broken.md" in check.stdout
    assert path.read_text() == broken
    diff = cli("fmt", "--diff", cwd=root)
    assert diff.exit_code == 0 and '+description: "Use when: x"' in diff.stdout and path.read_text() == broken
    write = cli("fmt", cwd=root)
    assert write.exit_code == 0 and "reformatted agents/broken.md" in write.stdout
    assert path.read_text() == '---\nname: broken\ndescription: "Use when: x"\n---\nBody.\n'
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert not list((root / "agents").glob(".*.tmp"))  # nothing half-written left behind
    assert cli("fmt", "--check", cwd=root).exit_code == 0


def test_fmt_json_and_unformattable_files(tmp_path: Path, cli: RunCli) -> None:
    root = make_team(tmp_path, {"none.md": "# no frontmatter\n", "ok.md": agent_text("ok")})
    (root / "agents" / "latin1.md").write_bytes(b"---\nname: l\ndescription: caf\xe9\n---\n")
    result = cli("fmt", "--format", "json", cwd=root)
    assert result.exit_code == 1  # a file fmt cannot format is a problem, as in --check
    data = result.json()
    problems = {Path(f["path"]).name: f["problem"] for f in data["files"]}
    assert problems["none.md"] == "no frontmatter to format"
    assert problems["latin1.md"].startswith("not UTF-8")
    assert problems["ok.md"] is None
    assert data["summary"] == {"files": 3, "changed": 0, "failed": 2}


def test_an_empty_tools_list_is_left_as_it_is() -> None:
    text = "---\nname: e\ndescription: Empty tools.\ntools: []\n---\nBody.\n"
    assert not format_text(Path("e.md"), text).changed


@pytest.mark.parametrize(
    "frontmatter",
    ["- name: reviewer\n- description: Reviews code.\n", "just some words: and: more\n", '"a single string"\n'],
)
def test_a_frontmatter_whose_keys_cannot_be_known_is_never_emptied(frontmatter: str) -> None:
    """fmt once rewrote a list frontmatter as nothing at all: name and description gone."""
    text = f"---\n{frontmatter}---\nBody.\n"
    result = format_text(Path("agents/x.md"), text)
    assert not result.changed and result.formatted == text
    if not result.problem:  # what fmt does write must keep every key it read
        assert format_text(Path("agents/x.md"), text).formatted == text


def test_comment_lines_outside_entries_survive_a_full_rewrite() -> None:
    text = "---\n# keep me\nname: tabby\n  # indented note\ndescription: x: y\n---\nBody.\n"
    result = format_text(Path("agents/x.md"), text)
    assert result.changed and "# keep me\n" in result.formatted
    assert "# indented note" in result.formatted
