"""Special files, sizes and names (issue #10): the one directory walk, bounded reads of agent files,
protocol and inputs, the cap on a task's terms, and `agentctl new`'s refusals. Each test is the
small, in-process form of a hostile case in tests/hostile/cases_files.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentctl import bounds
from agentctl.spec import load_agent_file
from agentctl.team import read_protocol, read_roster
from agentctl.walk import markdown_files
from tests.conftest import RunCli, agent_text, make_team

PROTOCOL = "| Agent | Display name |\n|---|---|\n| `reviewer` | Code Reviewer |\n"


@pytest.fixture
def team(tmp_path: Path) -> Path:
    return make_team(tmp_path, {"reviewer.md": agent_text("reviewer")}, protocol=PROTOCOL)


@pytest.fixture
def bytes_read(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every os.read's result length, for tests that a file is never read."""
    counted: list[int] = []
    real_read = os.read

    def counting_read(descriptor: int, size: int) -> bytes:
        data = real_read(descriptor, size)
        counted.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counting_read)
    yield counted


# --- the walk ------------------------------------------------------------------------------------------------


def test_walk_visits_each_real_folder_once_whatever_the_links(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.md").write_text("a")
    (tmp_path / "sub" / "b.md").write_text("b")
    for name in ("l1", "l2", "sub/up"):
        (tmp_path / name).symlink_to(tmp_path)  # each a loop back to the top
    (tmp_path / "alias").symlink_to(tmp_path / "sub")
    assert markdown_files(tmp_path) == [tmp_path / "a.md", tmp_path / "sub" / "b.md"]  # real paths win


def test_walk_follows_a_linked_folder_outside_once(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "c.md").write_text("c")
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "shared").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "agents" / "shared-again").symlink_to(tmp_path / "elsewhere")
    assert markdown_files(tmp_path / "agents") == [tmp_path / "agents" / "shared" / "c.md"]


