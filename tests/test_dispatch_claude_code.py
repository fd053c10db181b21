"""A dispatch through the real Claude Code: each call a `claude -p` session with the agent's tools.

The loopback Messages API scripts the model: the lead reads a file of the project (Claude Code really
reads it), asks for two handoffs, the delegates run as separate sessions in parallel, and the lead's
continuation resumes its own session. HOME is in tmp_path; no traffic leaves 127.0.0.1. Skipped when
no claude binary is installed (`pip install "agentctl[claude-code]"`).
"""

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

from agentctl.config import load_settings
from agentctl.dispatch import DispatchOptions, run_dispatch
from agentctl.events import Event, ToolUse
from agentctl.providers.base import Permissions
from tests.claude_binary import find_claude
from tests.conftest import agent_text, make_team
from tests.messages_server import MessagesServer, RecordedRequest, Reply, route
from tests.messages_server import ToolUse as ScriptedToolUse
from tests.test_dispatch import PROTOCOL, handoffs, request

CLAUDE = find_claude()
pytestmark = pytest.mark.skipif(CLAUDE is None, reason='no claude binary: pip install "agentctl[claude-code]"')

LEAD, DB, API = "You lead the team.", "You design schemas.", "You design APIs."


@pytest.fixture
def team(tmp_path: Path) -> Path:
    agents = {
        "lead.md": agent_text("lead", "Coordinates the team.", body=LEAD + "\n"),
        "db-architect.md": agent_text("db-architect", "Designs schemas.", body=DB + "\n"),
        "backend-architect.md": agent_text("backend-architect", "Designs APIs.", body=API + "\n"),
    }
    root = make_team(tmp_path / "team", agents, protocol=PROTOCOL)
    (root / "schema.sql").write_text("CREATE TABLE words (id int, word text); -- the table is called words\n")
    return root


def environ_for(server: MessagesServer, home: Path) -> dict[str, str]:
    home.mkdir(exist_ok=True)
    assert CLAUDE is not None
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": server.url,
        "ANTHROPIC_API_KEY": "sk-loopback",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "AGENTCTL_CLAUDE_BIN": CLAUDE,
    }


def dispatch(team: Path, server: MessagesServer, **options: Any) -> tuple[Any, list[Event]]:
    seen: list[Event] = []
    settings = load_settings(cwd=team, environ={})
    chosen = DispatchOptions("lead", "Plan the words index", provider="claude-code", **options)
    done = run_dispatch(settings, chosen, environ_for(server, team.parent / "home"), on_event=seen.append)
    return done, seen


def tool_results(recorded: RecordedRequest) -> str:
    blocks = [block for message in recorded.body["messages"] for block in message["content"] if isinstance(block, dict)]
    return json.dumps([block for block in blocks if block.get("type") == "tool_result"])


def test_the_team_runs_in_claude_code_with_tools_parallel_delegates_and_a_resumed_continuation(team: Path) -> None:
    schema = team / "schema.sql"
    script = route(
        {
            LEAD: [
                Reply(text="Reading the schema.", tool_uses=[ScriptedToolUse("Read", {"file_path": str(schema)})]),
                handoffs(request("DB Architect", "Design the index"), request("Backend Architect", "Check the API")),
                "Final plan: an index on words.word, and the endpoint.",
            ],
            DB: Reply(text="Index words(word).", delay=1.0),
            API: Reply(text="GET /words is fine.", delay=1.0),
        },
        where="system",
    )
    with MessagesServer(script) as server:
        done, seen = dispatch(team, server)
        requests = list(server.requests)
    record = done.record
    assert done.result.exit_code == 0, (done.result.reason, server.errors)
    assert done.result.result.startswith("Final plan: an index on words.word")
    lead = [r for r in requests if LEAD in r.system]
    assert "the table is called words" in tool_results(lead[1])  # Claude Code ran Read in the project
    # The delegates are two sessions in flight at once: each arrived before the other was answered.
    db, api = next(r for r in requests if DB in r.system), next(r for r in requests if API in r.system)
    assert db.arrived < (api.finished or 0) and api.arrived < (db.finished or 0)
    # The continuation resumes the lead's session: its request carries the earlier turns and the results.
    continuation = json.dumps(lead[2].body["messages"])
    assert "Plan the words index" in continuation and "Reading the schema." in continuation
    assert "Index words(word)." in continuation and "GET /words is fine." in continuation
    calls = {(call["agent"], call["mode"]): call for call in record["calls"]}
    first, resumed = calls[("lead", "fresh")], calls[("lead", "continuation")]
    assert first["session_id"] and resumed["session_id"] == first["session_id"]
    assert calls[("db-architect", "handoff")]["session_id"] not in (None, first["session_id"])
    assert first["tools"] == ["Read schema.sql"] and first["turns"] == 2 and first["tool_uses"] == 1
    assert [event.summary for event in seen if isinstance(event, ToolUse)] == ["Read schema.sql"]
    assert all(call["cost_usd"] and call["cost_usd"] > 0 for call in record["calls"])  # Claude Code's own cost
    assert record["total"]["cost_usd"] == pytest.approx(sum(call["cost_usd"] for call in record["calls"]))
    assert {entry["model"] for entry in record["by_model"]} == {call["model"] for call in record["calls"]}


