"""The MCP servers the shipped team uses (agentctl/data/mcp_servers.json), read once per process.

Each server's tool names were read from its published package at the version the file gives (its
`source` says where), never guessed: validate's TL009 flags an `mcp__<server>__<tool>` whose server
is known here and whose tool is not, and `agentctl init` writes each server's `mcp_json` into a
project's `.mcp.json`. A server this file does not know is never judged.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from agentctl import bounds
from agentctl.records import record

CATALOG_FILE = Path(__file__).parent / "data" / "mcp_servers.json"


@record
class McpServer:
    """One MCP server: where its tool names come from, the names, and how a project starts it."""

    package: str
    registry: str  # npm | pypi | bundled (Claude Code's own server, or agentctl itself)
    version: str
    source: str  # where in the package the names were read
    tools: tuple[str, ...]
    mcp_json: dict[str, Any] | None  # the .mcp.json entry; None: a project does not configure it
    placeholders: dict[str, str]  # environment variable -> what the user must set it to
    docs: str


@cache
def load_mcp_servers() -> dict[str, McpServer]:
    """Every server of the catalogue by its name in `mcp__<name>__<tool>`, in the file's order.

    Cached: the result is shared, so treat it as read-only. A catalogue that is not what the wheel
    ships (too large, not JSON, a field of the wrong type) is a bug of the package: ValueError."""
    from agentctl.fsutil import read_bounded_text

    raw = json.loads(read_bounded_text(CATALOG_FILE, bounds.MCP_CATALOG_BYTES))
    if not isinstance(raw, dict) or raw.get("version") != 1 or not isinstance(raw.get("servers"), dict):
        raise ValueError(f"{CATALOG_FILE}: not a version 1 catalogue of MCP servers")
    return {name: _server(name, entry) for name, entry in raw["servers"].items()}


def _server(name: str, entry: Any) -> McpServer:
    if not isinstance(entry, dict):
        raise ValueError(f"{CATALOG_FILE}: server {name!r} is not an object")
    mcp_json = entry.get("mcp_json")
    if mcp_json is not None and not isinstance(mcp_json, dict):
        raise ValueError(f"{CATALOG_FILE}: server {name!r}: mcp_json is neither an object nor null")
    return McpServer(
        package=_text(name, entry, "package"),
        registry=_text(name, entry, "registry"),
        version=_text(name, entry, "version"),
        source=_text(name, entry, "source"),
        tools=tuple(_strings(name, entry, "tools")),
        mcp_json=mcp_json,
        placeholders=dict(zip(_strings(name, entry, "placeholders"), _values(name, entry), strict=True)),
        docs=_text(name, entry, "docs"),
    )


def _text(name: str, entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{CATALOG_FILE}: server {name!r}: {key} is not a string")
    return value


def _strings(name: str, entry: dict[str, Any], key: str) -> list[str]:
    """The strings of a list (`tools`) or the keys of an object (`placeholders`)."""
    value = entry.get(key)
    if not isinstance(value, list | dict) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{CATALOG_FILE}: server {name!r}: {key} is not a list of strings")
    return list(value)


def _values(name: str, entry: dict[str, Any]) -> list[str]:
    values = list(entry["placeholders"].values())
    if not all(isinstance(value, str) for value in values):
        raise ValueError(f"{CATALOG_FILE}: server {name!r}: a placeholder's text is not a string")
    return values


def unknown_tool(server: str, tool: str, suggest: bool = True) -> tuple[McpServer, str] | None:
    """The catalogued server and a hint when `tool` is not one of `server`'s tools; None when the
    server is not catalogued, or has the tool. A `*` in the tool (a wildcard) is never judged.
    `suggest=False` spares difflib (a file can name thousands of tools): the hint lists the tools."""
    known = load_mcp_servers().get(server)
    if known is None or tool in known.tools or "*" in tool:
        return None
    return known, _hint(server, tool, known, suggest)


def _hint(server: str, tool: str, known: McpServer, suggest: bool) -> str:
    import difflib  # only a finding pays for it

    close = difflib.get_close_matches(tool, known.tools, n=3, cutoff=0.6) if suggest else []
    # `logs` is far from `fetch_container_logs` by ratio but plainly inside it.
    inside = [name for name in known.tools if suggest and tool.lower() in name.lower() and name not in close]
    names = [f"mcp__{server}__{name}" for name in (close + inside)[:3]]
    if names:
        return "did you mean " + " or ".join(f"`{name}`" for name in names) + "?"
    listed = ", ".join(known.tools[:12]) + (", …" if len(known.tools) > 12 else "")
    return f"{server} ({known.package} {known.version}) has: {listed}"
