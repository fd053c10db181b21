"""The hostile-input harness: each case builds its fixture in a sandbox, runs the real `agentctl` as
a subprocess under a watchdog, and reports what a user (or an attacker) would see.

A sandbox is two folders: `team/` (the repository agentctl works in, with its `.git` when a case
wants one) and `outside/` (files that agentctl must never write or delete: symlinks in the team point
there). Every case is checked for the same things, whatever it is about:

- it ends within its watchdog (a hang fails the case instead of stalling CI);
- it does not exit 3 (a bug of ours) unless it says so;
- not one byte outside `team/` changed;
- with `--format json`, stdout is one JSON object carrying `"version": 1`.

tests/hostile/test_cases.py runs every case under pytest; bench/hostile.py runs the same set and
prints the figures (cases, hangs, exits 3, bytes written outside, peak memory).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import TEAM_FOLDERS, copy_shipped_team, git

REPO = Path(__file__).resolve().parents[2]
WATCHDOG_SECONDS = 20.0  # far above any case's normal time (most take well under a second)
SLOW_SECONDS = 5.0  # what bench/hostile.py counts as a hang
PROTOCOL = """# Team protocol

## Roster

| Agent | Display name | Domain | When to request | Memory |
|---|---|---|---|---|
| `reviewer` | Code Reviewer | code review | a change needs review | A |
| `db-architect` | DB Architect | databases | a schema changes | B |
"""


def agent_text(name: str, description: str = "Reviews code for correctness.", extra: str = "", body: str = "") -> str:
    return f"---\nname: {name}\ndescription: {description}\n{extra}---\n\n{body or 'You are ' + name + '.'}\n"


@dataclass
class Sandbox:
    """The folders of one case: `team` (agentctl's working directory and root) and `outside`."""

    base: Path
    team: Path = field(init=False)
    outside: Path = field(init=False)

    def __post_init__(self) -> None:
        self.team = self.base / "team"
        self.outside = self.base / "outside"
        self.team.mkdir(parents=True, exist_ok=True)
        self.outside.mkdir(parents=True, exist_ok=True)
        (self.outside / "precious.md").write_text("# Not agentctl's\n\nDo not touch.\n", "utf-8")

    def small_team(self, agents: dict[str, str] | None = None) -> Path:
        """A two-agent team (reviewer, db-architect) with a roster, at `team/`."""
        for folder in ("agents", "agents-shared", "agents-memory"):
            (self.team / folder).mkdir(exist_ok=True)
        (self.team / "agents-shared" / "team-protocol.md").write_text(PROTOCOL, "utf-8")
        files = (
            agents
            if agents is not None
            else {
                "reviewer.md": agent_text("reviewer"),
                "db-architect.md": agent_text("db-architect", "Designs database schemas."),
            }
        )
        for name, text in files.items():
            self.write(f"agents/{name}", text)
        return self.team

    def shipped_team(self) -> Path:
        """A copy of the team this repository ships (16 agents, protocol, memory, templates)."""
        return copy_shipped_team(self.team, (*TEAM_FOLDERS, "templates"))

    def write(self, relative: str, text: str | bytes) -> Path:
        path = self.team / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, "utf-8", newline="")
        return path

    def git(self, *args: str, when: str | None = None) -> None:
        git(self.team, *args, when=when)

    def commit_all(self, message: str = "team", when: str | None = None) -> None:
        if not (self.team / ".git").exists():
            self.git("init", "-q", "-b", "main")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, "--allow-empty", when=when)


@dataclass
class Outcome:
    exit_code: int | None  # None: killed by the watchdog
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float
    outside_changed: dict[str, int]  # path below outside/ -> bytes created, changed or deleted

    @property
    def hung(self) -> bool:
        return self.exit_code is None

    @property
    def outside_bytes(self) -> int:
        return sum(self.outside_changed.values())

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass(frozen=True)
class Case:
    """One hostile input: build it, run agentctl on it, check what came out.

    `build` makes the fixture in the sandbox and returns agentctl's arguments; `check` asserts what
    the case is about (files untouched, a finding, a message) and raises AssertionError otherwise."""

    name: str
    covers: str  # the line of the issue it stands for
    build: Callable[[Sandbox], Sequence[str]]
    exit_codes: tuple[int, ...]
    check: Callable[[Sandbox, Outcome], None] | None = None
    stdin: bytes | Callable[[Sandbox], bytes] = b""
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = WATCHDOG_SECONDS


@dataclass
class Ran:
    sandbox: Sandbox
    args: list[str]
    outcome: Outcome

    def problems(self, case: Case) -> list[str]:
        return common_problems(case, self.args, self.outcome)


def run_case(case: Case, base: Path) -> Ran:
    sandbox = Sandbox(base)
    args = list(case.build(sandbox))
    stdin = case.stdin(sandbox) if callable(case.stdin) else case.stdin
    before = snapshot(sandbox.outside)
    outcome = run_agentctl(args, sandbox.team, stdin, case.env, case.timeout)
    outcome.outside_changed = changed_bytes(before, snapshot(sandbox.outside))
    return Ran(sandbox, args, outcome)


