"""`agentctl mcp` through the MCP SDK's own client: the real server as a stdio subprocess.

Every tool's schema, its answer on the shipped team (the same data as the CLI's --format json), its
error path (a tool error with the message, hint and exit code the CLI would give), hostile arguments
(paths outside the root, names that are paths, oversized texts, lifted caps), dispatch within the
server's caps with progress notifications, and the resources.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

mcp = pytest.importorskip("mcp")
from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402
from mcp.types import CallToolResult  # noqa: E402

from tests.conftest import RunCli, copy_shipped_team  # noqa: E402
from tests.test_dispatch import handoffs, lead_team, request  # noqa: E402

TOOLS = {
    "list_agents",
    "show_agent",
    "validate",
    "route",
    "memory_search",
    "memory_list",
    "memory_show",
    "memory_write",
    "handoffs_parse",
    "prompt",
    "dispatch",
}
WORDS_NOTE = "2026-01-19-transcription-words-index.md"  # a note of the shipped memory (db-architect)


@asynccontextmanager
async def session(root: Path, *args: str, home: Path | None = None) -> AsyncIterator[ClientSession]:
    """A client session with `agentctl mcp --root ROOT ARGS` running as a subprocess."""
    home = home or root.parent / "home"
    home.mkdir(exist_ok=True)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "agentctl", "mcp", "--root", str(root), *args],
        env={"HOME": str(home), "PATH": os.environ.get("PATH", ""), "NO_COLOR": "1"},
        cwd=root,
    )
    with (root.parent / "server-stderr.log").open("a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            yield client


def serve(root: Path, scenario: Callable[[ClientSession], Awaitable[None]], *args: str) -> None:
    async def run() -> None:
        async with session(root, *args) as client:
            await scenario(client)

    try:
        anyio.run(run)
    except BaseExceptionGroup as group:  # the task groups of the client wrap what the scenario raised
        raise first_leaf(group) from None


def first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a successful call, with its summary checked to be there."""
    assert not result.is_error, result.content
    assert result.structured_content is not None and result.structured_content["version"] == 1
    assert result.content and result.content[0].type == "text" and result.content[0].text.strip()
    return result.structured_content


def failed(result: CallToolResult, exit_code: int = 2) -> dict[str, Any]:
    """The error object of a tool error, checked to carry what the CLI says: message, hint, exit code."""
    assert result.is_error, result.structured_content
    assert result.structured_content is not None
    error = result.structured_content["error"]
    assert error["exit_code"] == exit_code and error["message"], error
    text = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith(f"error: {error['message']}")
    if error["hint"]:
        assert f"hint: {error['hint']}" in text
    return error


@pytest.fixture
def team(tmp_path: Path) -> Path:
    return copy_shipped_team(tmp_path / "team", ("agents", "agents-shared", "agents-memory", "templates"))


# --- schemas -----------------------------------------------------------------------------------------


def test_every_tool_is_listed_with_a_typed_schema_from_its_signature(team: Path) -> None:
    async def scenario(client: ClientSession) -> None:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(listed) == TOOLS
        for tool in listed.values():
            assert tool.description and tool.input_schema["type"] == "object", tool.name
            assert tool.output_schema is not None and tool.output_schema["type"] == "object", tool.name
            assert "ctx" not in tool.input_schema.get("properties", {}), tool.name
        search = listed["memory_search"].input_schema
        assert search["required"] == ["query"] and search["properties"]["limit"]["minimum"] == 1
        assert "Words to look for" in search["properties"]["query"]["description"]
        dispatch = listed["dispatch"].input_schema
        assert dispatch["required"] == ["task"]
        assert {"agent", "max_cost", "max_calls", "max_tokens", "timeout", "memory"} <= set(dispatch["properties"])
        assert {"type": "number"} in dispatch["properties"]["max_cost"]["anyOf"]
        assert listed["validate"].input_schema["properties"]["paths"]["anyOf"][0]["type"] == "array"
        assert listed["prompt"].input_schema["properties"]["part"]["enum"] == ["all", "system", "user"]
        assert listed["memory_write"].input_schema["required"] == ["agent", "topic", "applies_when", "body"]
        reads = {name for name, tool in listed.items() if tool.annotations and tool.annotations.read_only_hint}
        assert reads == TOOLS - {"memory_write", "dispatch"}

    serve(team, scenario)


# --- answers -----------------------------------------------------------------------------------------


