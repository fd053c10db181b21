"""A batch's own record: `.agentctl/batches/<id>/`.

- `batch.json`: what was asked (the tasks, each with the agent it went to, the limits, the cap),
  written once when the batch starts: a resume needs nothing else, not even TASKS.jsonl;
- `events.jsonl`: one JSON object per line, appended with one `os.write` each: `task_run` (a task's
  run record), `submitted` (a batch the API accepted, with its requests' custom ids; written as soon
  as the API answers, so that a killed run never sends them twice), `ended` (a batch's final
  counts), `round` (a round's outcome and cost), `stopped` (a limit), `finished`;
- `lock`: held by the one process that runs or resumes the batch (runs.RunLock).

Each task's calls are in its own run record (`.agentctl/runs/<batch id>-<task id>/`), which `runs
show` reads. Lines hold ids, counts and costs, never model text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agentctl.bounds import RUN_FILE_BYTES
from agentctl.errors import AgentctlError, UsageError
from agentctl.fsutil import atomic_write_text, read_bounded
from agentctl.records import field, record

BATCH_FILE = "batch.json"
EVENTS_FILE = "events.jsonl"
LIST_HINT = "agentctl batch status lists the batches"


@record
class BatchState:
    """What events.jsonl says so far."""

    meta: dict[str, Any]
    submitted: dict[str, str] = field(default_factory=dict)  # custom_id -> the API batch it was sent in
    api_batches: list[str] = field(default_factory=list)  # every API batch, in order
    ended: dict[str, dict[str, Any]] = field(default_factory=dict)  # API batch -> its final view
    task_runs: dict[str, list[str]] = field(default_factory=dict)  # task id -> its run records, oldest first
    rounds: list[dict[str, Any]] = field(default_factory=list)
    stopped: str | None = None
    finished: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)


def batches_dir(root: Path) -> Path:
    from agentctl.statedir import state_folder

    return state_folder(root, "batches")


def create(directory: Path, meta: dict[str, Any]) -> None:
    try:
        directory.mkdir()
    except FileExistsError:
        raise AgentctlError(f"the batch record {directory} already exists") from None
    atomic_write_text(directory / BATCH_FILE, json.dumps(meta, indent=1) + "\n")


class BatchLog:
    """The append-only events.jsonl of one batch."""

    def __init__(self, directory: Path) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        self._fd: int | None = os.open(directory / EVENTS_FILE, flags, 0o644)

    def append(self, kind: str, **data: Any) -> None:
        if self._fd is None:
            return
        line = json.dumps({"event": kind, **data}, separators=(",", ":"), ensure_ascii=False) + "\n"
        os.write(self._fd, line.encode("utf-8"))

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def read_state(directory: Path) -> BatchState:
    """The batch as its record tells; a damaged line is a problem of the state, never an error."""
    try:
        meta = json.loads(read_bounded(directory / BATCH_FILE, RUN_FILE_BYTES))
    except (OSError, ValueError) as error:
        raise UsageError(f"the batch record {directory} cannot be read: {error}", hint=LIST_HINT) from None
    state = BatchState(meta if isinstance(meta, dict) else {})
    try:
        data = read_bounded(directory / EVENTS_FILE, RUN_FILE_BYTES)
    except FileNotFoundError:
        data = b""
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        try:
            event = json.loads(line)
        except ValueError:
            state.problems.append(f"events.jsonl line {number}: not JSON")
            continue
        if isinstance(event, dict):
            _apply(state, event)
    return state


def _apply(state: BatchState, event: dict[str, Any]) -> None:
    kind = event.get("event")
    if kind == "task_run":
        state.task_runs.setdefault(str(event["task"]), []).append(str(event["run"]))
    elif kind == "submitted":
        state.api_batches.append(str(event["batch"]))
        state.submitted.update({str(custom_id): str(event["batch"]) for custom_id in event.get("requests", [])})
    elif kind == "ended":
        state.ended[str(event["batch"])] = event.get("view", {})
    elif kind == "round":
        state.rounds.append({key: value for key, value in event.items() if key != "event"})
    elif kind == "stopped":
        state.stopped = str(event.get("reason"))
    elif kind == "finished":
        state.finished = event


def batch_directory(root: Path, batch_id: str) -> Path:
    """The record of a batch under the team's `root` (read, never created: batches_dir creates)."""
    from agentctl.statedir import STATE_DIR

    return root / STATE_DIR / "batches" / batch_id


def batch_ids(root: Path) -> list[str]:
    """The batches recorded under `root`, newest first."""
    folder = batch_directory(root, "")
    try:
        return sorted((entry.name for entry in os.scandir(folder) if entry.is_dir()), reverse=True)
    except OSError:
        return []


def find_batch(root: Path, wanted: str) -> str:
    """The batch id `wanted` names: an id, a unique prefix, or `last` (as runs are named)."""
    from agentctl.runs.reader import pick_id

    ids = batch_ids(root)
    if not ids:
        raise UsageError("no batches yet", hint="`agentctl batch run TASKS.jsonl` starts one")
    return pick_id(ids, wanted, ("batch", "batches"), f"no batch {wanted!r}", LIST_HINT)
