"""The one walk over a team's folders: every markdown file below a directory, without loops.

`os.walk(followlinks=True)` and `Path.rglob` both trust the tree: two symlinks to `.` inside
`agents/` make the first walk exponential, and a symlink to itself makes `Path.resolve` raise
RuntimeError. This walk follows a directory symlink at most once per real directory (keyed by
device and inode), so it ends after visiting each real directory once, whatever the links; entries
it cannot stat are reported as files, for the reader to turn into a finding.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

# Folders that never hold a team's files: version control, dependencies, caches.
SKIPPED_DIRECTORIES = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".agentctl",
        "site-packages",
    }
)


def markdown_files(directory: Path, skipped: frozenset[str] = SKIPPED_DIRECTORIES) -> list[Path]:
    """Every `*.md` entry below `directory` that is not a directory, sorted, each real folder once.

    Real subfolders are walked before symlinked ones, so a file reachable both ways is listed under
    its real path. FIFOs, devices, dangling links and link loops are listed too (they are named like
    agent files; the bounded reader refuses them without blocking)."""
    found: list[Path] = []
    visited: set[tuple[int, int]] = set()
    real: deque[Path] = deque([directory])
    linked: deque[Path] = deque()
    while real or linked:
        current = real.popleft() if real else linked.popleft()
        if not _first_visit(current, visited):
            continue
        for entry in _entries(current):
            if _is_directory(entry):
                if entry.name not in skipped:
                    (linked if entry.is_symlink() else real).append(Path(entry.path))
            elif entry.name.endswith(".md"):
                found.append(Path(entry.path))
    return sorted(found)


def _first_visit(directory: Path, visited: set[tuple[int, int]]) -> bool:
    try:
        info = os.stat(directory)
    except OSError:
        return False  # removed meanwhile, or a loop that the entry test let through
    key = (info.st_dev, info.st_ino)
    if key in visited:
        return False
    visited.add(key)
    return True


def _entries(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            return list(entries)
    except OSError:
        return []  # unreadable folder: nothing below it can be checked, nor read


def _is_directory(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows symlinks: a link to a folder is a folder
    except OSError:
        return False  # a link loop (ELOOP) and the like: a file that cannot be read


def real_path(path: Path) -> Path:
    """`path` with every symlink resolved as far as it goes; never raises.

    Path.resolve raises RuntimeError on a symlink loop before Python 3.13; os.path.realpath
    (not strict) stops at the loop and returns the path so far."""
    return Path(os.path.realpath(path))


def display_path(path: Path, cwd: Path) -> str:
    """Relative to the working directory when below it, absolute otherwise."""
    absolute = path if path.is_absolute() else cwd / path
    absolute = Path(*absolute.parts)  # normalise without resolving symlinks
    try:
        return absolute.relative_to(cwd).as_posix()
    except ValueError:
        return str(real_path(absolute))  # never raises, even on a symlink loop
