"""The MCP servers agentctl knows (agentctl/data/mcp_servers.json), validate's TL009 that reads them,
and the shipped team's tool lists: every MCP tool it names exists, every tool a body tells an agent to
use is in its `tools`, and the reviewers hold no tool that changes files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agentctl import bounds, mcp_catalog
from agentctl.mcp_catalog import McpServer, load_mcp_servers, unknown_tool
from agentctl.spec import AgentFile, load_agent_file
from agentctl.validate import validate
from tests.conftest import RunCli, copy_shipped_team

ROOT = Path(__file__).resolve().parent.parent
TEAM = sorted((ROOT / "agents").glob("*.md"))
# Reviewers and auditors: they report, and the owners change the code.
REVIEWERS = {"security-auditor", "accessibility-auditor", "ux-reviewer", "ui-designer"}
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")


def agent(path: Path) -> AgentFile:
    return load_agent_file(path)


def tools_of(path: Path) -> set[str]:
    return set(agent(path).verdict.tools or [])


# --- the catalogue ------------------------------------------------------------------------------------


def test_every_server_says_where_its_names_come_from_and_how_a_project_starts_it() -> None:
    servers = load_mcp_servers()
    assert set(servers) == {
        "agentctl",
        "claude-in-chrome",
        "context7",
        "docker",
        "lighthouse",
        "playwright",
        "postgres",
        "redis",
    }
    for name, server in servers.items():
        assert server.registry in ("npm", "pypi", "bundled"), name
        assert server.package and server.version and server.source and server.docs, name
        assert server.tools and len(set(server.tools)) == len(server.tools), name
        if server.mcp_json is None:
            assert name == "claude-in-chrome", "only Claude Code's own server is not a project's to start"
            continue
        assert isinstance(server.mcp_json["command"], str) and server.mcp_json["command"], name
        assert all(isinstance(arg, str) for arg in server.mcp_json["args"]), name
        if server.registry != "bundled":  # the version whose names were read is the one started
            assert any(server.version in arg for arg in server.mcp_json["args"]), name


def test_every_variable_a_mcp_json_entry_needs_is_explained_to_the_user() -> None:
    """`agentctl init` writes `mcp_json` into .mcp.json, where Claude Code expands ${VAR} from its
    environment: a variable without a default that `placeholders` does not explain leaves the user
    with a server that cannot connect and no word on what to set."""
    for name, server in load_mcp_servers().items():
        text = json.dumps(server.mcp_json)
        needed = {variable for variable, default in _VARIABLE.findall(text) if not default}
        named = {variable for variable, _ in _VARIABLE.findall(text)}
        assert needed <= set(server.placeholders), name
        assert set(server.placeholders) <= named, f"{name}: a placeholder no entry uses"
    postgres = load_mcp_servers()["postgres"]
    assert postgres.mcp_json is not None and postgres.mcp_json["env"] == {"DATABASE_URI": "${DATABASE_URI}"}


def test_the_agentctl_entry_is_the_tools_agentctl_mcp_serves(tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    import anyio
    from mcp import Client

    from agentctl.mcp_server.app import build_server
    from agentctl.mcp_server.calls import ServerConfig, TeamTools
    from agentctl.mcp_server.spending import Allowance

    team = copy_shipped_team(tmp_path / "team")
    tools = TeamTools(ServerConfig(team, {"HOME": str(tmp_path)}), Allowance(2.0, 40))
    served: set[str] = set()

    async def listing() -> None:
        async with Client(build_server(tools)) as client:
            served.update(tool.name for tool in (await client.list_tools()).tools)

    anyio.run(listing)
    assert set(load_mcp_servers()["agentctl"].tools) == served


def test_a_catalogue_over_its_bound_or_of_the_wrong_shape_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def load(text: str, limit: int = bounds.MCP_CATALOG_BYTES) -> dict[str, McpServer]:
        path = tmp_path / "mcp_servers.json"
        path.write_text(text)
        monkeypatch.setattr(mcp_catalog, "CATALOG_FILE", path)
        monkeypatch.setattr(bounds, "MCP_CATALOG_BYTES", limit)
        load_mcp_servers.cache_clear()
        try:
            return load_mcp_servers()
        finally:
            load_mcp_servers.cache_clear()

    shipped = mcp_catalog.CATALOG_FILE.read_text("utf-8")
    assert load(shipped)["redis"].package == "redis-mcp-server"
    with pytest.raises(OSError, match="larger than"):
        load(shipped, limit=1024)
    broken = json.loads(shipped)
    broken["servers"]["redis"]["tools"] = "get, info"
    with pytest.raises(ValueError, match=r"redis.*tools"):
        load(json.dumps(broken))
    with pytest.raises(ValueError, match="version 1"):
        load('{"version": 2, "servers": {}}')


# --- TL009 --------------------------------------------------------------------------------------------


def findings(tmp_path: Path, frontmatter: str) -> list[tuple[str, str, str | None]]:
    path = tmp_path / "probe.md"
    path.write_text(f"---\nname: probe\ndescription: Probes MCP names.\n{frontmatter}---\n\nYou probe.\n")
    return [(d.rule, d.message, d.hint) for f in validate([path], None, tmp_path).files for d in f.diagnostics]


def test_a_misspelt_or_invented_mcp_tool_is_named_with_the_servers_closest_tools(tmp_path: Path) -> None:
    found = findings(tmp_path, "tools: Read, mcp__redis__hgetal, mcp__docker__logs\n")
    assert [rule for rule, _, _ in found] == ["TL009", "TL009"]
    (_, typo, typo_hint), (_, logs, logs_hint) = found
    assert "mcp__docker__logs" in logs and "mcp-server-docker 0.3.0" in logs
    assert "mcp__redis__hgetal" in typo and "redis-mcp-server 0.5.1" in typo and "will not get it" in typo
    assert typo_hint is not None and typo_hint.startswith("did you mean `mcp__redis__hgetall`")
    assert logs_hint == "did you mean `mcp__docker__fetch_container_logs`?"


def test_what_tl009_leaves_alone(tmp_path: Path) -> None:
    names = "mcp__redis__hgetall, mcp__redis, mcp__redis__*, mcp__github__create_issue, mcp__my-server__anything"
    assert findings(tmp_path, f"tools: {names}\n") == []


def test_a_disallowed_tool_that_does_not_exist_takes_nothing_away(tmp_path: Path) -> None:
    [(rule, message, _)] = findings(tmp_path, "disallowedTools: mcp__postgres__execute_query\n")
    assert rule == "TL009" and "mcp__postgres__execute_query" in message


def test_with_no_close_name_the_hint_lists_the_servers_tools() -> None:
    found = unknown_tool("context7", "zzz", suggest=True)
    assert (
        found is not None and found[1] == "context7 (@upstash/context7-mcp 4.1.1) has: query-docs, resolve-library-id"
    )
    assert unknown_tool("context7", "query-docs") is None and unknown_tool("nobody", "query-docs") is None


# --- the shipped team ---------------------------------------------------------------------------------


def test_the_shipped_team_passes_validate_strict(cli: RunCli, tmp_path: Path) -> None:
    team = copy_shipped_team(tmp_path / "team")
    result = cli("validate", "--strict", "--no-user", "--format", "json", cwd=team)
    assert result.exit_code == 0, result.stdout
    assert result.json()["summary"]["warnings"] == 0


@pytest.mark.parametrize("path", TEAM, ids=lambda path: path.stem)
def test_every_mcp_tool_the_team_names_is_a_tool_of_its_server(path: Path) -> None:
    servers = load_mcp_servers()
    for tool in sorted(tools_of(path)):
        if tool.startswith("mcp__"):
            server, _, name = tool[5:].partition("__")
            assert server in servers, f"{tool}: a server agentctl/data/mcp_servers.json does not know"
            assert name in servers[server].tools, f"{tool}: not a tool of {servers[server].package}"


@pytest.mark.parametrize("path", TEAM, ids=lambda path: path.stem)
def test_every_tool_a_body_tells_its_agent_to_use_is_in_its_tools(path: Path) -> None:
    """A body that says "use `mcp__redis__hgetall`" or, under its browser section, "`file_upload`"
    to an agent without that tool sends it after a tool it will not find."""
    tools, body = tools_of(path), agent(path).spec.body
    named = set(re.findall(r"mcp__[A-Za-z0-9-]+__[A-Za-z0-9_-]+", body))
    assert named <= tools, sorted(named - tools)
    servers = load_mcp_servers()
    held = {tool[5:].partition("__")[0] for tool in tools if tool.startswith("mcp__")}
    # Short names with an underscore (`file_upload`, `read_page`): one word (`type`, `find`) is as
    # often a JWT claim or a verb as a tool.
    short = set(re.findall(r"`([a-z]+_[a-z_]+)`", body))
    lacking = {f"mcp__{server}__{n}" for server in held for n in short if n in servers[server].tools} - tools
    assert not lacking, sorted(lacking)


def test_the_redis_inspections_the_bodies_ask_for_have_their_tools() -> None:
    """Queues are lists (`dramatiq:<queue>`, `.DQ`), a sorted set (`.XQ`) and `.msgs` hashes; the
    Backend Architect watches pub/sub channels; the Security Auditor looks for keys without a TTL."""
    redis = {path.stem: {t for t in tools_of(path) if t.startswith("mcp__redis__")} for path in TEAM}
    queues = {"mcp__redis__llen", "mcp__redis__lrange", "mcp__redis__zrange", "mcp__redis__hgetall"}
    assert queues <= redis["backend-architect"] and queues <= redis["performance-engineer"]
    assert {"mcp__redis__psubscribe", "mcp__redis__read_messages"} <= redis["backend-architect"]
    assert "mcp__redis__type" in redis["security-auditor"]  # a key's TTL: scan_keys alone never shows it
    writes = {"set", "delete", "expire", "rename", "hset", "hdel", "lpush", "rpush", "lpop", "rpop", "publish"}
    assert not {f"mcp__redis__{name}" for name in writes} & set().union(*redis.values()), "read-only looks"


def test_agents_told_to_upload_in_a_browser_have_the_upload_tool() -> None:
    by_name = {path.stem: tools_of(path) for path in TEAM}
    for name in ("e2e-tester", "frontend-qa"):
        assert "mcp__playwright__browser_file_upload" in by_name[name], name
    for name in ("frontend-architect", "ux-reviewer"):
        assert "mcp__claude-in-chrome__file_upload" in by_name[name], name


@pytest.mark.parametrize("path", TEAM, ids=lambda path: path.stem)
def test_reviewers_cannot_change_files_and_every_agent_saves_memory_the_way_its_tools_allow(path: Path) -> None:
    tools, body = tools_of(path), agent(path).spec.body
    if path.stem in REVIEWERS:
        assert not tools & {"Write", "Edit", "NotebookEdit"}, "a reviewer reports; the owner changes the code"
    if "Write" in tools:
        assert "## Memory Notes` section at the end of your answer" not in body
    else:
        assert "Save it yourself with the Write tool" not in body
        assert "## Memory Notes" in body, "an agent without Write returns its notes in its answer"