def test_the_tools_answer_with_what_the_cli_prints(team: Path, cli: RunCli) -> None:
    """Each read-only tool gives the data of its command's --format json (compacted where noted)."""
    home = {"HOME": str(team.parent / "home")}

    def cli_json(*args: str) -> Any:
        result = cli(*args, "--format", "json", cwd=team, env=home)
        assert result.exit_code == 0, result.stderr
        return result.json()

    async def scenario(client: ClientSession) -> None:
        hits = ok(await client.call_tool("memory_search", {"query": "words index", "limit": 3}))["hits"]
        expected = cli_json("memory", "search", "words index", "-n", "3")["hits"]
        assert [hit["slug"] for hit in hits] == [hit["slug"] for hit in expected]
        assert hits[0]["path"] == f"agents-memory/db-architect/{WORDS_NOTE}"
        assert hits[0]["uri"] == f"agentctl://memory/db-architect/{WORDS_NOTE}"

        checked = ok(await client.call_tool("validate", {}))
        report = cli_json("validate")
        assert checked["summary"] == report["summary"] and checked["passed"] is True
        assert checked["summary"]["files"] > 16 and checked["files"] == []  # no file has a finding

        ranked = ok(await client.call_tool("route", {"task": "add an index to the words table", "limit": 3}))
        assert ranked["ranking"] == cli_json("route", "add an index to the words table", "-n", "3")["ranking"]

        agents = ok(await client.call_tool("list_agents", {"no_user": True}))["agents"]
        assert [row["name"] for row in agents] == [row["name"] for row in cli_json("list", "--no-user")["agents"]]
        assert len(agents) == 16 and all("description" not in row["claude_code"] for row in agents)

        shown = ok(await client.call_tool("show_agent", {"name": "DB Architect"}))
        assert shown == {"version": 1} | cli_json("show", "DB Architect")

        listed = ok(await client.call_tool("memory_list", {"limit": 2}))
        assert listed["total"] == len(cli_json("memory", "list")["entries"]) and len(listed["entries"]) == 2

        note = ok(await client.call_tool("memory_show", {"agent": "db-architect", "note": WORDS_NOTE}))
        assert note["text"] == (team / "agents-memory" / "db-architect" / WORDS_NOTE).read_text()

        answer = handoffs(request("DB Architect", "Design the index"))
        parsed = ok(await client.call_tool("handoffs_parse", {"answer": answer}))
        assert [(h["target"], h["agent"]) for h in parsed["handoffs"]] == [("DB Architect", "db-architect")]

        rendered = ok(await client.call_tool("prompt", {"agent": "db-architect", "task": "add an index"}))
        printed = cli_json("prompt", "db-architect", "--task", "add an index")
        assert rendered["system"] == printed["system"] and rendered["messages"] == printed["messages"]

    serve(team, scenario)


def test_memory_write_saves_a_note_the_search_then_finds(team: Path) -> None:
    async def scenario(client: ClientSession) -> None:
        arguments = {
            "agent": "DB Architect",
            "topic": "Partial index for soft-deleted rows",
            "applies_when": "adding an index to a table with soft deletes",
            "body": "Index only live rows: WHERE deleted_at IS NULL.\nThe planner uses it for the live queries.",
            "date": "2026-11-30",
        }
        written = ok(await client.call_tool("memory_write", arguments))
        assert written["path"] == "agents-memory/db-architect/2026-11-30-partial-index-for-soft-deleted-rows.md"
        assert "WHERE deleted_at IS NULL" in (team / written["path"]).read_text()
        hits = ok(await client.call_tool("memory_search", {"query": "soft deletes partial index"}))["hits"]
        assert hits[0]["path"] == written["path"]
        again = failed(await client.call_tool("memory_write", arguments))  # a near repeat is refused
        assert "repeat" in again["message"] or "similar" in again["message"], again

    serve(team, scenario)


# --- errors ------------------------------------------------------------------------------------------