def test_walk_lists_special_entries_for_the_reader_and_skips_tool_folders(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.md")
    (tmp_path / "loop.md").symlink_to("loop.md")
    (tmp_path / "dangling.md").symlink_to("nowhere.md")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.md").write_text("x")
    names = [path.name for path in markdown_files(tmp_path)]
    assert names == ["dangling.md", "fifo.md", "loop.md"]


# --- agent files ---------------------------------------------------------------------------------------------


def test_special_agent_files_are_unreadable_findings_not_hangs(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.md")
    (tmp_path / "zero.md").symlink_to("/dev/zero")
    (tmp_path / "loop.md").symlink_to("loop.md")
    (tmp_path / "folder.md").mkdir()
    reasons = {name: load_agent_file(tmp_path / name).read_error for name in ("fifo.md", "zero.md", "loop.md")}
    assert reasons == {
        "fifo.md": "a FIFO, not a regular file",
        "zero.md": "a device, not a regular file",
        "loop.md": "Too many levels of symbolic links",
    }
    folder = load_agent_file(tmp_path / "folder.md")
    assert folder.read_error == "a directory, not a regular file"
    assert folder.verdict.reason == "cannot read the file: a directory, not a regular file"


def test_an_agent_file_over_the_limit_is_never_read(tmp_path: Path, bytes_read: list[int]) -> None:
    big = tmp_path / "big.md"
    with big.open("wb") as handle:
        handle.truncate(2**31)
    agent = load_agent_file(big)
    assert agent.too_large and agent.verdict.reason == "the file is larger than 1 MiB"
    assert sum(bytes_read) == 0


def test_an_agent_file_at_the_limit_is_still_read(tmp_path: Path) -> None:
    """Claude Code's limit is inclusive: bounds.AGENT_FILE_BYTES bytes load, one more does not."""
    head = agent_text("edge").encode()
    exact = tmp_path / "exact.md"
    exact.write_bytes(head + b"x" * (bounds.AGENT_FILE_BYTES - len(head)))
    over = tmp_path / "over.md"
    over.write_bytes(exact.read_bytes() + b"x")
    assert load_agent_file(exact).verdict.loads
    assert load_agent_file(over).too_large


def test_validate_reports_each_special_file_and_checks_the_rest(team: Path, cli: RunCli) -> None:
    agents = team / "agents"
    os.mkfifo(agents / "fifo.md")
    (agents / "zero.md").symlink_to("/dev/zero")
    (agents / "loop.md").symlink_to("loop.md")
    (agents / "dangling.md").symlink_to("gone.md")
    (agents / "here").symlink_to(".")
    (agents / "again").symlink_to(".")
    result = cli("validate", "--format", "json", cwd=team)
    assert result.exit_code == 1, result.stderr
    found = {entry["path"]: [d["message"] for d in entry["diagnostics"]] for entry in result.json()["files"]}
    assert found == {
        "agents-shared/team-protocol.md": [],
        "agents/dangling.md": ["cannot read the file: No such file or directory"],
        "agents/fifo.md": ["cannot read the file: a FIFO, not a regular file"],
        "agents/loop.md": ["cannot read the file: Too many levels of symbolic links"],
        "agents/reviewer.md": [],
        "agents/zero.md": ["cannot read the file: a device, not a regular file"],
    }


def test_validate_checks_a_special_file_it_is_given(team: Path, cli: RunCli) -> None:
    (team / "agents" / "loop.md").symlink_to("loop.md")
    result = cli("validate", "agents/loop.md", cwd=team)
    assert result.exit_code == 1
    assert "CC010  cannot read the file: Too many levels of symbolic links" in result.stdout


def test_list_shows_why_an_unreadable_file_is_skipped(team: Path, cli: RunCli) -> None:
    os.mkfifo(team / "agents" / "fifo.md")
    result = cli("list", "--format", "json", cwd=team)
    assert result.exit_code == 0
    reasons = {agent["path"]: agent["claude_code"]["reason"] for agent in result.json()["agents"]}
    assert reasons == {
        "agents/fifo.md": "cannot read the file: a FIFO, not a regular file",
        "agents/reviewer.md": None,
    }


# --- the protocol ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["directory", "fifo", "loop", "dangling"])
def test_an_unreadable_protocol_has_no_roster_and_prompt_says_why(team: Path, cli: RunCli, kind: str) -> None:
    path = team / "agents-shared" / "team-protocol.md"
    path.unlink()
    {"directory": path.mkdir, "fifo": lambda: os.mkfifo(path)}.get(kind, lambda: None)()
    if kind in ("loop", "dangling"):
        path.symlink_to(path.name if kind == "loop" else "gone.md")
    with pytest.raises(OSError):
        read_protocol(path)
    assert read_roster(path) == []
    assert cli("list", cwd=team).exit_code == 0
    result = cli("prompt", "reviewer", "--task", "x", cwd=team)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot read the team protocol {path}: ")


def test_a_protocol_over_the_limit_is_not_read(team: Path, bytes_read: list[int]) -> None:
    path = team / "agents-shared" / "team-protocol.md"
    with path.open("ab") as handle:
        handle.truncate(bounds.PROTOCOL_BYTES + 1)
    assert read_roster(path) == []
    assert sum(bytes_read) == 0


# --- sizes ---------------------------------------------------------------------------------------------------


def test_input_over_the_limit_is_refused_after_reading_at_most_one_byte_more(team: Path, cli: RunCli) -> None:
    flood = b"x" * (bounds.INPUT_BYTES + 10)
    result = cli("handoffs", "parse", "-", stdin=flood, cwd=team)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: standard input is larger than 8 MiB")
    big = team / "answer.md"
    with big.open("wb") as handle:
        handle.truncate(2**31)
    result = cli("handoffs", "parse", "answer.md", cwd=team)
    assert result.exit_code == 2 and result.stderr.startswith("error: answer.md is larger than 8 MiB")


def test_input_that_is_not_a_regular_file_is_refused_without_blocking(team: Path, cli: RunCli) -> None:
    os.mkfifo(team / "answer.md")
    result = cli("handoffs", "parse", "answer.md", cwd=team)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: cannot read answer.md: a FIFO, not a regular file",
        "hint: pass an agent's output file (a regular file), or - and pipe the text in",
    ]


def test_input_at_the_limit_is_read(team: Path, cli: RunCli) -> None:
    result = cli("handoffs", "parse", "-", stdin=b"x" * bounds.INPUT_BYTES, cwd=team)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("prompt", "reviewer", "--task", "-"),
        ("prompt", "reviewer", "--task", "short", "--context", "-"),
        ("route", "-"),
    ],
)
def test_a_task_over_the_limit_is_a_usage_error(team: Path, cli: RunCli, args: tuple[str, ...]) -> None:
    oversized = "word " * (bounds.TASK_BYTES // 5 + 1)
    given = tuple(oversized if arg == "-" and "--context" in args else arg for arg in args)
    result = cli(*given, stdin=oversized.encode(), cwd=team)
    assert result.exit_code == 2
    assert "; the limit is 512 KiB" in result.stderr.splitlines()[0]


def test_route_looks_at_a_bounded_number_of_terms(team: Path) -> None:
    from agentctl import route

    task = " ".join(f"w{number}" for number in range(bounds.QUERY_TERMS * 4)) + " review" * 3
    chosen = route._query_terms(task)
    assert len(chosen) == bounds.QUERY_TERMS and chosen[0] == "review"  # the repeated word comes first
    short = "review the users table schema, then the users table index"
    assert route._query_terms(short) == list(dict.fromkeys(route.terms(short)))  # as written, as before


# --- agentctl new ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("a" * 300,), "error: the agent name is 300 characters long; the most is 64"),
        (("ok", "--display-name", "D" * 300), "error: the display name is 300 characters long; the most is 64"),
        (("ok", "--display-name", "| x |"), "error: '| x |' is not a valid display name"),
        (("ok", "--model", "sonnet\nhooks: x"), "error: --model 'sonnet\\nhooks: x' is not a model alias or id"),
        (("ok", "--color", "blue\nx: y"), "error: --color 'blue\\nx: y' is not a colour name"),
        (("ok", "--when", "a\nb"), "error: --when must be one line, without control characters"),
        (("ok", "--tools", "Read, mcp__x\nname: y"), "error: --tools must be one line of comma-separated tool names"),
    ],
    ids=["long-name", "long-display-name", "pipe-display-name", "model-newline", "color-newline", "when", "tools"],
)
def test_new_refuses_what_would_break_its_file_or_row(
    team: Path, cli: RunCli, args: tuple[str, ...], message: str
) -> None:
    before = (team / "agents-shared" / "team-protocol.md").read_bytes()
    result = cli("new", *args, "--role", "Does things.", cwd=team)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == message
    assert sorted(os.listdir(team / "agents")) == ["reviewer.md"]
    assert (team / "agents-shared" / "team-protocol.md").read_bytes() == before


def test_new_refuses_to_rewrite_a_protocol_that_is_not_utf8(team: Path, cli: RunCli) -> None:
    path = team / "agents-shared" / "team-protocol.md"
    path.write_bytes(PROTOCOL.encode() + b"\nCaf\xe9 rules\n")
    result = cli("new", "writer", "--role", "Writes docs.", cwd=team)
    assert result.exit_code == 2 and "is not UTF-8 text: agentctl new does not rewrite it" in result.stderr
    assert path.read_bytes().endswith(b"Caf\xe9 rules\n") and not (team / "agents" / "writer.md").exists()
