"""The subprocess contract: with --format json every command prints one JSON object carrying
"version": 1, on success and on every error exit (the error as {"message", "hint", "exit_code"})."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentctl.cli.exits import COMMANDS
from tests.batches_server import BatchesServer
from tests.conftest import REPO, TEAM_FOLDERS, RunCli, copy_shipped_team

SCRIPT = 'orchestrator:\n  - text: "Planned."\n'
ANSWER = "Done.\n\n## Handoff Requests\n\n### -> DB Architect\n**Task:** add an index\n"

# command -> (arguments that succeed, arguments that fail, the failing exit code)
CASES: dict[str, tuple[list[str], list[str], int]] = {
    "init": (["project", "--dry-run"], ["project", "--agents", "db-architekt"], 2),
    "validate": (["agents/db-architect.md"], ["no/such/path"], 2),
    "fmt": (["--check", "agents/db-architect.md"], ["no/such/path"], 2),
    "list": ([], ["--root", "no/such/root"], 2),
    "show": (["db-architect"], ["db-architekt"], 2),
    "rules": (["CC003"], ["CC999"], 2),
    "new": (["data-engineer", "--role", "Data Engineer"], ["db-architect", "--role", "Again"], 2),
    "graph": ([], ["--root", "no/such/root"], 2),
    "route": (["add an index"], ["   "], 2),
    "prompt": (["db-architect", "--task", "add an index"], ["nobody", "--task", "x"], 2),
    "handoffs parse": (["answer.md"], ["missing.md"], 2),
    "memory list": ([], ["db-architekt"], 2),
    "memory show": (["db-architect", "words"], ["db-architect", "no note like this"], 2),
    "memory write": (
        ["db-architect", "--topic", "json contract", "--applies-when", "testing", "--body", "note.md"],
        ["db-architect", "--topic", "two\nlines", "--applies-when", "x", "--body", "note.md"],
        2,
    ),
    "memory search": (["index"], ["db-architect", "--agent", "db-architekt"], 2),
    "memory lint": ([], ["--root", "no/such/root"], 2),
    "memory prune": (["--older-than", "30", "--dry-run"], ["--older-than", "999999999"], 2),
    "runs list": ([], ["--root", "no/such/root"], 2),
    "runs show": (["last"], ["no-such-run"], 2),
    "runs report": (["last", "-o", "report.html"], ["last", "-o", "-"], 2),
    "runs resume": (["no-such-run"], ["no-such-run"], 2),
    "export": (["-o", "team.json"], ["-o", "agents"], 2),
    "import": (["helper.json", "--into", "imported"], ["missing.json"], 2),
    "batch run": (["tasks.jsonl", "--dry-run"], ["missing.jsonl"], 2),
    "batch status": (["last"], ["no-such-batch"], 2),
    "batch results": (["last"], ["no-such-batch"], 2),
    "batch cancel": (["last"], ["no-such-batch"], 2),
    "dispatch": (
        ["orchestrator", "plan", "--provider", "scripted", "--script", "script.yaml"],
        ["orchestrator", "plan", "--max-cost", "nan"],
        2,
    ),
}


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    root = copy_shipped_team(tmp_path / "team", (*TEAM_FOLDERS, "templates"))
    (root / "script.yaml").write_text(SCRIPT)
    (root / "answer.md").write_text(ANSWER)
    (root / "note.md").write_text("One line of insight.\nA second line.\n")
    (root / "helper.json").write_text('{"helper": {"description": "Helps.", "prompt": "You help."}}')
    (root / "tasks.jsonl").write_text('{"task": "Add an index on words", "agent": "db-architect"}\n')
    return root


# `agentctl mcp` prints no document of its own: its stdout is the MCP protocol's JSON-RPC, whose errors
# carry the same message, hint and exit code (tests/test_mcp.py).
SPEAKS_MCP = {"mcp"}


def test_every_command_has_a_case() -> None:
    assert set(CASES) == set(COMMANDS) - SPEAKS_MCP


@pytest.mark.parametrize("command", sorted(CASES))
def test_json_on_success_and_on_error(command: str, shipped: Path, cli: RunCli) -> None:
    good, bad, code = CASES[command]
    words = command.split()
    if command != "runs resume":  # a run to resume needs a failed run; its error path is below
        if command in ("runs show", "runs report"):
            cli("dispatch", *CASES["dispatch"][0], cwd=shipped)
        if words[0] == "batch" and command != "batch run":  # a batch to read: one that ran to its end
            with BatchesServer() as server:
                env = {"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": server.url}
                assert (
                    cli("batch", "run", "tasks.jsonl", "--poll-interval", "0.01", cwd=shipped, env=env).exit_code == 0
                )
        result = cli(*words, *good, "--format", "json", cwd=shipped)
        assert result.exit_code == 0, result.stderr
        document = result.json()
        assert isinstance(document, dict) and next(iter(document)) == "version" and document["version"] == 1
    result = cli(*words, *bad, "--format", "json", cwd=shipped)
    assert result.exit_code == code, result.stderr
    document = result.json()
    assert document["version"] == 1 and document["error"]["exit_code"] == code, document
    assert document["error"]["message"] and document["error"]["message"] in result.stderr


@pytest.mark.parametrize(("signal_number", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_to_any_command_exits_with_its_code_and_json(signal_number: int, code: int, tmp_path: Path) -> None:
    """Not only dispatch: a command waiting on its input, stopped by SIGTERM or Ctrl-C, says so and
    prints its JSON document (typer alone would turn both into a silent 130)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "agentctl", "handoffs", "parse", "-", "--format", "json"],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    time.sleep(1.0)  # it is reading standard input, which stays open
    process.send_signal(signal_number)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == code, stderr
    document = json.loads(stdout)
    assert document == {
        "version": 1,
        "error": {"message": document["error"]["message"], "hint": None, "exit_code": code},
    }
    assert document["error"]["message"] in stderr.decode()
