"""`<root>/.agentctl/`: the one folder agentctl writes into a user's repository on its own account
(run records, the route index cache), as pytest has `.pytest_cache/`.

On first use it gets a `.gitignore` of `*`, so that nothing in it is ever committed by accident.
Its folders are created only as real folders inside the root: a repository that ships a symlink
named `.agentctl` or `.agentctl/cache` (a hostile pull request can) must not make agentctl write
where the link points.
"""

from __future__ import annotations

import contextlib
import os
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
    ignore_file = base / ".gitignore"
    if not ignore_file.exists() and not ignore_file.is_symlink():
        with contextlib.suppress(OSError):  # a read-only checkout: the cache and records work without it
            _create_exclusive(ignore_file, GITIGNORE)
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


def _create_exclusive(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        os.write(descriptor, text.encode("utf-8"))
    finally:
        os.close(descriptor)
