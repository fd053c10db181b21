"""Hostile cases: dispatch."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.hostile.harness import REPO, Case, Outcome, Sandbox, agent_text, run_agentctl

CASES: list[Case] = []


# --- spending (issue #10, "Spending"): caps, checked limits, bounded answers, redacted notes ------------

_SPEND_AGENTS = ("lead", "alpha", "beta", "gamma", "delta", "epsilon")
_SPEND_ROSTER = "\n".join(
    ["# Team protocol", "", "## Roster", "", "| Agent | Display name | Domain | When to request | Memory |"]
    + ["|---|---|---|---|---|"]
    + [f"| `{name}` | {name.title()} | area {name} | when {name} | A |" for name in _SPEND_AGENTS]
)
_SPEND_KEY = "sk-ant-api03-HOSTILE-note-0123456789abcdefghijklmnop"


def _spend_team(sandbox: Sandbox, script: dict[str, object]) -> list[str]:
    """Six agents with a roster, and a scripted provider's replies: the run's arguments."""
    for folder in ("agents", "agents-shared", "agents-memory"):
        (sandbox.team / folder).mkdir(exist_ok=True)
    sandbox.write("agents-shared/team-protocol.md", _SPEND_ROSTER + "\n")
    for name in _SPEND_AGENTS:
        sandbox.write(f"agents/{name}.md", agent_text(name, f"The {name} of the team."))
    sandbox.write("script.json", json.dumps(script))
    return ["dispatch", "lead", "Plan the export", "--script", "script.json", "--format", "json"]


def _asks_everyone(number: int) -> str:
    asks = "".join(
        f"### -> {name.title()}\n**Task:** check part {number} of {name}\n**I need back:** a note\n\n"
        for name in _SPEND_AGENTS[1:]
    )
    return f"Working on it.\n\n## Handoff Requests\n\n{asks}"


def _storm(sandbox: Sandbox) -> Sequence[str]:
    return _spend_team(sandbox, {"*": [_asks_everyone(number) for number in range(2000)]})


def _stopped_at_the_call_cap(sandbox: Sandbox, outcome: Outcome) -> None:
    record = outcome.json()
    assert record["status"] == "budget" and "--max-calls 40 reached" in record["reason"], record.get("reason")
    assert len(record["calls"]) <= 40, len(record["calls"])


def _bad_limit(*flags: str) -> Callable[[Sandbox], Sequence[str]]:
    return lambda sandbox: [*_spend_team(sandbox, {"lead": ["Never sent."]}), *flags]


def _bad_anthropic_setting(sandbox: Sandbox) -> Sequence[str]:
    sandbox.write("agentctl.toml", "[anthropic]\nmax_retries = -1\n")
    return [*_spend_team(sandbox, {"lead": ["Never sent."]}), "--provider", "anthropic"]


def _nothing_recorded(sandbox: Sandbox, outcome: Outcome) -> None:
    runs = sandbox.team / ".agentctl" / "runs"
    assert not runs.exists() or not any(path.is_dir() for path in runs.iterdir()), "a run record was left"
    assert outcome.json()["error"]["exit_code"] == 2 and "Traceback" not in outcome.stderr


def _secret_note(sandbox: Sandbox) -> Sequence[str]:
    note = (
        "Done.\n\n## Memory Notes\n\n### export-key\n```markdown\n# Export key\n\n"
        "**Applies when:** running the export\n\n"
        f"The export reads {_SPEND_KEY} from the vault.\nIt retries twice.\nIt logs to stderr.\n```\n"
    )
    return _spend_team(sandbox, {"lead": [note]})


def _note_redacted(sandbox: Sandbox, outcome: Outcome) -> None:
    notes = list((sandbox.team / "agents-memory").rglob("*.md"))
    assert notes, "the note was not saved"
    for note in notes:
        text = note.read_text("utf-8")
        assert _SPEND_KEY not in text and "[redacted]" in text, text


def _trillion_tokens(sandbox: Sandbox) -> Sequence[str]:
    return _spend_team(
        sandbox, {"lead": [{"text": "Done.", "usage": {"input_tokens": 10**12, "output_tokens": 10**12}}]}
    )


def _counted_at_the_bound(sandbox: Sandbox, outcome: Outcome) -> None:
    (call,) = outcome.json()["calls"]
    assert call["usage"]["output_tokens"] <= 8192 + 16 and call["usage"]["input_tokens"] < 10**6, call["usage"]
    assert "usage report is implausible" in outcome.stderr


def _huge_answer(sandbox: Sandbox) -> Sequence[str]:
    return _spend_team(sandbox, {"lead": [_asks_everyone(0) + "x" * (3 * 1024 * 1024)]})


def _answer_refused(sandbox: Sandbox, outcome: Outcome) -> None:
    record = outcome.json()
    assert [call["status"] for call in record["calls"]] == ["failed"] and record["handoffs"] == []
    assert "it was not parsed" in outcome.stderr


CASES += [
    Case(
        "spend-five-handoff-storm",
        "a team whose answers each ask for five handoffs made 9,424 calls (about $445) and exited 0",
        _storm,
        (5,),
        _stopped_at_the_call_cap,
    ),
    Case(
        "spend-max-cost-nan",
        "--max-cost nan is refused (exit 2), no record is left",
        _bad_limit("--max-cost", "nan"),
        (2,),
        _nothing_recorded,
    ),
    Case(
        "spend-parallel-zero",
        "--parallel 0 is refused (exit 2), no record is left",
        _bad_limit("--parallel", "0"),
        (2,),
        _nothing_recorded,
    ),
    Case(
        "spend-max-calls-zero",
        "--max-calls 0 is not 'no limit': refused (exit 2)",
        _bad_limit("--max-calls", "0"),
        (2,),
        _nothing_recorded,
    ),
    Case(
        "spend-anthropic-max-retries-negative",
        "[anthropic] max_retries = -1 exits 3 and leaves the record incomplete",
        _bad_anthropic_setting,
        (2,),
        _nothing_recorded,
        env={
            "ANTHROPIC_API_KEY": "sk-ant-api03-unused-0123456789abcdefghij",
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
        },
    ),
    Case(
        "spend-secret-in-memory-note",
        "memory notes from an answer bypass the secret filter (a key saved into agents-memory/ in clear)",
        _secret_note,
        (0,),
        _note_redacted,
    ),
    Case(
        "spend-usage-of-a-trillion-tokens",
        "a usage report that claims 10^12 tokens is taken at its word",
        _trillion_tokens,
        (0,),
        _counted_at_the_bound,
    ),
    Case(
        "spend-answer-over-the-limit",
        "answers have a documented size limit: a longer one fails its call, unparsed",
        _huge_answer,
        (4,),
        _answer_refused,
    ),
]


# --- the subprocess contract (issue #10, "Signals and the subprocess contract"): run-* cases ---------------

_RUN_SLOW = 60.0  # seconds a scripted reply takes: the signal, or the end of the case, comes first
_run_background: list[subprocess.Popen[bytes]] = []  # dispatches a case left running: killed at exit


def _run_team(sandbox: Sandbox, script: dict[str, object]) -> list[str]:
    """The two-agent team and a scripted provider's replies: the dispatch's arguments."""
    sandbox.small_team()
    sandbox.write("script.json", json.dumps(script))
    return ["dispatch", "reviewer", "Review the export", "--script", "script.json"]


def _run_dirs(sandbox: Sandbox) -> list[Path]:
    runs = sandbox.team / ".agentctl" / "runs"
    return sorted(path for path in runs.iterdir() if path.is_dir()) if runs.is_dir() else []


def _run_pid_once_calling(sandbox: Sandbox, seconds: float = 15.0) -> int | None:
    """The pid of the dispatch (from its run's lock file) once its first call has started."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for run in _run_dirs(sandbox):
            with contextlib.suppress(OSError):
                started = '"call_started"' in (run / "events.jsonl").read_text("utf-8")
                pid = (run / "lock").read_text().strip()
                if started and pid.isdigit():
                    return int(pid)
        time.sleep(0.05)
    return None


def _run_signals(*signals: int) -> Callable[[Sandbox], Sequence[str]]:
    """A dispatch with a slow reply, sent `signals` once its first call is in flight."""

    def send(sandbox: Sandbox) -> None:
        pid = _run_pid_once_calling(sandbox)
        if pid is None:
            return  # never called: the case fails on its watchdog
        for number in signals:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, number)

    def build(sandbox: Sandbox) -> Sequence[str]:
        args = _run_team(sandbox, {"reviewer": [{"text": "late", "delay": _RUN_SLOW}]})
        threading.Thread(target=send, args=(sandbox,), daemon=True).start()  # runs while the harness waits
        return [*args, "--format", "json"]

    return build


