"""Claude Code's own agent memory (`memory:` user | project | local) beside the dated store.

The rules were read from Claude Code 2.1.332 (the binary in the venv): the folders, the 200-line and
25,000-byte window of MEMORY.md and the WARNING after it. test_injected_block_matches_the_binary
compares agentctl's block with what the binary sends (opt-in, like the other binary tests).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentctl.config import load_settings
from agentctl.memory import MemoryStore, memory_window
from agentctl.prompts import claude_code_memory_text, prompt_builder
from agentctl.team import load_team
from tests.conftest import RunCli, agent_text, make_team


def numbered(count: int, width: int = 0) -> str:
    return "".join(f"line {number} of memory{'x' * width}\n" for number in range(1, count + 1))


def test_the_window_cuts_at_200_lines_with_claude_codes_warning() -> None:
    text = numbered(250)
    shown, warning = memory_window(text, len(text))
    assert shown.split("\n")[-1] == "line 200 of memory" and shown.count("\n") == 199
    assert warning == (
        "> WARNING: MEMORY.md is 250 lines (limit: 200). Only part of it was loaded: 50 of 250 lines were cut "
        'off, starting at line 201 ("line 201 of memory"). Keep index entries to one line under ~200 chars; '
        "move detail into topic files."
    )


def test_the_window_cuts_at_25000_bytes_of_whole_lines() -> None:
    text = numbered(150, 300)
    shown, warning = memory_window(text, len(text.encode()))
    assert len(shown.encode()) == 24794 and shown.endswith("line 78 of memory" + "x" * 300)
    assert warning.startswith("> WARNING: MEMORY.md is 46.6KB (limit: 24.4KB) — index entries are too long. ")
    assert '72 of 150 lines were cut off, starting at line 79 ("line 79 of memory' in warning
    both = numbered(300, 300)
    assert (
        "MEMORY.md is 300 lines and 93.4KB. Only part of it was loaded: 222 of 300" in memory_window(both, len(both))[1]
    )


def test_one_long_line_is_cut_inside() -> None:
    text = "y" * 30000 + "\n"
    shown, warning = memory_window(text, len(text))
    assert len(shown) == 25000
    assert "everything after the first 25000 characters of line 1 was cut off." in warning


def test_short_and_empty_memory_have_no_warning() -> None:
    assert memory_window("a\nb\n", 4) == ("a\nb", "")
    assert memory_window("", 0) == ("", "")


def native_project(root: Path, scope: str = "project", index: str = "- [Words](words.md) — the words table\n") -> Path:
    make_team(root, {"mem-agent.md": agent_text("mem-agent", extra=f"memory: {scope}\n")}, layout="claude")
    folder = root / ".claude" / ("agent-memory-local" if scope == "local" else "agent-memory") / "mem-agent"
    if scope == "user":
        folder = root / "home" / ".claude" / "agent-memory" / "mem-agent"
    folder.mkdir(parents=True)
    (folder / "MEMORY.md").write_text(index)
    (folder / "words.md").write_text(
        "---\nname: words\ndescription: the words table index\n---\n\nUse the GIN index.\n"
    )
    return folder


def test_list_show_and_search_show_the_scope_and_kind(tmp_path: Path, cli: RunCli) -> None:
    native_project(tmp_path)
    env = {"HOME": str(tmp_path / "home")}
    listed = cli("memory", "list", "--format", "json", env=env)
    assert listed.exit_code == 0, listed.stderr
    kinds = {(entry["kind"], entry["scope"], entry["format"]) for entry in listed.json()["entries"]}
    assert kinds == {("claude-code", "project", "index"), ("claude-code", "project", "topic")}
    text = cli("memory", "list", env=env).stdout
    assert "project" in text and "MEMORY.md (index)" in text
    assert "GIN" in cli("memory", "show", "mem-agent", "words", env=env).stdout
    hits = cli("memory", "search", "words table", "--format", "json", env=env).json()["hits"]
    assert hits[0]["path"].endswith("words.md") and hits[0]["scope"] == "project"


def test_user_scope_comes_from_the_injected_home(tmp_path: Path, cli: RunCli) -> None:
    native_project(tmp_path, "user")
    listed = cli("memory", "list", "--format", "json", env={"HOME": str(tmp_path / "home")}).json()["entries"]
    assert {entry["scope"] for entry in listed} == {"user"}
    assert cli("memory", "list", "--format", "json").json()["entries"] == []  # no HOME: no user scope


def test_lint_checks_the_window_links_and_secrets(tmp_path: Path, cli: RunCli) -> None:
    folder = native_project(tmp_path, index=numbered(250) + "- [Gone](gone.md) — x\n")
    (folder / "orphan.md").write_text("key sk-ant-api03-" + "A" * 95 + "\n")
    result = cli("memory", "lint", "--format", "json", env={"HOME": str(tmp_path / "home")})
    found = json.dumps(result.json())
    assert "251 lines (limit: 200)" in found
    assert "links to gone.md, which does not exist" in found
    assert "not linked from MEMORY.md" in found and "looks like a secret" in found


def test_lint_of_native_memory_without_a_dated_store_is_not_an_error(tmp_path: Path, cli: RunCli) -> None:
    native_project(tmp_path)
    (tmp_path / ".claude" / "agents-memory").rmdir()
    result = cli("memory", "lint")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_write_goes_where_claude_code_reads(tmp_path: Path, cli: RunCli) -> None:
    folder = native_project(tmp_path)
    result = cli(
        "memory",
        "write",
        "mem-agent",
        "--topic",
        "Redis eviction",
        "--applies-when",
        "tuning the cache",
        stdin=b"allkeys-lru keeps the hot set.\n",
    )
    assert result.exit_code == 0, result.stderr
    assert (folder / "redis-eviction.md").read_text().startswith("---\nname: redis-eviction\n")
    assert (folder / "MEMORY.md").read_text().endswith("- [Redis eviction](redis-eviction.md) — tuning the cache\n")


def test_a_dispatch_prompt_carries_what_claude_code_injects(tmp_path: Path) -> None:
    native_project(tmp_path)
    team = load_team(load_settings(cwd=tmp_path, environ={}))
    builder = prompt_builder(team)
    blocks, _ = builder.system(team.resolve("mem-agent"), "anything")
    block = next(block for block in blocks if block.name == "agent-memory")
    assert block.text.startswith("# Persistent Agent Memory\n\nYou have a persistent, file-based memory system at `")
    assert block.text.endswith("## MEMORY.md\n\n- [Words](words.md) — the words table\n")


@pytest.mark.claude_code
def test_injected_block_matches_the_binary(tmp_path: Path) -> None:
    from tests.claude_binary import find_claude, recorded_requests

    claude = find_claude()
    if claude is None:
        pytest.skip("no claude binary")
    native_project(tmp_path, index=numbered(250))
    bodies = recorded_requests(None, claude, ["--agent", "mem-agent"], project=tmp_path)
    system = "".join(block["text"] for block in json.loads(bodies[0])["system"])
    store = MemoryStore(load_settings(cwd=tmp_path, environ={}))
    ours = claude_code_memory_text(store.injected("mem-agent", "project"))
    sent = system[system.index("# Persistent Agent Memory") :]
    assert sent.split("\n")[:1] == ours.split("\n")[:1]
    assert f"memory system at `{tmp_path.resolve()}/.claude/agent-memory/mem-agent/`" in sent
    tail = ours[ours.index("- Since this memory") :].rstrip("\n")
    assert sent.endswith(tail), "the scope line, MEMORY.md's window and the WARNING match the binary's"


def test_a_dispatch_reads_and_writes_the_user_scope_under_the_injected_home(tmp_path: Path) -> None:
    from agentctl.dispatch import DispatchOptions, run_dispatch
    from agentctl.providers.base import CallRequest, CallResponse, Usage

    folder = native_project(tmp_path, "user", index="- [Words](words.md) — USER-SCOPE-NOTE\n")
    seen: list[str] = []

    class Provider:
        name = "in-test"

        async def complete(self, request: CallRequest) -> CallResponse:
            seen.append("\n".join(block.text for block in request.system))
            answer = "Done.\n\n## Memory Notes\n\n### Seek by start_ms\n**Applies when:** seeking\nSeek by start_ms, not index.\n"
            return CallResponse(answer, Usage(100, 20), "claude-sonnet-5-5")

        async def aclose(self) -> None:
            pass

    settings = load_settings(cwd=tmp_path, environ={})
    environ = {"HOME": str(tmp_path / "home")}
    done = run_dispatch(settings, DispatchOptions("mem-agent", "Plan the words seek"), environ, provider=Provider())
    assert done.result.exit_code == 0 and "USER-SCOPE-NOTE" in seen[0]  # injected from the injected HOME
    assert [note["status"] for note in done.record["memory"]] == ["saved"]
    assert len(list(folder.glob("*.md"))) == 3  # MEMORY.md, words.md, and the note saved in the user scope


def test_an_agent_with_memory_is_told_where_its_notes_go(tmp_path: Path) -> None:
    native_project(tmp_path, "project")
    team = load_team(load_settings(cwd=tmp_path, environ={}))
    told = prompt_builder(team).memory_instructions("mem-agent", "2026-11-30")
    assert (
        "`.claude/agent-memory/mem-agent/<topic-slug>.md`, linked from `.claude/agent-memory/mem-agent/MEMORY.md`"
        in told
    )


def _window(folder: Path) -> None:
    (folder / "MEMORY.md").write_text("- [Words](words.md) — the words table\n" + numbered(249))


def _broken_link(folder: Path) -> None:
    (folder / "MEMORY.md").write_text("- [Words](words.md) — the words table\n- [Gone](gone.md) — never written\n")


def _unlinked(folder: Path) -> None:
    (folder / "orphan.md").write_text("---\nname: orphan\ndescription: nothing links here\n---\n\nA lost note.\n")


def _secret(folder: Path) -> None:
    (folder / "words.md").write_text(
        "---\nname: words\ndescription: the words table\n---\n\nKey: AKIAIOSFODNN7EXAMPLE\n"
    )


def _unclaimed(folder: Path) -> None:
    ghost = folder.parent / "ghost"
    ghost.mkdir()
    (ghost / "MEMORY.md").write_text("# Ghost\n")


def _unreadable(folder: Path) -> None:
    (folder / "elsewhere.md").symlink_to(folder / "words.md")
    (folder / "MEMORY.md").write_text("- [Words](words.md) — the words table\n- [Else](elsewhere.md) — a link\n")


def _not_utf8(folder: Path) -> None:
    (folder / "words.md").write_bytes(b"---\nname: words\ndescription: the words table\n---\n\nCaf\xe9 words.\n")


# rule -> (what breaks the clean memory folder, the file and (line, column) of the finding)
NATIVE_CASES = {
    "MM001": (_window, "mem-agent/MEMORY.md", (201, 1)),
    "MM002": (_broken_link, "mem-agent/MEMORY.md", (2, 10)),
    "MM003": (_unlinked, "mem-agent/orphan.md", (1, 1)),
    "MM004": (_secret, "mem-agent/words.md", (6, 6)),
    "MM005": (_unclaimed, "ghost/MEMORY.md", (1, 1)),
    "MM006": (_unreadable, "mem-agent/elsewhere.md", (1, 1)),
    "MM007": (_not_utf8, "mem-agent/words.md", (6, 4)),
}


def native_findings(result_json: dict[str, Any]) -> dict[str, list[tuple[str, int, int]]]:
    """The findings of each file of Claude Code's memory, by its path below agent-memory/."""
    return {
        file["path"].split("agent-memory/", 1)[1]: [(d["rule"], d["line"], d["column"]) for d in file["diagnostics"]]
        for file in result_json["files"]
        if "agent-memory/" in file["path"]
    }


