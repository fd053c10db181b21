"""Every command the README shows works as written, on a copy of a fresh clone.

- every `agentctl ...` line of a ```sh block runs and exits 0 (`pip install . && agentctl ...`: the
  agentctl part; installing is .ci/run's and a fresh venv's job);
- every `$ agentctl ...` line of an example block runs, and every line of output the README shows
  under it is in what it prints;
- every inline `agentctl ...` command without a placeholder (TASK, [PATH…], …) runs and exits 0,
  except the bare command names prose mentions;
- every `python bench/....py` and `python tests/....py` line names a script that exists and
  answers --help;
- every `claude mcp add ...` line of a ```sh block runs with the real claude binary (skipped without
  it) and registers a server that starts in the team's folder and lists agentctl's tools.

A dispatch without --dry-run talks to the loopback Messages API (tests/messages_server.py), a batch
to the loopback Message Batches API (tests/batches_server.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from tests.batches_server import BatchesServer
from tests.claude_binary import find_claude
from tests.conftest import REPO, TEAM_FOLDERS, copy_shipped_team
from tests.messages_server import MessagesServer

README = (REPO / "README.md").read_text("utf-8")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```$", re.M | re.S)
# Words that stand for something the reader fills in, and marks of optional or elided parts.
PLACEHOLDER = re.compile(
    r"\b(?:TASK|AGENT|PATH|FILE|RULE|NAME|ID|DIR|REF|USD|SECONDS|DAYS|T|N|ANSWER|PREVIOUS)\b|[\[\]<>…|]"
)
# Command names the prose mentions, not invocations.
MENTIONS = {
    "agentctl batch",
    "agentctl dispatch",
    "agentctl import",
    "agentctl init",
    "agentctl memory",
    "agentctl memory search",
    "agentctl new",
    "agentctl prompt",
    "agentctl route",
}


@dataclass
class Shown:
    command: str
    output: list[str]  # the lines the README shows it printing (examples only)
    where: str


def sh_commands() -> Iterator[Shown]:
    for info, body in FENCE.findall(README):
        if info.strip() != "sh":
            continue
        for line in body.replace("\\\n", " ").splitlines():
            command = line.split("  #", 1)[0].strip()
            if "agentctl " in command and not command.startswith(("python ", "pytest", "ruff", "claude ")):
                yield Shown(command[command.index("agentctl ") :], [], "sh block")


def claude_mcp_commands() -> Iterator[Shown]:
    for info, body in FENCE.findall(README):
        if info.strip() == "sh":
            for line in body.splitlines():
                command = line.split("  #", 1)[0].strip()
                if command.startswith("claude mcp add "):
                    yield Shown(command, [], "claude")


def example_commands() -> Iterator[Shown]:
    for info, body in FENCE.findall(README):
        if info.strip():
            continue
        current: Shown | None = None
        for line in body.splitlines():
            if line.startswith("$ "):
                if current:
                    yield current
                current = Shown(line[2:], [], "example")
            elif current is not None:
                current.output.append(line)
        if current:
            yield current


def inline_commands() -> Iterator[Shown]:
    for command in dict.fromkeys(re.findall(r"`(agentctl [^`]+)`", README)):
        if not PLACEHOLDER.search(command) and command not in MENTIONS:
            yield Shown(command, [], "inline")


def scripts() -> list[str]:
    return sorted(set(re.findall(r"python ((?:bench|tests)/[\w/]+\.py)", README)))


COMMANDS = [*sh_commands(), *example_commands(), *inline_commands()]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A copy of what a fresh clone holds of the team and the docs, and the environment to run in."""
    root = copy_shipped_team(tmp_path_factory.mktemp("clone"), (*TEAM_FOLDERS, "templates", "docs"))
    with MessagesServer() as server, BatchesServer() as batches:
        environ = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin",
            "HOME": str(root),
            "NO_COLOR": "1",
            "ANTHROPIC_API_KEY": "sk-test-readme",
            "ANTHROPIC_BASE_URL": server.url,
            "BATCHES_URL": batches.url,  # the batch commands' API (one base URL cannot serve both)
        }
        yield root, environ


def run(command: str, cwd: Path, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # No input: `agentctl mcp` serves until its client closes stdin, here at once.
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_the_readme_shows_commands_to_run() -> None:
    kinds = {shown.where for shown in COMMANDS}
    assert kinds == {"sh block", "example", "inline"} and len(COMMANDS) >= 15
    assert all(command.split()[:2] != ["agentctl", "--top"] for command in (s.command for s in COMMANDS))


@pytest.mark.parametrize("shown", COMMANDS, ids=[f"{s.where}: {s.command[:60]}" for s in COMMANDS])
def test_every_readme_command_works_as_written(shown: Shown, clone: tuple[Path, dict[str, str]]) -> None:
    root, environ = clone
    if shown.command.startswith("agentctl batch"):
        environ = dict(environ, ANTHROPIC_BASE_URL=environ["BATCHES_URL"])
    result = run(shown.command, root, environ)
    printed = " ".join((result.stdout + result.stderr).split())
    if shown.where == "example":
        assert result.returncode in (0, 1), result.stderr
        for line in shown.output:
            assert " ".join(line.split()) in printed, f"the README shows a line it does not print: {line}"
    else:
        assert result.returncode == 0, f"{shown.command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"


@pytest.mark.parametrize("script", scripts())
def test_every_script_the_readme_names_exists_and_answers_help(script: str) -> None:
    assert (REPO / script).is_file(), script
    result = subprocess.run([sys.executable, script, "--help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("shown", list(claude_mcp_commands()), ids=lambda shown: shown.command)
def test_the_claude_mcp_add_line_registers_a_server_that_serves_the_team(
    shown: Shown, clone: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """Run as written with the real claude binary, then start what Claude Code recorded, as it would
    (`claude mcp list` would too, after a 20-second wait of its own), and list its tools."""
    claude = find_claude()
    if claude is None:
        pytest.skip('no claude binary: pip install "agentctl[claude-code]"')
    mcp = pytest.importorskip("mcp")
    root, environ = clone
    environ = dict(environ, HOME=str(tmp_path), PATH=f"{Path(claude).parent}{os.pathsep}{environ['PATH']}")
    environ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    result = run(shown.command, root, environ)
    assert result.returncode == 0, result.stderr
    projects = json.loads((tmp_path / ".claude.json").read_text())["projects"]
    server = projects[str(root)]["mcpServers"]["agentctl"]
    assert (server["command"], server["args"]) == ("agentctl", ["mcp"])
    command = shutil.which(server["command"], path=environ["PATH"])
    assert command is not None
    parameters = mcp.StdioServerParameters(command=command, args=server["args"], cwd=root, env=environ)

    async def tools() -> set[str]:
        async with mcp.stdio_client(parameters) as (read, write), mcp.ClientSession(read, write) as session:
            await session.initialize()
            return {tool.name for tool in (await session.list_tools()).tools}

    assert {"memory_search", "validate", "dispatch"} <= anyio.run(tools)