# One failing call per tool: each is a tool error with the CLI's message, hint and exit code.
ERROR_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("show_agent", {"name": "no-such-agent"}, "no agent called"),
    ("validate", {"paths": ["agents/missing.md"]}, "missing.md"),
    ("validate", {"ignore": ["ZZ999"]}, "ZZ999"),
    ("validate", {"select": ["ZZ"]}, "unknown rule to select"),
    ("route", {"task": "   "}, "the task is empty"),
    ("memory_search", {"query": "!!! ???"}, "no words"),
    ("memory_search", {"query": "index", "agent": "nobody-at-all"}, "nobody-at-all"),
    ("memory_list", {"since": "last week"}, "is not a date"),
    ("memory_show", {"agent": "db-architect", "note": "no-such-note"}, "no single note"),
    ("memory_write", {"agent": "db-architect", "topic": "a\ntopic", "applies_when": "x", "body": "b"}, "line"),
    ("handoffs_parse", {"answer": "x" * (8 * 1024 * 1024 + 1)}, "the limit is 8 MiB"),
    ("prompt", {"agent": "db-architect", "task": "t", "handoff": "answer"}, "needs `requester`"),
    ("dispatch", {"task": "do it", "agent": "no-such-agent"}, "no agent called"),
    ("dispatch", {"task": "do it", "agent": "db-architect", "max_calls": 0}, "max_calls must be"),
    ("memory_search", {"query": "index", "limit": 0}, "greater than or equal to 1"),
    ("memory_search", {}, "query: Field required"),
    ("no_such_tool", {}, "no_such_tool"),
]


def test_every_tool_error_is_a_tool_error_with_message_hint_and_exit_code(team: Path) -> None:
    async def scenario(client: ClientSession) -> None:
        for name, arguments, words in ERROR_CALLS:
            error = failed(await client.call_tool(name, arguments))
            assert words in error["message"], (name, error)
        (team / "agentctl.toml").write_text("[dispatch]\nmax_calls = -3\n")  # read again on the next call
        error = failed(await client.call_tool("list_agents", {}))
        assert "max_calls" in error["message"], error
        (team / "agentctl.toml").unlink()
        assert len(ok(await client.call_tool("list_agents", {}))["agents"]) == 16  # the server lives on

    serve(team, scenario)


