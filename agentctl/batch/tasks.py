"""TASKS.jsonl: one task per line, `{"task": "...", "agent": "...", "id": "..."}` (agent and id optional).

A line without an agent is routed offline (agentctl.route, the same ranking `agentctl route` shows).
A line without an id gets `line-N`. Every problem of the file is reported at once, with its line,
before anything is sent.
"""

from __future__ import annotations

import json
from pathlib import Path

from agentctl.errors import UsageError
from agentctl.lazyre import LazyPattern
from agentctl.records import record

TASKS_BYTES = 256 * 1024 * 1024  # 100,000 tasks of 2 KB each, with room
MAX_TASKS = 100_000
_ID = LazyPattern(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SHOWN = 20
_HINT = 'one JSON object per line: {"task": "Review the orders query", "agent": "db-architect", "id": "q-1"}'


@record
class BatchTask:
    id: str
    task: str
    agent: str | None  # None: routed offline
    line: int


def read_tasks(path: Path) -> list[BatchTask]:
    """The tasks of `path` (`-` is not taken: a batch must be resumable from its file); UsageError
    naming every bad line."""
    from agentctl.fsutil import read_bounded

    try:
        data = read_bounded(path, TASKS_BYTES)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}", hint=_HINT) from None
    return parse_tasks(data.decode("utf-8", errors="replace"), str(path))


def parse_tasks(text: str, source: str) -> list[BatchTask]:
    tasks: list[BatchTask] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        task, problem = _task(line, number)
        if problem is None and task is not None and task.id in seen:
            problem = f"the id {task.id!r} is also on line {seen[task.id]}"
        if problem is not None:
            problems.append(f"line {number}: {problem}")
        elif task is not None:
            seen[task.id] = number
            tasks.append(task)
    if len(tasks) > MAX_TASKS:
        problems.append(f"{len(tasks):,} tasks are more than one batch run takes ({MAX_TASKS:,})")
    if problems:
        shown = "; ".join(problems[:_SHOWN]) + (
            f"; and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        )
        raise UsageError(f"{source}: {shown}", hint=_HINT)
    if not tasks:
        raise UsageError(f"{source} holds no tasks", hint=_HINT)
    return tasks


def _task(line: str, number: int) -> tuple[BatchTask | None, str | None]:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return None, "not a JSON object"
    if not isinstance(value, dict):
        return None, "not a JSON object"
    task, agent, task_id = value.get("task"), value.get("agent"), value.get("id", f"line-{number}")
    if not isinstance(task, str) or not task.strip():
        return None, "no `task` (a non-empty string)"
    if agent is not None and (not isinstance(agent, str) or not agent.strip()):
        return None, "`agent` is not a non-empty string"
    if not isinstance(task_id, str) or not _ID.fullmatch(task_id):
        return None, "`id` is not 1-64 letters, digits, `.`, `_` or `-`"
    unknown = sorted(set(value) - {"task", "agent", "id"})
    if unknown:
        return None, f"unknown key(s) {', '.join(unknown)}"
    return BatchTask(task_id, task, agent, number), None
