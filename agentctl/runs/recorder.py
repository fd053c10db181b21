"""Writing run records: the run's folder, its lock, and its append-only event log.

`RunRecorder.create` makes `<runs_dir>/<run-id>/` (and the runs folder, kept out of git), writes
run.json, and holds the run's lock; `append` writes one event (agentctl.events) as one line and
hands it back as written (redacted); `write_result` writes result.md; `close` flushes the log and
caches summary.json. `reopen` appends to a run being resumed. See agentctl/runs/__init__.py for
what each file holds.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import math
import os
import re
import stat
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agentctl.bounds import RUN_FILE_BYTES
from agentctl.errors import AgentctlError, ExitCode, UsageError
from agentctl.fsutil import atomic_write_text, read_bounded
from agentctl.redact import SecretFilter
from agentctl.runs.layout import (
    EVENTS_FILE,
    LOCK_FILE,
    RESULT_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    is_plain_name,
    run_directory,
)
from agentctl.runs.reader import event_lines, read_run

if TYPE_CHECKING:
    from agentctl.events import Event

AnyEvent = TypeVar("AnyEvent", bound="Event")
RECORD_FORMAT = 1  # bump when a reader could misread an older record
Clock = Callable[[], datetime.datetime]

_ENTROPY = re.compile(r"[0-9a-f]{6}")
# O_NOFOLLOW: a record folder is ours, but a symlink planted in it must not send our writes outside.
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | _NO_FOLLOW


class RunExistsError(AgentctlError):
    """The run directory already exists: the caller picks new entropy and tries again."""

    exit_code = ExitCode.INTERNAL


def new_run_id(now: datetime.datetime, entropy: str) -> str:
    """`YYYYMMDD-HHMMSS-<6 hex>`: sorts by start time; the caller's entropy separates same-second runs.

    An aware `now` is taken in UTC, so that ids keep sorting across time-zone and DST changes.
    """
    if not _ENTROPY.fullmatch(entropy):
        raise ValueError(f"run id entropy must be 6 lowercase hex digits, not {entropy!r}")
    if now.tzinfo is not None:
        now = now.astimezone(datetime.UTC)
    return f"{now:%Y%m%d-%H%M%S}-{entropy}"


class RunLockedError(UsageError):
    """Another process holds the run: it is still running, or being resumed (exit 2)."""


class RunLock:
    """An exclusive `flock` on `<run>/lock`, held by the one process that writes or resumes a run.

    Resuming a run that is still going would send its calls in flight a second time; two resumes of
    one run would pay for everything left twice. The kernel drops the lock when the holder ends,
    even on SIGKILL, so there is never a stale lock to clean up by hand."""

    def __init__(self, directory: Path, fd: int | None) -> None:
        self.directory = directory
        self._fd = fd

    @classmethod
    def acquire(cls, directory: Path) -> RunLock:
        """Take the run's lock, or raise RunLockedError naming the pid that holds it."""
        try:
            import fcntl
        except ImportError:  # no flock on this platform: runs go unlocked, as before locks existed
            return cls(directory, None)
        fd = _open_lock_file(directory / LOCK_FILE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(fd)
            os.close(fd)
            raise _locked_error(directory.name, holder) from None
        except OSError:  # a file system without flock (some network mounts): go on unlocked
            os.close(fd)
            return cls(directory, None)
        _write_holder(fd)
        return cls(directory, fd)

    def release(self) -> None:
        """Drop the lock (closing the descriptor does it). Safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_run(runs_dir: Path, run_id: str) -> RunLock:
    """Hold an existing run (for a resume, until it ends); RunLockedError while another process does."""
    return RunLock.acquire(run_directory(runs_dir, run_id))


def _open_lock_file(path: Path) -> int:
    try:
        # O_NONBLOCK: a FIFO planted as `lock` must not hang the open; it is refused just below.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | _NO_FOLLOW, 0o600)
    except OSError as error:
        raise _write_error(path, error) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or device planted as `lock`: not ours to write
        os.close(fd)
        raise _write_error(path, OSError(errno.EINVAL, "not a regular file"))
    return fd


def _write_holder(fd: int) -> None:
    """Our pid in the lock file, for the message of a process that is refused the lock."""
    with contextlib.suppress(OSError):  # the lock holds without it; only the message loses the pid
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _lock_holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _locked_error(run_id: str, pid: int | None) -> RunLockedError:
    holder = f"pid {pid}" if pid is not None else "another process"
    stop = f"`kill {pid}`" if pid is not None else "Ctrl-C in its terminal"
    return RunLockedError(
        f"run {run_id} is still running ({holder}); wait for it or stop it",
        hint=f"a dispatch or a `runs resume` of it is in progress; stop it ({stop}) and resume once it has ended",
    )


class RunRecorder:
    """Appends the events of one run to its directory; owns the `seq` and `time` of each event."""

    def __init__(
        self,
        directory: Path,
        fd: int | None,
        clock: Clock,
        secrets: Sequence[str],
        last_seq: int = 0,
        lock: RunLock | None = None,
    ) -> None:
        self.directory = directory
        self._fd = fd  # None: the log is opened for each write (RunRecorder.create's keep_open)
        self._closed = False
        self._run_lock = lock  # held until close: no other process writes or resumes this run meanwhile
        self._clock = clock
        self.filter = SecretFilter(secrets)  # the engine redacts memory notes with it too
        self._seq = last_seq
        self._lock = threading.Lock()  # seq and write go together, whoever calls

    @classmethod
    def create(
        cls,
        runs_dir: Path,
        run_id: str,
        meta: dict[str, Any],
        clock: Clock,
        secrets: Sequence[str] = (),
        lock: bool = True,
        keep_open: bool = True,
    ) -> RunRecorder:
        """Start the record of a new run; RunExistsError if `run_id` is taken. `lock` False: the
        caller holds a lock that covers the run (a batch holds one for all its tasks' runs, which
        would otherwise take a descriptor each). `keep_open` False: the log is opened for each
        event, not held open (a batch's ten thousand runs would pass the limit on open files)."""
        if not is_plain_name(run_id):
            raise ValueError(f"a run id is a plain folder name, not {run_id!r}")
        directory = runs_dir / run_id
        _make_runs_dir(runs_dir)
        try:
            directory.mkdir()
        except FileExistsError:
            raise RunExistsError(f"the run record {directory} already exists") from None
        except OSError as error:
            raise _write_error(directory, error) from None
        run_lock = RunLock.acquire(directory) if lock else RunLock(directory, None)
        try:
            fd = _open_log(directory / EVENTS_FILE, create=True)
            if not keep_open:
                os.close(fd)
            recorder = cls(directory, fd if keep_open else None, clock, secrets, lock=run_lock)
        except BaseException:
            run_lock.release()
            raise
        header = {**meta, "run_id": run_id, "format": RECORD_FORMAT, "created": clock().isoformat()}
        try:
            recorder._write_json_file(RUN_FILE, header | {"agentctl_version": _version()})
        except BaseException:
            recorder.close()
            raise
        return recorder

    @classmethod
    def reopen(cls, runs_dir: Path, run_id: str, clock: Clock, secrets: Sequence[str] = ()) -> RunRecorder:
        """Append to an existing run (resume); `seq` continues after the last recorded event."""
        directory = run_directory(runs_dir, run_id)
        lock = RunLock.acquire(directory)  # RunLockedError while another process writes the run
        log = directory / EVENTS_FILE
        try:
            last_seq, ends_cleanly = _log_tail_state(log)
            recorder = cls(directory, _open_log(log, create=not log.exists()), clock, secrets, last_seq, lock)
        except BaseException:
            lock.release()
            raise
        if not ends_cleanly:  # a line cut by a crash: end it, so the next event starts a line of its own
            recorder._write(b"\n")
        return recorder

    def append(self, event: AnyEvent) -> AnyEvent:
        """Record one event: one line, one write, secrets redacted. Never fails on odd values.

        Returns the event as recorded, its text redacted: what the engine hands on to the live view,
        so that a terminal or a CI log never shows what the record leaves out."""
        with self._lock:
            self._seq += 1
            stamped = {"event": event.kind, "seq": self._seq, "time": self._clock().isoformat()}
            stamped |= {key: value for key, value in event.to_json().items() if key not in stamped}
            clean = _clean_line(stamped, self.filter)
            self._write(self._line(clean))
        return type(event).from_json(clean)

    def write_result(self, text: str) -> None:
        """The final answer as result.md (atomic: a reader sees the old file or the whole new one)."""
        try:
            atomic_write_text(self.directory / RESULT_FILE, self.filter.redact(text))
        except OSError as error:
            raise _write_error(self.directory / RESULT_FILE, error) from None

    def close(self) -> None:
        """Flush the log to disk and close it; then cache the summary. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            fd, self._fd = self._fd, None
        try:
            if fd is None:
                fd = _open_log(self.directory / EVENTS_FILE, create=False)
            with contextlib.suppress(OSError):  # some file systems cannot fsync; the data is written all the same
                os.fsync(fd)
            size = os.fstat(fd).st_size
            os.close(fd)
            _write_summary(self.directory, size)
        finally:
            if self._run_lock is not None:  # last: the summary is written under the lock too
                self._run_lock.release()

    def __enter__(self) -> RunRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _line(self, event: dict[str, Any]) -> bytes:
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        # Strings were redacted before encoding; this also catches a secret that only appears in
        # the encoded text (after an escape such as `\n`), so the bytes on disk never hold it.
        return (self.filter.redact_encoded(line) + "\n").encode("utf-8")

    def _write(self, data: bytes) -> None:
        if self._closed:
            raise ValueError(f"the run record {self.directory} is closed")
        fd = self._fd if self._fd is not None else _open_log(self.directory / EVENTS_FILE, create=False)
        view = memoryview(data)
        try:
            while view:  # a regular file takes it all in one write; loop only on a short write
                view = view[os.write(fd, view) :]
        except OSError as error:
            raise _write_error(self.directory / EVENTS_FILE, error) from None
        finally:
            if fd != self._fd:
                os.close(fd)

    def _write_json_file(self, name: str, data: dict[str, Any]) -> None:
        text = json.dumps(_clean(data, self.filter), ensure_ascii=False, indent=2) + "\n"
        try:
            atomic_write_text(self.directory / name, text)
        except OSError as error:
            raise _write_error(self.directory / name, error) from None


def _version() -> str:
    from agentctl import __version__

    return __version__


def _make_runs_dir(runs_dir: Path) -> None:
    """Create the runs folder; a new one gets a `.gitignore` of `*` so records stay out of git.

    The default, `<root>/.agentctl/runs`, is made by statedir: real folders only (a repository can
    ship `.agentctl/runs` as a symlink to elsewhere), and `.agentctl/.gitignore` on first use."""
    from agentctl.statedir import STATE_DIR, keep_out_of_git, state_folder

    if runs_dir.parent.name == STATE_DIR:
        try:
            state_folder(runs_dir.parent.parent, runs_dir.name)
        except OSError as error:
            raise _write_error(runs_dir, error) from None
        return
    try:
        runs_dir.mkdir(parents=True)
    except FileExistsError:
        return  # its owner decides what git sees (they may have removed our .gitignore)
    except OSError as error:
        raise _write_error(runs_dir, error) from None
    keep_out_of_git(runs_dir)


def _open_log(path: Path, create: bool) -> int:
    # 0o600: records hold agents' outputs and tasks; mkstemp (run.json, result.md) does the same.
    flags = _OPEN_FLAGS | (os.O_CREAT | os.O_EXCL if create else 0)
    try:
        return os.open(path, flags, 0o600)
    except OSError as error:
        raise _write_error(path, error) from None


def _log_tail_state(log: Path) -> tuple[int, bool]:
    """The highest `seq` in the log, and whether it ends with a newline (False: cut mid-line)."""
    try:
        data = read_bounded(log, RUN_FILE_BYTES)
    except FileNotFoundError:
        return 0, True
    except OSError as error:
        raise _write_error(log, error, "read") from None
    seqs = [event.get("seq") for event, _ in event_lines(data, [])]
    return max((seq for seq in seqs if isinstance(seq, int)), default=0), not data or data.endswith(b"\n")


def _write_error(path: Path, error: OSError, verb: str = "write") -> AgentctlError:
    return AgentctlError(
        f"cannot {verb} the run record {path}: {error.strerror}",
        hint="check that the runs folder is writable, or set `runs` in agentctl.toml / AGENTCTL_RUNS_DIR",
        exit_code=ExitCode.PROBLEMS,
    )


# Secrets


def _clean_line(event: dict[str, Any], secrets: SecretFilter) -> dict[str, Any]:
    """An event's line as plain JSON data, every string redacted."""
    return {secrets.redact(str(key)): _clean(value, secrets) for key, value in event.items()}


def _clean(value: object, secrets: SecretFilter) -> object:
    """`value` as plain JSON data with every string redacted; anything else becomes its text."""
    if isinstance(value, str):
        return secrets.redact(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # NaN is not JSON; jq and friends reject it
    if isinstance(value, dict):
        return {secrets.redact(str(key)): _clean(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(item, secrets) for item in value]
    to_json = getattr(value, "to_json", None)
    if callable(to_json):  # Usage and friends: their JSON form, not their repr
        try:
            return _clean(to_json(), secrets)
        except Exception:
            pass
    return secrets.redact(_text_of(value))


def _text_of(value: object) -> str:
    """An odd value as text; never raises."""
    try:
        return value.isoformat() if isinstance(value, datetime.date) else str(value)
    except Exception as error:  # a broken __str__ must not cost the record
        return f"<unprintable {type(value).__name__}: {type(error).__name__}>"


def _write_summary(directory: Path, events_size: int) -> None:
    summary = read_run(directory).summary().to_json() | {"events_size": events_size}
    with contextlib.suppress(OSError):  # only a cache: `runs list` reads the log when it is missing
        atomic_write_text(directory / SUMMARY_FILE, json.dumps(summary, ensure_ascii=False) + "\n")
