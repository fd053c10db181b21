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
API key never lands on disk. Readers never fail on a damaged log: a bad line becomes a problem
of the record.

The package: `recorder.py` writes (RunRecorder, run ids, the run lock), `reader.py` reads (RunRecord
and its parts, load_run, list_runs, find_run), `layout.py` names the files both use; what a line of
events.jsonl holds is agentctl.events. The names below are the public ones.
"""

from agentctl.runs.layout import EVENTS_FILE, LIST_HINT, LOCK_FILE, RESULT_FILE, RUN_FILE, SUMMARY_FILE
from agentctl.runs.reader import (
    FINISHED_CALL,
    NEWEST,
    AgentTotal,
    CallRecord,
    MemoryRecord,
    RunRecord,
    RunSummary,
    WaitRecord,
    duration_text,
    find_run,
    first_line,
    list_runs,
    load_run,
)
from agentctl.runs.recorder import (
    RECORD_FORMAT,
    Clock,
    RunExistsError,
    RunLock,
    RunLockedError,
    RunRecorder,
    lock_run,
    new_run_id,
)

__all__ = [
    "EVENTS_FILE",
    "FINISHED_CALL",
    "LIST_HINT",
    "LOCK_FILE",
    "NEWEST",
    "RECORD_FORMAT",
    "RESULT_FILE",
    "RUN_FILE",
    "SUMMARY_FILE",
    "AgentTotal",
    "CallRecord",
    "Clock",
    "MemoryRecord",
    "RunExistsError",
    "RunLock",
    "RunLockedError",
    "RunRecord",
    "RunRecorder",
    "RunSummary",
    "WaitRecord",
    "duration_text",
    "find_run",
    "first_line",
    "list_runs",
    "load_run",
    "lock_run",
    "new_run_id",
]