def test_clean_native_memory_has_no_findings(tmp_path: Path, cli: RunCli) -> None:
    native_project(tmp_path)
    result = cli("validate", ".claude", "--strict", "--format", "json")
    assert result.exit_code == 0, result.stdout
    assert native_findings(result.json()) == {"mem-agent/MEMORY.md": [], "mem-agent/words.md": []}


@pytest.mark.parametrize("rule", sorted(NATIVE_CASES))
def test_each_native_memory_rule_fires_in_validate_and_memory_lint(tmp_path: Path, cli: RunCli, rule: str) -> None:
    from agentctl.validate.rules import RULES

    breaks, path, (line, column) = NATIVE_CASES[rule]
    breaks(native_project(tmp_path))
    validated = cli("validate", ".claude", "--format", "json")
    linted = cli("memory", "lint", "--format", "json")
    assert validated.exit_code == linted.exit_code == (1 if RULES[rule].severity == "error" else 0)
    found = native_findings(validated.json())
    assert [finding for finding in found[path] if finding[0] == rule] == [(rule, line, column)], found
    assert native_findings(linted.json()) == found  # the same findings, through the same rules
    assert "TM009" not in json.dumps(linted.json())  # TM009 is the dated notes' rule
    ignored = cli("validate", ".claude", "--format", "json", "--ignore", rule).json()
    assert all(finding[0] != rule for findings in native_findings(ignored).values() for finding in findings)


