"""Read-only commands keep their start-up budget: they never import anthropic (about 2 s) nor the MCP
SDK (about 1.3 s, `agentctl mcp` alone imports it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_shipped_team

PROBE = """
import sys
from agentctl.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("anthropic", "pydantic", "git", "jinja2", "mcp") if m in sys.modules)
print(f"\\nEXIT={code}", "IMPORTED=" + ",".join(heavy), file=sys.stderr)
"""

TEAM_COMMANDS = ("list", "show", "graph", "route", "memory", "prompt", "dispatch", "init")


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--format", "json"],
        ["show", "db-architect", "--format", "json"],
        ["validate", "--format", "json"],
        ["validate", "tests/fixtures/claude_code"],
        ["fmt", "--check", "tests/fixtures/claude_code"],
        ["rules"],
        ["graph", "--format", "json"],
        ["route", "add an index to the users table", "--format", "json"],
        ["runs", "list", "--format", "json"],
        ["memory", "list", "--format", "json"],
        ["handoffs", "parse", "agents-shared/team-protocol.md", "--format", "json"],
        # The prompt templates render through agentctl.templating, without jinja2 (issue #10).
        ["prompt", "db-architect", "--task", "add an index to the users table"],
        ["prompt", "db-architect", "--task", "add an index", "--format", "json"],
        ["dispatch", "db-architect", "add an index to the users table", "--dry-run"],
        ["dispatch", "db-architect", "add an index", "--dry-run", "--show-prompt", "--format", "json"],
        # Plans the shipped team's install into a folder it does not create (a dry run writes nothing).
        ["init", "tests/no-such-project", "--dry-run", "--format", "json"],
        ["--help"],  # builds every command, `mcp` included
        ["mcp", "--help"],
    ],
)
def test_read_only_commands_do_not_import_heavy_packages(args: list[str]) -> None:
    needs_team = args[0] in TEAM_COMMANDS or args == ["validate", "--format", "json"]
    if needs_team and not (REPO / "agents" / "db-architect.md").is_file():
        pytest.skip("the team's agents are not in this checkout")
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True, text=True, timeout=60)
    if args[0] in ("prompt", "dispatch"):  # it rendered the prompts, not stopped before them
        assert "EXIT=0 " in result.stderr, result.stderr
    imported = result.stderr.rsplit("IMPORTED=", 1)[1].strip()
    assert imported == "", f"{args} imported {imported}"


def test_a_team_template_outside_the_fast_path_still_renders_through_jinja2(tmp_path: Path) -> None:
    """The other side of the check above: a template the fast path does not read (a filter it does
    not have) is rendered by Jinja2, imported for it."""
    copy_shipped_team(tmp_path)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "task.md.j2").write_text("Task for {{ agent.name | upper }}: {{ task | trim }}\n")
    args = ["prompt", "db-architect", "--task", " add an index ", "--part", "user"]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert "EXIT=0 " in result.stderr, result.stderr
    assert result.stdout == "Task for DB-ARCHITECT: add an index\n"
    assert result.stderr.rsplit("IMPORTED=", 1)[1].strip() == "jinja2"


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "agentctl", "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("agentctl ")


def test_internal_errors_exit_3_with_a_pointer_to_debug() -> None:
    # Simulate a bug: the JSON writer of `agentctl rules` raises.
    probe = (
        "import sys, agentctl.cli.rules_cmd as rules\n"
        "rules.write_json = lambda data: (_ for _ in ()).throw(RuntimeError('boom'))\n"
        "from agentctl.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    command = [sys.executable, "-c", probe]
    result = subprocess.run([*command, "rules", "--format", "json"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert "internal error (RuntimeError: boom)" in result.stderr and "--debug" in result.stderr
    assert "Traceback" not in result.stderr
    debug = subprocess.run(
        [*command, "--debug", "rules", "--format", "json"], capture_output=True, text=True, timeout=60
    )
    assert "Traceback" in debug.stderr and "RuntimeError: boom" in debug.stderr
