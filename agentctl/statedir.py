"""`<root>/.agentctl/`: the one folder agentctl writes into a user's repository on its own account
(run records, the route index cache), as pytest has `.pytest_cache/`.

On first use it gets a `.gitignore` of `*`, so that nothing in it is ever committed by accident.
Its folders are created only as real folders inside the root: a repository that ships a symlink
named `.agentctl` or `.agentctl/cache` (a hostile pull request can) must not make agentctl write
where the link points.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

STATE_DIR = ".agentctl"
GITIGNORE = "# Created by agentctl: its cache and run records stay out of git.\n*\n"


class StateDirError(OSError):
    """A state folder that cannot be used: a symlink, a file, or outside the root."""


def state_folder(root: Path, *parts: str) -> Path:
    """`<root>/.agentctl/<parts...>`, created when missing, each step a real folder (not a symlink).

    Raises StateDirError (an OSError) when a step is a symlink or not a folder, OSError when it
    cannot be created."""
    base = root / STATE_DIR
    _real_folder(base)
    keep_out_of_git(base)
    folder = base
    for part in parts:
        folder = folder / part
        _real_folder(folder)
    return folder


def _real_folder(folder: Path) -> None:
    with contextlib.suppress(FileExistsError):
        folder.mkdir()
    if folder.is_symlink() or not folder.is_dir():
        raise StateDirError(f"{folder} is a symlink or not a folder; agentctl writes only into a real folder there")


def keep_out_of_git(folder: Path) -> None:
    """Give a folder agentctl made a `.gitignore` of `*`, unless it has one (its owner may have edited
    it) or it cannot be written (a read-only checkout: what is inside works without it)."""
    from agentctl.fsutil import atomic_create_text

    with contextlib.suppress(OSError):  # FileExistsError included: never over what is there, link or file
        atomic_create_text(folder / ".gitignore", GITIGNORE)
