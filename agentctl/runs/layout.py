"""What a run folder holds, and which folder a run id names: the recorder and the reader share it."""

from __future__ import annotations

from pathlib import Path

from agentctl.errors import UsageError

RUN_FILE = "run.json"
EVENTS_FILE = "events.jsonl"
RESULT_FILE = "result.md"
SUMMARY_FILE = "summary.json"
LOCK_FILE = "lock"
LIST_HINT = "agentctl runs list shows the runs"


def is_plain_name(name: str) -> bool:
    """A single folder name: never a path that leaves the runs folder, never a hidden file."""
    return bool(name) and not name.startswith(".") and not any(char in name for char in "/\\\0")


def run_directory(runs_dir: Path, run_id: str) -> Path:
    """The folder of an existing run; UsageError (exit 2) when there is none."""
    directory = runs_dir / run_id
    if not is_plain_name(run_id) or not directory.is_dir():
        raise UsageError(f"no run {run_id!r} in {runs_dir}", hint=LIST_HINT)
    return directory
