"""`agentctl fmt` writes a file back as the same file, only where agentctl may write, and never hangs
or crashes on a hostile one (issue #10)."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Any

import pytest

from agentctl import ccyaml, fsutil
from agentctl.fmt import _holds_dashes, format_file, format_text
from tests.conftest import RunCli, agent_text, make_team

BROKEN = "---\nname: {name}\ndescription: Use when: x\n---\nBody.\n"
FIXED = '---\nname: {name}\ndescription: "Use when: x"\n---\nBody.\n'
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")


def broken(name: str) -> str:
    return BROKEN.format(name=name)


def fixed(name: str) -> str:
    return FIXED.format(name=name)


def team(tmp_path: Path, **agents: str) -> Path:
    return make_team(tmp_path / "team", {f"{name}.md": text for name, text in agents.items()})


# --- symlinks -------------------------------------------------------------------------------------


def test_a_symlink_inside_the_team_stays_a_link_and_its_target_is_formatted(tmp_path: Path, cli: RunCli) -> None:
    root = team(tmp_path)
    (root / "shared-agents").mkdir()
    target = root / "shared-agents" / "linked.md"
    target.write_text(broken("linked"))
    link = root / "agents" / "linked.md"
    link.symlink_to("../shared-agents/linked.md")
    result = cli("fmt", cwd=root)
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == "../shared-agents/linked.md"
    assert target.read_text() == fixed("linked")


def test_a_symlink_leading_out_of_the_team_is_not_written_through(tmp_path: Path, cli: RunCli) -> None:
    root = team(tmp_path, ok=broken("ok"))
    outside = tmp_path / "elsewhere" / "x.md"
    outside.parent.mkdir()
    outside.write_text(broken("x"))
    (root / "agents" / "x.md").symlink_to(outside)
    result = cli("fmt", cwd=root)
    assert result.exit_code == 1
    assert outside.read_text() == broken("x")
    assert (root / "agents" / "x.md").is_symlink()
    assert f"cannot format agents/x.md: a symlink leads it outside the team, to {outside}" in result.stderr
    assert f"run `agentctl fmt {outside}` on the target itself" in result.stderr
    assert (root / "agents" / "ok.md").read_text() == fixed("ok")  # the others are still formatted


def test_a_symlinked_folder_leading_out_of_the_team_is_not_written_into(tmp_path: Path, cli: RunCli) -> None:
    root = team(tmp_path, ok=agent_text("ok"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.md").write_text(broken("x"))
    (root / "agents" / "more").symlink_to(elsewhere, target_is_directory=True)
    data = cli("fmt", "--format", "json", cwd=root).json()
    problems = {entry["path"]: entry["problem"] for entry in data["files"]}
    assert "outside the team" in problems["agents/more/x.md"]
    assert (elsewhere / "x.md").read_text() == broken("x")


def test_without_a_team_only_the_folders_named_are_written(tmp_path: Path, cli: RunCli) -> None:
    named = tmp_path / "named"
    named.mkdir()
    (tmp_path / "sibling.md").write_text(broken("sibling"))
    (named / "sibling.md").symlink_to(tmp_path / "sibling.md")
    assert cli("fmt", "named", cwd=tmp_path).exit_code == 1
    assert (tmp_path / "sibling.md").read_text() == broken("sibling")
    assert cli("fmt", "sibling.md", cwd=tmp_path).exit_code == 0  # named itself, it is formatted
    assert (tmp_path / "sibling.md").read_text() == fixed("sibling")


# --- hard links, owner, mode ----------------------------------------------------------------------


def test_hard_links_stay_linked(tmp_path: Path, cli: RunCli) -> None:
    root = team(tmp_path, hard=broken("hard"))
    path = root / "agents" / "hard.md"
    other = tmp_path / "backup.md"
    os.link(path, other)
    inode = path.stat().st_ino
    assert cli("fmt", cwd=root).exit_code == 0
    assert path.stat().st_ino == inode and path.stat().st_nlink == 2
    assert other.read_text() == fixed("hard")


@as_root
def test_owner_group_and_mode_are_kept(tmp_path: Path, cli: RunCli) -> None:
    root = team(tmp_path, owned=broken("owned"))
    path = root / "agents" / "owned.md"
    os.chown(path, 1000, 1001)
    os.chmod(path, 0o640)
    assert cli("fmt", cwd=root).exit_code == 0
    info = path.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o7777) == (1000, 1001, 0o640)
    assert path.read_text() == fixed("owned")


def test_a_file_whose_owner_cannot_be_kept_is_rewritten_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.md"
    path.write_text("old text\n")
    inode = path.stat().st_ino
    owner = os.stat(path)
    # As a user who does not own the file: a new file would be ours, and chown is not permitted.
    monkeypatch.setattr(os, "fstat", lambda fd: _owned_by_someone_else(os.lstat(path), owner))
    monkeypatch.setattr(os, "fchown", _not_permitted)
    fsutil.rewrite_bytes(path, b"new text, longer than the old one\n")
    monkeypatch.undo()
    assert path.read_bytes() == b"new text, longer than the old one\n"
    assert path.stat().st_ino == inode
    assert not list(tmp_path.glob(".*.tmp"))


def _owned_by_someone_else(info: os.stat_result, owner: os.stat_result) -> Any:
    values = list(info)
    values[4] = owner.st_uid + 1  # st_uid
    return os.stat_result(values)


def _not_permitted(*args: object) -> None:
    raise PermissionError(errno.EPERM, "Operation not permitted")


# --- read-only files ------------------------------------------------------------------------------


def test_a_read_only_file_is_left_with_a_finding_and_exit_1(tmp_path: Path, cli: RunCli) -> None:
    root = team(tmp_path, locked=broken("locked"), open=broken("open"))
    path = root / "agents" / "locked.md"
    os.chmod(path, 0o444)  # read-only by its bits, even to root (these tests may run as root)
    result = cli("fmt", cwd=root)
    assert result.exit_code == 1
    assert "cannot format agents/locked.md: read-only: not rewritten" in result.stderr
    assert path.read_text() == broken("locked") and path.stat().st_mode & 0o777 == 0o444
    assert (root / "agents" / "open.md").read_text() == fixed("open")
    os.chmod(path, 0o644)
    assert cli("fmt", cwd=root).exit_code == 0 and path.read_text() == fixed("locked")


def test_an_unchanged_read_only_file_is_no_problem(tmp_path: Path, cli: RunCli) -> None:
    root = team(tmp_path, clean=agent_text("clean"))
    os.chmod(root / "agents" / "clean.md", 0o444)
    assert cli("fmt", cwd=root).exit_code == 0


# --- temporaries, failed writes --------------------------------------------------------------------


def test_stale_temporaries_of_killed_runs_are_removed_and_fresh_ones_kept(tmp_path: Path, cli: RunCli) -> None:
    root = team(tmp_path, a=agent_text("a"))
    agents = root / "agents"
    stale, fresh, other = agents / ".a.md.k3j9x0_q.tmp", agents / ".a.md.abcdefgh.tmp", agents / "notes.tmp"
    for path in (stale, fresh, other):
        path.write_text("half")
    hour_ago = time.time() - 3600
    for path in (stale, other):
        os.utime(path, (hour_ago, hour_ago))
    data = cli("fmt", "--format", "json", cwd=root).json()
    assert data["removed"] == ["agents/.a.md.k3j9x0_q.tmp"]
    assert not stale.exists() and fresh.exists() and other.exists()


def test_check_and_diff_remove_nothing(tmp_path: Path, cli: RunCli) -> None:
    root = team(tmp_path, a=agent_text("a"))
    stale = root / "agents" / ".a.md.k3j9x0_q.tmp"
    stale.write_text("half")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    cli("fmt", "--check", cwd=root)
    cli("fmt", "--diff", cwd=root)
    assert stale.exists()


def test_a_failed_replace_leaves_the_original_and_no_temporary(
    tmp_path: Path, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = team(tmp_path, a=broken("a"))
    path = root / "agents" / "a.md"

    def full_disk(source: object, destination: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    result = cli("fmt", cwd=root)
    assert result.exit_code == 1
    assert "cannot write: No space left on device" in result.stderr
    assert path.read_text() == broken("a")
    assert not list((root / "agents").glob(".*.tmp"))


def test_a_failed_in_place_write_puts_the_old_bytes_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(b"old text\n")
    os.link(path, tmp_path / "b.md")  # a second link: rewritten in place
    real_pwrite = os.pwrite
    writes: list[bytes] = []

    def failing_pwrite(descriptor: int, data: bytes, offset: int) -> int:
        writes.append(bytes(data))
        if len(writes) == 1:  # the new text: half of it lands, then the disk fails
            real_pwrite(descriptor, bytes(data)[:4], offset)
            raise OSError(errno.EIO, "Input/output error")
        return real_pwrite(descriptor, data, offset)

    monkeypatch.setattr(os, "pwrite", failing_pwrite)
    with pytest.raises(OSError, match="Input/output error"):
        fsutil.rewrite_bytes(path, b"a new and longer text\n")
    monkeypatch.undo()
    assert path.read_bytes() == b"old text\n" == (tmp_path / "b.md").read_bytes()


def test_a_very_long_file_name_still_gets_a_temporary_beside_it(tmp_path: Path, cli: RunCli) -> None:
    name = "a" * 250
    root = team(tmp_path, **{name: broken(name)})
    assert cli("fmt", cwd=root).exit_code == 0
    assert (root / "agents" / f"{name}.md").read_text() == fixed(name)


# --- special and oversized files -------------------------------------------------------------------


def test_a_fifo_is_a_finding_not_a_hang(tmp_path: Path, cli: RunCli) -> None:
    root = team(tmp_path, ok=broken("ok"))
    os.mkfifo(root / "agents" / "pipe.md")
    result = cli("fmt", cwd=root)
    assert result.exit_code == 1
    assert "cannot format agents/pipe.md: a FIFO, not a regular file" in result.stderr
    assert (root / "agents" / "ok.md").read_text() == fixed("ok")


def test_a_huge_sparse_file_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    with path.open("wb") as stream:
        stream.truncate(2 << 30)  # 2 GiB of nothing: reading it would take seconds and 2 GiB
    result = format_file(path)
    assert result.problem is not None and result.problem.startswith("larger than 1 MiB")


# --- hostile frontmatter ---------------------------------------------------------------------------


def _alias_bomb(levels: int = 9) -> str:
    lines = ['a: &a ["y", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, levels):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_walked_once_per_node() -> None:
    shared: Any = ["x"]
    for _ in range(40):  # 2**40 paths to the leaf: a walk that follows each one never ends
        shared = [shared, shared]
    assert not _holds_dashes(shared)
    assert _holds_dashes({"bomb": shared, "last": "x---y"})


def test_fmt_on_an_alias_bomb_neither_hangs_nor_loses_it(tmp_path: Path, cli: RunCli) -> None:
    text = "---\nname: bomb\ndescription: Has tools as a list.\ntools:\n  - Read\n" + _alias_bomb() + "---\nBody.\n"
    root = team(tmp_path, bomb=text)
    result = cli("fmt", cwd=root)
    assert result.exit_code in (0, 1), result.stderr
    after = (root / "agents" / "bomb.md").read_text()
    assert after == text or after == text.replace("tools:\n  - Read\n", "tools: Read\n")


def test_frontmatter_over_the_parsers_budget_is_not_rewritten(monkeypatch: pytest.MonkeyPatch) -> None:
    reason = "the frontmatter uses YAML aliases that expand to 43,046,721 nodes (agentctl's limit is 10,000)"
    parse = ccyaml.parse

    def over_budget(text: str) -> ccyaml.YamlResult:
        result = parse(text)
        result.over_budget = reason
        return result

    monkeypatch.setattr(ccyaml, "parse", over_budget)
    text = "---\nname: b\ndescription: Tools as a list.\ntools:\n  - Read\n---\nBody.\n"
    result = format_text(Path("b.md"), text)
    assert result.problem == f"{reason}: not rewritten" and not result.changed


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("[" * 3000 + "]" * 3000, "nests"),
        ("&a [*a]", "itself"),
    ],
    ids=["deep", "self-reference"],
)
@pytest.mark.parametrize("description", ["Use when: x", "Dashes --- here.", "Plain."], ids=["invalid", "cut", "valid"])
def test_deep_or_self_referencing_values_are_a_finding(
    tmp_path: Path, cli: RunCli, value: str, problem: str, description: str
) -> None:
    # Not YAML (each entry is read alone), cut short by Claude Code at `---`, or valid YAML: in
    # every reading, fmt leaves the file as it is rather than drop `x` or write it as a string.
    text = f"---\nname: n\ndescription: {description}\nx: {value}\n---\nBody.\n"
    root = team(tmp_path, nested=text, ok=broken("ok"))
    result = cli("fmt", cwd=root)
    assert result.exit_code == 1, result.stderr
    line = next(line for line in result.stderr.splitlines() if line.startswith("cannot format agents/nested.md: "))
    assert problem in line and line.endswith("not rewritten"), line
    assert (root / "agents" / "nested.md").read_text() == text
    assert (root / "agents" / "ok.md").read_text() == fixed("ok")
