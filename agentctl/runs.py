"""Run records: what each dispatch did, call by call, kept under `<runs_dir>/<run-id>/`.

A run directory holds:

- `run.json`: what the run was asked to do (the engine's meta, the run id, agentctl's version, the
  creation time), written atomically when the run starts;
- `events.jsonl`: one compact JSON object per line, appended as calls start and end. Each line is
  written with a single `os.write` on an O_APPEND descriptor and no buffering, so a crash or Ctrl-C
  loses at most the line being written and never interleaves two lines;
- `result.md`: the final answer, written atomically;
- `summary.json`: what `agentctl runs list` shows, written when the recorder closes. It records the
  size of events.jsonl it describes; when the log has grown since (a resumed run) or the run was
  killed before closing, readers parse the log instead. It is a cache, never the truth.
- `lock`: the pid of the process that writes the run (or resumes it), under an exclusive `flock`
  held while it does. The kernel drops the lock when that process ends, however it ends, so a
  killed run can be resumed at once and a live one cannot be resumed twice (RunLock).

Every string that reaches a record passes through the secret filter (redact.SecretFilter: the
values given as `secrets`, and anything shaped like a known kind of key, become "[redacted]"): the
API key never lands on disk. Readers
never fail on a damaged log: a bad line becomes a problem of the record.
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
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from agentctl.bounds import RUN_FILE_BYTES
from agentctl.errors import AgentctlError, ExitCode, UsageError
from agentctl.fsutil import atomic_create_text, atomic_write_text, read_bounded
from agentctl.providers.base import BadUsage, Usage
from agentctl.records import field, fields_of, record
from agentctl.redact import SecretFilter

RUN_FILE = "run.json"
EVENTS_FILE = "events.jsonl"
RESULT_FILE = "result.md"
SUMMARY_FILE = "summary.json"
LOCK_FILE = "lock"
RECORD_FORMAT = 1  # bump when a reader could misread an older record
LIST_HINT = "agentctl runs list shows the runs"
NEWEST = ("last", "latest")
FINISHED_CALL = ("ok", "replayed")  # what resume may reuse
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


# Writing


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
    return RunLock.acquire(_run_directory(runs_dir, run_id))


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
        fd: int,
        clock: Clock,
        secrets: Sequence[str],
        last_seq: int = 0,
        lock: RunLock | None = None,
    ) -> None:
        self.directory = directory
        self._fd: int | None = fd
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
    ) -> RunRecorder:
        """Start the record of a new run; RunExistsError if `run_id` is taken."""
        if not _is_plain_name(run_id):
            raise ValueError(f"a run id is a plain folder name, not {run_id!r}")
        directory = runs_dir / run_id
        _make_runs_dir(runs_dir)
        try:
            directory.mkdir()
        except FileExistsError:
            raise RunExistsError(f"the run record {directory} already exists") from None
        except OSError as error:
            raise _write_error(directory, error) from None
        lock = RunLock.acquire(directory)
        try:
            recorder = cls(directory, _open_log(directory / EVENTS_FILE, create=True), clock, secrets, lock=lock)
        except BaseException:
            lock.release()
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
        directory = _run_directory(runs_dir, run_id)
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

    def append(self, event: dict[str, Any]) -> None:
        """Record one event: one line, one write, secrets redacted. Never fails on odd values."""
        kind = event.get("event")
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"an event needs an 'event' type, got {kind!r}")
        with self._lock:
            self._seq += 1
            stamped = {"event": kind, "seq": self._seq, "time": self._clock().isoformat()}
            stamped |= {key: value for key, value in event.items() if key not in stamped}
            self._write(self._line(stamped))

    def write_result(self, text: str) -> None:
        """The final answer as result.md (atomic: a reader sees the old file or the whole new one)."""
        try:
            atomic_write_text(self.directory / RESULT_FILE, self.filter.redact(text))
        except OSError as error:
            raise _write_error(self.directory / RESULT_FILE, error) from None

    def close(self) -> None:
        """Flush the log to disk and close it; then cache the summary. Safe to call twice."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
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
        line = json.dumps(_clean(event, self.filter), ensure_ascii=False, separators=(",", ":"))
        # Strings were redacted before encoding; this also catches a secret that only appears in
        # the encoded text (after an escape such as `\n`), so the bytes on disk never hold it.
        return (self.filter.redact_encoded(line) + "\n").encode("utf-8")

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            raise ValueError(f"the run record {self.directory} is closed")
        view = memoryview(data)
        try:
            while view:  # a regular file takes it all in one write; loop only on a short write
                view = view[os.write(self._fd, view) :]
        except OSError as error:
            raise _write_error(self.directory / EVENTS_FILE, error) from None

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
    from agentctl.statedir import STATE_DIR, state_folder

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
    # OSError: a concurrent first run wrote it, or the folder is odd; records work without it.
    with contextlib.suppress(OSError):
        atomic_create_text(runs_dir / ".gitignore", "# Created by agentctl: run records stay local.\n*\n")


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
    seqs = [event.get("seq") for event, _ in _parse_lines(data, [])]
    return max((seq for seq in seqs if isinstance(seq, int)), default=0), not data or data.endswith(b"\n")


