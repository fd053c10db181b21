"""Runs survive Ctrl-C and failures: the record is flushed, and `runs resume` pays only for what is left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli
from tests.test_dispatch import events, handoffs, request, team, write_script

__all__ = ["team"]  # the fixture, shared with test_dispatch


def run_ids(root: Path) -> list[str]:
    return sorted(path.name for path in (root / ".agentctl" / "runs").iterdir() if path.is_dir())


def test_resume_replays_completed_calls_and_runs_only_the_rest(cli: RunCli, team: Path) -> None:
    first_script = {
        "lead": [
            handoffs(request("DB Architect", "Design the index")),
            {"error": {"kind": "server", "message": "500"}},
        ],
        "db-architect": ["CREATE INDEX ..."],
    }
    first = cli(
        "dispatch", "lead", "Plan it", "--script", write_script(team, first_script), "--format", "json", cwd=team
    )
    assert first.exit_code == 1, first.stderr  # the lead's continuation failed: a partial answer
    run_id = first.json()["run_id"]
    # The second script has only the continuation: a repeated first call or handoff would fail the run.
    second_script = team / "second.json"
    second_script.write_text(json.dumps({"lead": [{"mode": "continuation", "text": "Final plan."}]}))
    resumed = cli("runs", "resume", run_id[:12], "--script", str(second_script), "--format", "json", cwd=team)
    assert resumed.exit_code == 0, resumed.stderr
    data = resumed.json()
    assert data["status"] == "ok" and data["result"] == "Final plan." and data["resumed_from"] == run_id
    assert [call["status"] for call in data["calls"]] == ["replayed", "replayed", "ok"]
    assert data["total"]["input_tokens"] == data["calls"][2]["usage"]["input_tokens"], "replayed calls cost nothing"
    again = cli("runs", "resume", data["run_id"], cwd=team)
    assert again.exit_code == 2 and "nothing to resume" in again.stderr


def test_ctrl_c_flushes_the_record_exits_130_and_the_run_resumes(team: Path, tmp_path: Path) -> None:
    script = {"lead": [{"text": "never seen", "delay": 30}], "*": []}
    path = write_script(team, script)
    environ = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "agentctl", "dispatch", "lead", "Plan it", "--script", path, "--format", "json"]
    process = subprocess.Popen(
        command, cwd=team, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    log = _wait_for_call(team)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "agentctl runs resume" in stderr
    assert json.loads(stdout)["status"] == "interrupted"
    recorded = [json.loads(line) for line in log.read_text().splitlines()]
    assert recorded[-1]["event"] == "run_finished" and recorded[-1]["status"] == "interrupted"
    assert any(e["event"] == "call_finished" and e["status"] == "interrupted" for e in recorded)


def _wait_for_call(root: Path) -> Path:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for log in (root / ".agentctl" / "runs").glob("*/events.jsonl"):
            if '"call_started"' in log.read_text():
                return log
        time.sleep(0.05)
    pytest.fail("the dispatch never started its first call")


def test_every_event_is_on_disk_as_it_happens(cli: RunCli, team: Path) -> None:
    script = {"lead": [handoffs(request("DB Architect", "Design")), "Done."], "db-architect": ["Index."]}
    result = cli("dispatch", "lead", "Plan", "--script", write_script(team, script), "--format", "json", cwd=team)
    kinds = [event["event"] for event in events(team, result.json()["run_id"])]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("call_started") == kinds.count("call_finished") == 3
    seqs: list[Any] = [event["seq"] for event in events(team, result.json()["run_id"])]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
