"""The claude-code provider against the real `claude` binary and a loopback Messages API.

Claude Code really runs the tools the server asks for (in a project in tmp_path, with HOME in
tmp_path); the server sees what Claude Code sends back. Skipped when no binary is installed
(`pip install "agentctl[claude-code]"`; .ci/run installs it).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentctl.config import load_settings
from agentctl.dispatch import permissions_from
from agentctl.errors import UsageError
from agentctl.providers.base import Activity, CallRequest, Permissions, ProviderError, SystemBlock
from agentctl.providers.claude_code import ClaudeCodeConfig, ClaudeCodeProvider, Session, find_binary, tool_summary
from agentctl.spec import load_agent_file
from tests.claude_binary import find_claude
from tests.conftest import RunCli, copy_shipped_team
from tests.messages_server import Fault, MessagesServer, Reply, ToolUse

CLAUDE = find_claude()
needs_claude = pytest.mark.skipif(CLAUDE is None, reason='no claude binary: pip install "agentctl[claude-code]"')

AGENT = """---
name: reviewer
description: Reviews code for defects
tools: Read, Grep, Glob, Write, Bash
---
You are REVIEWER. Review what you are asked to.
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "agents").mkdir(parents=True)
    (root / "agents" / "reviewer.md").write_text(AGENT)
    (root / "notes.txt").write_text("the secret word is pelican\n")
    return root


@pytest.fixture
def server() -> Iterator[MessagesServer]:
    with MessagesServer() as running:
        yield running


def environ_for(server: MessagesServer, home: Path, key: str = "sk-test") -> dict[str, str]:
    home.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": server.url,
        "ANTHROPIC_API_KEY": key,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }


def agents_file(project: Path) -> Path:
    path = project.parent / "agents.json"
    body = (project / "agents" / "reviewer.md").read_text().split("---", 2)[2].strip()
    path.write_text(
        json.dumps(
            {
                "reviewer": {
                    "description": "Reviews code for defects",
                    "prompt": body,
                    "tools": ["Read", "Grep", "Glob", "Write", "Bash"],
                }
            }
        )
    )
    return path


def provider(project: Path, server: MessagesServer, **config: object) -> ClaudeCodeProvider:
    assert CLAUDE is not None
    settings = {
        "binary": Path(CLAUDE),
        "cwd": project,
        "environ": environ_for(server, project.parent / "home"),
        "agents_file": agents_file(project),
    } | config
    return ClaudeCodeProvider(ClaudeCodeConfig(**settings))  # type: ignore[arg-type]


def request(project: Path, user: str = "Review notes.txt", **fields: object) -> CallRequest:
    agent = load_agent_file(project / "agents" / "reviewer.md")
    system = [SystemBlock("agent", agent.spec.body), SystemBlock("team", "TEAM-BLOCK: the roster", cache=True)]
    built = CallRequest(
        "c1", "reviewer", "fresh", "claude-sonnet-4-6", system, user, 8192, agent_file=agent, cwd=project
    )
    for name, value in fields.items():
        setattr(built, name, value)
    return built


def complete(chosen: ClaudeCodeProvider, call: CallRequest) -> object:
    return asyncio.run(chosen.complete(call))