def test_the_default_mode_denies_a_write_and_the_result_says_so(team: Path) -> None:
    target = team / "migration.sql"
    write = ScriptedToolUse("Write", {"file_path": str(target), "content": "DROP TABLE words;"})
    with MessagesServer([Reply(text="", tool_uses=[write]), "I could not write the migration."]) as server:
        done, _ = dispatch(team, server)
    assert done.result.exit_code == 0 and not target.exists()
    (call,) = done.record["calls"]
    assert [warning.split(":")[0] for warning in call["warnings"]] == ["Write denied"]


def test_accept_edits_lets_the_agent_write(team: Path) -> None:
    target = team / "migration.sql"
    write = ScriptedToolUse("Write", {"file_path": str(target), "content": "CREATE INDEX words_word ON words(word);"})
    with MessagesServer([Reply(text="", tool_uses=[write]), "Written."]) as server:
        done, _ = dispatch(team, server, permissions=Permissions("acceptEdits"))
    assert done.result.exit_code == 0 and target.read_text().startswith("CREATE INDEX")


def test_a_refused_key_stops_the_run_with_exit_4_at_once(team: Path) -> None:
    started = time.monotonic()
    with MessagesServer("never", api_key="sk-the-right-one") as server:
        done, _ = dispatch(team, server)
    assert done.result.exit_code == 4 and "refused the credentials" in str(done.result.reason)
    assert time.monotonic() - started < 30


def test_a_delegate_that_runs_out_of_turns_is_a_failed_result_and_the_run_goes_on(team: Path) -> None:
    reads = [ScriptedToolUse("Read", {"file_path": str(team / "schema.sql")})]
    script = route(
        {
            LEAD: [handoffs(request("DB Architect", "Design the index")), "Plan without the index."],
            DB: [Reply(text="", tool_uses=reads), Reply(text="", tool_uses=reads)],
        },
        where="system",
    )
    with MessagesServer(script) as server:
        done, _ = dispatch(team, server, max_turns=1)
    assert done.result.result == "Plan without the index." and done.result.exit_code == 1  # a call failed
    (handoff,) = [h for h in done.record["handoffs"] if h["status"] != "dispatched"]
    assert handoff["status"] == "failed" and "turns" in handoff["reason"]
    failed = next(call for call in done.record["calls"] if call["agent"] == "db-architect")
    assert failed["cost_usd"] and failed["cost_usd"] > 0  # billed turns are counted
    assert failed["turns"] == 2 and failed["tool_uses"] == 1 and failed["tools"] == ["Read schema.sql"]


