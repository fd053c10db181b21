"""File-system primitives: bounded reads of outside files, and writes that never leave a half-written
file behind.

Every file agentctl reads from a team, a repository or a user goes through `read_bounded`: it opens
only regular files (a FIFO, a device or a socket named `agents/x.md` is refused without blocking),
checks the size before reading, and reads at most `limit + 1` bytes whatever the size claimed.

Every write goes through a temporary file beside its target (`.<name>.XXXXXXXX.tmp`, fsynced, then
renamed or linked into place), so a reader never sees half a file; `rewrite_bytes` also keeps a
rewritten file the same file (owner, mode, hard links). A killed process can leave such temporaries
behind: `remove_stale_temporaries` deletes the old ones of that exact pattern.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import time
from pathlib import Path
from typing import BinaryIO

from agentctl.bounds import describe

_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
# In-place rewrites: never through a symlink swapped in, never blocking on a FIFO swapped in.
_REWRITE_FLAGS = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
# mkstemp's names: `.<file name>.<8 of [a-z0-9_]>.tmp` (the prefix and suffix given below).
_TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp")  # anchored: a search never retries at every dot
STALE_TEMPORARY_SECONDS = 600  # older than any write of ours can take: left by a killed process
# Of a file name kept in its temporary's name: 255 (NAME_MAX) minus the dots, the 8 letters and `.tmp`.
_TEMPORARY_NAME_BYTES = 200


class NotRegularFileError(OSError):
    """A FIFO, device, socket or directory where a file was expected."""


class FileTooLargeError(OSError):
    """A file over the size limit of what it should be."""


def file_kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
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


def read_bounded(path: Path | str, limit: int, listed_regular: bool = False) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; OSError otherwise (never blocks).

    The type and size are checked before the open (so a device is never opened), again on the open
    descriptor (so a file swapped in between is caught), and by the read itself, which stops after
    `limit + 1` bytes (so a file that grows, or lies about its size, costs no more).

    `listed_regular`: the caller's directory listing (os.scandir, no symlink followed) already says
    a regular file; the stat before the open is skipped (10,000 notes: 10,000 system calls) and the
    open refuses a symlink swapped in since (O_NOFOLLOW); the checks on the descriptor still run."""
    if listed_regular:
        descriptor = os.open(path, _READ_FLAGS | getattr(os, "O_NOFOLLOW", 0))
    else:
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
    handle, temporary = _temporary_beside(path)
    try:
        with os.fdopen(handle, "wb") as stream:
            _write_synced(stream, data)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _read_umask() -> int:
    # The only portable way to read the umask is to set it and put it back; done once, at import,
    # before any thread of ours exists.
    current = os.umask(0o022)
    os.umask(current)
    return current


_UMASK = _read_umask()