def _run_closed(reason: str, code: int) -> Callable[[Sandbox, Outcome], None]:
    def check(sandbox: Sandbox, outcome: Outcome) -> None:
        record = outcome.json()
        assert record["status"] == "interrupted" and record["error"]["exit_code"] == code, record
        assert record["reason"] == reason and "Traceback" not in outcome.stderr
        (run,) = _run_dirs(sandbox)
        last = json.loads((run / "events.jsonl").read_text("utf-8").splitlines()[-1])
        assert last["event"] == "run_finished" and last["exit_code"] == code, last

    return check


def _run_live_resume(sandbox: Sandbox) -> Sequence[str]:
    """A dispatch still waiting for its first answer, and `runs resume` of it from a second process."""
    args = _run_team(sandbox, {"reviewer": [{"text": "late", "delay": _RUN_SLOW}]})
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    live = subprocess.Popen(
        [sys.executable, "-m", "agentctl", *args],
        cwd=sandbox.team,
        env=environ | {"HOME": str(sandbox.base)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _run_background.append(live)
    assert _run_pid_once_calling(sandbox) == live.pid, "the first dispatch never started its call"
    sandbox.write("answer.json", json.dumps({"reviewer": ["Reviewed."]}))
    return ["runs", "resume", _run_dirs(sandbox)[0].name, "--script", "answer.json", "--format", "json"]


def _run_refused_live(sandbox: Sandbox, outcome: Outcome) -> None:
    live = _run_background.pop()
    try:
        error = outcome.json()["error"]
        assert f"is still running (pid {live.pid}); wait for it or stop it" in error["message"], error
        assert len(_run_dirs(sandbox)) == 1, "the resume recorded (and sent) a second run"
        assert live.poll() is None, "the first dispatch should still be running"
    finally:
        _run_stop(live)


def _run_stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@atexit.register
def _run_stop_all() -> None:
    for process in _run_background:
        _run_stop(process)


def _run_failed(sandbox: Sandbox) -> Path:
    """A run whose first call failed (resumable), recorded by a real dispatch."""
    args = _run_team(sandbox, {"reviewer": [{"error": {"kind": "server", "message": "500"}}]})
    assert run_agentctl(args, sandbox.team).exit_code == 4
    (run,) = _run_dirs(sandbox)
    return run


def _run_lock_symlink(sandbox: Sandbox) -> Sequence[str]:
    run = _run_failed(sandbox)
    (run / "lock").unlink()
    (run / "lock").symlink_to(sandbox.outside / "precious.md")  # our pid must not land in it
    sandbox.write("answer.json", json.dumps({"reviewer": ["Reviewed."]}))
    return ["runs", "resume", run.name, "--script", "answer.json", "--format", "json"]


def _run_lock_refused(sandbox: Sandbox, outcome: Outcome) -> None:
    message = outcome.json()["error"]["message"]
    assert "cannot write the run record" in message and message.endswith("lock: Too many levels of symbolic links")
    assert len(_run_dirs(sandbox)) == 1, "the resume started a run without holding the one it resumes"


def _run_log_fifo(*args: str) -> Callable[[Sandbox], Sequence[str]]:
    def build(sandbox: Sandbox) -> Sequence[str]:
        run = _run_failed(sandbox)
        (run / "events.jsonl").unlink()
        os.mkfifo(run / "events.jsonl")  # nobody writes to it: a plain read blocks forever
        (run / "summary.json").unlink()
        return [arg.replace("RUN", run.name) for arg in args]

    return build


def _run_log_problem(sandbox: Sandbox, outcome: Outcome) -> None:
    assert "events.jsonl cannot be read: a FIFO, not a regular file" in outcome.json()["problems"]


def _run_error_document(says: str) -> Callable[[Sandbox, Outcome], None]:
    def check(sandbox: Sandbox, outcome: Outcome) -> None:
        document = outcome.json()
        assert set(document) == {"version", "error"} and says in document["error"]["message"], document
        assert not _run_dirs(sandbox), "nothing should be recorded"

    return check


def _run_interrupted(sandbox: Sandbox, outcome: Outcome) -> None:
    record = outcome.json()
    assert record["error"]["exit_code"] == 130 and record["status"] in ("interrupted", "incomplete"), record
    assert "Traceback" not in outcome.stderr


CASES += [
    Case(
        "run-sigterm-during-a-dispatch",
        "SIGTERM gets the same treatment as Ctrl-C: record flushed, JSON printed, exit 143",
        _run_signals(signal.SIGTERM),
        (143,),
        _run_closed("terminated (SIGTERM)", 143),
    ),
    Case(
        "run-double-ctrl-c",
        "a second Ctrl-C still exits 130",
        _run_signals(signal.SIGINT, signal.SIGINT),
        (130,),
        _run_interrupted,
    ),
    Case(
        "run-resume-of-a-live-run",
        "runs resume on a run that is still going re-sends its in-flight calls (13 requests instead of 5)",
        _run_live_resume,
        (2,),
        _run_refused_live,
    ),
    Case(
        "run-lock-symlinked-outside",
        "nothing is written outside the folders agentctl owns: a run's lock file planted as a symlink",
        _run_lock_symlink,
        (1,),
        _run_lock_refused,
    ),
    Case(
        "run-events-log-is-a-fifo",
        "every file read is bounded: a FIFO planted as a run's events.jsonl never blocks runs show",
        _run_log_fifo("runs", "show", "RUN", "--format", "json"),
        (0,),
        _run_log_problem,
    ),
    Case(
        "run-json-unknown-agent",
        "dispatch --format json with an unknown agent prints one JSON document (exit 2)",
        lambda sandbox: [*_run_team(sandbox, {})[:1], "nobody", "Review it", "--format", "json"],
        (2,),
        _run_error_document("no agent called 'nobody'"),
    ),
    Case(
        "run-json-missing-script",
        "dispatch --format json with a missing --script prints one JSON document (exit 2)",
        lambda sandbox: [*_run_team(sandbox, {})[:2], "x", "--script", "missing.yaml", "--format", "json"],
        (2,),
        _run_error_document("missing.yaml"),
    ),
    Case(
        "run-json-no-api-key",
        "dispatch --format json without an API key prints one JSON document (exit 4), sends nothing",
        lambda sandbox: [*_run_team(sandbox, {})[:2], "x", "--format", "json"],
        (4,),
        _run_error_document("API key"),
    ),
]