def _claude_processes(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find what is left running")
@pytest.mark.parametrize(
    ("stop", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"]
)
def test_a_stopped_run_leaves_no_claude_process(team: Path, stop: signal.Signals, exit_code: int) -> None:
    script = route(
        {
            LEAD: handoffs(request("DB Architect", "Design the index"), request("Backend Architect", "Check it")),
            DB: Reply(text="late", delay=60),
            API: Reply(text="late", delay=60),
        },
        where="system",
    )
    with MessagesServer(script) as server:
        command = [
            sys.executable,
            "-m",
            "agentctl",
            "dispatch",
            "lead",
            "Plan the words index",
            "--provider",
            "claude-code",
            "--format",
            "json",
        ]
        process = subprocess.Popen(
            command,
            cwd=team,
            env=environ_for(server, team.parent / "home"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while sum(1 for r in server.requests if DB in r.system or API in r.system) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        marker = str(team / ".agentctl" / "claude-code")
        assert len(_claude_processes(marker)) >= 2  # both delegates' sessions are running
        process.send_signal(stop)
        out, _ = process.communicate(timeout=60)
    assert process.returncode == exit_code
    assert json.loads(out)["status"] == "interrupted"
    assert _claude_processes(marker) == []


def test_a_broken_claude_is_a_failed_call_not_a_crash(team: Path, tmp_path: Path) -> None:
    broken = tmp_path / "claude"
    broken.write_text(
        f'#!{sys.executable}\nimport sys\nsys.stdin.read()\nprint(\'{{"type": "system", "subtype": "init"\')\n'
    )
    broken.chmod(0o755)
    with MessagesServer("unused") as server:
        environ = environ_for(server, team.parent / "home") | {"AGENTCTL_CLAUDE_BIN": str(broken)}
        settings = load_settings(cwd=team, environ={})
        done = run_dispatch(settings, DispatchOptions("lead", "Plan it", provider="claude-code"), environ)
    assert done.result.exit_code == 4 and "not JSON" in str(done.result.reason)


def test_a_team_in_claude_agents_needs_no_json(tmp_path: Path) -> None:
    agents = {"lead.md": agent_text("lead", "Coordinates the team.", body=LEAD + "\n")}
    root = make_team(tmp_path / "project", agents, layout="claude", protocol=PROTOCOL)
    with MessagesServer("Planned.") as server:
        done, _ = dispatch(root, server)
        (first,) = server.requests
    assert done.result.exit_code == 0 and LEAD in first.system  # Claude Code found the agent itself
    assert not (root / ".agentctl" / "claude-code").exists()


def test_a_routed_task_is_routed_by_a_plain_session_without_tools(team: Path) -> None:
    script = route({"You route a software engineering task": "db-architect", DB: "Index words(word)."}, where="system")
    with MessagesServer(script) as server:
        environ = environ_for(server, team.parent / "home")
        command = [
            sys.executable,
            "-m",
            "agentctl",
            "dispatch",
            "Design schemas for the words index",
            "--provider",
            "claude-code",
            "--format",
            "json",
        ]
        finished = subprocess.run(command, cwd=team, env=environ, capture_output=True, text=True, timeout=120)
        routing_request = server.requests[0]
    record = json.loads(finished.stdout)
    assert finished.returncode == 0 and record["routing"]["method"] == "model" and record["agent"] == "db-architect"
    assert "tools" not in routing_request.body or routing_request.body["tools"] == []
    assert routing_request.body["model"] == record["routing"]["model"]["model"]


def test_a_continuation_is_charged_for_its_own_turns_not_the_whole_session(team: Path) -> None:
    script = route(
        {LEAD: [handoffs(request("DB Architect", "Design the index")), "Final."], DB: "Index."}, where="system"
    )
    with MessagesServer(script) as server:
        done, _ = dispatch(team, server)
    calls = {(call["agent"], call["mode"]): call for call in done.record["calls"]}
    first, continuation = calls[("lead", "fresh")], calls[("lead", "continuation")]
    # Claude Code's total_cost_usd of a resumed session covers its earlier calls too: agentctl takes
    # them off, so the continuation's cost is about one request's, not two.
    assert 0 < continuation["cost_usd"] < 1.5 * first["cost_usd"]
    assert done.record["total"]["cost_usd"] == pytest.approx(sum(call["cost_usd"] for call in done.record["calls"]))


def test_the_first_agents_session_running_out_of_turns_is_exit_5(team: Path) -> None:
    reads = [ScriptedToolUse("Read", {"file_path": str(team / "schema.sql")})]
    with MessagesServer([Reply(text="", tool_uses=reads)] * 3) as server:
        done, _ = dispatch(team, server, max_turns=1)
    assert (done.result.status, done.result.exit_code) == ("budget", 5) and "turns" in str(done.result.reason)