def run_agentctl(
    args: Sequence[str],
    cwd: Path,
    stdin: bytes = b"",
    env: dict[str, str] | None = None,
    timeout: float = WATCHDOG_SECONDS,
) -> Outcome:
    """`python -m agentctl ARGS` in `cwd`, killed (with its process group) after `timeout` seconds."""
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd.parent),
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
        "AGENTCTL_ROOT": "",
        **(env or {}),
    }
    peak_file = Path(tempfile.mkstemp(prefix="agentctl-peak-")[1])
    environ["AGENTCTL_HOSTILE_PEAK_FILE"] = str(peak_file)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", _REPORTING_MAIN, *args],
        cwd=cwd,
        env=environ,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    streams: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda: streams.__setitem__("out", process.stdout.read() if process.stdout else b"")),
        threading.Thread(target=lambda: streams.__setitem__("err", process.stderr.read() if process.stderr else b"")),
    ]
    for reader in readers:
        reader.start()
    _feed(process, stdin)
    killed = threading.Event()
    watchdog = threading.Timer(timeout, lambda: (killed.set(), _kill_group(process.pid)))
    watchdog.start()
    try:
        _, status, _ = os.wait4(process.pid, 0)
    finally:
        watchdog.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    return Outcome(
        exit_code=None if killed.is_set() else process.returncode,
        stdout=streams.get("out", b"").decode("utf-8", "replace"),
        stderr=streams.get("err", b"").decode("utf-8", "replace"),
        seconds=time.perf_counter() - started,
        peak_rss_mb=_peak_kib(peak_file) / 1024,
        outside_changed={},
    )


# `python -m agentctl ARGS`, which writes its own peak memory (VmHWM) to a file as it exits. The
# rusage of a child is no good here: Linux carries the forking test process's resident size into it.
_REPORTING_MAIN = """
import atexit, os, runpy, sys

def _report():
    with open("/proc/self/status") as status:
        peak = next((line.split()[1] for line in status if line.startswith("VmHWM:")), "0")
    with open(os.environ["AGENTCTL_HOSTILE_PEAK_FILE"], "w") as out:
        out.write(peak)

atexit.register(_report)
sys.argv[0] = "agentctl"
runpy.run_module("agentctl", run_name="__main__", alter_sys=True)
"""


def _peak_kib(path: Path) -> float:
    """The peak the child reported (0 when it was killed before it could), and the file removed."""
    try:
        return float(path.read_text() or 0)
    except (OSError, ValueError):
        return 0.0
    finally:
        path.unlink(missing_ok=True)


def _feed(process: subprocess.Popen[bytes], data: bytes) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write(data)
        process.stdin.close()
    except (BrokenPipeError, OSError):
        pass


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """(size, sha256) of every file below `folder`, symlinks not followed."""
    found: dict[str, tuple[int, str]] = {}
    for current, _, names in os.walk(folder):
        for name in names:
            path = Path(current, name)
            if path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as stream:  # in chunks: a case may put a 2 GB sparse file there
                digest = hashlib.file_digest(stream, "sha256").hexdigest()
            found[path.relative_to(folder).as_posix()] = (path.stat().st_size, digest)
    return found


def changed_bytes(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> dict[str, int]:
    changed: dict[str, int] = {}
    for path in before.keys() | after.keys():
        old, new = before.get(path), after.get(path)
        if old != new:
            changed[path] = max(old[0] if old else 0, new[0] if new else 0, 1)
    return changed


def common_problems(case: Case, args: Sequence[str], outcome: Outcome) -> list[str]:
    """What every case must not do, whatever it is about."""
    problems = []
    if outcome.hung:
        problems.append(f"hung: killed after {case.timeout:.0f} s")
    elif outcome.exit_code not in case.exit_codes:
        problems.append(f"exit {outcome.exit_code}, expected {' or '.join(map(str, case.exit_codes))}")
    if outcome.exit_code == 3 and 3 not in case.exit_codes:
        problems.append("exit 3: an internal error on hostile input")
    if outcome.outside_bytes:
        problems.append(
            f"wrote or deleted {outcome.outside_bytes} bytes outside the team: {sorted(outcome.outside_changed)}"
        )
    if _asks_json(args) and not outcome.hung:
        problems += _json_problems(outcome.stdout)
    return problems


def _asks_json(args: Sequence[str]) -> bool:
    joined = [arg.lower() for arg in args]
    return "--format=json" in joined or any(
        arg in ("--format", "-f") and index + 1 < len(joined) and joined[index + 1] == "json"
        for index, arg in enumerate(joined)
    )


def _json_problems(stdout: str) -> list[str]:
    try:
        document = json.loads(stdout)
    except ValueError:
        return [f"--format json printed no JSON document: {stdout[:200]!r}"]
    if not isinstance(document, dict) or document.get("version") != 1:
        return ['--format json printed a document without "version": 1']
    return []
