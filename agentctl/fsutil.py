"""File-system primitives: bounded reads of outside files, and writes that never leave a half-written
file behind.

Every file agentctl reads from a team, a repository or a user goes through `read_bounded`: it opens
only regular files (a FIFO, a device or a socket named `agents/x.md` is refused without blocking),
checks the size before reading, and reads at most `limit + 1` bytes whatever the size claimed.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path

from agentctl.bounds import describe

_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
# mkstemp's names: `.<file name>.<8 of [a-z0-9_]>.tmp` (the prefix and suffix given below).
_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
STALE_TEMPORARY_SECONDS = 600  # older than any write of ours can take: left by a killed process


class NotRegularFileError(OSError):
    """A FIFO, device, socket or directory where a file was expected."""


class FileTooLargeError(OSError):
    """A file over the size limit of what it should be."""


def file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_regular(path: Path | str, limit: int) -> os.stat_result:
    """The file's stat (symlinks followed) if it is a regular file of at most `limit` bytes."""
    info = os.stat(path)
    _check(path, info, limit)
    return info


def _check(path: Path | str, info: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularFileError(errno.EINVAL, f"{file_kind(info.st_mode)}, not a regular file", str(path))
    if info.st_size > limit:
        raise FileTooLargeError(errno.EFBIG, f"larger than {describe(limit)}", str(path))


def read_bounded(path: Path | str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; OSError otherwise (never blocks).

    The type and size are checked before the open (so a device is never opened), again on the open
    descriptor (so a file swapped in between is caught), and by the read itself, which stops after
    `limit + 1` bytes (so a file that grows, or lies about its size, costs no more)."""
    check_regular(path, limit)
    descriptor = os.open(path, _READ_FLAGS)
    try:
        _check(path, os.fstat(descriptor), limit)
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(descriptor, min(remaining, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(descriptor)
    data = b"".join(chunks)
    if len(data) > limit:
        raise FileTooLargeError(errno.EFBIG, f"larger than {describe(limit)}", str(path))
    return data


def read_bounded_text(path: Path | str, limit: int) -> str:
    """`read_bounded`, decoded as UTF-8 (a BOM dropped); UnicodeDecodeError for other bytes."""
    return read_bounded(path, limit).decode("utf-8-sig")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step, keeping the file's permissions."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_create_text(path: Path, text: str) -> None:
    """Create `path` with `text` in one step; FileExistsError if it exists (never overwrites).

    The text goes to a temporary file first and is then hard-linked into place: other processes
    see either no file or the whole file, and of two racing writers exactly one wins.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.link(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def remove_stale_temporaries(folder: Path, older_than: float = STALE_TEMPORARY_SECONDS) -> list[Path]:
    """Delete the temporary files our atomic writes leave when killed (`.<name>.XXXXXXXX.tmp`), once
    they are older than any write takes. Only regular files of that exact pattern, in `folder`
    itself; symlinks and everything else are left alone. Returns what was removed."""
    removed: list[Path] = []
    cutoff = time.time() - older_than
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not _TEMPORARY.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue  # another process removed it, or it is not ours to remove
    return removed
