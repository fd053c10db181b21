"""Read-only commands keep their start-up budget: they never import anthropic (about 2 s)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

PROBE = """
import sys
from agentctl.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("anthropic", "pydantic", "git", "jinja2") if m in sys.modules)
print("\\nIMPORTED=" + ",".join(heavy), file=sys.stderr)
"""


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
    ],
)
def test_read_only_commands_do_not_import_heavy_packages(args: list[str]) -> None:
    needs_team = args[0] in ("list", "show", "graph", "route", "memory") or args == ["validate", "--format", "json"]
    if needs_team and not (REPO / "agents" / "db-architect.md").is_file():
        pytest.skip("the team's agents are not in this checkout")
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True, text=True, timeout=60)
    imported = result.stderr.rsplit("IMPORTED=", 1)[1].strip()
    assert imported == "", f"{args} imported {imported}"


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