def test_a_bug_is_an_internal_error_result_and_the_server_goes_on(team: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In process (the SDK's in-memory client): a tool whose core call raises something unexpected."""
    from mcp import Client

    from agentctl.mcp_server.app import build_server
    from agentctl.mcp_server.calls import ServerConfig, TeamTools
    from agentctl.mcp_server.spending import Allowance

    tools = TeamTools(ServerConfig(team, {"HOME": str(team.parent)}), Allowance(2.0, 40))
    monkeypatch.setattr(tools, "route", lambda task, limit: 1 / 0)

    async def scenario() -> None:
        async with Client(build_server(tools)) as client:
            error = failed(await client.call_tool("route", {"task": "index"}), exit_code=3)
            assert error["message"].startswith("internal error (ZeroDivisionError: division by zero)")
            assert "bug" in error["message"] and "traceback" in error["hint"]
            ok(await client.call_tool("memory_search", {"query": "index"}))

    anyio.run(scenario)


# --- hostile arguments -------------------------------------------------------------------------------


def test_paths_and_names_never_reach_outside_the_root(team: Path) -> None:
    outside = team.parent / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("---\nname: secret\ndescription: not the team's\n---\nbody\n")
    (team / "agents" / "linked").symlink_to(outside)
    before = {path.name: path.read_bytes() for path in outside.iterdir()}

    async def scenario(client: ClientSession) -> None:
        for given in ("../outside", str(outside), "agents/linked", "agents/linked/secret.md", "a\x00b"):
            error = failed(await client.call_tool("validate", {"paths": [given]}))
            assert "outside the team's root" in error["message"] or "not a path" in error["message"], given
        note = {"topic": "t", "applies_when": "w", "body": "one\ntwo\nthree"}
        for agent in ("../outside", "../../outside/x", "/tmp"):
            failed(await client.call_tool("memory_write", {"agent": agent} | note))
            failed(await client.call_tool("memory_show", {"agent": agent, "note": "secret.md"}))
        failed(await client.call_tool("memory_search", {"query": "index " * 200_000}))  # over 512 KiB
        failed(await client.call_tool("show_agent", {"name": "../outside/secret"}))
        for uri in (
            "agentctl://memory/db-architect/..%2F..%2F..%2Foutside%2Fsecret.md",
            "agentctl://memory/..%2Foutside/secret.md",
            "agentctl://agents/..%2Foutside%2Fsecret",
        ):
            with pytest.raises(mcp.MCPError):
                await client.read_resource(uri)

    serve(team, scenario)
    assert {path.name: path.read_bytes() for path in outside.iterdir()} == before


# --- dispatch ----------------------------------------------------------------------------------------


def scripted_team(tmp_path: Path) -> tuple[Path, Path]:
    """The lead/DB Architect team of test_dispatch, and a script in which the lead hands off once."""
    root = lead_team(tmp_path)
    script = {
        "router": ["db-architect"],
        "lead": [handoffs(request("DB Architect", "Design the index")), "Final plan: the partial index."],
        "db-architect": ["CREATE INDEX words_start ON words (transcription_id, start_ms);"] * 3,
    }
    path = root / "script.json"
    path.write_text(json.dumps(script))
    return root, path


def test_dispatch_runs_within_the_server_caps_whatever_it_asks(tmp_path: Path) -> None:
    root, script = scripted_team(tmp_path)
    progress: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async def scenario(client: ClientSession) -> None:
        arguments = {"task": "Plan the words index", "agent": "lead", "max_calls": 1000, "max_cost": 1e9}
        result = await client.call_tool("dispatch", arguments, progress_callback=on_progress)
        run = ok(result)
        assert run["status"] == "ok" and run["result"] == "Final plan: the partial index."
        assert [call["agent"] for call in run["calls"]] == ["lead", "db-architect", "lead"]
        assert (root / ".agentctl" / "runs" / run["run_id"] / "run.json").is_file()
        assert run["limits"]["max_calls"] == 4 and run["limits"]["max_cost"] == pytest.approx(0.5)
        lowered = run["caps"]["lowered"]
        assert any(note.startswith("max_calls 1000 lowered to 4") for note in lowered), lowered
        assert any(note.startswith("max_cost 1e+09 lowered to 0.5") for note in lowered), lowered
        assert run["caps"]["spent_calls"] == 3 and run["caps"]["calls_left"] == 1
        assert run["run_id"] in result.content[0].text  # type: ignore[union-attr]

        second = await client.call_tool("dispatch", {"task": "Again", "agent": "db-architect", "max_calls": 5})
        assert ok(second)["limits"]["max_calls"] == 1  # all that is left
        spent = failed(await client.call_tool("dispatch", {"task": "Once more", "agent": "db-architect"}), 5)
        assert "caps are spent" in spent["message"] and "--max-calls" in spent["hint"]
        for bad in ({"max_cost": -1}, {"max_cost": 0}, {"max_cost": "inf"}, {"timeout": "nan"}, {"max_calls": 0}):
            failed(await client.call_tool("dispatch", {"task": "t", "agent": "lead"} | bad))

    serve(root, scenario, "--provider", "scripted", "--script", str(script), "--max-calls", "4", "--max-cost", "0.5")
    assert any("[c1] lead (fresh) started" in message for message in progress), progress
    assert any("handoff lead -> db-architect: ok" in message for message in progress), progress
    runs = list((root / ".agentctl" / "runs").iterdir())
    assert len(runs) == 2  # the refused dispatch recorded nothing


def test_a_routed_dispatch_counts_its_routing_call_against_the_caps(tmp_path: Path) -> None:
    root, script = scripted_team(tmp_path)

    async def scenario(client: ClientSession) -> None:
        run = ok(await client.call_tool("dispatch", {"task": "Design the index on the words table"}))
        assert run["agent"] == "db-architect" and run["routing"]["method"] == "model"
        assert run["caps"]["spent_calls"] == 2  # the routing call and the agent's

    serve(root, scenario, "--provider", "scripted", "--script", str(script))


def test_the_caps_come_from_the_config_when_the_command_line_gives_none(tmp_path: Path) -> None:
    root, script = scripted_team(tmp_path)
    (root / "agentctl.toml").write_text("[dispatch]\nmax_calls = 2\nmax_cost = 0.25\n")

    async def scenario(client: ClientSession) -> None:
        result = await client.call_tool("dispatch", {"task": "Plan it", "agent": "lead", "max_calls": 10})
        error = failed(result, exit_code=5)  # the lead's continuation did not fit in 2 calls
        run = result.structured_content or {}
        assert run["caps"]["max_calls"] == 2 and run["caps"]["max_cost"] == 0.25
        assert run["limits"]["max_calls"] == 2 and run["status"] == "budget" and run["run_id"]
        assert "--max-calls 2 reached" in error["message"]

    serve(root, scenario, "--provider", "scripted", "--script", str(script))


# --- resources ---------------------------------------------------------------------------------------


def test_resources_are_the_protocol_the_agent_files_and_the_notes(team: Path) -> None:
    async def scenario(client: ClientSession) -> None:
        uris = {str(resource.uri) for resource in (await client.list_resources()).resources}
        assert "agentctl://team/protocol" in uris and "agentctl://agents/db-architect" in uris
        assert f"agentctl://memory/db-architect/{WORDS_NOTE}" in uris
        assert sum(uri.startswith("agentctl://memory/") for uri in uris) == 16
        note = await client.read_resource(f"agentctl://memory/db-architect/{WORDS_NOTE}")
        assert note.contents[0].text == (team / "agents-memory" / "db-architect" / WORDS_NOTE).read_text()  # type: ignore[union-attr]
        agent = await client.read_resource("agentctl://agents/DB%20Architect")
        assert agent.contents[0].text == (team / "agents" / "db-architect.md").read_text()  # type: ignore[union-attr]
        protocol = await client.read_resource("agentctl://team/protocol")
        assert "# Roster" in protocol.contents[0].text  # type: ignore[union-attr]
        with pytest.raises(mcp.MCPError, match="no agent called"):
            await client.read_resource("agentctl://agents/nobody")
        (team / "agents-memory" / "db-architect" / "2026-12-01-a-new-note.md").write_text(
            "# A new note\n\n**Applies when:** always\n\none\ntwo\nthree\n"
        )
        again = {str(resource.uri) for resource in (await client.list_resources()).resources}
        assert again - uris == {"agentctl://memory/db-architect/2026-12-01-a-new-note.md"}

    serve(team, scenario)


# --- the command -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--max-cost", "0"], "--max-cost must be a number above 0"),
        (["--max-calls", "-1"], "--max-calls must be a whole number at least 1"),
        (["--script", "missing.yaml"], "--script missing.yaml: no such file"),
        (["--root", "/no/such/folder"], "/no/such/folder"),
    ],
)
def test_the_server_refuses_a_bad_start_with_exit_2(team: Path, cli: RunCli, args: list[str], words: str) -> None:
    result = cli("mcp", *args, cwd=team)
    assert result.exit_code == 2 and words in result.stderr, result.stderr