@needs_claude
def test_claude_code_runs_the_tool_and_the_agent_gets_its_result(project: Path, server: MessagesServer) -> None:
    notes = project / "notes.txt"
    server.set_reply(
        [
            Reply(text="Reading.", tool_uses=[ToolUse("Read", {"file_path": str(notes)})]),
            Reply(text="The word is pelican."),
        ]
    )
    seen: list[Activity] = []
    response = complete(provider(project, server), request(project, on_activity=seen.append))
    first, second = server.requests[0], server.requests[1]
    assert "You are REVIEWER" in first.system and "TEAM-BLOCK" in first.system  # --agent, and the team block appended
    results = [
        block
        for message in second.body["messages"]
        for block in message["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]
    assert "pelican" in json.dumps(results)  # Claude Code read the file in the project and sent it back
    assert response.text == "The word is pelican."  # type: ignore[attr-defined]
    assert response.turns == 2 and response.tool_uses == 1  # type: ignore[attr-defined]
    assert response.session_id and response.cost_usd and response.cost_usd > 0  # type: ignore[attr-defined]
    assert response.usage.input_tokens > 0  # type: ignore[attr-defined]
    assert [activity.summary for activity in seen if activity.tool] == ["Read notes.txt"]


@needs_claude
def test_the_default_mode_changes_nothing_and_says_what_was_denied(project: Path, server: MessagesServer) -> None:
    asks = [
        ToolUse("Write", {"file_path": str(project / "new.txt"), "content": "x"}),
        ToolUse("Bash", {"command": "touch made", "description": "t"}),
    ]
    server.set_reply([Reply(text="", tool_uses=asks), Reply(text="Could not write.")])
    response = complete(provider(project, server), request(project))
    assert not (project / "new.txt").exists() and not (project / "made").exists()
    assert [warning.split(" ")[0] for warning in response.warnings] == ["Write", "Bash"]  # type: ignore[attr-defined]
    assert "--permission-mode" in provider(project, server).argv(request(project))


@needs_claude
def test_accept_edits_is_an_explicit_opt_in(project: Path, server: MessagesServer) -> None:
    server.set_reply(
        [
            Reply(text="", tool_uses=[ToolUse("Write", {"file_path": str(project / "new.txt"), "content": "x"})]),
            Reply(text="Written."),
        ]
    )
    response = complete(provider(project, server), request(project, permissions=Permissions("acceptEdits")))
    assert (project / "new.txt").read_text() == "x" and response.warnings == []  # type: ignore[attr-defined]


@needs_claude
def test_a_continuation_resumes_the_same_session(project: Path, server: MessagesServer) -> None:
    server.set_reply([Reply(text="First answer ALPHA."), Reply(text="Second answer.")])
    chosen = provider(project, server)
    first = complete(chosen, request(project, user="task ONE"))
    second = complete(chosen, request(project, user="results TWO", resume_session=first.session_id))  # type: ignore[attr-defined]
    messages = json.dumps(server.requests[1].body["messages"])
    assert "task ONE" in messages and "First answer ALPHA." in messages and "results TWO" in messages
    assert second.session_id == first.session_id  # type: ignore[attr-defined]


@needs_claude
def test_a_refused_key_fails_at_once_as_an_authentication_error(project: Path, server: MessagesServer) -> None:
    server.api_key = "sk-the-right-one"
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        complete(provider(project, server), request(project))
    assert raised.value.kind == "auth" and raised.value.stops_the_run
    assert time.monotonic() - started < 30  # not Claude Code's ten retries over three minutes


@needs_claude
def test_a_stream_cut_mid_way_is_retried_by_claude_code(project: Path, server: MessagesServer) -> None:
    server.inject(Fault.drop(), nth=1)
    server.set_reply("Recovered.")
    response = complete(provider(project, server), request(project))
    assert response.text == "Recovered." and len(server.requests) >= 2  # type: ignore[attr-defined]


@needs_claude
def test_turn_and_budget_limits_fail_the_call_and_count_what_it_spent(project: Path, server: MessagesServer) -> None:
    server.set_reply(
        [Reply(text="", tool_uses=[ToolUse("Read", {"file_path": str(project / "notes.txt")})]), Reply(text="done")]
    )
    with pytest.raises(ProviderError) as raised:
        complete(provider(project, server, max_turns=1), request(project))
    assert raised.value.kind == "limit" and "turns" in raised.value.message
    assert raised.value.cost_usd and raised.value.cost_usd > 0 and raised.value.usage is not None


def _alive(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in command:
                found.append(int(entry.name))
    return found


@needs_claude
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find what is left running")
def test_a_session_past_its_deadline_is_killed_with_its_children(project: Path, server: MessagesServer) -> None:
    marker = f"agentctl-test-{os.getpid()}-{time.monotonic_ns()}"
    # A shell of Claude Code's Bash tool, and its own child: both must go when the deadline passes.
    sleeper = f"sh -c 'sleep 300; :' {marker}"
    server.set_reply(
        [Reply(text="", tool_uses=[ToolUse("Bash", {"command": sleeper, "description": "wait"})]), Reply(text="never")]
    )
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        complete(
            provider(project, server, call_timeout=8.0), request(project, permissions=Permissions("default", ("Bash",)))
        )
    assert raised.value.kind == "timeout"
    assert time.monotonic() - started < 30
    assert _alive(marker) == [] and _alive(str(project.parent / "agents.json")) == []


@needs_claude
def test_cancelling_the_call_kills_the_session(project: Path, server: MessagesServer) -> None:
    server.set_reply(Reply(text="slow", delay=60))

    async def cancelled() -> None:
        call = asyncio.create_task(provider(project, server).complete(request(project)))
        await asyncio.sleep(3)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(cancelled())
    assert _alive(str(project.parent / "agents.json")) == []


def test_no_binary_is_a_usage_error_with_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agentctl.providers.claude_code._bundled_binary", lambda: None)
    with pytest.raises(UsageError) as raised:
        find_binary(None, {"PATH": str(tmp_path)})
    assert raised.value.exit_code == 2 and 'pip install "agentctl[claude-code]"' in (raised.value.hint or "")
    with pytest.raises(UsageError) as named:
        find_binary(None, {"PATH": "", "AGENTCTL_CLAUDE_BIN": str(tmp_path / "nope")})
    assert "AGENTCTL_CLAUDE_BIN" in named.value.message


def test_the_binary_is_looked_for_in_the_documented_order(tmp_path: Path) -> None:
    def executable(name: str) -> Path:
        path = tmp_path / name / "claude"
        path.parent.mkdir()
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
        return path

    variable, configured, on_path = executable("variable"), executable("configured"), executable("path")
    assert find_binary(str(configured), {"AGENTCTL_CLAUDE_BIN": str(variable), "PATH": str(on_path.parent)}) == variable
    assert find_binary(str(configured), {"PATH": str(on_path.parent)}) == configured
    assert find_binary(None, {"PATH": str(on_path.parent)}) == on_path


def fake_claude(tmp_path: Path, lines: list[str], exit_status: int = 0) -> Path:
    """A stand-in binary for streams the real one cannot be made to write (cut, not JSON)."""
    script = tmp_path / "fake-claude"
    payload = json.dumps("\n".join(lines))
    script.write_text(
        f"#!{sys.executable}\nimport sys\nsys.stdin.read()\nsys.stdout.write({payload})\nsys.exit({exit_status})\n"
    )
    script.chmod(0o755)
    return script


INIT = json.dumps({"type": "system", "subtype": "init", "session_id": "s-1", "model": "claude-sonnet-4-6"})


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([INIT, '{"type": "assistant", "message": {"id": "m1", "content": [{"type": "te'], "not JSON"),
        ([INIT], "without a result"),
        (["Traceback (most recent call last):"], "not JSON"),
    ],
    ids=["cut mid-line", "ended early", "not a stream"],
)
def test_a_stream_agentctl_cannot_read_is_a_failed_call(tmp_path: Path, lines: list[str], expected: str) -> None:
    project = tmp_path / "project"
    (project / "agents").mkdir(parents=True)
    (project / "agents" / "reviewer.md").write_text(AGENT)
    chosen = ClaudeCodeProvider(ClaudeCodeConfig(fake_claude(tmp_path, lines), project, {"PATH": os.environ["PATH"]}))
    with pytest.raises(ProviderError) as raised:
        complete(chosen, request(project))
    assert raised.value.kind == "bad_response" and expected in raised.value.message
    assert not raised.value.stops_the_run  # handed back to the requester; the run goes on


def test_tool_summaries_name_what_the_tool_touches_never_what_it_writes(tmp_path: Path) -> None:
    assert (
        tool_summary("Read", {"file_path": str(tmp_path / "agents-shared" / "team-protocol.md")}, tmp_path)
        == "Read agents-shared/team-protocol.md"
    )
    assert tool_summary("Bash", {"command": "pytest -q", "description": "tests"}) == "Bash pytest -q"
    assert tool_summary("Write", {"file_path": "/etc/x", "content": "SECRET BODY"}) == "Write /etc/x"
    assert len(tool_summary("Grep", {"pattern": "x" * 5000})) <= 120


def test_a_session_counts_each_message_once_though_its_blocks_repeat_the_usage() -> None:
    session = Session()
    usage = {"input_tokens": 100, "output_tokens": 5}
    for block in ({"type": "text", "text": "a"}, {"type": "tool_use", "name": "Read", "input": {}}):
        session.feed({"type": "assistant", "message": {"id": "m1", "content": [block], "usage": usage}})
    assert session.turns == 1 and session.tool_uses == 1 and session.usage.input_tokens == 100


def test_permission_modes_follow_flag_then_agent_then_plan(project: Path) -> None:
    config = ClaudeCodeConfig(Path("/bin/true"), project, {})
    own = project / "agents" / "own.md"
    own.write_text(AGENT.replace("tools:", "permissionMode: acceptEdits\ntools:"))
    assert ClaudeCodeProvider(config).permission_mode(request(project)) == "plan"
    with_own = request(project, agent_file=load_agent_file(own))
    assert ClaudeCodeProvider(config).permission_mode(with_own) == "acceptEdits"
    with_own.permissions = Permissions("default")
    assert ClaudeCodeProvider(config).permission_mode(with_own) == "default"


# The README's table of permission modes, as the binary applies them: (mode, --allowed-tools) ->
# whether a read-only command, a Grep, and a command that changes the project run.
MODES = [
    (Permissions(), {"ls": True, "grep": True, "touch": False}),
    (Permissions("plan", ("Bash",)), {"ls": True, "grep": True, "touch": False}),
    (Permissions("default"), {"ls": True, "grep": True, "touch": False}),
    (Permissions("default", ("Bash",)), {"ls": True, "grep": True, "touch": True}),
    (Permissions("dontAsk", ("Bash",)), {"ls": True, "grep": True, "touch": True}),
    (Permissions("acceptEdits"), {"ls": True, "grep": True, "touch": True}),
]


@needs_claude
@pytest.mark.parametrize(
    ("permissions", "runs"), MODES, ids=[f"{p.mode}-{'+'.join(p.allowed_tools)}" for p, _ in MODES]
)
def test_what_each_permission_mode_lets_an_agent_do(
    project: Path, server: MessagesServer, permissions: Permissions, runs: dict[str, bool]
) -> None:
    asks = [
        ToolUse("Bash", {"command": "ls", "description": "list"}),
        ToolUse("Grep", {"pattern": "pelican"}),
        ToolUse("Bash", {"command": "touch made.txt", "description": "make"}),
    ]
    server.set_reply([Reply(text="", tool_uses=asks), Reply(text="done")])
    response = complete(provider(project, server), request(project, permissions=permissions))
    denied = " ".join(response.warnings)  # type: ignore[attr-defined]
    assert (project / "made.txt").exists() == runs["touch"]
    assert ("Grep denied" not in denied) == runs["grep"] and (
        denied.count("Bash denied") == (0 if runs["touch"] else 1)
    )


def test_the_config_schema_knows_the_same_permission_modes() -> None:
    from typing import get_args

    from agentctl.providers.claude_code import PERMISSION_MODES
    from agentctl.settings_schema import PermissionMode

    assert set(get_args(PermissionMode)) == set(PERMISSION_MODES)


def test_permissions_come_from_flags_over_the_config_and_a_bad_mode_is_exit_2(tmp_path: Path, cli: RunCli) -> None:
    root = copy_shipped_team(tmp_path)
    (root / "agentctl.toml").write_text(
        '[claude_code]\npermission_mode = "acceptEdits"\nallowed_tools = ["Bash(pytest:*)"]\n'
    )
    settings = load_settings(cwd=root, environ={})
    assert permissions_from(settings) == Permissions("acceptEdits", ("Bash(pytest:*)",))
    assert permissions_from(settings, "plan", "Read, Bash(git log:*)") == Permissions(
        "plan", ("Read", "Bash(git log:*)")
    )
    refused = cli(
        "dispatch", "orchestrator", "Plan it", "--provider", "claude-code", "--permission-mode", "yolo", cwd=root
    )
    assert refused.exit_code == 2 and "--permission-mode 'yolo' is not a mode" in refused.stderr
    (root / "agentctl.toml").write_text("[claude_code]\nmax_turns = 0\n")
    assert cli("dispatch", "orchestrator", "Plan it", "--dry-run", cwd=root).exit_code == 2