def test_the_window_finding_says_which_lines_are_cut_off(tmp_path: Path, cli: RunCli) -> None:
    folder = native_project(tmp_path)
    (folder / "MEMORY.md").write_text("\n\n- [Words](words.md) — the words table\n" + numbered(260))
    [diagnostic] = [
        d
        for file in cli("validate", ".claude", "--format", "json").json()["files"]
        for d in file["diagnostics"]
        if d["rule"] == "MM001"
    ]
    assert diagnostic["line"] == 203  # the file's own numbering: Claude Code trims the two blank lines first
    assert diagnostic["message"] == (
        "MEMORY.md is 261 lines (limit: 200): Claude Code injects lines 3-202 into the agent's prompt and cuts off "
        'lines 203-263 (from "line 200 of memory")'
    )


def test_a_folder_of_an_agent_without_that_scope_is_unclaimed(tmp_path: Path, cli: RunCli) -> None:
    folder = native_project(tmp_path, "local")  # the agent declares `memory: local`...
    project = folder.parent.parent / "agent-memory" / "mem-agent"  # ...so its project folder is never read
    project.mkdir(parents=True)
    (project / "MEMORY.md").write_text("# Old project memory\n")
    found = {
        file["path"]: [(d["rule"], d["message"]) for d in file["diagnostics"]]
        for file in cli("validate", ".claude", "--format", "json").json()["files"]
    }
    assert found[".claude/agent-memory/mem-agent/MEMORY.md"] == [
        ("MM005", "the agent 'mem-agent' declares `memory: local`: Claude Code never reads its project memory folder")
    ]
    assert found[".claude/agent-memory-local/mem-agent/MEMORY.md"] == []