def _write_error(path: Path, error: OSError, verb: str = "write") -> AgentctlError:
    return AgentctlError(
        f"cannot {verb} the run record {path}: {error.strerror}",
        hint="check that the runs folder is writable, or set `runs` in agentctl.toml / AGENTCTL_RUNS_DIR",
        exit_code=ExitCode.PROBLEMS,
    )


# Secrets


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


# Reading


@record
class CallRecord:
    """One agent call: its `call_started` event, completed by its `call_finished` when there is one."""

    id: str
    key: str | None
    parent: str | None
    agent: str
    mode: str
    model: str | None
    depth: int
    task: str | None
    prompt_hash: str | None
    started: str | None
    status: str = "running"  # no call_finished (yet): in flight, or the run was killed
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    latency_ms: int | None = None
    output: str | None = None
    error: dict[str, Any] | None = None
    finished: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def spent(self) -> bool:
        """Whether this call's tokens and cost were spent here (a replayed call's were spent before)."""
        return self.status != "replayed"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent": self.parent,
            "agent": self.agent,
            "mode": self.mode,
            "model": self.model,
            "usage": self.usage.to_json(),
            "cost_usd": self.cost_usd,
            "latency_ms": self.latency_ms,
            "status": self.status,
            "key": self.key,
            "depth": self.depth,
            "task": self.task,
            "error": self.error,
        }


@record
class HandoffRecord:
    from_call: str | None
    from_agent: str | None
    target: str
    to: str | None  # the agent the target resolved to; None when the roster does not know it
    task: str
    status: str
    reason: str | None
    call_id: str | None  # the delegate's first call

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.from_agent,
            "to": self.to,
            "task": self.task,
            "status": self.status,
            "call_id": self.call_id,
            "from_call": self.from_call,
            "target": self.target,
            "reason": self.reason,
        }


@record
class MemoryRecord:
    """A memory note an agent's answer asked to save: where it was written, or why it was not."""

    agent: str | None
    status: str  # saved, refused
    path: str | None  # relative to the root, as the engine reported it; None when refused
    topic: str | None
    reason: str | None
    call_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "path": self.path,
            "status": self.status,
            "reason": self.reason,
            "call_id": self.call_id,
            "topic": self.topic,
        }


@record
class WaitRecord:
    """A pause before a call's retry (a 429's retry-after, an overload backoff)."""

    call_id: str | None
    seconds: float | None
    attempt: int | None
    reason: str | None


@record
class AgentTotal:
    agent: str
    calls: int
    usage: Usage
    cost_usd: float | None
    cost_complete: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "calls": self.calls,
            "usage": self.usage.to_json(),
            "cost_usd": self.cost_usd,
            "cost_complete": self.cost_complete,
        }