def atomic_create_text(path: Path, text: str) -> None:
    """Create `path` with `text` in one step; FileExistsError if it exists (never overwrites).

    The text goes to a temporary file first and is then hard-linked into place: other processes
    see either no file or the whole file, and of two racing writers exactly one wins.
    """
    handle, temporary = _temporary_beside(path)
    try:
        # mkstemp makes the file 0o600; a new agent file or note is the user's to share like any
        # file their editor makes, so it gets the mode open() would give it under their umask.
        os.fchmod(handle, 0o666 & ~_UMASK)
        with os.fdopen(handle, "wb") as stream:
            _write_synced(stream, text.encode("utf-8"))
        os.link(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


class ReadOnlyFileError(PermissionError):
    """A file that has no write permission: left as it is, even where agentctl could replace it."""


def is_read_only(path: Path | str, info: os.stat_result | None = None) -> bool:
    """Whether `path` has no write permission bit, or is not writable by us. The bits are looked at
    too because root may write anything: a file marked read-only was marked so on purpose."""
    mode = stat.S_IMODE((info or os.stat(path)).st_mode)
    return mode & 0o222 == 0 or not os.access(path, os.W_OK)


def rewrite_bytes(path: Path, data: bytes) -> None:
    """Give the existing regular file `path` the content `data`, and keep it the same file for
    everyone who holds it: its owner, group and mode, and its other hard links.

    A file with one link is replaced atomically (a temporary file beside it with the same owner and
    mode, fsync, rename): readers see the old text or the new, and a failure leaves the old. A file
    with other hard links (a rename would split them), or one whose owner we may not give to a new
    file, is overwritten in place. Symlinks are refused (the caller decides where one may lead and
    passes its target), as are read-only files (ReadOnlyFileError) and anything not a regular file.
    """
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularFileError(errno.EINVAL, f"{file_kind(info.st_mode)}, not a regular file", str(path))
    if is_read_only(path, info):
        raise ReadOnlyFileError(errno.EACCES, "read-only (no write permission)", str(path))
    if info.st_nlink > 1 or not _replace_keeping_owner(path, data, info):
        _overwrite_in_place(path, data)


def _replace_keeping_owner(path: Path, data: bytes, info: os.stat_result) -> bool:
    """Replace `path` by a new file holding `data`, with the owner, group and mode of `info`.
    False, with nothing changed, when the new file cannot have that owner or cannot be created."""
    try:
        handle, temporary = _temporary_beside(path)
    except PermissionError:
        return False  # a folder we may not write in, holding a file we may: only in place will do
    replaced = False
    try:
        with os.fdopen(handle, "wb") as stream:
            if not _give_owner(stream.fileno(), info):
                return False
            os.fchmod(stream.fileno(), stat.S_IMODE(info.st_mode))  # after chown, which clears set-id bits
            _write_synced(stream, data)
        os.replace(temporary, path)
        replaced = True
    finally:
        if not replaced:
            Path(temporary).unlink(missing_ok=True)
    _sync_folder(path.parent)
    return True


def _give_owner(descriptor: int, info: os.stat_result) -> bool:
    """Give the open file the owner and group of `info`; False when that is not permitted."""
    current = os.fstat(descriptor)
    if (current.st_uid, current.st_gid) == (info.st_uid, info.st_gid):
        return True
    try:
        os.fchown(descriptor, info.st_uid, info.st_gid)
    except PermissionError:
        return False
    return True


def _overwrite_in_place(path: Path, data: bytes) -> None:
    """Write `data` over the file's own inode. This cannot be atomic, so the space is reserved
    before a byte changes (a full disk fails first), and a write that fails puts the old bytes back."""
    descriptor = os.open(path, _REWRITE_FLAGS)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError(errno.EINVAL, f"{file_kind(info.st_mode)}, not a regular file", str(path))
        original = _read_from_start(descriptor, info.st_size)
        try:
            _reserve(descriptor, len(data))
            _write_from_start(descriptor, data)
        except OSError:
            with contextlib.suppress(OSError):
                _write_from_start(descriptor, original)
            raise
    finally:
        os.close(descriptor)


def _reserve(descriptor: int, size: int) -> None:
    """Allocate `size` bytes for the file now, where the file system can (ENOSPC otherwise)."""
    if not hasattr(os, "posix_fallocate") or size <= os.fstat(descriptor).st_size:
        return
    try:
        os.posix_fallocate(descriptor, 0, size)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS):
            raise  # unsupported here: the write itself will tell


def _read_from_start(descriptor: int, size: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while offset < size:
        chunk = os.pread(descriptor, min(size - offset, 1 << 20), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _write_from_start(descriptor: int, data: bytes) -> None:
    """The file's content becomes `data`, on disk (the same inode; nothing beyond it is kept)."""
    view = memoryview(data)
    offset = 0
    while offset < len(data):
        offset += os.pwrite(descriptor, view[offset:], offset)
    os.ftruncate(descriptor, len(data))
    os.fsync(descriptor)


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in `path`'s folder, named `.<name>.XXXXXXXX.tmp` (the pattern that
    remove_stale_temporaries knows), with the name cut so that a long one still fits NAME_MAX."""
    name = path.name[:_TEMPORARY_NAME_BYTES]
    while len(os.fsencode(name)) > _TEMPORARY_NAME_BYTES:  # wide characters: a name is at most 255 bytes
        name = name[:-1]
    import tempfile  # only writers pay for it: every read of an agent file imports this module

    return tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=path.parent)


def _write_synced(stream: BinaryIO, data: bytes) -> None:
    stream.write(data)
    stream.flush()
    os.fsync(stream.fileno())


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable; a folder that cannot be opened or synced is no error."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


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
