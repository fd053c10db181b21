"""`.agentctl/`: ignored by git from its first use, and never a way to write outside the root."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agentctl.statedir import StateDirError, state_folder
from tests.conftest import RunCli, agent_text, git, make_team


def test_first_use_writes_a_gitignore_that_keeps_everything_out_of_git(tmp_path: Path, cli: RunCli) -> None:
    root = make_team(tmp_path, {"reviewer.md": agent_text("reviewer")})
    git(root, "init", "-q")
    assert cli("route", "review the code", cwd=root).exit_code == 0
    assert (root / ".agentctl" / "cache").is_dir()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=root, capture_output=True, text=True
    )
    assert ".agentctl" not in status.stdout, status.stdout


def test_an_existing_gitignore_is_left_as_its_owner_wrote_it(tmp_path: Path) -> None:
    (tmp_path / ".agentctl").mkdir()
    (tmp_path / ".agentctl" / ".gitignore").write_text("cache/\n")
    state_folder(tmp_path, "cache")
    assert (tmp_path / ".agentctl" / ".gitignore").read_text() == "cache/\n"


@pytest.mark.parametrize("linked", [".agentctl", ".agentctl/cache"])
def test_a_symlinked_state_folder_is_refused(tmp_path: Path, linked: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    (root / linked).parent.mkdir(parents=True, exist_ok=True)
    (root / linked).symlink_to(outside, target_is_directory=True)
    with pytest.raises(StateDirError):
        state_folder(root, "cache")
    assert list(outside.iterdir()) == []


def test_route_with_a_symlinked_cache_writes_nothing_outside(tmp_path: Path, cli: RunCli) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = make_team(tmp_path / "team", {"reviewer.md": agent_text("reviewer")})
    (root / ".agentctl").mkdir()
    (root / ".agentctl" / "cache").symlink_to(outside, target_is_directory=True)
    result = cli("route", "review the code", cwd=root)
    assert result.exit_code == 0 and "reviewer" in result.stdout
    assert list(outside.iterdir()) == []