@record
class RunSummary:
    """One row of `agentctl runs list`."""

    run_id: str
    started: str | None
    agent: str | None
    task: str  # its first line, shortened
    status: str
    calls: int
    input_tokens: int
    output_tokens: int
    total_tokens: int  # cached tokens too: what --max-tokens counts
    cost_usd: float | None
    cost_complete: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started": self.started,
            "agent": self.agent,
            "task": self.task,
            "status": self.status,
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": self.cost_usd,
            "cost_complete": self.cost_complete,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSummary | None:
        """A cached summary, or None when it does not have the shape this version writes."""
        try:
            summary = cls(**{name: data[name] for name in fields_of(cls)})
        except (KeyError, TypeError):
            return None
        numbers = (summary.calls, summary.input_tokens, summary.output_tokens, summary.total_tokens)
        valid = isinstance(summary.run_id, str) and all(isinstance(number, int) for number in numbers)
        return summary if valid else None


@record
class RunRecord:
    """A run as its files tell it. `status` is "incomplete" when no run_finished closes the log."""

    run_id: str
    directory: Path
    meta: dict[str, Any]  # run.json
    calls: list[CallRecord] = field(default_factory=list)
    handoffs: list[HandoffRecord] = field(default_factory=list)
    status: str = "incomplete"
    result: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    problems: list[str] = field(default_factory=list)  # damaged lines and files, in reading order
    started: str | None = None
    finished: str | None = None
    info: dict[str, Any] = field(default_factory=dict)  # the last run_started event
    warnings: list[str] = field(default_factory=list)
    memory: list[MemoryRecord] = field(default_factory=list)  # memory_saved / memory_refused events
    waits: list[WaitRecord] = field(default_factory=list)  # waiting events: retries after a pause

    @property
    def agent(self) -> str | None:
        return _str(self.info.get("agent")) or _str(self.meta.get("agent"))

    @property
    def task(self) -> str | None:
        return _str(self.info.get("task")) or _str(self.meta.get("task"))

    @property
    def resumed_from(self) -> str | None:
        return _str(self.info.get("resumed_from")) or _str(self.meta.get("resumed_from"))

    @property
    def result_path(self) -> Path | None:
        path = self.directory / RESULT_FILE
        return path if path.is_file() else None

    def total(self) -> dict[str, Any]:
        """Tokens and cost spent. `cost_usd` sums the known costs; `cost_complete` is False when a
        call that used tokens has no price (its model is not in the table), and `cost_usd` is null
        when no such call has a price at all."""
        usage, cost, complete = _tally(self.calls)
        return {"cost_usd": cost, **usage.to_json(), "cost_complete": complete}

    def by_agent(self) -> list[AgentTotal]:
        """Calls, tokens and cost per agent, in the order the agents first appear."""
        groups: dict[str, list[CallRecord]] = {}
        for call in self.calls:
            groups.setdefault(call.agent, []).append(call)
        totals = []
        for agent, calls in groups.items():
            usage, cost, complete = _tally(calls)
            totals.append(AgentTotal(agent, sum(call.spent for call in calls), usage, cost, complete))
        return totals

    def completed_calls(self) -> dict[str, CallRecord]:
        """Structural key -> the last call under it that finished well: what a resume reuses."""
        return {call.key: call for call in self.calls if call.key and call.status in FINISHED_CALL}

    def summary(self) -> RunSummary:
        usage, cost, complete = _tally(self.calls)
        return RunSummary(
            self.run_id,
            self.started,
            self.agent,
            first_line(self.task or ""),
            self.status,
            sum(call.spent for call in self.calls),
            usage.input_tokens,
            usage.output_tokens,
            usage.total_tokens,
            cost,
            complete,
        )

    def to_json(self) -> dict[str, Any]:
        """The dispatch JSON contract of DESIGN.md, plus keys a reader of a past run wants."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "agent": self.agent,
            "result": self.result,
            "calls": [call.to_json() for call in self.calls],
            "handoffs": [handoff.to_json() for handoff in self.handoffs],
            "total": self.total(),
            "by_agent": [total.to_json() for total in self.by_agent()],
            "task": self.task,
            "started": self.started,
            "finished": self.finished,
            "resumed_from": self.resumed_from,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "warnings": self.warnings,
            "problems": self.problems,
            "memory": [note.to_json() for note in self.memory],
        }


def _tally(calls: Iterable[CallRecord]) -> tuple[Usage, float | None, bool]:
    """Usage and cost of the calls that spent them; see RunRecord.total for the cost rules."""
    usage, costs, complete = Usage(), [], True
    for call in calls:
        if not call.spent:
            continue
        usage = usage + call.usage
        if call.cost_usd is not None:
            costs.append(call.cost_usd)
        elif call.usage.total_tokens:  # a call that failed before any token cost nothing
            complete = False
    cost = round(sum(costs), 6) if costs or complete else None  # rounding hides float noise
    return usage, cost, complete


def first_line(text: str, width: int = 100) -> str:
    """The first non-blank line of `text`, spaces collapsed, cut to `width` characters."""
    line = next((" ".join(line.split()) for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "\u2026"


def load_run(runs_dir: Path, run_id: str) -> RunRecord:
    """Read one run. Damaged files or lines become `problems`; only a missing run is an error."""
    return _read_run(_run_directory(runs_dir, run_id))


def list_runs(runs_dir: Path, limit: int | None = None) -> list[RunSummary]:
    """The runs, newest first (run ids sort by start time). Closed runs are read from their
    summary.json; runs still going, killed, or resumed since, from their log."""
    return [_summary_of(runs_dir / run_id) for run_id in _run_ids(runs_dir)[:limit]]


def find_run(runs_dir: Path, wanted: str) -> str:
    """The run id that `wanted` names: an exact id, a unique prefix, or "last"/"latest"."""
    ids = _run_ids(runs_dir)
    if not ids:
        raise UsageError(f"no runs yet in {runs_dir}", hint="`agentctl dispatch` records one")
    if wanted.lower() in NEWEST:
        return ids[0]
    matches = [run_id for run_id in ids if run_id.startswith(wanted)] if wanted else []
    if wanted in matches or len(matches) == 1:
        return wanted if wanted in matches else matches[0]
    if not matches:
        raise UsageError(f"no run {wanted!r} in {runs_dir}", hint=LIST_HINT)
    shown = ", ".join(matches[:8]) + (f" and {len(matches) - 8} more" if len(matches) > 8 else "")
    raise UsageError(f"{wanted!r} matches {len(matches)} runs: {shown}", hint="give more of the run id")


def _is_plain_name(name: str) -> bool:
    """A single folder name: never a path that leaves the runs folder, never a hidden file."""
    return bool(name) and not name.startswith(".") and not any(char in name for char in "/\\\0")


def _run_directory(runs_dir: Path, run_id: str) -> Path:
    directory = runs_dir / run_id
    if not _is_plain_name(run_id) or not directory.is_dir():
        raise UsageError(f"no run {run_id!r} in {runs_dir}", hint=LIST_HINT)
    return directory


def _run_ids(runs_dir: Path) -> list[str]:
    try:
        with os.scandir(runs_dir) as entries:
            names = [entry.name for entry in entries if _is_plain_name(entry.name) and entry.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as error:
        raise AgentctlError(f"cannot read the runs folder {runs_dir}: {error.strerror}") from None
    return sorted(names, reverse=True)


def _read_run(directory: Path) -> RunRecord:
    problems: list[str] = []
    record = RunRecord(directory.name, directory, _read_meta(directory, problems), problems=problems)
    builder = _Builder(record)
    for event, line in _parse_lines(_read_log(directory, problems), problems):
        builder.apply(event, line)
    record.started = record.started or _str(record.meta.get("created"))
    return record


def _read_meta(directory: Path, problems: list[str]) -> dict[str, Any]:
    try:
        meta = json.loads(read_bounded(directory / RUN_FILE, RUN_FILE_BYTES))
    except FileNotFoundError:
        problems.append(f"{RUN_FILE} is missing")
        return {}
    except (OSError, ValueError) as error:
        problems.append(f"{RUN_FILE} cannot be read: {getattr(error, 'strerror', None) or error}")
        return {}
    if not isinstance(meta, dict):
        problems.append(f"{RUN_FILE} is not a JSON object")
        return {}
    return meta


def _read_log(directory: Path, problems: list[str]) -> bytes:
    try:
        return read_bounded(directory / EVENTS_FILE, RUN_FILE_BYTES)
    except FileNotFoundError:
        problems.append(f"{EVENTS_FILE} is missing")
    except OSError as error:
        problems.append(f"{EVENTS_FILE} cannot be read: {error.strerror}")
    return b""


def _parse_lines(data: bytes, problems: list[str]) -> list[tuple[dict[str, Any], int]]:
    """The events of a log with their line numbers; each bad line becomes a problem."""
    lines = data.split(b"\n")
    events = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
        except ValueError:  # bad JSON or bad UTF-8
            # The last piece has no newline after it: the writer stopped in the middle of it.
            cut = number == len(lines)
            problems.append(f"{EVENTS_FILE} line {number}: " + ("cut short" if cut else "not valid JSON"))
            continue
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            problems.append(f"{EVENTS_FILE} line {number}: not an event")
            continue
        events.append((event, number))
    return events


class _Builder:
    """Folds the events of a log into a RunRecord."""

    def __init__(self, record: RunRecord) -> None:
        self.record = record
        self.calls: dict[str, CallRecord] = {}
        self.handoffs: dict[tuple[str | None, str, str], HandoffRecord] = {}

    def apply(self, event: dict[str, Any], line: int) -> None:
        handler = _HANDLERS.get(event["event"])
        if handler is not None:  # an event this version does not know: a newer writer's, skip it
            handler(self, event, line)

    def problem(self, line: int, text: str) -> None:
        self.record.problems.append(f"{EVENTS_FILE} line {line}: {text}")

    def run_started(self, event: dict[str, Any], line: int) -> None:
        record = self.record
        record.info = {key: value for key, value in event.items() if key not in ("event", "seq", "time")}
        record.started = record.started or _str(event.get("time"))  # a resume keeps the first start
        # A resumed run is unfinished again until its own run_finished.
        record.status, record.result, record.finished = "incomplete", None, None
        record.exit_code = record.reason = None

    def call_started(self, event: dict[str, Any], line: int) -> None:
        call_id = _str(event.get("call_id"))
        if call_id is None:
            return self.problem(line, "call_started without a call_id")
        if call_id in self.calls:
            self.problem(line, f"call {call_id} started twice; the later one is kept")
        call = CallRecord(
            id=call_id,
            key=_str(event.get("key")),
            parent=_str(event.get("parent")),
            agent=_str(event.get("agent")) or "?",
            mode=_str(event.get("mode")) or "?",
            model=_str(event.get("model")),
            depth=_int(event.get("depth")) or 0,
            task=_str(event.get("task")),
            prompt_hash=_str(event.get("prompt_hash")),
            started=_str(event.get("time")),
        )
        self.record.calls.append(call)
        self.calls[call_id] = call
        return None

    def call_finished(self, event: dict[str, Any], line: int) -> None:
        call = self.calls.get(_str(event.get("call_id")) or "")
        if call is None:
            return self.problem(line, f"call_finished for a call that never started: {event.get('call_id')!r}")
        call.status = _str(event.get("status")) or "unknown"
        usage = event.get("usage")
        try:  # the one reader of outside counts: a record is outside data (1e400 once exited 3)
            if not isinstance(usage, dict | None):
                raise BadUsage(f"{type(usage).__name__}, not a mapping of counts")
            call.usage = Usage.from_counts(usage or {})
        except BadUsage as bad:
            self.problem(line, f"call {call.id}: usage is not a set of token counts ({bad})")
        call.cost_usd = _float(event.get("cost_usd"))
        call.latency_ms = _int(event.get("latency_ms"))
        call.output = _str(event.get("output"))
        error = event.get("error")
        call.error = error if isinstance(error, dict) else None
        call.finished = _str(event.get("time"))
        call.warnings = [str(warning) for warning in _list(event.get("warnings"))]
        return None

    def handoff(self, event: dict[str, Any], line: int) -> None:
        new = HandoffRecord(
            from_call=_str(event.get("from_call")),
            from_agent=_str(event.get("from")),
            target=_str(event.get("target")) or "",
            to=_str(event.get("to")),
            task=_str(event.get("task")) or "",
            status=_str(event.get("status")) or "unknown",
            reason=_str(event.get("reason")),
            call_id=_str(event.get("call_id")),
        )
        known = self.handoffs.get((new.from_call, new.target, new.task))
        if known is None:
            self.handoffs[(new.from_call, new.target, new.task)] = new
            self.record.handoffs.append(new)
            return
        # A later event on the same request moves it on (dispatched -> ok / failed).
        known.status, known.reason = new.status, new.reason
        known.to, known.call_id = new.to or known.to, new.call_id or known.call_id

    def memory(self, event: dict[str, Any], line: int) -> None:
        saved = event["event"] == "memory_saved"
        note = MemoryRecord(
            agent=_str(event.get("agent")),
            status="saved" if saved else "refused",
            path=_str(event.get("path")),
            topic=_str(event.get("topic")),
            reason=_str(event.get("reason")),
            call_id=_str(event.get("call_id")),
        )
        self.record.memory.append(note)

    def waiting(self, event: dict[str, Any], line: int) -> None:
        wait = WaitRecord(
            _str(event.get("call_id")),
            _float(event.get("seconds")),
            _int(event.get("attempt")),
            _str(event.get("reason")),
        )
        self.record.waits.append(wait)

    def warning(self, event: dict[str, Any], line: int) -> None:
        self.record.warnings.append(str(event.get("message", "")))

    def run_finished(self, event: dict[str, Any], line: int) -> None:
        record = self.record
        record.status = _str(event.get("status")) or "unknown"
        record.result = _str(event.get("result"))
        record.exit_code = _int(event.get("exit_code"))
        record.reason = _str(event.get("reason"))
        record.finished = _str(event.get("time"))


_HANDLERS: dict[str, Callable[[_Builder, dict[str, Any], int], None]] = {
    "run_started": _Builder.run_started,
    "call_started": _Builder.call_started,
    "call_finished": _Builder.call_finished,
    "handoff": _Builder.handoff,
    "memory_saved": _Builder.memory,
    "memory_refused": _Builder.memory,
    "warning": _Builder.warning,
    "waiting": _Builder.waiting,
    "run_finished": _Builder.run_finished,
}


def _summary_of(directory: Path) -> RunSummary:
    cached = _cached_summary(directory)
    return cached if cached is not None else _read_run(directory).summary()


def _cached_summary(directory: Path) -> RunSummary | None:
    """summary.json, if it describes the log as it is now (same size: nothing appended since)."""
    try:
        data = json.loads(read_bounded(directory / SUMMARY_FILE, RUN_FILE_BYTES))
        size = (directory / EVENTS_FILE).stat().st_size
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("events_size") != size:
        return None
    return RunSummary.from_json(data)


def _write_summary(directory: Path, events_size: int) -> None:
    summary = _read_run(directory).summary().to_json() | {"events_size": events_size}
    with contextlib.suppress(OSError):  # only a cache: `runs list` reads the log when it is missing
        atomic_write_text(directory / SUMMARY_FILE, json.dumps(summary, ensure_ascii=False) + "\n")


# Tolerant field readers: a record is outside data; a wrong type reads as absent.


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value)


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
