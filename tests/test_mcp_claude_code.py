"""`agentctl mcp` registered with the real `claude` binary (`--mcp-config`), driven by a loopback
Messages API whose answers are `tool_use` blocks naming the server's tools: what Claude Code sends
back in its `tool_result`s is what the model would read. A dispatch runs for real behind the tool,
on the scripted provider. Skipped without the binary (`pip install "agentctl[claude-code]"`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.claude_binary import find_claude
from tests.conftest import copy_shipped_team
from tests.messages_server import MessagesServer, RecordedRequest, Reply, ToolUse

pytest.importorskip("mcp")
CLAUDE = find_claude()
needs_claude = pytest.mark.skipif(CLAUDE is None, reason='no claude binary: pip install "agentctl[claude-code]"')
WORDS_NOTE = "2026-01-19-transcription-words-index.md"
INDEX = "CREATE INDEX CONCURRENTLY words_start ON transcription_words (transcription_id, start_ms);"
TOOLS = ("memory_search", "validate", "dispatch", "memory_show")


def tool_results(requests: list[RecordedRequest]) -> dict[str, dict[str, Any]]:
    """Each tool_result Claude Code sent back, by the id of the tool_use it answers (the last request
    carries the whole conversation)."""
    found: dict[str, dict[str, Any]] = {}
    for recorded in requests:
        for message in recorded.body.get("messages", []):
            content = message.get("content")
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    found[block["tool_use_id"]] = block
    return found


def text_of(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


@needs_claude
def test_claude_code_searches_memory_validates_and_dispatches_through_agentctl_mcp(tmp_path: Path) -> None:
    assert CLAUDE is not None
    root = copy_shipped_team(tmp_path / "team", ("agents", "agents-shared", "agents-memory", "templates"))
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"db-architect": [INDEX]}))
    server_command = [sys.executable, "-m", "agentctl", "mcp", "--root", str(root)]
    config = tmp_path / "mcp.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "agentctl": {
                        "command": server_command[0],
                        "args": [*server_command[1:], "--provider", "scripted", "--script", str(script)],
                    }
                }
            }
        )
    )
    home = tmp_path / "home"
    home.mkdir()
    with MessagesServer() as api:
        api.set_reply(
            [
                Reply(
                    text="",
                    tool_uses=[ToolUse("mcp__agentctl__memory_search", {"query": "words index"}, "toolu_search")],
                ),
                Reply(text="", tool_uses=[ToolUse("mcp__agentctl__validate", {}, "toolu_validate")]),
                Reply(
                    text="",
                    tool_uses=[
                        ToolUse(
                            "mcp__agentctl__dispatch",
                            {"agent": "DB Architect", "task": "Add the words index", "max_cost": 50},
                            "toolu_dispatch",
                        )
                    ],
                ),
                Reply(
                    text="",
                    tool_uses=[ToolUse("mcp__agentctl__memory_show", {"agent": "../..", "note": "x"}, "toolu_bad")],
                ),
                Reply(text="All done."),
            ]
        )
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": api.url,
            "ANTHROPIC_API_KEY": "sk-test",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        allowed = ",".join(f"mcp__agentctl__{tool}" for tool in TOOLS)
        command = [CLAUDE, "-p", "--mcp-config", str(config), "--strict-mcp-config", "--allowedTools", allowed]
        command += ["--output-format", "stream-json", "--verbose", "Plan the words index with the team"]
        finished = subprocess.run(command, cwd=root, env=environ, capture_output=True, text=True, timeout=240)
        assert finished.returncode == 0, finished.stderr[-2000:]
        results = tool_results(api.requests)
    assert set(results) == {"toolu_search", "toolu_validate", "toolu_dispatch", "toolu_bad"}, finished.stdout[-3000:]

    search = json.loads(text_of(results["toolu_search"]))  # Claude Code sends the structured content
    assert search["hits"][0]["path"] == f"agents-memory/db-architect/{WORDS_NOTE}"
    assert search["hits"][0]["uri"] == f"agentctl://memory/db-architect/{WORDS_NOTE}"

    checked = json.loads(text_of(results["toolu_validate"]))
    assert checked["passed"] is True and checked["summary"]["errors"] == 0 and checked["summary"]["files"] > 16

    run = json.loads(text_of(results["toolu_dispatch"]))
    assert run["status"] == "ok" and run["agent"] == "db-architect" and run["result"] == INDEX
    assert (root / ".agentctl" / "runs" / run["run_id"] / "run.json").is_file()
    assert run["limits"]["max_cost"] == 2 and run["caps"]["lowered"][0].startswith("max_cost 50 lowered to 2")

    bad = results["toolu_bad"]
    assert bad.get("is_error") is True
    assert text_of(bad).startswith("error: ") and "\nhint: " in text_of(bad)


PLANNER = """---
name: planner
description: Plans a change with what the team already learned
tools: Read, mcp__agentctl__memory_search
mcpServers:
  - agentctl:
      command: {python}
      args: [-m, agentctl, mcp, --root, {root}]
---