def test_without_the_sdk_the_command_says_how_to_install_it(team: Path) -> None:
    probe = "import sys; sys.modules['mcp'] = None\nfrom agentctl.cli import main\nsys.exit(main(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", probe, "mcp"],
        cwd=team,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2, result.stderr
    assert 'pip install "agentctl[mcp]"' in result.stderr


def test_the_server_ends_when_its_client_closes_stdin(team: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentctl", "mcp"], cwd=team, input="", capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout == "", result.stderr
    assert f"serving {team}" in result.stderr and "$2, 40 calls" in result.stderr


# --- the caps, in process --------------------------------------------------------------------------


def test_the_allowance_grants_what_neither_spent_nor_held_and_refuses_when_none_is_left() -> None:
    from agentctl.errors import AgentctlError
    from agentctl.mcp_server.spending import Allowance

    allowance = Allowance(1.0, 10)
    first = allowance.reserve(0.8, 6)
    second = allowance.reserve(0.8, 6)  # a dispatch running beside the first: only what the first does not hold
    assert (second.cost, second.calls) == (pytest.approx(0.2), 4) and len(second.lowered) == 2
    with pytest.raises(AgentctlError) as refused:
        allowance.reserve(0.5, 1)
    assert refused.value.exit_code == 5 and "held by dispatches still running" in refused.value.message
    allowance.settle(first, 0.1, 2)  # it spent less than it held: the rest is free again
    third = allowance.reserve(2.0, 10)
    assert (third.cost, third.calls) == (pytest.approx(0.7), 4)
    assert allowance.to_json()["spent_calls"] == 2


def test_a_call_whose_cost_is_unknown_is_charged_all_that_its_dispatch_held() -> None:
    from agentctl.events import CallFinished, CallStarted
    from agentctl.mcp_server.calls import _Spent
    from agentctl.providers.base import Usage

    spent = _Spent(None)
    spent.event(CallStarted("c1", None, None, "lead", "fresh", "m", 0, None, "t"))
    spent.event(CallFinished("c1", "ok", Usage(input_tokens=10, output_tokens=5), 0.01, 5, "x", None))
    assert (spent.calls, spent.cost_or(0.5)) == (1, pytest.approx(0.01))
    spent.event(CallStarted("c2", None, None, "lead", "fresh", "unpriced", 0, None, "t"))
    spent.event(CallFinished("c2", "ok", Usage(input_tokens=10, output_tokens=5), None, 5, "x", None))
    assert (spent.calls, spent.cost_or(0.5)) == (2, 0.5)