def test_a_user_agent_claims_a_project_memory_folder(tmp_path: Path, cli: RunCli) -> None:
    folder = native_project(tmp_path)
    user = tmp_path / "home" / ".claude" / "agents"
    user.mkdir(parents=True)
    (user / "helper.md").write_text(agent_text("helper", extra="memory: project\n"))
    helper = folder.parent / "helper"
    helper.mkdir()
    (helper / "MEMORY.md").write_text("# Helper\n")
    home = {"HOME": str(tmp_path / "home")}
    for command in (["validate", ".claude"], ["memory", "lint"]):
        result = cli(*command, "--format", "json", env=home).json()
        assert native_findings(result)["helper/MEMORY.md"] == [], command
    without_user = cli("validate", ".claude", "--format", "json", "--no-user", env=home).json()
    assert [rule for rule, *_ in native_findings(without_user)["helper/MEMORY.md"]] == ["MM005"]


def test_user_scope_memory_is_never_unclaimed(tmp_path: Path, cli: RunCli) -> None:
    native_project(tmp_path, "user")
    other = tmp_path / "home" / ".claude" / "agent-memory" / "another-projects-agent"
    other.mkdir()
    (other / "MEMORY.md").write_text("# Another project's agent\n")
    result = cli("memory", "lint", "--format", "json", "--strict", env={"HOME": str(tmp_path / "home")})
    assert result.exit_code == 0, result.stdout
    assert native_findings(result.json())["another-projects-agent/MEMORY.md"] == []