PLANNER: before planning, search the team's memory with mcp__agentctl__memory_search.
"""


@needs_claude
def test_a_user_agent_starts_agentctl_mcp_from_its_own_mcp_servers_entry(tmp_path: Path) -> None:
    """The README's `mcpServers:` example: a user agent (~/.claude/agents/) that starts the server
    itself, run as a subagent by a session that has no MCP server configured."""
    assert CLAUDE is not None
    root = copy_shipped_team(tmp_path / "team", ("agents", "agents-shared", "agents-memory", "templates"))
    home = tmp_path / "home"
    (home / ".claude" / "agents").mkdir(parents=True)
    (home / ".claude" / "agents" / "planner.md").write_text(PLANNER.format(python=sys.executable, root=root))
    asked = {"main": 0, "planner": 0}

    def reply(body: dict[str, Any], headers: dict[str, str]) -> Reply:
        who = "planner" if "PLANNER:" in json.dumps(body.get("system")) else "main"
        asked[who] += 1
        if asked[who] > 1:
            return Reply(text=f"{who} done.")
        if who == "planner":
            return Reply(
                text="", tool_uses=[ToolUse("mcp__agentctl__memory_search", {"query": "words index"}, "toolu_s")]
            )
        agent = {"subagent_type": "planner", "description": "plan", "prompt": "Plan the words index"}
        return Reply(text="", tool_uses=[ToolUse("Agent", agent, "toolu_agent")])

    with MessagesServer(reply=reply) as api:
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": api.url,
            "ANTHROPIC_API_KEY": "sk-test",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        command = [CLAUDE, "-p", "--allowedTools", "Agent,mcp__agentctl__memory_search", "--", "Plan the words index"]
        finished = subprocess.run(command, cwd=root, env=environ, capture_output=True, text=True, timeout=240)
        assert finished.returncode == 0, finished.stderr[-2000:]
        results = tool_results(api.requests)
    assert "toolu_s" in results, finished.stdout[-2000:]
    search = json.loads(text_of(results["toolu_s"]))
    assert search["hits"][0]["path"] == f"agents-memory/db-architect/{WORDS_NOTE}"


@needs_claude
def test_the_shipped_orchestrator_reaches_memory_and_the_roster_through_the_server(tmp_path: Path) -> None:
    """The team uses it: run as a subagent of a session that added `agentctl mcp` (the team given to
    Claude Code as `agentctl export` writes it), the shipped orchestrator's tools line gives it
    memory_search and list_agents, with no Bash."""
    assert CLAUDE is not None
    root = copy_shipped_team(tmp_path / "team", ("agents", "agents-shared", "agents-memory", "templates"))
    team_json = tmp_path / "team.json"
    exported = [sys.executable, "-m", "agentctl", "export", "-o", str(team_json)]
    assert subprocess.run(exported, cwd=root, capture_output=True, timeout=60).returncode == 0
    config = tmp_path / "mcp.json"
    server = {"command": sys.executable, "args": ["-m", "agentctl", "mcp", "--root", str(root)]}
    config.write_text(json.dumps({"mcpServers": {"agentctl": server}}))
    home = tmp_path / "home"
    home.mkdir()
    asked = {"main": 0, "orchestrator": 0}
    uses = [
        ToolUse("mcp__agentctl__memory_search", {"query": "words index"}, "toolu_memory"),
        ToolUse("mcp__agentctl__list_agents", {"no_user": True}, "toolu_roster"),
    ]

    def reply(body: dict[str, Any], headers: dict[str, str]) -> Reply:
        who = "orchestrator" if "Engineering Lead" in json.dumps(body.get("system")) else "main"
        asked[who] += 1
        if who == "orchestrator":
            return Reply(text="", tool_uses=uses) if asked[who] == 1 else Reply(text="Plan: DB Architect first.")
        if asked[who] > 1:
            return Reply(text="Done.")
        agent = {"subagent_type": "orchestrator", "description": "plan", "prompt": "Plan the words index"}
        return Reply(text="", tool_uses=[ToolUse("Agent", agent, "toolu_agent")])

    with MessagesServer(reply=reply) as api:
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": api.url,
            "ANTHROPIC_API_KEY": "sk-test",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        allowed = "Agent,mcp__agentctl__memory_search,mcp__agentctl__list_agents"
        command = [CLAUDE, "-p", "--agents", str(team_json), "--mcp-config", str(config), "--strict-mcp-config"]
        finished = subprocess.run(
            [*command, "--allowedTools", allowed, "--", "Plan the words index"],
            cwd=root,
            env=environ,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert finished.returncode == 0, finished.stderr[-2000:]
        results = tool_results(api.requests)
    assert {"toolu_memory", "toolu_roster"} <= set(results), (asked, text_of(results["toolu_agent"])[:500])
    assert json.loads(text_of(results["toolu_memory"]))["hits"][0]["path"].endswith(WORDS_NOTE)
    roster = json.loads(text_of(results["toolu_roster"]))
    assert len(roster["agents"]) == 16 and roster["roster"] == "table"
