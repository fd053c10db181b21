"""Hostile cases: fmt writes a file back as the same file, only inside the team, and gives a finding
(exit 1) for a file it cannot or may not rewrite: never a hang, an exit 3 or a write outside."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from tests.hostile.harness import Case, Outcome, Sandbox

BROKEN = "---\nname: {name}\ndescription: Use when: x\n---\n\nBody.\n"
FIXED = '---\nname: {name}\ndescription: "Use when: x"\n---\n\nBody.\n'


def _team(sandbox: Sandbox, *names: str) -> None:
    sandbox.small_team({f"{name}.md": BROKEN.format(name=name) for name in names})


def _formatted(sandbox: Sandbox, relative: str, name: str) -> None:
    text = (sandbox.team / relative).read_text("utf-8")
    assert text == FIXED.format(name=name), text


def _finding(outcome: Outcome, relative: str, problem: str) -> None:
    assert f"cannot format {relative}: {problem}" in outcome.stderr, outcome.stderr


# --- symlinks -------------------------------------------------------------------------------------


def _link_inside(sandbox: Sandbox) -> Sequence[str]:
    _team(sandbox, "reviewer")
    sandbox.write("docs/linked.md", BROKEN.format(name="linked"))
    os.symlink("../docs/linked.md", sandbox.team / "agents" / "linked.md")
    return ["fmt"]


def _link_kept_target_formatted(sandbox: Sandbox, outcome: Outcome) -> None:
    link = sandbox.team / "agents" / "linked.md"
    assert link.is_symlink(), "the link was replaced by a regular file"
    assert os.readlink(link) == "../docs/linked.md"
    _formatted(sandbox, "docs/linked.md", "linked")


def _link_outside(sandbox: Sandbox) -> Sequence[str]:
    _team(sandbox, "reviewer")
    (sandbox.outside / "x.md").write_text(BROKEN.format(name="x"), "utf-8")
    os.symlink("../../outside/x.md", sandbox.team / "agents" / "x.md")
    return ["fmt"]


def _outside_left_with_finding(sandbox: Sandbox, outcome: Outcome) -> None:
    assert (sandbox.team / "agents" / "x.md").is_symlink()
    _finding(outcome, "agents/x.md", f"a symlink leads it outside the team, to {sandbox.outside / 'x.md'}")
    _formatted(sandbox, "agents/reviewer.md", "reviewer")  # the other files are still formatted


# --- hard links, owner, read-only ------------------------------------------------------------------


def _hard_link(sandbox: Sandbox) -> Sequence[str]:
    _team(sandbox, "reviewer")
    os.link(sandbox.team / "agents" / "reviewer.md", sandbox.team / "reviewer-copy.md")
    return ["fmt"]


def _still_one_inode(sandbox: Sandbox, outcome: Outcome) -> None:
    path, copy = sandbox.team / "agents" / "reviewer.md", sandbox.team / "reviewer-copy.md"
    assert path.stat().st_ino == copy.stat().st_ino and path.stat().st_nlink == 2
    _formatted(sandbox, "reviewer-copy.md", "reviewer")


def _other_owner(sandbox: Sandbox) -> Sequence[str]:
    _team(sandbox, "reviewer")
    path = sandbox.team / "agents" / "reviewer.md"
    os.chmod(path, 0o640)
    if os.geteuid() == 0:  # as anyone else, the file is our own and stays so
        os.chown(path, 1000, 1001)
    return ["fmt", "--format", "json"]


def _owner_and_mode_kept(sandbox: Sandbox, outcome: Outcome) -> None:
    info = (sandbox.team / "agents" / "reviewer.md").stat()
    owner = (1000, 1001) if os.geteuid() == 0 else (os.geteuid(), os.getegid())
    assert (info.st_uid, info.st_gid, info.st_mode & 0o7777) == (*owner, 0o640)
    _formatted(sandbox, "agents/reviewer.md", "reviewer")


def _read_only(sandbox: Sandbox) -> Sequence[str]:
    _team(sandbox, "reviewer", "db-architect")
    os.chmod(sandbox.team / "agents" / "reviewer.md", 0o444)
    return ["fmt", "--format", "json"]


def _read_only_left(sandbox: Sandbox, outcome: Outcome) -> None:
    problems = {entry["path"]: entry["problem"] for entry in outcome.json()["files"]}
    assert problems["agents/reviewer.md"].startswith("read-only: not rewritten"), problems
    assert (sandbox.team / "agents" / "reviewer.md").read_text("utf-8") == BROKEN.format(name="reviewer")
    _formatted(sandbox, "agents/db-architect.md", "db-architect")


# --- temporaries ----------------------------------------------------------------------------------


def _temporaries(sandbox: Sandbox) -> Sequence[str]:
    _team(sandbox, "reviewer")
    hour_ago = time.time() - 3600
    for name in (".reviewer.md.k3j9x0_q.tmp", ".reviewer.md.abcdefgh.tmp", "draft.tmp"):
        sandbox.write(f"agents/{name}", "half a file")
    for name in (".reviewer.md.k3j9x0_q.tmp", "draft.tmp"):
        os.utime(sandbox.team / "agents" / name, (hour_ago, hour_ago))
    return ["fmt"]


def _stale_removed_fresh_kept(sandbox: Sandbox, outcome: Outcome) -> None:
    agents = sandbox.team / "agents"
    assert not (agents / ".reviewer.md.k3j9x0_q.tmp").exists()
    assert (agents / ".reviewer.md.abcdefgh.tmp").exists()  # another run may be writing it now
    assert (agents / "draft.tmp").exists()  # not of our pattern
    _formatted(sandbox, "agents/reviewer.md", "reviewer")


# --- special files --------------------------------------------------------------------------------


def _fifo(sandbox: Sandbox) -> Sequence[str]:
    _team(sandbox, "reviewer")
    os.mkfifo(sandbox.team / "agents" / "pipe.md")
    return ["fmt"]


def _fifo_finding(sandbox: Sandbox, outcome: Outcome) -> None:
    _finding(outcome, "agents/pipe.md", "a FIFO, not a regular file")
    _formatted(sandbox, "agents/reviewer.md", "reviewer")


def _huge_and_device(sandbox: Sandbox) -> Sequence[str]:
    _team(sandbox, "reviewer")
    # In the team, not in outside/: the harness reads every file of outside/ whole to snapshot it.
    huge = sandbox.write("data/huge.md", b"")
    with huge.open("r+b") as stream:
        stream.truncate(2 << 30)  # 2 GiB, sparse
    os.symlink(huge, sandbox.team / "agents" / "huge.md")
    os.symlink("/dev/zero", sandbox.team / "agents" / "zero.md")
    return ["fmt"]


def _refused_unread(sandbox: Sandbox, outcome: Outcome) -> None:
    _finding(outcome, "agents/huge.md", "larger than 1 MiB")
    _finding(outcome, "agents/zero.md", "a device, not a regular file")
    assert outcome.peak_rss_mb < 500, f"{outcome.peak_rss_mb:.0f} MB: the big file was read"
    _formatted(sandbox, "agents/reviewer.md", "reviewer")


# --- hostile frontmatter --------------------------------------------------------------------------


def _bomb_frontmatter() -> str:
    bomb = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 9):  # nine levels of nine aliases: 9**9 values once expanded
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        bomb.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "name: bomb\ndescription: Tools as a list.\ntools:\n  - Read\n" + "\n".join(bomb) + "\n"


def _alias_bomb(sandbox: Sandbox) -> Sequence[str]:
    _team(sandbox, "reviewer")
    sandbox.write("agents/bomb.md", f"---\n{_bomb_frontmatter()}---\n\nBody.\n")
    return ["fmt"]


def _bomb_kept(sandbox: Sandbox, outcome: Outcome) -> None:
    text = (sandbox.team / "agents" / "bomb.md").read_text("utf-8")
    original = f"---\n{_bomb_frontmatter()}---\n\nBody.\n"
    if "cannot format agents/bomb.md" in outcome.stderr:  # over the parser's budget: left alone
        assert text == original, text
    else:  # within fmt's walks: only the tools line is rewritten, the anchors and aliases stay
        assert text == original.replace("tools:\n  - Read\n", "tools: Read\n"), text
    _formatted(sandbox, "agents/reviewer.md", "reviewer")


def _deep(sandbox: Sandbox) -> Sequence[str]:
    _team(sandbox, "reviewer")
    deep = "name: deep\ndescription: Use when: x\nx: " + "[" * 3000 + "]" * 3000 + "\n"
    sandbox.write("agents/deep.md", f"---\n{deep}---\n\nBody.\n")
    return ["fmt"]


def _deep_finding(sandbox: Sandbox, outcome: Outcome) -> None:
    line = next(line for line in outcome.stderr.splitlines() if line.startswith("cannot format agents/deep.md: "))
    assert "nests" in line and line.endswith("not rewritten"), line
    _formatted(sandbox, "agents/reviewer.md", "reviewer")


CASES = [
    Case(
        "fmt-symlink-inside-team",
        "fmt on a symlinked agent file replaces the link with a regular file: write through to the target",
        _link_inside,
        (0,),
        _link_kept_target_formatted,
    ),
    Case(
        "fmt-symlink-to-outside",
        "fmt writes through a symlink only inside the team: a link leading out is left, with a finding",
        _link_outside,
        (1,),
        _outside_left_with_finding,
    ),
    Case("fmt-hard-link-kept", "fmt splits hard links", _hard_link, (0,), _still_one_inode),
    Case("fmt-owner-kept", "fmt loses the owner: keep owner and mode", _other_owner, (0,), _owner_and_mode_kept),
    Case("fmt-read-only-skipped", "fmt rewrites read-only files", _read_only, (1,), _read_only_left),
    Case(
        "fmt-stale-temporaries",
        "a killed fmt leaves hidden *.tmp files behind: clean up stale ones of our own pattern",
        _temporaries,
        (0,),
        _stale_removed_fresh_kept,
    ),
    Case("fmt-fifo-agent", "a FIFO named agents/x.md: a finding, never a hang", _fifo, (1,), _fifo_finding),
    Case(
        "fmt-huge-and-device-symlinked-in",
        "/dev/zero or a 2 GB sparse file symlinked in: never a read of more than the size limit",
        _huge_and_device,
        (1,),
        _refused_unread,
    ),
    Case(
        "fmt-alias-bomb",
        "a 450-byte frontmatter with nine levels of aliases makes fmt run for minutes",
        _alias_bomb,
        (0, 1),  # 1 once the parser refuses the expansion (a finding); the file is kept either way
        _bomb_kept,
    ),
    Case(
        "fmt-deep-nesting",
        "a frontmatter nested a few thousand levels deep ends in RecursionError: a finding on that file",
        _deep,
        (1,),
        _deep_finding,
    ),
]
